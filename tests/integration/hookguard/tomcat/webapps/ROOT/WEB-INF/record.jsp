<%@ page contentType="text/plain; charset=UTF-8" session="false" import="java.nio.charset.StandardCharsets,java.nio.file.*" %><%
    // A hit on a hook is appended to $HOOKGUARD_LOG (the proof the test reads); a page only answers.
    String role = request.getHttpServletMapping().getServletName();
    if (!"page".equals(role)) {
        Files.write(Paths.get(System.getenv("HOOKGUARD_LOG")),
                    (request.getMethod() + " " + request.getRequestURI() + " -> " + role + "\n").getBytes(StandardCharsets.UTF_8),
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        out.print("HOOK " + role + " " + request.getRequestURI() + "\n");
    } else {
        out.print("page " + request.getRequestURI() + "\n");
    }
%>

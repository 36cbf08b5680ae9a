<%@ page contentType="application/json; charset=UTF-8" pageEncoding="UTF-8" trimDirectiveWhitespaces="true"
    import="jakarta.servlet.http.Part,java.security.MessageDigest,java.util.HexFormat" %><%
// Multipart upload parsed by Tomcat itself (the context allows it for JSPs: allowCasualMultipartParsing):
// answers each file's submitted name, size and SHA-256 as JSON. Nothing is stored.
if (!"POST".equals(request.getMethod())) { response.sendError(405); return; }
StringBuilder json = new StringBuilder("[");
for (Part part : request.getParts()) {
  String name = part.getSubmittedFileName();
  if (name == null) continue;
  byte[] data = part.getInputStream().readAllBytes();
  String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  if (json.length() > 1) json.append(',');
  json.append("{\"name\":\"").append(name.replace("\\", "\\\\").replace("\"", "\\\"")).append("\",\"size\":")
      .append(data.length).append(",\"sha256\":\"").append(digest).append("\"}");
}
out.print(json.append(']'));
%>

"""Tomcat 10.1 (Java servlets and JSP, Debian) with real web applications: the servlet/JSP examples (session
cookies, FORM login through j_security_check with a session id change, repeated parameters, UTF-8 parameters and
cookies), the manager (BASIC auth, its CSRF nonce filter, stopping and starting an application, the text API) and
a static application served by Tomcat's DefaultServlet (listing with non-ASCII names, Range, HEAD, ETag/304) with
a multipart upload JSP (non-ASCII file names), directory redirects and Tomcat's own gzip."""

from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse

import pytest
from appkit import (
    KIT,
    PASSWORD,
    RANDOM_BIN,
    TEST_PNG,
    AppSpec,
    Client,
    Site,
    fresh_dir,
    keeps_repeated_query,
    over_alb_limit,
)

pytestmark = [pytest.mark.apps, pytest.mark.timeout(300)]
BASE_DIR = KIT / "tomcat"
EX = "/examples"


def _basic(user: str) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode())


def _prepare() -> None:
    fresh_dir("/tmp/tomcat")


SPEC = AppSpec(
    name="tomcat",
    port=8025,
    wait_path="/examples/index.html",
    wait_codes="200",
    command=lambda base: [str(BASE_DIR / "start.sh")],
    env={"HOME": "/tmp/tomcat"},
    prepare=_prepare,
    start_timeout=90,
)


def test_directory_redirects(site: Site) -> None:
    c = site.client()
    for app in ("/examples", "/daten"):
        r = c.get(app)
        assert r.status == 302 and r.header("location") == app + "/", r
    r = c.get("/examples/jsp?x=1")
    assert r.status == 302 and r.header("location") == "/examples/jsp/?x=1", r


def test_session_cookie_and_utf8_parameters(site: Site) -> None:
    c = site.client()
    r = c.get(f"{EX}/servlets/servlet/SessionExample")
    assert r.status == 200, r
    cookie = next(line for line in r.set_cookies if line.startswith("JSESSIONID="))
    assert "Path=/examples" in cookie and "HttpOnly" in cookie, cookie
    sid = c.cookie("JSESSIONID")
    assert sid is not None, r.set_cookies
    r = c.post_form(f"{EX}/servlets/servlet/SessionExample", [("dataname", "Stadt"), ("datavalue", "Zürich ✓ 東京")])
    assert r.status == 200 and not r.set_cookies, r  # the same session: no new cookie
    assert "Stadt = Zürich ✓ 東京" in r.text() and sid in r.text(), r.text()[-1500:]
    r = c.get(f"{EX}/servlets/servlet/RequestParamExample?firstname=J%C3%BCrgen&lastname=%D0%9F%D1%91%D1%82%D1%80")
    assert "Jürgen" in r.text() and "Пётр" in r.text(), r.text()[-1000:]


def test_repeated_parameters(site: Site) -> None:
    r = site.client().get(f"{EX}/jsp/checkbox/checkresult.jsp?fruit=apples&fruit=grapes&fruit=melons")
    assert r.status == 200, r
    got = re.findall(r"<li>\s*(\w+)", r.text())
    # The JSP lists the checked fruits twice (by request.getParameterValues, then by a bean's array property).
    expected = ["apples", "grapes", "melons"] if keeps_repeated_query(site.mode) else ["melons"]
    assert got[: len(expected)] == expected and got[len(expected):] == expected, got


def test_form_login_changes_session(site: Site) -> None:
    c = site.client()
    page = c.get(f"{EX}/jsp/security/protected/index.jsp")
    assert page.status == 200 and "j_security_check" in page.text(), page
    before = c.cookie("JSESSIONID")
    bad = c.post_form(f"{EX}/jsp/security/protected/j_security_check", [("j_username", "tomcat"),
                                                                         ("j_password", "wrong")])
    assert bad.status == 200 and "Invalid user name and/or password" in bad.text(), bad
    page = c.get(f"{EX}/jsp/security/protected/index.jsp")
    r = c.post_form(f"{EX}/jsp/security/protected/j_security_check", [("j_username", "tomcat"),
                                                                       ("j_password", PASSWORD)])
    assert r.status == 303 and r.header("location") == f"{EX}/jsp/security/protected/index.jsp", r
    after = c.cookie("JSESSIONID")
    assert after and after != before  # a new session id at login (session fixation protection)
    page = c.get(f"{EX}/jsp/security/protected/index.jsp")
    assert page.status == 200, page
    shown = r"You are logged in as remote user\s*<b>tomcat</b>\s*in session <b>" + after
    assert re.search(shown, page.text()), page.text()
    anon = Client(site.base).get(f"{EX}/jsp/security/protected/index.jsp")
    assert "j_security_check" in anon.text()


def test_manager_basic_auth_and_csrf_nonce(site: Site) -> None:
    c = site.client()
    r = c.get("/manager/html")
    assert r.status == 401 and r.header("www-authenticate") == 'Basic realm="Tomcat Manager Application"', r
    auth = [_basic("admin")]
    r = c.request("GET", "/manager/html", None, auth)
    assert r.status == 200, r
    m = re.search(r"org\.apache\.catalina\.filters\.CSRF_NONCE=([0-9A-F]+)", r.text())
    assert m, r.text()[:2000]
    nonce = m.group(1)
    # Without the nonce the filter refuses any action, with the same session and credentials.
    refused = c.request("POST", "/manager/html/stop?path=/daten", b"", auth)
    assert refused.status == 403, refused
    r = c.request("POST", f"/manager/html/stop?path=/daten&org.apache.catalina.filters.CSRF_NONCE={nonce}", b"", auth)
    assert r.status == 200 and "OK - Stopped application at context path [&#47;daten]" in r.text(), r.text()[:3000]
    assert c.get("/daten/bild.png").status == 404
    m = re.search(r"org\.apache\.catalina\.filters\.CSRF_NONCE=([0-9A-F]+)", r.text())
    assert m
    r = c.request("POST", f"/manager/html/start?path=/daten&org.apache.catalina.filters.CSRF_NONCE={m.group(1)}",
                  b"", auth)
    assert r.status == 200 and "OK - Started application at context path [&#47;daten]" in r.text(), r.text()[:3000]
    assert c.get("/daten/bild.png").status == 200


def test_manager_text_api(site: Site) -> None:
    c = Client(site.base)
    r = c.request("GET", "/manager/text/list", None, [_basic("robot")])
    assert r.status == 200, r
    apps = sorted(line.split(":")[0] for line in r.text().splitlines()[1:])
    assert r.text().startswith("OK - Listed applications") and apps == ["/daten", "/examples", "/manager"], r.text()
    assert c.request("GET", "/manager/text/list", None, [_basic("admin")]).status == 403  # GUI role only


def test_static_listing_range_head_304(site: Site) -> None:
    c = site.client()
    r = c.get("/daten/")
    assert r.status == 200, r
    hrefs = sorted(re.findall(r'href="/daten/([^"/]+)"', r.text()))
    assert hrefs == ["Gr%C3%BC%C3%9Fe.txt", "archiv.bin", "bild.png", "upload.jsp"], hrefs
    txt = c.get("/daten/" + hrefs[0])
    assert txt.status == 200 and txt.body == (BASE_DIR / "daten" / "Grüße.txt").read_bytes(), txt
    png = c.get("/daten/bild.png")
    assert png.status == 200 and png.body == TEST_PNG.read_bytes() and png.header("content-type") == "image/png"
    etag = png.header("etag")
    assert etag
    r304 = c.get("/daten/bild.png", [("If-None-Match", etag)])
    assert r304.status == 304 and r304.body == b"", r304
    original = RANDOM_BIN.read_bytes()
    full = c.get("/daten/archiv.bin")
    if over_alb_limit(site.mode, len(original), binary=True):
        assert full.status == 502, full  # 1,000,000 B base64-encoded is more than ALB's 1 MB: reweb answers 502
    else:
        assert full.status == 200 and full.body == original, full
    part = c.get("/daten/archiv.bin", [("Range", "bytes=1000-1999")])
    assert part.status == 206 and part.body == original[1000:2000], part
    assert part.header("content-range") == f"bytes 1000-1999/{len(original)}"
    h = c.head("/daten/archiv.bin")
    assert h.status == 200 and h.header("content-length") == str(len(original)) and h.body == b"", h


def test_upload_non_ascii_names(site: Site) -> None:
    """A multipart body parsed by Tomcat (Part.getSubmittedFileName) in docs/apps/tomcat/tomcat/daten/upload.jsp."""
    c = site.client()
    png = TEST_PNG.read_bytes()
    blob = RANDOM_BIN.read_bytes()[:200_000]
    files = [("files", "Grüße ✓ 東京.png", "image/png", png), ("files", "отчёт.bin", "application/octet-stream", blob)]
    r = c.post_multipart("/daten/upload.jsp", [("titel", "Grüße")], files)
    assert r.status == 200 and r.header("content-type") == "application/json;charset=UTF-8", r
    assert r.json() == [
        {"name": "Grüße ✓ 東京.png", "size": len(png), "sha256": hashlib.sha256(png).hexdigest()},
        {"name": "отчёт.bin", "size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()},
    ]
    assert c.get("/daten/upload.jsp").status == 405


def test_gzip_by_tomcat(site: Site) -> None:
    c = site.client()
    plain = c.get(f"{EX}/index.html")
    assert plain.status == 200 and plain.header("content-encoding") is None, plain
    gz = c.get(f"{EX}/index.html", [("Accept-Encoding", "gzip")])
    assert gz.status == 200 and gz.header("content-encoding") == "gzip", gz
    assert gz.decoded() == plain.body and len(gz.body) < len(plain.body)
    assert "accept-encoding" in (gz.header("vary") or "").lower()


def test_not_found(site: Site) -> None:
    r = site.client().get("/examples/n%C3%B6pe.jsp?" + urllib.parse.urlencode({"q": "ä"}))
    assert r.status == 404, r

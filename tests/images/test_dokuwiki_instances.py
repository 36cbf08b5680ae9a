"""The DokuWiki guide's image (docs/apps/dokuwiki.md) as several Lambda instances: a login made on one holds on another.

Each instance is a container of its own (its own tmpfs /tmp, seeded at its cold start by the guide's start.sh), run
under the real RIE behind the HTTP API front door of tests/images/test_guides.py, as Lambda runs two instances of one
function. DokuWiki encrypts the password in its login cookie, and makes its form tokens, with the salt in
data/meta/_htcookiesalt2, and makes a random one on first use if there is none: unless every instance reads the same
salt, a user who logged in on one instance is logged out on the next (and after each cold start).

Checked here: the browser's cookies from instance A log in on instance B, and A's form token is B's; a forged auth
cookie logs in nowhere; with DOKUWIKI_COOKIE_SALT set, the instances use that salt, and A's cookie (the image's salt)
is refused by them; and the secret stops at start.sh: a PHP script run by the guide's php-fpm (`clear_env = no`: its
scripts see the environment php-fpm got) finds neither it nor its name in getenv(), $_ENV, $_SERVER or phpinfo().
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import urllib.parse
from collections.abc import Iterator

import pytest

from tests.images import test_images
from tests.images.test_guides import BY_DOC, RieFrontDoor, build_guide
from tests.images.test_images import ImageFunction

# isort: split
import appkit  # tests/apps is on sys.path once test_guides is imported

reweb_image = test_images.reweb_image  # the fixture: reweb:latest, which the guide's `COPY --from=reweb` finds

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]  # the build, if Docker's cache has no layer of it

GUIDE = BY_DOC["dokuwiki"]
PASSWORD = GUIDE.build_args["DOKUWIKI_ADMIN_PASSWORD"]
SALT_FILE = "/tmp/dokuwiki/data/meta/_htcookiesalt2"
SEED_SALT = "/opt/reweb-apps/dokuwiki/seed/data/meta/_htcookiesalt2"  # made by the guide's Dockerfile
ENV_SALT = "a-salt-from-secrets-manager-" + "5a17" * 16

#: Run by the container's `php` (CLI): writes a PHP script under /tmp and has the guide's php-fpm run it, over its
#: FastCGI socket as nginx would, then prints php-fpm's answer (headers, blank line, the script's JSON).
PHP_PROBE = r"""<?php
$probe = '/tmp/dokuwiki/run/env-probe.php';
file_put_contents($probe, '<?php ob_start(); phpinfo(); $info = ob_get_clean();
echo json_encode(["getenv" => getenv(), "env" => $_ENV, "server" => $_SERVER, "phpinfo" => $info]);');
$s = stream_socket_client('unix:///tmp/dokuwiki/run/php-fpm.sock', $errno, $errstr, 10);
if (!$s) { fwrite(STDERR, "connect: $errstr\n"); exit(1); }
function rec(int $type, string $body): string { return pack('CCnnCx', 1, $type, 1, strlen($body), 0) . $body; }
function nv(string $k, string $v): string { return chr(strlen($k)) . chr(strlen($v)) . $k . $v; }
$params = nv('SCRIPT_FILENAME', $probe) . nv('SCRIPT_NAME', '/env-probe.php') . nv('REQUEST_METHOD', 'GET');
fwrite($s, rec(1, pack('nCx5', 1, 0)) . rec(4, $params) . rec(4, '') . rec(5, ''));
$out = '';
for ($i = 0; $i < 10000; $i++) {
  $h = stream_get_contents($s, 8);
  if ($h === false || strlen($h) !== 8) { fwrite(STDERR, "php-fpm closed the connection\n"); exit(1); }
  $r = unpack('Cversion/Ctype/nid/nlen/Cpad/Creserved', $h);
  $body = $r['len'] ? stream_get_contents($s, $r['len']) : '';
  if ($r['pad']) { stream_get_contents($s, $r['pad']); }
  if ($r['type'] === 6) { $out .= $body; } elseif ($r['type'] === 7) { fwrite(STDERR, $body); }
  elseif ($r['type'] === 3) { break; }
}
unlink($probe);
echo $out;
"""


@pytest.fixture(scope="module")
def image(reweb_image: str) -> str:
    return build_guide(GUIDE)


@contextlib.contextmanager
def instance(image: str, env: dict[str, str] | None = None) -> Iterator[tuple[ImageFunction, str]]:
    """One Lambda instance of the guide's image: its container and the URL of its front door."""
    fn = ImageFunction(image, env=env)
    door = None
    try:
        door = RieFrontDoor(fn)
        yield fn, door.url
    finally:
        if door is not None:
            door.close()
        fn.close()


def _sectok(html: str) -> str:
    m = re.search(r'name="sectok" value="([0-9a-f]*)"', html)
    assert m, html[:2000]
    return m.group(1)


def logged_in(c: appkit.Client) -> bool:
    page = c.get("/doku.php?id=start")
    assert page.status == 200, page
    text = page.text()
    assert ("Log Out" in text) != ("Log In" in text), text[:2000]
    return "Log Out" in text


def log_in(base: str) -> appkit.Client:
    """The login form, as a browser sends it ("Remember me" not ticked: the cookie is bound to the PHP session)."""
    c = appkit.Client(base)
    page = c.get("/doku.php?id=start&do=login")
    assert page.status == 200, page
    r = c.post_form("/doku.php?id=start", [("sectok", _sectok(page.text())), ("id", "start"), ("do", "login"),
                                            ("u", "admin"), ("p", PASSWORD)])
    assert r.status == 302, (r, r.text()[:2000])
    assert any(name.startswith("DW") for name, _ in c.cookies), r.set_cookies
    assert logged_in(c)
    return c


def elsewhere(c: appkit.Client, base: str) -> appkit.Client:
    """The same browser (its cookies only) sending its next request to another instance."""
    return appkit.Client(base, dict(c.cookies))


def forged(c: appkit.Client, base: str) -> appkit.Client:
    """The browser's cookies, the auth cookie's encrypted password replaced by other bytes of the same length."""
    cookies = dict(c.cookies)
    key = next(k for k in cookies if k[0].startswith("DW"))
    user, sticky, secret = urllib.parse.unquote(cookies[key]).split("|", 2)  # DokuWiki's auth_setCookie
    other = base64.b64encode(bytes(len(base64.b64decode(secret)))).decode()
    cookies[key] = urllib.parse.quote(f"{user}|{sticky}|{other}", safe="")
    return appkit.Client(base, cookies)


def test_a_login_holds_on_another_instance(image: str) -> None:
    with instance(image) as (fn_a, url_a), instance(image) as (fn_b, url_b):
        a = log_in(url_a)
        b = elsewhere(a, url_b)
        assert logged_in(b), f"instance B refused the login made on A:\n{fn_b.logs()}"
        # The form token is made from the salt too: a form loaded from A is accepted by B.
        assert _sectok(a.get("/doku.php?id=start").text()) == _sectok(b.get("/doku.php?id=start").text())
        salt = fn_a.read_file(SALT_FILE)
        assert len(salt) >= 64 and fn_b.read_file(SALT_FILE) == salt == fn_a.read_file(SEED_SALT)  # the image's
        assert not logged_in(forged(a, url_b)) and not logged_in(forged(a, url_a))
        assert logged_in(b)  # the forged one did not log the real one out


def test_the_salt_from_the_environment(image: str) -> None:
    with instance(image) as (_, url_default):
        from_image = log_in(url_default)
        env = {"DOKUWIKI_COOKIE_SALT": ENV_SALT}
        with instance(image, env) as (fn_c, url_c), instance(image, env) as (fn_d, url_d):
            assert not logged_in(elsewhere(from_image, url_c)), "a cookie made with the image's salt was taken"
            c = log_in(url_c)
            assert logged_in(elsewhere(c, url_d)), f"instance D refused the login made on C:\n{fn_d.logs()}"
            assert fn_c.read_file(SALT_FILE) == ENV_SALT.encode() == fn_d.read_file(SALT_FILE)
            assert not logged_in(elsewhere(c, url_default))
            assert not logged_in(forged(c, url_d))


def test_the_salt_is_not_passed_on_to_php(image: str) -> None:
    """start.sh unsets DOKUWIKI_COOKIE_SALT before it starts the servers; php-fpm (`clear_env = no`) would otherwise
    hand it to every PHP script. Asked here of a script php-fpm runs, as it runs DokuWiki's (/proc/<pid>/environ
    cannot tell: php-fpm and nginx write their process titles over that memory, and it reads as zeros either way)."""
    with instance(image, {"DOKUWIKI_COOKIE_SALT": ENV_SALT}) as (fn, url):
        assert logged_in(log_in(url))  # php-fpm is up, and its workers have used the salt
        assert fn.read_file(SALT_FILE) == ENV_SALT.encode()
        headers, _, body = fn.exec(["php"], PHP_PROBE.encode()).partition(b"\r\n\r\n")
        assert body.startswith(b"{"), (headers, body[:2000])
        seen = json.loads(body)
        # The script sees the function's environment (the image's ENV and Lambda's), as DokuWiki does ...
        assert seen["getenv"].get("DOKUWIKI_PORT") == "8005", seen["getenv"]
        assert "AWS_LAMBDA_FUNCTION_NAME" in seen["getenv"], seen["getenv"]
        # ... but neither the salt nor its name.
        for where, value in seen.items():
            text = json.dumps(value, ensure_ascii=False)
            assert "DOKUWIKI_COOKIE_SALT" not in text and ENV_SALT not in text, f"PHP's {where} has the salt"

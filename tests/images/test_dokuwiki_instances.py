"""The DokuWiki guide's image (docs/apps/dokuwiki.md) as several Lambda instances: a login made on one holds on another.

Each instance is a container of its own (its own tmpfs /tmp, seeded at its cold start by the guide's start.sh), run
under the real RIE behind the HTTP API front door of tests/images/test_guides.py, as Lambda runs two instances of one
function. DokuWiki encrypts the password in its login cookie, and makes its form tokens, with the salt in
data/meta/_htcookiesalt2, and makes a random one on first use if there is none: unless every instance reads the same
salt, a user who logged in on one instance is logged out on the next (and after each cold start).

Checked here: the browser's cookies from instance A log in on instance B, and A's form token is B's; a forged auth
cookie logs in nowhere; with DOKUWIKI_COOKIE_SALT set, the instances use that salt, and A's cookie (the image's salt)
is refused by them.
"""

from __future__ import annotations

import base64
import contextlib
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

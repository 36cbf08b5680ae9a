"""DokuWiki in a real browser, directly and through `reweb local`: log in, upload a PNG named `grüße.png` through the
media manager's own form (its file input, its JavaScript uploader), see it listed; not one console error, failed
request or answer >= 400 on the way, in either mode.

The browser is Debian's headless Chromium driven over the DevTools protocol (tests/support/cdp.py; nothing is
downloaded). It reaches the app at http://dokuwiki.test/, a name that Chromium itself maps to the 127.0.0.1 port
under test (direct: the app's, otherwise the gateway's); every other name fails to resolve, so nothing leaves
127.0.0.1. A public-style origin on the default port is what users of a function URL have, and DokuWiki needs it
here: behind Debian's nginx (`fastcgi_param HTTP_HOST $host`) it loses any other port from the absolute URLs it
makes (the login redirect, the web manifest's icons), so a page at http://127.0.0.1:8005 fails to load its own
manifest icon, directly and through reweb alike.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import appkit
import pytest
from appkit import KIT, PASSWORD, REWEB_MODES, TEST_PNG, AppSpec, Site, reweb_local_available, run_site
from specs import DOKUWIKI

from tests.support.cdp import DevTools, chromium, open_page

# ~12 s per mode with Chromium installed; room for apt-get install chromium on a fresh machine otherwise.
pytestmark = [pytest.mark.apps, pytest.mark.timeout(120 if shutil.which("chromium") else 900)]

SPEC = dataclasses.replace(DOKUWIKI, name="dokuwiki-browser")  # its own log file; not a row of the README table
# "http-api-default-concurrency": reweb local's default concurrency (10) with networks and /tmp of their own, as a
# browser's parallel requests start several instances (each DokuWiki then has its own /tmp/dokuwiki, as on Lambda).
MODES = ("direct", "http-api", "http-api-default-concurrency")
HOST = "dokuwiki.test"  # RFC 6761: never a real name
ORIGIN = f"http://{HOST}"
FILE_NAME = "grüße.png"
MEDIA_ID = "wiki:gruesse.png"  # DokuWiki transliterates ids (its `deaccent` setting), as it does page names
MEDIA_PATH = f"/lib/exe/fetch.php?media={MEDIA_ID}"
ROOT = Path(__file__).resolve().parents[2]
SHOT_DIR = ROOT / "build" / "test-output"
REQUIRE = os.environ.get("REWEB_REQUIRE_APPS", "") not in ("", "0")


@pytest.fixture(scope="module", params=MODES)
def browser_site(request: pytest.FixtureRequest) -> Iterator[Site]:
    """DokuWiki cold-started for one mode, as the `site` fixture does (but kept out of the compatibility table)."""
    mode: str = request.param
    installed = (KIT / ".installed").exists() and os.geteuid() == 0  # root makes this run's app user
    if not installed:
        pytest.fail("apps not installed: run tests/apps/install.sh")
    if mode in REWEB_MODES and not reweb_local_available():
        if REQUIRE:
            pytest.fail("`reweb local` is not available")
        pytest.skip("`reweb local` is not available yet")
    chromium()  # before the app starts: installed with apt if missing (skipped when that cannot be done)
    if mode != "http-api-default-concurrency":
        with run_site(SPEC, mode) as site:
            yield site
        return
    from reweb.local import netns, sandbox

    for why in (netns.available(), sandbox.mounts_unavailable()):
        if why:
            pytest.skip(f"instances cannot be isolated here: {why}")
    plain = appkit.local_command

    def default_concurrency(spec: AppSpec, mode: str, gateway_port: int, base: str) -> tuple[list[str], dict[str, str]]:
        argv, env = plain(spec, "http-api", gateway_port, base)
        cut = argv.index("--network")  # DokuWiki needs no database on this machine's network: isolated, default 10
        assert argv[cut:cut + 4] == ["--network", "shared", "--concurrency", "1"], argv
        return argv[:cut] + argv[cut + 4:], env

    # Several instances, each with its own copy of the seed in its own /tmp: a login (and every form token) made on
    # one instance holds on the next only because they all read the seed's cookie salt (docs/apps/dokuwiki.md; the
    # kit's seed gets it from install.d/dokuwiki.sh, as the guide's image gets one at build time).
    appkit.local_command = default_concurrency  # run_site looks it up at each call
    try:
        with run_site(dataclasses.replace(SPEC, name="dokuwiki-browser-concurrency"), "http-api") as site:
            yield dataclasses.replace(site, mode=mode)
    finally:
        appkit.local_command = plain


# ---- the page, as a user works it: real mouse clicks and typing -----------------------------------------------------

CENTER = """(sel => {
  const el = document.querySelector(sel);
  if (!el) return null;
  el.scrollIntoView({block: 'center'});
  const r = el.getBoundingClientRect();
  return r.width && r.height ? [r.left + r.width / 2, r.top + r.height / 2] : null;
})"""


class Page:
    """The tab, with what a user does (click, type, pick a file) and what the test watches (loads, failures)."""

    def __init__(self, cdp: DevTools) -> None:
        self.cdp = cdp

    async def start(self) -> None:
        for domain in ("Network", "Page", "Runtime", "Log", "DOM"):
            await self.cdp.call(f"{domain}.enable")

    async def goto(self, url: str) -> None:
        mark = self.cdp.mark()
        await self.cdp.call("Page.navigate", url=url)
        await self.cdp.wait_event("Page.loadEventFired", since=mark)
        await self.settle()

    async def wait_for(self, expression: str, what: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = await self.cdp.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                shown = await self.cdp.evaluate("document.body ? document.body.innerText.slice(0, 3000) : ''")
                raise AssertionError(f"never true: {what} ({expression})\n{self.problems()}\npage text:\n{shown}")
            await asyncio.sleep(0.1)

    async def click(self, selector: str) -> None:
        x, y = await self.wait_for(f"{CENTER}({json.dumps(selector)})", f"{selector} is shown")
        await self.cdp.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            await self.cdp.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    async def click_and_load(self, selector: str) -> None:
        """Click something that loads a new page (a link, a submit button), and wait for that page."""
        mark = self.cdp.mark()
        await self.click(selector)
        await self.cdp.wait_event("Page.loadEventFired", since=mark)
        await self.settle()

    async def fill(self, selector: str, text: str) -> None:
        await self.click(selector)
        await self.cdp.call("Input.insertText", text=text)

    async def choose_file(self, selector: str, path: Path) -> None:
        """What the file chooser does: the input gets the file, and its change event fires."""
        await self.wait_for(f"!!document.querySelector({json.dumps(selector)})", f"{selector} exists")
        doc = await self.cdp.call("DOM.getDocument", depth=0)
        node = await self.cdp.call("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector=selector)
        await self.cdp.call("DOM.setFileInputFiles", files=[str(path)], nodeId=node["nodeId"])

    async def settle(self, quiet: float = 0.5, timeout: float = 20.0) -> None:
        """Wait until no request has been in flight for `quiet` seconds (the page's own XHRs, images, manifest)."""
        deadline = time.monotonic() + timeout
        calm_since = time.monotonic()
        while time.monotonic() - calm_since < quiet:
            if self.in_flight():
                calm_since = time.monotonic()
            assert time.monotonic() < deadline, f"requests still in flight: {self.in_flight()}"
            await asyncio.sleep(0.05)

    def in_flight(self) -> list[str]:
        started: dict[str, str] = {}
        for e in self.cdp.events:
            p = e["params"]
            if e["method"] == "Network.requestWillBeSent":
                started[p["requestId"]] = p["request"]["url"]
            elif e["method"] in ("Network.loadingFinished", "Network.loadingFailed"):
                started.pop(p["requestId"], None)
        return [u for u in started.values() if not u.startswith("data:")]

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.cdp.events if e["method"] == "Network.requestWillBeSent"]

    def problems(self) -> list[str]:
        """Every console error, uncaught exception, failed request and answer >= 400 seen so far."""
        urls = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in self.cdp.events
                if e["method"] == "Network.requestWillBeSent"}
        out = []
        for e in self.cdp.events:
            m, p = e["method"], e["params"]
            if m == "Network.responseReceived" and p["response"]["status"] >= 400:
                out.append(f"HTTP {p['response']['status']} {p['response']['url']}")
            elif m == "Network.loadingFailed":
                out.append(f"failed ({p['errorText']}) {urls.get(p['requestId'], p['requestId'])}")
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(f"console ({p['entry']['source']}): {p['entry']['text']} {p['entry'].get('url', '')}")
            elif m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                out.append(f"console.{p['type']}: {json.dumps(p['args'])[:500]}")
            elif m == "Runtime.exceptionThrown":
                out.append(f"exception: {json.dumps(p['exceptionDetails'])[:1000]}")
        return out

    async def screenshot(self, path: Path) -> None:
        height = await self.cdp.evaluate("document.documentElement.scrollHeight")
        await self.cdp.call("Emulation.setDeviceMetricsOverride", width=1280, height=min(int(height), 3000),
                            deviceScaleFactor=1, mobile=False)
        await asyncio.sleep(0.3)
        png = await self.cdp.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(png["data"]))


PANEL = "document.querySelector('#mediamanager__page .panel.filelist')"
FILE_LIST = f"[...{PANEL}.querySelectorAll('ul.thumbs dd.name a')].map(a => a.textContent.trim())"
READ_MEDIA = f"""fetch({json.dumps(MEDIA_PATH)}).then(async r => {{
  const bytes = new Uint8Array(await r.arrayBuffer());
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return {{status: r.status, type: r.headers.get('content-type'), b64: btoa(bin)}};
}})"""


async def upload_in_browser(port: int, png: Path, shot: Path, one_instance: bool = True) -> dict[str, Any]:
    async with open_page(host_rules=f"MAP {HOST} 127.0.0.1:{port} , MAP * ~NOTFOUND , EXCLUDE 127.0.0.1") as cdp:
        page = Page(cdp)
        await page.start()

        # Log in through the form.
        await page.goto(f"{ORIGIN}/doku.php?id=start&do=login")
        await page.fill("#dw__login input[name=u]", "admin")
        await page.fill("#dw__login input[name=p]", PASSWORD)
        await page.click_and_load("#dw__login button[type=submit]")
        url = await cdp.evaluate("location.href")
        assert url == f"{ORIGIN}/doku.php?id=start", url
        await page.wait_for("!!document.querySelector('#dokuwiki__usertools li.logout a')", "logged in (Log Out)")

        # The media manager, the `wiki` namespace, its Upload tab: the way a user goes there.
        await page.click_and_load("#dokuwiki__sitetools li.media a")
        await page.click("#media__tree a.idx_dir[href*='ns=wiki']")
        await page.wait_for(f"{PANEL}.querySelector('.panelHeader h3 strong')?.textContent === 'wiki'", "files in wiki")
        await page.click("#mediamanager__page .panel.filelist .tabs a[href*='tab_files=upload'][href*='ns=wiki']")

        # The uploader's own file input gets the file; the name it proposes is the file's; Upload.
        await page.choose_file("#mediamanager__uploader input[type=file]", png)
        name = await page.wait_for("document.querySelector('.qq-upload-name-input')?.value", "a file in the queue")
        assert name == FILE_NAME, name
        await page.click("#mediamanager__upload_button")
        done = await page.wait_for(
            "document.querySelector('.qq-upload-list li.qq-upload-success, .qq-upload-list li.qq-upload-fail')"
            "?.className", "the upload's end")
        assert "qq-upload-success" in done, (done, await cdp.evaluate("document.querySelector('.qq-upload-list')"
                                                                     ".textContent"))
        await page.settle()
        # The uploader shows the name sent, and links the id the server made of it (from the UTF-8 name in the
        # XHR's query: a name mangled on the way would give another id).
        uploaded = await cdp.evaluate("(a => a && [a.textContent, a.id])"
                                      "(document.querySelector('.qq-upload-list li.qq-upload-success a'))")
        assert uploaded == [FILE_NAME, f"h_:{MEDIA_ID}"], uploaded

        if not one_instance:
            # Several instances, each with its own /tmp: the file is on the one that stored it only (on Lambda too:
            # docs/apps/dokuwiki.md, "edits stay on the instance that made them"), so the list may come from another.
            await page.screenshot(shot)
            return {"problems": page.problems(), "requests": page.requests()}
        # The Media Files tab lists it.
        await page.click("#mediamanager__page .panel.filelist .tabs a[href*='tab_files=files'][href*='ns=wiki']")
        stored = MEDIA_ID.split(":")[1]
        listed = await page.wait_for(f"(names => names.includes({json.dumps(stored)}) && names)({FILE_LIST})",
                                     f"{stored} in the list of files")
        await page.settle()
        thumb = await cdp.evaluate(f"document.getElementById('l_:{MEDIA_ID}')?.querySelector('img')?.naturalWidth")
        media = await cdp.evaluate(READ_MEDIA)  # the bytes, with the browser's session cookie
        await page.settle()
        await page.screenshot(shot)
        return {"listed": listed, "thumb": thumb, "media": media, "problems": page.problems(),
                "requests": page.requests()}


def test_login_upload_non_ascii_file_no_console_error_no_failed_request(
        browser_site: Site, tmp_path: Path) -> None:
    png = tmp_path / FILE_NAME
    shutil.copyfile(TEST_PNG, png)
    SHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SHOT_DIR / f"dokuwiki-browser-{browser_site.mode}.png"
    shot.unlink(missing_ok=True)
    port = int(browser_site.base.rsplit(":", 1)[1])

    one_instance = browser_site.mode != "http-api-default-concurrency"
    seen = asyncio.run(upload_in_browser(port, png, shot, one_instance))
    print(f"\nscreenshot of DokuWiki's media manager ({browser_site.mode}): {shot}")

    assert not seen["problems"], "\n".join(seen["problems"])
    # Every request went to the public origin: nothing aimed at the app's own port or the gateway's.
    assert all(u.startswith(f"{ORIGIN}/") or u.startswith("data:") for u in seen["requests"]), seen["requests"]
    if not one_instance:
        return
    assert seen["listed"] == ["dokuwiki-128.png", "dokuwiki.svg", "gruesse.png"], seen["listed"]
    assert seen["thumb"] == 90, seen["thumb"]  # its thumbnail, made 90x90 by PHP (GD), is shown
    media = seen["media"]
    assert (media["status"], media["type"]) == (200, "image/png"), media
    assert base64.b64decode(media["b64"]) == TEST_PNG.read_bytes()
    # Every request went to the public origin: nothing aimed at the app's own port or the gateway's.
    assert all(u.startswith(f"{ORIGIN}/") or u.startswith("data:") for u in seen["requests"]), seen["requests"]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

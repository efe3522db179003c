"""Fixtures for the browser tests: a built site, a local HTTP server, Debian's chromium.

The real site is built once per session with :func:`stepwise.build.build_site` into a
temporary folder and served on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

#: Debian's chromium (.ci/run installs it); STEPWISE_CHROMIUM names another (a test
#: points it at nothing to check that the browser tests skip)
CHROMIUM = Path(os.environ.get("STEPWISE_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
LESSON = "linux/how/tcp-handshake/index.html"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]



def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed: make test installs it"
    return None


#: the reason every test of tests/browser/ is skipped, or None
BROWSER_MISSING = browser_missing()
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without Chromium every browser test is skipped, with the reason (pytest -ra
    prints it), whatever its module does at import."""
    if BROWSER_MISSING is None:
        return
    skip = pytest.mark.skip(reason=BROWSER_MISSING)
    for item in items:
        if item.path.is_relative_to(HERE) or item.get_closest_marker("browser"):
            item.add_marker(skip)


# ---- the site, served ----------------------------------------------------------------


@dataclass
class Site:
    root: Path
    base: str
    lessons: list[str] = field(default_factory=list)  # URL paths of pages with a trace

    def url(self, path: str = LESSON) -> str:
        return f"{self.base}/{path}"


def build(out: Path) -> None:
    from stepwise.build import build_site

    build_site(ROOT, out)  # with the search index


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    out = tmp_path_factory.mktemp("site")
    build(out)
    lessons = sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*.html")
        if 'id="lesson-trace"' in p.read_text(errors="replace")
    )
    handler = functools.partial(_Quiet, directory=str(out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(out, f"http://127.0.0.1:{server.server_address[1]}", lessons)
    finally:
        server.shutdown()
        server.server_close()


# ---- the browser ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Watch:
    """What a page did that it should not: console errors, requests to other hosts."""

    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)


def open_page(browser, *, width: int = 1000, height: int = 900, js: bool = True,
              reduced: bool = False, dark: bool = False):
    """A new page in its own context, watched for console errors and foreign requests."""
    ctx = browser.new_context(
        viewport={"width": width, "height": height},
        java_script_enabled=js,
        reduced_motion="reduce" if reduced else "no-preference",
        color_scheme="dark" if dark else "light",
    )
    page = ctx.new_page()
    watch = Watch()
    page.on(
        "console",
        lambda m: m.type == "error" and watch.errors.append(f"{m.text} [{m.location.get('url')}]"),
    )
    page.on("pageerror", lambda e: watch.errors.append(str(e)))

    def check(req) -> None:
        host = urlsplit(req.url).hostname
        if req.url.startswith(("http:", "https:", "ws:", "wss:")) and host != "127.0.0.1":
            watch.foreign.append(req.url)

    page.on("request", check)
    return page, watch


@pytest.fixture
def new_page(browser):
    """Factory fixture: ``page, watch = new_page(width=375)``; contexts closed afterwards."""
    made = []

    def make(**kw):
        page, watch = open_page(browser, **kw)
        made.append(page)
        return page, watch

    yield make
    for page in made:
        page.context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

"""A new user's site, from the wheel: build stepwise's wheel, install it into a fresh
virtual environment outside the repository, `stepwise new`, build the starter site for
a sub-path (/docs/) and serve it there; in Chromium the lesson plays and search
answers, and no link of any page (the 404 page's included) dangles or leaves /docs/.

Screenshots of the starter site land in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.conftest import BROWSER_MISSING, ROOT

pytestmark = pytest.mark.browser

if BROWSER_MISSING:
    pytest.skip(BROWSER_MISSING, allow_module_level=True)

from playwright.sync_api import expect  # noqa: E402

from tests.browser.test_player import clean  # noqa: E402

SUB = "/docs/"
LESSON = "lessons/first-connection/"


class _SubPath(SimpleHTTPRequestHandler):
    """Serves a folder whose docs/ is the site, and docs/404.html for a missing page
    under /docs/ (as GitHub Pages and Netlify serve a site's 404.html)."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        page = Path(self.directory) / SUB.strip("/") / "404.html"
        if code == 404 and self.path.startswith(SUB) and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().send_error(code, message, explain)


@dataclass
class NewSite:
    root: Path        # the site's folder, as `stepwise new` made it
    base: str         # http://127.0.0.1:PORT/docs/
    build_out: str    # what `stepwise build` printed
    build_err: str


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


def _source_copy(to: Path) -> Path:
    """The repository's files as a clone would have them (tracked and new, not ignored),
    so no build/ or egg-info of an earlier build can slip into the wheel."""
    listed = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], ROOT).stdout
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file() and not rel.startswith(("content/", "tests/", "bench/", "docs/")):
            (to / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, to / rel)
    return to


@pytest.fixture(scope="module")
def new_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NewSite]:
    work = tmp_path_factory.mktemp("newuser")
    source = _source_copy(work / "source")
    wheels = work / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels),
          str(source)], work)
    (wheel,) = wheels.glob("stepwise-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], work)
    _run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet", str(wheel)], work)
    stepwise = str(venv / "bin/stepwise")
    # the installed command, run far from the repository: nothing of the clone is used
    assert _run([stepwise, "--version"], work).stdout.startswith("stepwise ")
    home = work / "home"
    home.mkdir()
    _run([stepwise, "new", "mysite"], home)
    root = home / "mysite"
    www = work / "www"
    www.mkdir()
    handler = functools.partial(_SubPath, directory=str(www))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}{SUB}"
    built = _run([stepwise, "build", "--strict", "--base-url", base, "--out",
                  str(www / "docs")], root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield NewSite(root, base, built.stdout, built.stderr)
    finally:
        server.shutdown()
        server.server_close()


def test_the_starter_builds_from_the_wheel_with_no_warning(new_site: NewSite):
    from stepwise.scaffold import starter_files

    # the wheel carries every file of the starter (dotfiles are stored without the dot)
    made = sorted(p.relative_to(new_site.root).as_posix()
                  for p in new_site.root.rglob("*")
                  if p.is_file() and ".stepwise-cache" not in p.parts)  # the build's
    assert made == sorted([*starter_files(), "requirements.txt"])
    assert new_site.build_err == ""
    assert re.fullmatch(r"built 5 pages in \d+\.\d\d s -> \S+/docs/ \(search index: 7 pages, "
                        r"\d+ KB\)\n", new_site.build_out), new_site.build_out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name in ("href", "src") or name in ("data-pagefind",)):
                self.links.append(value)


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get("Content-Type", "")


def test_no_link_dangles_or_leaves_the_sub_path(new_site: NewSite):
    start = [new_site.base, new_site.base + "no/such/page/"]  # the 404 page too
    seen: set[str] = set()
    pages = 0
    problems: list[str] = []
    todo = list(start)
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        status, body, kind = _get(url)
        if status != 200 and url not in start[1:]:
            problems.append(f"{status} {url}")
            continue
        if "html" not in kind:
            continue
        pages += 1
        parser = _Links()
        parser.feed(body.decode("utf-8"))
        for link in parser.links:
            target = urljoin(url, link).split("#", 1)[0]
            if not target.startswith(("http:", "https:")):
                continue  # data: (the icon), mailto:
            if not target.startswith(new_site.base):
                problems.append(f"{url} links outside {SUB}: {link}")
            elif target not in seen:
                todo.append(target)
    assert problems == []
    assert pages >= 8  # home, 2 sections, lesson, article, tag pages, the 404 page


def test_the_lesson_plays_and_search_answers_under_the_sub_path(new_site, new_page,
                                                                artifacts):
    page, watch = new_page(width=1200, height=900)
    page.goto(new_site.base)
    page.screenshot(path=str(artifacts / "new-site-home.png"), full_page=True)
    page.get_by_role("link", name="how a TCP connection opens").first.click()
    page.wait_for_url(re.compile(re.escape(new_site.base + LESSON)))
    page.wait_for_selector("#player[data-step='1']")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#player[data-step='2']")
    expect(page.locator("figure.player [data-endpoint='client'][data-state]").first) \
        .to_have_attribute("data-state", "SYN-SENT", timeout=8_000)
    page.get_by_role("button", name="Play").click()
    page.wait_for_selector("#player[data-step='3']", timeout=20_000)
    page.screenshot(path=str(artifacts / "new-site-lesson.png"), full_page=True)
    page.locator("#sw-q").fill("handshake")
    results = page.locator(".search-list li a")
    expect(results.first).to_be_visible(timeout=10_000)
    hrefs = [results.nth(i).get_attribute("href") or "" for i in range(results.count())]
    assert any("kb/three-way-handshake" in h for h in hrefs), hrefs
    assert all(urljoin(page.url, h).startswith(new_site.base) for h in hrefs), hrefs
    page.screenshot(path=str(artifacts / "new-site-search.png"))
    results.filter(has_text="three-way handshake").first.click()
    page.wait_for_url(re.compile(re.escape(new_site.base + "kb/three-way-handshake/")))
    page.screenshot(path=str(artifacts / "new-site-article.png"), full_page=True)
    clean(watch)


def test_the_404_page_is_styled_and_leads_back(new_site, new_page, artifacts):
    page, watch = new_page()
    response = page.goto(new_site.base + "no/such/page/")
    assert response is not None and response.status == 404
    # the stylesheet loaded at this depth: its absolute links start with base_url
    assert page.evaluate("getComputedStyle(document.querySelector('.site-header'))"
                         ".display") != "inline"
    page.screenshot(path=str(artifacts / "new-site-404.png"))
    # the menu's sections are offered, and the site's name leads home
    expect(page.locator(".page-list a")).to_have_text(["Lessons", "Knowledge base"])
    page.locator("a.brand").first.click()
    page.wait_for_url(new_site.base)
    page.screenshot(path=str(artifacts / "new-site-404-back.png"))
    # the one failed load is the missing page itself, which Chromium reports as such
    watch.errors = [e for e in watch.errors if "/no/such/page/]" not in e]
    clean(watch)
    assert urlsplit(page.url).path == SUB


def test_the_feed_and_the_lessons_card_are_served_from_the_wheels_build(new_site: NewSite):
    # the wheel carries the cards' font (themes/default/fonts/) and the build made them
    import feedparser

    status, body, kind = _get(new_site.base + LESSON)
    assert status == 200
    card = re.search(r'<meta property="og:image" content="([^"]+)">', body.decode())
    assert card is not None and card.group(1).startswith(new_site.base + "static/cards/")
    status, jpeg, kind = _get(card.group(1))
    assert (status, jpeg[:3], kind) == (200, b"\xff\xd8\xff", "image/jpeg")
    status, data, kind = _get(new_site.base + "feed.xml")
    feed = feedparser.parse(data)
    assert status == 200 and not feed.bozo
    assert sorted(e.link for e in feed.entries) == [new_site.base + "kb/three-way-handshake/",
                                                    new_site.base + LESSON]

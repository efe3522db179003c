"""Finding one's way in a real browser: search (Pagefind, loaded on first use), the `/`
shortcut, previous/next, link previews and tag pages (issue 7).

The session's site (tests/browser/conftest.py) is built with its search index. Expected
values are read from the built pages themselves. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import BROWSER_MISSING

LESSON = "linux/how/tcp-handshake/index.html"
KB_ARTICLE = "linux/kb/tcp-handshake/index.html"
KB = "linux/kb/index.html"

pytestmark = pytest.mark.browser

if BROWSER_MISSING:
    pytest.skip(BROWSER_MISSING, allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402


def clean(watch) -> None:
    errors = [e for e in watch.errors if "favicon.ico" not in e]
    assert errors == [], f"console errors: {errors}"
    assert watch.foreign == [], f"requests to other hosts: {watch.foreign}"


def pagefind_requests(page: Page) -> list[str]:
    return page.evaluate(
        "performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(u => u.includes('/pagefind/'))")


def search(page: Page, query: str) -> None:
    page.locator("#sw-q").fill(query)
    expect(page.locator(".search-list li").first).to_be_visible(timeout=10_000)


def result_urls(page: Page) -> list[str]:
    return page.eval_on_selector_all(".search-list a", "els => els.map(a => a.href)")


# -- search ----------------------------------------------------------------------------


def test_nothing_of_search_loads_before_it_is_opened(site, new_page) -> None:
    page, watch = new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(site.url(LESSON))
    page.mouse.wheel(0, 800)
    page.locator("a.wikilink").first.hover()
    page.wait_for_timeout(300)
    assert [u for u in requested if "/pagefind/" in u] == []
    assert pagefind_requests(page) == []
    expect(page.locator("#sw-search")).to_be_visible()
    page.locator("#sw-q").focus()
    page.wait_for_function("performance.getEntriesByType('resource')"
                           ".some(e => e.name.endsWith('/pagefind/pagefind.js'))")
    clean(watch)


def test_slash_focuses_the_search_box(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url(LESSON))
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    expect(page.locator("#sw-q")).to_be_focused()
    assert page.locator("#sw-q").input_value() == ""  # the "/" is not typed in
    page.keyboard.press("Escape")
    expect(page.locator("#sw-q")).not_to_be_focused()
    clean(watch)


def test_handshake_finds_the_lesson_and_the_knowledge_base_article(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url(KB))
    page.keyboard.press("/")
    page.keyboard.type("handshake")
    expect(page.locator(".search-list li").first).to_be_visible(timeout=10_000)
    urls = result_urls(page)
    assert site.url(LESSON) in urls, urls
    assert site.url(KB_ARTICLE) in urls, urls
    status = page.locator(".search-status").text_content() or ""
    assert "handshake" in status and re.search(r"\d", status)
    article = page.locator(".search-list a", has=page.locator(".sr-title")).filter(
        has_text="TCP handshake").first
    expect(article.locator(".sr-title")).to_have_text("TCP handshake")
    expect(article.locator(".sr-section")).to_have_text("Linux & networking › Knowledge base")
    expect(article.locator(".sr-excerpt mark").first).to_have_text(re.compile("handshake", re.I))
    # Escape closes the results, arrows walk them
    page.keyboard.press("ArrowDown")
    expect(page.locator(".search-list a").first).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(page.locator("#sw-q")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#sw-results")).to_be_hidden()
    clean(watch)


def test_a_result_opens_its_page_from_any_depth(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url("linux/labs/intermediate-02-tcp-handshake/index.html"))
    search(page, "TIME-WAIT")
    first = page.locator(".search-list a").first
    title = first.locator(".sr-title").text_content()
    first.click()
    expect(page.locator("h1")).to_have_text(title or "")
    clean(watch)


def test_search_from_disk_says_it_needs_a_server(site, new_page) -> None:
    page, watch = new_page()
    page.goto((site.root / LESSON).as_uri())
    page.locator("#sw-q").fill("handshake")
    box = page.locator("#sw-search")
    expect(page.locator(".search-status")).to_have_text(box.get_attribute("data-s-file") or "?",
                                                        timeout=10_000)
    # the browser reports the refused module load itself; the page raises nothing
    assert [e for e in watch.errors if "pagefind" not in e and "favicon" not in e] == []


def test_tag_pages_are_searchable(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url())
    search(page, "tcpdump")
    assert site.url("tags/tcpdump/index.html") in result_urls(page)
    clean(watch)


# -- previous / next -------------------------------------------------------------------


def test_previous_and_next_follow_the_section_order(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url(KB))
    listed = page.eval_on_selector_all("#sw-in-section ~ .page-list a",
                                       "els => els.map(a => a.href)")
    assert len(listed) >= 3
    page.goto(listed[0])
    expect(page.locator(".pager-prev")).to_have_count(0)
    walked = [page.url]
    while page.locator(".pager-next").count():
        page.locator(".pager-next").click()
        walked.append(page.url)
    assert walked == listed
    expect(page.locator(".pager-next")).to_have_count(0)
    page.locator(".pager-prev").click()
    assert page.url == listed[-2]
    clean(watch)


# -- link previews ---------------------------------------------------------------------


def description_of(page: Page, url: str) -> str:
    return page.evaluate(
        """async (url) => {
             const html = await (await fetch(url)).text();
             const doc = new DOMParser().parseFromString(html, 'text/html');
             return doc.querySelector('meta[name=description]').content;
           }""", url)


def test_hover_and_focus_show_the_targets_description(site, new_page, artifacts) -> None:
    page, watch = new_page()
    page.goto(site.url(LESSON))
    link = page.locator(".prose a.wikilink[data-preview-desc]").first
    link.scroll_into_view_if_needed()
    target = link.evaluate("a => a.href")
    expected = description_of(page, target)
    tip = page.locator(".link-preview")
    link.hover()
    expect(tip).to_be_visible()
    expect(tip.locator("span")).to_have_text(expected)
    expect(tip.locator("strong")).to_have_text(link.get_attribute("data-preview-title") or "")
    assert link.get_attribute("aria-describedby") == "sw-preview"
    page.screenshot(path=str(artifacts / "find-preview.png"))
    page.mouse.move(2, 2)
    expect(tip).to_be_hidden()
    # keyboard: focus shows it, Escape hides it
    link.focus()
    expect(tip).to_be_visible()
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()
    clean(watch)


def test_no_previews_on_touch_screens(site, browser) -> None:
    ctx = browser.new_context(has_touch=True, is_mobile=True, viewport={"width": 390, "height": 800})
    try:
        page = ctx.new_page()
        page.goto(site.url(LESSON))
        assert page.evaluate("matchMedia('(pointer: coarse)').matches")
        page.locator(".prose a.wikilink").first.focus()
        page.wait_for_timeout(200)
        assert page.locator(".link-preview").count() == 0
    finally:
        ctx.close()


# -- tags ------------------------------------------------------------------------------


def test_a_tag_page_lists_exactly_the_pages_tagged_with_it(site, new_page) -> None:
    pages_tagged = sorted(
        site.url(p.relative_to(site.root).as_posix()) for p in site.root.rglob("index.html")
        if 'tags/handshake/index.html">handshake<' in p.read_text(encoding="utf-8")
        and not p.relative_to(site.root).as_posix().startswith("tags/"))
    assert len(pages_tagged) >= 3
    page, watch = new_page()
    page.goto(site.url("tags/handshake/index.html"))
    listed = sorted(page.eval_on_selector_all(".page-list a", "els => els.map(a => a.href)"))
    assert listed == pages_tagged
    assert site.url(LESSON) in listed and site.url(KB_ARTICLE) in listed
    # the page's own tag links lead back here, and the index lists the tag
    page.goto(site.url(KB_ARTICLE))
    page.locator('.tags a.tag', has_text=re.compile("^handshake$")).click()
    assert page.url == site.url("tags/handshake/index.html")
    page.goto(site.url("tags/index.html"))
    expect(page.locator(".tag-cloud a", has_text=re.compile("^handshake$"))).to_have_count(1)
    clean(watch)


# -- how it looks ----------------------------------------------------------------------


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_screenshot_search_open(site, new_page, artifacts, dark) -> None:
    page, watch = new_page(width=1200, height=800, dark=dark)
    page.goto(site.url(LESSON))
    page.keyboard.press("/")
    page.keyboard.type("handshake")
    expect(page.locator(".search-list li").first).to_be_visible(timeout=10_000)
    page.screenshot(path=str(artifacts / f"find-search-{'dark' if dark else 'light'}.png"))
    clean(watch)


def test_screenshot_narrow_and_article_toc(site, new_page, artifacts) -> None:
    page, watch = new_page(width=390, height=844)
    page.goto(site.url("linux/kb/tcp-states/index.html"))
    expect(page.locator("nav.toc")).to_be_visible()
    page.screenshot(path=str(artifacts / "find-article-narrow.png"), full_page=True)
    page.locator("#sw-q").fill("close")
    expect(page.locator(".search-list li").first).to_be_visible(timeout=10_000)
    page.screenshot(path=str(artifacts / "find-search-narrow.png"))
    clean(watch)


# -- accessibility ---------------------------------------------------------------------


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_accessibility_with_search_open_and_a_preview(site, new_page, dark) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page, watch = new_page(dark=dark)
    page.goto(site.url("linux/kb/tcp-states/index.html"))
    search(page, "handshake")
    page.locator(".prose a.wikilink").first.hover()
    expect(page.locator(".link-preview")).to_be_visible()
    # what this issue added (the code highlighting's contrast is another matter)
    ours = {"include": [["#sw-search"], [".link-preview"], ["nav.toc"], [".tags"], [".pager"],
                        ["a.wikilink"]]}
    results = Axe().run(page, context=ours).response
    bad = [f"{v['id']} ({v['impact']}): {' '.join(map(str, n.get('target', [])))}"
           for v in results["violations"] if v.get("impact") in ("serious", "critical")
           for n in v["nodes"]]
    assert bad == [], "\n".join(bad)
    clean(watch)

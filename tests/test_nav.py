"""Breadcrumb and sidebar built from the content tree."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from stepwise.content import load_pages
from stepwise.links import relative_url
from stepwise.nav import SiteTree, word_count
from tests.conftest import BASE_CONTENT


def tree(tmp_path, extra=None):
    files = dict(BASE_CONTENT, **(extra or {}))
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    pages = load_pages(tmp_path).pages
    return SiteTree(pages), {p.url: p for p in pages}


def test_breadcrumb_links_every_level_but_the_page_itself(tmp_path):
    site, by_url = tree(tmp_path)
    page = by_url["/linux/how/tcp-handshake/"]
    crumbs = site.breadcrumb(page, lambda t: relative_url(page.url, t.url), "home")
    assert [(c.title, c.href, c.current) for c in crumbs] == [
        ("home", "../../../index.html", False),
        ("linux", "../../index.html", False),
        ("how", "../index.html", False),
        ("tcp-handshake", None, True),
    ]


def test_sidebar_lists_sections_by_order_and_expands_the_current_one(tmp_path):
    site, by_url = tree(tmp_path, {"linux/lessons/_index.md": "---\ntitle: Lessons\norder: 1\n---\n"})
    page = by_url["/linux/kb/port/"]
    side = site.sidebar(page, lambda t: t.url, "Introduction")
    assert side is not None and side.title == "Linux"
    assert [(e.title, e.href) for e in side.children] == [
        ("Introduction", "/linux/"), ("Lessons", "/linux/lessons/"),
        ("How it works", "/linux/how/"), ("Knowledge base", "/linux/kb/")]
    kb = side.children[3]
    assert kb.meta["open"] is True
    assert [(p.title, p.current) for p in kb.children] == [
        ("Port", True), ("TCP handshake", False), ("TCP states", False)]
    assert side.children[2].children == ()


def test_no_sidebar_outside_a_tutorial(tmp_path):
    site, by_url = tree(tmp_path)
    assert site.sidebar(by_url["/pricing/"], lambda t: t.url, "Introduction") is None


def test_a_long_section_shows_a_window_of_pages_and_a_link_to_the_rest(tmp_path):
    from stepwise.nav import SIDEBAR_WINDOW

    many = {f"linux/kb/p{n:03d}.md": f"---\ntitle: P{n:03d}\norder: {n}\n---\n" for n in range(60)}
    site, by_url = tree(tmp_path, many)
    page = by_url["/linux/kb/p030/"]
    side = site.sidebar(page, lambda t: t.url, "Introduction", "all {n} pages")
    kb = next(e for e in side.children if e.title == "Knowledge base")
    titles = [c.title for c in kb.children]
    kids = [p.title for p in site.children(by_url["/linux/kb/"])]
    at = kids.index("P030")
    assert titles[:-1] == kids[at - SIDEBAR_WINDOW: at + SIDEBAR_WINDOW + 1]
    assert titles[-1] == f"all {len(kids)} pages" and kb.children[-1].href == "/linux/kb/"
    first = site.sidebar(by_url["/linux/kb/p000/"], lambda t: t.url, "Introduction", "{n}")
    kb_first = next(e for e in first.children if e.title == "Knowledge base")
    assert len(kb_first.children) == 2 * SIDEBAR_WINDOW + 2  # the window, then the link


@given(st.text(alphabet=st.sampled_from("aZ9_'’.- \n<>é/"), max_size=60))
def test_word_count_counts_words_that_end_on_a_letter_or_digit(text):
    # the definition the reading time was written against
    expected = len(re.findall(r"[^\W_](?:[\w'’.-]*[^\W_])?", re.sub(r"<[^>]*>", " ", text)))
    assert word_count(text) == expected


def test_word_count_reads_text_not_tags():
    assert word_count("<p>The <code>TIME-WAIT</code> state, don't panic.</p>") == 5

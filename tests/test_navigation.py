"""Finding one's way: previous/next by order, the on-page contents, tags and tag pages,
reading time, link previews, and what the search index gets (issue 7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stepwise.errors import BuildError
from stepwise.nav import page_tags, reading_minutes, table_of_contents, word_count
from stepwise.search import SEARCH_DIR, index_site
from tests.test_nav import tree as nav_tree

KB = {
    "linux/kb/a-last.md": "---\ntitle: Aardvark\nlayout: article\norder: 9\n---\nx\n",
    "linux/kb/same-b.md": "---\ntitle: Beta\nlayout: article\norder: 5\n---\nx\n",
    "linux/kb/same-a.md": "---\ntitle: alpha\nlayout: article\norder: 5\n---\nx\n",
    "linux/kb/first.md": "---\ntitle: Zulu\nlayout: article\norder: 1\n---\nx\n",
    "linux/kb/sub/_index.md": "---\ntitle: A sub-section\norder: 2\n---\n",
}


def tree(tmp_path: Path, extra: dict[str, str] | None = None):
    return nav_tree(tmp_path, extra)


def titles(pair) -> tuple[str | None, str | None]:
    return tuple(p.title if p is not None else None for p in pair)  # type: ignore[return-value]


# -- previous / next -------------------------------------------------------------------


def test_previous_and_next_follow_order_then_title_and_skip_sub_sections(tmp_path):
    site, by_url = tree(tmp_path, KB)
    # order 1 Zulu; order 5: alpha, Beta (title, case-blind); order 1000 (default):
    # Port, TCP handshake, TCP states; order 9 Aardvark comes before them
    chain = [p.title for p in site.children(by_url["/linux/kb/"]) if not p.is_index]
    assert chain == ["Zulu", "alpha", "Beta", "Aardvark", "Port", "TCP handshake", "TCP states"]
    assert titles(site.neighbours(by_url["/linux/kb/first/"])) == (None, "alpha")
    assert titles(site.neighbours(by_url["/linux/kb/same-a/"])) == ("Zulu", "Beta")
    assert titles(site.neighbours(by_url["/linux/kb/same-b/"])) == ("alpha", "Aardvark")
    assert titles(site.neighbours(by_url["/linux/kb/tcp-states/"])) == ("TCP handshake", None)


def test_no_previous_or_next_outside_a_tutorial_or_on_a_section(tmp_path):
    site, by_url = tree(tmp_path, KB)
    assert site.neighbours(by_url["/pricing/"]) == (None, None)
    assert site.neighbours(by_url["/"]) == (None, None)
    assert site.neighbours(by_url["/linux/kb/"]) == (None, None)
    assert site.neighbours(by_url["/linux/how/tcp-handshake/"]) == (None, None)  # alone


def test_ancestors_name_the_sections_above_a_page(tmp_path):
    site, by_url = tree(tmp_path, KB)
    assert [p.title for p in site.ancestors(by_url["/linux/kb/port/"])] == \
        ["Linux", "Knowledge base"]
    assert site.ancestors(by_url["/pricing/"]) == []


def test_pager_links_on_a_built_article(make_project):
    project = make_project(KB)
    project.build()
    html = project.page("linux/kb/same-a")
    pager = html.split('class="pager"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="([^"]+)" rel="(prev|next)"', pager) == [
        ("../first/index.html", "prev"), ("../same-b/index.html", "next")]
    assert 'class="pager"' not in project.page("pricing")


# -- table of contents -----------------------------------------------------------------


def test_toc_nests_h3_under_h2_and_needs_three_headings():
    headings = [(1, "t", "Title"), (2, "a", "A"), (3, "a1", "A.1"), (3, "a2", "A.2"),
                (4, "deep", "Deep"), (2, "b", "B")]
    toc = table_of_contents(headings)
    assert [(e.title, e.href, [(c.title, c.href) for c in e.children]) for e in toc] == [
        ("A", "#a", [("A.1", "#a1"), ("A.2", "#a2")]), ("B", "#b", [])]
    assert table_of_contents([(2, "a", "A"), (3, "b", "B")]) == []
    assert table_of_contents([(2, "a", "A"), (4, "x", "X"), (4, "y", "Y"), (1, "z", "Z")]) == []
    assert len(table_of_contents([(2, "a", "A"), (3, "b", "B"), (2, "c", "C")])) == 2


def test_toc_h3_before_any_h2_is_top_level():
    toc = table_of_contents([(3, "x", "X"), (2, "a", "A"), (3, "y", "Y")])
    assert [(e.title, len(e.children)) for e in toc] == [("X", 0), ("A", 1)]


def test_toc_shown_on_long_articles_only(make_project):
    long = ("---\ntitle: Long\nlayout: article\n---\n## One\n\nx\n\n### One a\n\ny\n\n"
            "## Two\n\nz\n")
    project = make_project({"linux/kb/long.md": long})
    project.build()
    html = project.page("linux/kb/long")
    toc = html.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="#([^"]+)"', toc) == ["one", "one-a", "two"]
    assert '<nav class="toc"' not in project.page("linux/kb/port")  # one heading


# -- tags ------------------------------------------------------------------------------


def test_tags_group_by_slug_and_list_pages_by_title(tmp_path):
    site, by_url = tree(tmp_path, {
        "linux/kb/port.md": "---\ntitle: Port\ntags: [TCP, udp, tcp]\n---\nx\n",
        "linux/kb/tcp-states.md": "---\ntitle: TCP states\ntags: [tcp]\n---\nx\n",
    })
    assert page_tags(by_url["/linux/kb/port/"]) == ["TCP", "udp"]
    tags = site.tags()
    assert list(tags) == ["tcp", "udp"]
    assert tags["tcp"][0] == "TCP"
    assert [p.title for p in tags["tcp"][1]] == ["Port", "TCP states"]


def test_tag_pages_are_built_linked_and_in_the_sitemap(make_project):
    project = make_project({
        "linux/kb/port.md": "---\ntitle: Port\nlayout: article\ntags: [tcp, udp]\n---\nx\n",
        "linux/kb/tcp-states.md": "---\ntitle: TCP states\nlayout: article\ntags: [tcp]\n---\nx\n",
    })
    project.build()
    tcp = project.page("tags/tcp")
    listed = tcp.split('<ul class="page-list">', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'href="([^"]+)"', listed) == [
        "../../linux/kb/port/index.html", "../../linux/kb/tcp-states/index.html"]
    assert "data-pagefind-body" in tcp
    index = project.page("tags")
    assert re.findall(r'class="tag" href="([^"]+)"', index) == [
        "tcp/index.html", "udp/index.html"]
    assert "2 pages" in index and "1 page<" in index
    port = project.page("linux/kb/port")
    assert re.findall(r'class="tag" href="([^"]+)">([^<]+)<', port) == [
        ("../../../tags/tcp/index.html", "tcp"), ("../../../tags/udp/index.html", "udp")]
    sitemap = (project.out / "sitemap.xml").read_text()
    for url in ("tags/", "tags/tcp/", "tags/udp/"):
        assert f"<loc>https://linuxlab.example.org/{url}</loc>" in sitemap


def test_no_tag_pages_without_tags(make_project):
    project = make_project()
    project.build()
    assert not (project.out / "tags").exists()


def test_a_page_under_tags_is_refused(make_project):
    from stepwise.errors import ErrorList

    project = make_project({"tags/x.md": "---\ntitle: X\ntags: [a]\n---\n",
                            "tags/_index.md": "---\ntitle: T\n---\n"})
    with pytest.raises(ErrorList) as info:
        project.build()
    assert any("/tags/ is where the tag pages go" in str(e) for e in info.value)


# -- reading time and steps on section pages -------------------------------------------


def test_word_count_and_reading_minutes(tmp_path):
    assert word_count("<p>The <code>TIME-WAIT</code> state, isn't it?</p>") == 5
    site, by_url = tree(tmp_path)
    page = by_url["/linux/kb/port/"]
    page.html = "<p>" + "word " * 401 + "</p>"
    assert reading_minutes(page) == 3
    page.html, page.minutes = "", None  # compiling a page again resets the kept value
    assert reading_minutes(page) == 1


def test_section_listing_shows_reading_time(make_project):
    body = "word " * 450
    project = make_project({"linux/kb/port.md": f"---\ntitle: Port\nlayout: article\n---\n{body}\n"})
    project.build()
    listing = project.page("linux/kb").split('id="sw-in-section"', 1)[1]
    item = re.search(r'href="port/index.html">Port</a>(.*?)</li>', listing)
    assert item is not None
    assert '<span class="meta">3 min read</span>' in item.group(1)


def test_lesson_listing_counts_its_steps(tmp_path):
    from stepwise.build import build_site

    repo = Path(__file__).resolve().parent.parent
    build_site(repo, tmp_path / "site")
    html = (tmp_path / "site/linux/how/index.html").read_text(encoding="utf-8")
    meta = re.search(r'tcp-handshake/index.html">[^<]+</a>.*?<span class="meta">(.+?)</span>',
                     html)
    assert meta is not None
    assert re.fullmatch(r'<time datetime="\d{4}-\d\d-\d\d">[^<]+</time> · \d+ min read · '
                        r"\d+ steps", meta.group(1)), meta.group(1)


# -- link previews, search markup --------------------------------------------------------


def test_wikilinks_carry_the_preview(make_project):
    project = make_project()
    project.build()
    html = project.page("linux/kb/tcp-states")
    assert ('<a class="wikilink" href="../port/index.html" data-ref="port" '
            'data-preview-title="Port" data-preview-desc="which ports take part">Port</a>') in html


def test_drafts_and_404_are_not_searchable(make_project):
    project = make_project({"linux/kb/wip.md": "---\ntitle: WIP\ndraft: true\n---\nx\n"})
    project.build(drafts=True)
    assert "data-pagefind-body" not in project.page("linux/kb/wip")
    assert "data-pagefind-body" not in (project.out / "404.html").read_text()
    port = project.page("linux/kb/port")
    assert '<main id="main" tabindex="-1" data-pagefind-body' in port
    assert 'data-section="Linux › Knowledge base"' in port


# -- the index -------------------------------------------------------------------------


def test_index_site_indexes_real_pages_only(make_project):
    project = make_project()
    project.build()
    index = index_site(project.out)
    pages = [p for p in project.out.rglob("index.html")]
    assert index.pages == len(pages)  # every page, not 404.html
    assert index.bytes > 0 and (project.out / SEARCH_DIR / "pagefind.js").is_file()
    assert not (project.out / SEARCH_DIR / "pagefind-ui.js").exists()
    assert not list(project.out.glob(".pagefind-*"))
    again = index_site(project.out)  # replaces the previous index
    assert again.bytes == index.bytes and again.files == index.files


def test_index_site_reports_a_failing_binary(tmp_path):
    fake = tmp_path / "pagefind"
    fake.write_text("#!/bin/sh\necho 'Error: something broke' >&2\nexit 3\n")
    fake.chmod(0o755)
    (tmp_path / "site").mkdir()
    with pytest.raises(BuildError, match=r"Pagefind failed \(exit status 3\): Error: something broke"):
        index_site(tmp_path / "site", executable=fake)
    assert not list((tmp_path / "site").iterdir())

"""What a published site gives beyond its pages: dates (frontmatter, <time>, sitemap
lastmod, listings sorted by date), the Atom feed (read back with feedparser, as feed
readers do), Open Graph and Twitter tags with a social card per lesson, and static
files under content-hashed names that every page and script names."""

from __future__ import annotations

import io
import re
import struct
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from PIL import Image

from stepwise.cards import Card, draw
from stepwise.project import Project
from stepwise.site import SiteBuild

from .conftest import published
from .test_incremental import fresh_outputs

BASE = "https://linuxlab.example.org/"

DATED = {
    "linux/kb/port.md": (
        "---\ntitle: Port\nlayout: article\ndescription: which ports take part\n"
        "date: 2026-03-01\nupdated: 2026-03-05T10:00:00+02:00\ntags: [tcp]\n---\n"
        "## Port ranges\n\nEphemeral ports.\n"),
    "linux/kb/tcp-states.md": (
        "---\ntitle: TCP states\nlayout: article\ndescription: all 11 states & more <b>\n"
        "date: '2026-03-01T09:30:00Z'\n---\n## The 11 states\n\nSee [[port]].\n"),
    "linux/kb/tcp-handshake.md": (
        "---\ntitle: TCP handshake\nlayout: article\ndate: 2026-02-01 08:00:00\n---\n"
        "Article.\n"),
    "linux/kb/_index.md": "---\ntitle: Knowledge base\norder: 4\nsort: date\n---\n",
}


def errors_of(project) -> list[str]:
    from stepwise.errors import ErrorList

    with pytest.raises(ErrorList) as info:
        project.build(search=False)
    return [str(e) for e in info.value]


# -- dates ----------------------------------------------------------------------------


def test_dates_show_as_time_elements_in_the_page_and_its_listing(make_project):
    project = make_project(DATED)
    project.build(search=False)
    port = project.page("linux/kb/port")
    assert ('<p class="dates">Published <time datetime="2026-03-01">1 March 2026</time>'
            '<span class="sep" aria-hidden="true"> · </span>Updated <time '
            'datetime="2026-03-05T10:00:00+02:00">5 March 2026</time></p>') in port
    states = project.page("linux/kb/tcp-states")
    assert 'Published <time datetime="2026-03-01T09:30:00Z">1 March 2026</time>' in states
    # a date-time without an offset is UTC
    assert '<time datetime="2026-02-01T08:00:00Z">' in project.page("linux/kb/tcp-handshake")
    assert "<time" not in project.page("pricing")  # no date, no line


def test_sort_date_lists_newest_first_a_date_and_a_date_time_together(make_project):
    # port (a day) and tcp-states (a date-time, the same day, later): no TypeError; the
    # undated page after the dated ones
    project = make_project({**DATED, "linux/kb/z.md": "---\ntitle: Alpha\n---\n"})
    project.build(search=False)
    listing = project.page("linux/kb").split('id="sw-in-section"', 1)[1]
    order = re.findall(r'<a href="([^"]+)/index.html">', listing.split("</section>", 1)[0])
    assert order == ["tcp-states", "port", "tcp-handshake", "z"]
    assert '<span class="meta"><time datetime="2026-03-01">1 March 2026</time> · ' in listing
    # the pager follows the same order
    assert 'href="../port/index.html"' in project.page("linux/kb/tcp-states").split(
        'class="pager"', 1)[1]


def test_sort_title_and_the_date_format_in_the_sites_words(make_project):
    project = make_project({**DATED, "linux/kb/_index.md": "---\ntitle: KB\nsort: title\n---\n"})
    config = project.root / "site.yaml"
    config.write_text(config.read_text() + 'strings:\n  dates:\n    format: "{year}-{mm}-{dd}"\n'
                      "  ui:\n    published_on: 'Publié le {date}'\n")
    project.build(search=False)
    listing = project.page("linux/kb").split('id="sw-in-section"', 1)[1].split("</section>")[0]
    assert re.findall(r'<a href="([^"]+)/index.html">', listing) == [
        "port", "tcp-handshake", "tcp-states"]
    assert 'Publié le <time datetime="2026-03-01">2026-03-01</time>' in \
        project.page("linux/kb/port")


@pytest.mark.parametrize(("line", "message"), [
    ("date: 2026-02-30", "'date' is not a date: '2026-02-30' (day is out of range for "
     "month); write YYYY-MM-DD, e.g. 'date: 2026-03-01', or a date-time with its offset, "
     "e.g. 'date: 2026-03-01T09:30:00+01:00'"),
    ("updated: 2026-3-1", "'updated' is not a date: '2026-3-1'; write YYYY-MM-DD, e.g. "
     "'updated: 2026-03-01', or a date-time with its offset, e.g. "
     "'updated: 2026-03-01T09:30:00+01:00'"),
    ("date: 2026", "'date' must be a date (got int); write YYYY-MM-DD, e.g. 'date: "
     "2026-03-01', or a date-time with its offset, e.g. 'date: 2026-03-01T09:30:00+01:00'"),
    ("date: 2026-03-01T25:00:00", "'date' is not a date: '2026-03-01T25:00:00' (hour must "
     "be in 0..23); write YYYY-MM-DD, e.g. 'date: 2026-03-01', or a date-time with its "
     "offset, e.g. 'date: 2026-03-01T09:30:00+01:00'"),
    ("sort: newest", "'sort' must be one of order, date, title (got 'newest'), e.g. "
     "'sort: date' (newest first)"),
])
def test_a_malformed_date_or_sort_is_located_with_how_to_write_it(make_project, line, message):
    project = make_project({"linux/kb/_index.md": f"---\ntitle: KB\n{line}\n---\n"})
    assert errors_of(project) == [f"content/linux/kb/_index.md:3: {message}"]


def test_a_title_that_looks_like_an_impossible_date_is_a_title(make_project):
    # libyaml raised a ValueError (no line) for 2026-02-30 anywhere in the frontmatter
    project = make_project({"pricing.md": "---\ntitle: 2026-02-30\n---\n"})
    project.build(search=False)
    assert "<h1>2026-02-30</h1>" in project.page("pricing")


def test_updated_before_date_and_sort_outside_a_section_warn(make_project):
    project = make_project({
        "pricing.md": "---\ntitle: P\ndate: 2026-03-02\nupdated: 2026-03-01\nsort: date\n---\n"})
    assert project.build(search=False).warnings == [
        "content/pricing.md:4: 'updated' (2026-03-01) is before 'date' (2026-03-02); "
        "'updated' is when the page last changed, after it was published: swap them or fix one",
        "content/pricing.md:5: 'sort' orders the pages of a section: it belongs in the "
        "section's _index.md and does nothing here"]


def test_the_sitemap_gives_lastmod_from_updated_else_date(make_project):
    project = make_project({**DATED, "linux/kb/port.md": DATED["linux/kb/port.md"].replace(
        "tags: [tcp]", "tags: [tcp, ports]")})
    project.build(search=False)
    sitemap = (project.out / "sitemap.xml").read_text()
    assert (f"<url><loc>{BASE}linux/kb/port/</loc><lastmod>2026-03-05T10:00:00+02:00"
            "</lastmod></url>") in sitemap
    assert (f"<url><loc>{BASE}linux/kb/tcp-states/</loc><lastmod>2026-03-01T09:30:00Z"
            "</lastmod></url>") in sitemap
    assert f"<url><loc>{BASE}pricing/</loc></url>" in sitemap  # no date: no lastmod
    # a tag page: its newest page's
    assert (f"<url><loc>{BASE}tags/ports/</loc><lastmod>2026-03-05T10:00:00+02:00"
            "</lastmod></url>") in sitemap


# -- the feed -------------------------------------------------------------------------


def test_the_feed_is_valid_atom_of_the_dated_lessons_and_articles(make_project):
    project = make_project({**DATED, "linux/kb/draft.md": (
        "---\ntitle: Draft\nlayout: article\ndate: 2026-04-01\ndraft: true\n---\n")})
    project.build(search=False)
    data = (project.out / "feed.xml").read_bytes()
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "linuxlab"
    assert feed.feed.id == f"{BASE}feed.xml"
    assert [link.href for link in feed.feed.links if link.rel == "self"] == [f"{BASE}feed.xml"]
    assert feed.feed.updated == "2026-03-05T10:00:00+02:00"  # the newest entry's
    assert feed.feed.author == "linuxlab"
    # the dated pages only (no draft, no undated lesson), most recently updated first
    assert [e.link for e in feed.entries] == [f"{BASE}linux/kb/port/",
                                              f"{BASE}linux/kb/tcp-states/",
                                              f"{BASE}linux/kb/tcp-handshake/"]
    port, states, _ = feed.entries
    assert port.id == f"{BASE}linux/kb/port/"
    assert port.published == "2026-03-01T00:00:00Z"
    assert port.updated == "2026-03-05T10:00:00+02:00"
    assert port.summary == "which ports take part"
    assert [t.term for t in port.tags] == ["tcp"]
    assert states.summary == "all 11 states & more <b>"  # escaped, read back as text
    assert b"&amp; more &lt;b&gt;" in data
    ids = [e.id for e in feed.entries]
    assert len(ids) == len(set(ids))


def test_every_page_links_the_feed_for_autodiscovery(make_project):
    project = make_project(DATED)
    project.build(search=False)
    for page in ("", "linux/kb/port", "tags/tcp", "linux"):
        html = project.page(page) if page else (project.out / "index.html").read_text()
        href = re.search(r'<link rel="alternate" type="application/atom\+xml" '
                         r'title="linuxlab" href="([^"]+)">', html)
        assert href is not None, page
        target = urljoin(f"{BASE}{page}/" if page else BASE, href.group(1))
        assert target == f"{BASE}feed.xml"


def test_feed_settings_and_no_feed_without_an_absolute_base_url(make_project):
    project = make_project(DATED)
    config = project.root / "site.yaml"
    text = config.read_text()
    config.write_text(text + "author: Ada\nfeed: {entries: 1}\n")
    project.build(search=False)
    feed = feedparser.parse((project.out / "feed.xml").read_bytes())
    assert feed.feed.author == "Ada" and len(feed.entries) == 1
    config.write_text(text + "feed: false\n")
    project.build(search=False)
    assert not (project.out / "feed.xml").exists()
    assert "application/atom+xml" not in project.page("linux/kb/port")
    config.write_text(text + "feed: {entries: 0}\n")
    assert errors_of(project) == [
        f"site.yaml:{len(text.splitlines()) + 1}: 'feed.entries' must be a number of pages "
        "above 0, e.g. feed: {entries: 20}"]
    config.write_text(text.replace("base_url: https://linuxlab.example.org/", "base_url: /x/"))
    project.build(search=False)
    assert not (project.out / "feed.xml").exists()
    assert "og:image" not in project.page("linux/kb/port")


def test_a_changed_date_rebuilds_the_sitemap_and_the_feed(make_project):
    project = make_project(DATED)
    build = SiteBuild(Project.at(project.root))
    build.full()
    before = build.outputs["feed.xml"], build.outputs["sitemap.xml"]
    path = project.content / "linux/kb/tcp-handshake.md"
    path.write_text(path.read_text().replace("date: 2026-02-01 08:00:00",
                                             "date: 2026-02-01\nupdated: 2026-04-01"))
    result = build.update()
    assert {"feed.xml", "sitemap.xml"} <= set(result.changed)
    assert build.outputs["feed.xml"] != before[0] and build.outputs["sitemap.xml"] != before[1]
    assert b"<updated>2026-04-01T00:00:00Z</updated>" in build.outputs["feed.xml"]
    assert build.outputs == fresh_outputs(project.root)
    # the section sorted by date lists it first now
    assert "/linux/kb/" in result.rendered
    index = project.content / "linux/kb/_index.md"
    index.write_text(index.read_text().replace("sort: date", "sort: title"))
    result = build.update()
    assert {"/linux/kb/", "/linux/kb/port/"} <= set(result.rendered)  # listing and pager
    assert build.outputs == fresh_outputs(project.root)


# -- Open Graph, Twitter, social cards -------------------------------------------------


class Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        key = a.get("property") or a.get("name")
        if tag == "meta" and key and a.get("content") is not None:
            self.meta.setdefault(str(key), []).append(str(a["content"]))


def meta_of(html: str) -> dict[str, str]:
    parser = Meta()
    parser.feed(html)
    return {k: v[0] if len(v) == 1 else "|".join(v) for k, v in parser.meta.items()}


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's segments up to its image data (SOS, 0xDA)."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    markers, at = [], 2
    while True:
        assert data[at] == 0xFF
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        at += 2 + length


def test_every_page_has_open_graph_and_twitter_tags(make_project):
    project = make_project(DATED)
    project.build(search=False)
    lesson = meta_of(project.page("linux/how/tcp-handshake"))
    card = lesson["og:image"]
    assert re.fullmatch(re.escape(BASE) + r"static/cards/linux/how/tcp-handshake\.[0-9a-f]{8}"
                        r"\.jpg", card)
    assert (project.out / card.removeprefix(BASE)).is_file()
    assert lesson["og:type"] == "article"
    assert lesson["og:title"] == lesson["twitter:title"] == "The life cycle"
    assert lesson["og:url"] == f"{BASE}linux/how/tcp-handshake/"
    assert lesson["og:site_name"] == "linuxlab"
    assert (lesson["og:image:width"], lesson["og:image:height"]) == ("1200", "630")
    assert lesson["twitter:card"] == "summary_large_image"
    assert lesson["twitter:image"] == card
    assert lesson["og:image:alt"] == "The life cycle: step 1/1 · nginx listens"
    # a page without a card of its own shares the site's; a page without a description
    # describes the site
    pricing = meta_of(project.page("pricing"))
    assert re.fullmatch(re.escape(BASE) + r"static/cards/site\.[0-9a-f]{8}\.jpg",
                        pricing["og:image"])
    assert pricing["og:type"] == "website"
    assert pricing["og:description"] == \
        "Interactive lessons on Linux, networking, Terraform and Git."
    port = meta_of(project.page("linux/kb/port"))
    assert port["og:description"] == port["twitter:description"] == "which ports take part"
    assert port["article:published_time"] == "2026-03-01"
    assert port["article:modified_time"] == "2026-03-05T10:00:00+02:00"
    assert port["article:tag"] == "tcp"
    assert meta_of(project.page("tags/tcp"))["og:type"] == "website"
    assert "og:" not in (project.out / "404.html").read_text()


def test_a_lesson_card_is_a_jpeg_without_metadata_the_same_on_every_build(make_project):
    project = make_project()
    first = SiteBuild(Project.at(project.root))
    first.full()
    cards = {p: b for p, b in first.outputs.items() if p.startswith("static/cards/")}
    assert sorted(cards) == [p for p in sorted(cards) if p.endswith(".jpg")]
    assert len(cards) == 2  # the lesson's and the site's
    second = SiteBuild(Project.at(project.root))
    second.full()
    assert {p: b for p, b in second.outputs.items() if p.startswith("static/cards/")} == cards
    for data in cards.values():
        # JFIF, quantization and Huffman tables, the frame: no EXIF, no comment, no time
        assert set(jpeg_markers(data)) == {0xE0, 0xDB, 0xC0, 0xC4, 0xDA}
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG" and image.size == (1200, 630) and image.mode == "RGB"
        assert image.layer == [(1, 1, 1, 0), (2, 1, 1, 1), (3, 1, 1, 1)]  # 4:4:4


def test_a_card_changes_name_with_what_it_shows(make_project):
    project = make_project()
    build = SiteBuild(Project.at(project.root))
    build.full()
    [old] = [p for p in build.outputs if p.startswith("static/cards/linux/")]
    path = project.content / "linux/how/tcp-handshake.md"
    path.write_text(path.read_text().replace("title: The life cycle", "title: The life"))
    result = build.update()
    [new] = [p for p in build.outputs if p.startswith("static/cards/linux/")]
    assert new != old and new in result.changed and old in result.removed
    assert new in build.outputs["linux/how/tcp-handshake/index.html"].decode()
    assert build.outputs == fresh_outputs(project.root)


def test_cards_draw_long_titles_other_scripts_and_lost_segments(tmp_path):
    scene = {
        "lanes": [{"id": "client", "role": "client", "name": "a-rather-long-client-name",
                   "address": "[2001:db8::1]:41000"},
                  {"id": "server", "role": "server", "name": "сервер", "address": "10.0.0.80:443"}],
        "layers": ["tcp"],
        "categories": {"tcp": {"SYN-SENT": "o", "LISTEN": "l"}},
        "frames": [{"states": {"client": {"tcp": "SYN-SENT"}, "server": {"tcp": "LISTEN"}},
                    "messages": [
                        {"from": "client", "to": "server", "fate": "lost",
                         "labels": [{"head": "SYN", "text": ["", " seq=1000"]}]},
                        {"from": "server", "to": "client", "fate": "delivered",
                         "labels": [{"head": "SYN,ACK", "text": [" seq=5000 ack=1001"]}]}],
                    "timers": [{"lane": "client", "name": "retransmission", "seconds": 1}]}],
    }
    words = {"client": "client", "server": "сервер", "lost": "lost",
             "timer_retransmission": "RTO", "timer_seconds": "{n} s"}
    title = ("Что происходит, когда SYN теряется по дороге, и как TCP повторяет его, "
             "удваивая таймаут каждый раз, пока не сдастся окончательно через минуту")
    card = Card("linuxlab", title, "x", scene, "step 2/2 · the SYN is lost", words)
    data = draw(card)
    assert data == draw(card)
    (tmp_path / "card.jpg").write_bytes(data)  # to look at
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.size == (1200, 630)
    # the lost segment is drawn in red, the reply in the server's colour (JPEG shifts
    # a colour by a few levels: a pixel counts within 6 of it on every channel)
    colours = image.getcolors(1200 * 630)

    def pixels(rgb: tuple[int, int, int]) -> int:
        return sum(n for n, c in colours if max(abs(a - b) for a, b in zip(c, rgb, strict=True)) <= 6)

    assert pixels((0xd1, 0x24, 0x2f)) > 200 and pixels((0xc2, 0x50, 0x1a)) > 200
    assert pixels((0x2f, 0x6f, 0xdb)) == 0  # no segment from the client arrives
    site = draw(Card("linuxlab", "Interactive lessons on Linux, networking, Terraform and Git.",
                     "site"))
    assert Image.open(io.BytesIO(site)).size == (1200, 630)


def test_no_card_and_no_absolute_tags_without_a_base_url(make_project):
    project = make_project()
    config = project.root / "site.yaml"
    config.write_text(config.read_text().replace("base_url: https://linuxlab.example.org/\n",
                                                 ""))
    project.build(search=False)
    lesson = meta_of(project.page("linux/how/tcp-handshake"))
    assert "og:url" not in lesson and "og:image" not in lesson
    assert lesson["og:title"] == "The life cycle" and lesson["twitter:card"] == "summary"
    assert not (project.out / "static/cards").exists()


# -- content-hashed static files -------------------------------------------------------

HASHED = re.compile(r"static/(.+/)?[^/]+\.[0-9a-f]{8}(\.[a-z0-9]+)?$|static/sim/stepwise-"
                    r"[0-9a-f]{12}\.zip$|static/pyodide/[^/]+-[0-9a-f]{8}/.+$")


class Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src", "data-worker", "data-runtime", "data-bundle",
                                  "data-pagefind"):
                self.refs.append(value)


def test_every_static_file_is_hashed_and_every_reference_resolves(make_project):
    project = make_project(DATED)
    project.build(search=False)
    out = project.out
    files = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    static = [f for f in files if f.startswith("static/")]
    assert static and [f for f in static if not HASHED.match(f)] == []
    named = 0
    for page in out.rglob("*.html"):
        parser = Refs()
        parser.feed(page.read_text("utf-8"))
        here = "https://x/" + page.relative_to(out).as_posix()
        for ref in parser.refs:
            if ref.startswith(("http:", "https:", "data:", "mailto:", "#")) or \
                    "pagefind/" in ref:
                continue  # the search index is written by `build` with search
            path = urlsplit(urljoin(here, ref)).path.lstrip("/")
            if path.startswith("static/"):
                named += 1
                assert HASHED.match(path.rstrip("/") + ("/x" if path.endswith("/") else "")), \
                    f"{page}: {ref}"
            target = out / path
            assert target.is_file() or (target / "index.html").is_file() or \
                target.is_dir(), f"{page}: {ref}"
    assert named > 20


def test_scripts_name_no_file_of_their_own(make_project):
    # what a script loads comes from the page (data-worker, data-runtime, data-bundle,
    # data-pagefind): a quoted static/ path in a script would be an unhashed name
    project = make_project()
    project.build(search=False)
    for script in (project.out / "static/js").glob("*.js"):
        text = script.read_text("utf-8")
        assert not re.search(r"""['"`][^'"`\n]*static/""", text), script.name


def test_an_unknown_static_path_in_a_template_is_an_error(make_project):
    project = make_project()
    partial = project.root / "templates/partials/site-head.html"
    partial.write_text('<link rel="icon" href="{{ asset(\'static/favicon.svgz\') }}">\n')
    # one for each page (every page has the partial)
    assert (
        "templates/partials/site-head.html:1: AssetError: no static file "
        "'static/favicon.svgz': asset() names a file of static/ beside site.yaml or in the "
        "theme, by its path there (rendering content/_index.md)") in errors_of(project)
    (project.root / "static/favicon.svg").write_text("<svg/>")
    partial.write_text('<link rel="icon" href="{{ asset(\'static/favicon.svgz\') }}">\n')
    assert "did you mean 'static/favicon.svg'?" in errors_of(project)[0]
    partial.write_text('<link rel="icon" href="{{ asset(\'static/favicon.svg\') }}">\n')
    project.build(search=False)
    icon = published(project.out, "static/favicon.svg")
    assert f'href="static/{icon.name}"' in (project.out / "index.html").read_text()

"""The real site: build content/ end to end and check what a reader gets."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from stepwise.build import build_site
from stepwise.models.base import ScenarioError
from stepwise.models.tcp.playground import parse_fragment, settings_from_json

from .conftest import published

REPO = Path(__file__).resolve().parent.parent


class Links(HTMLParser):
    """Collects hrefs/srcs, element ids, and elements by (tag, class)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: set[str] = set()
        self.current: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("rel") == "canonical":
            return  # the one absolute URL a page carries, by design (base_url)
        for key in ("href", "src"):
            if a.get(key):
                self.urls.append(str(a[key]))
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if a.get("aria-current") == "page" and a.get("href"):
            self.current.append(str(a["href"]))


def parse(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "site"
    build_site(REPO, out)
    return out


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def broken_links(site: Path) -> list[str]:
    """Every internal link of the built ``site`` whose file is missing, or whose
    ``#fragment`` (percent-decoded, as a browser matches it) is no id of its target."""
    broken = []
    for page in sorted(site.rglob("*.html")):
        if page.name == "404.html":
            continue  # its links are absolute (base_url): it is served at any missing URL
        for url in parse(page).urls:
            parts = urlsplit(url)
            if parts.scheme == "data":
                continue  # inline, no request (the empty favicon)
            if parts.scheme or url.startswith("//"):
                broken.append(f"{page.relative_to(site)}: external URL {url}")
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {url} (no such file)")
            elif target.suffix != ".html" or unquote(parts.fragment) in parse(target).ids:
                pass
            elif 'id="sim"' in target.read_text(encoding="utf-8"):
                # the simulator's fragment is a scenario, which must open
                defaults = settings_from_json(json.loads(html.unescape(re.search(
                    r"data-settings='([^']*)'", target.read_text("utf-8")).group(1))))
                try:
                    parse_fragment(parts.fragment, defaults)
                except ScenarioError as err:
                    broken.append(f"{page.relative_to(site)}: {url} ({err})")
            elif parts.fragment:
                broken.append(f"{page.relative_to(site)}: {url} (no such id)")
    return broken


def test_every_internal_link_and_anchor_resolves(site: Path):
    assert broken_links(site) == []


def test_pages_with_non_ascii_file_names_nfc_and_nfd_link_by_name_and_heading_text(
        tmp_path: Path):
    # macOS stores names decomposed (NFD), Linux as typed; links are typed either way
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("site.yaml", "content", "templates", "static"):  # the site's own files
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, copy / name)
    if (REPO / "node_modules").is_dir():  # the simulator's runtime, as `npm ci` installs it
        (copy / "node_modules").symlink_to(REPO / "node_modules")
    kb = copy / "content/linux/kb"
    nfd = unicodedata.normalize("NFD", "Conexión rechazada.md")
    (kb / nfd).write_text(
        "---\ntitle: Conexión rechazada\n---\n## Qué pasa\n\nVer [[Сокеты и порты#Порты]], "
        "[[TCP States#The 11 states]] y ![diagrama](<Схема.svg>).\n", encoding="utf-8")
    (kb / "Сокеты и порты.md").write_text(
        "---\ntitle: Сокеты и порты\n---\n## Порты\n\n[[Conexión rechazada#Qué pasa]], "
        f"[[{unicodedata.normalize('NFD', 'conexión rechazada')}|NFD]] и "
        "[порт](<port.md#Port ranges>).\n", encoding="utf-8")
    (kb / "Схема.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', encoding="utf-8")
    out = copy / "site"
    build_site(copy, out, search=False)
    assert broken_links(out) == []
    page = out / "linux/kb/conexión-rechazada/index.html"
    assert page.is_file() and (out / "linux/kb/сокеты-и-порты/index.html").is_file()
    assert (out / "linux/kb/Схема.svg").read_bytes() == (kb / "Схема.svg").read_bytes()
    links = parse(out / "linux/kb/сокеты-и-порты/index.html").urls
    assert "../conexi%C3%B3n-rechazada/index.html#qu%C3%A9-pasa" in links


def test_lesson_page_breadcrumb_sidebar_and_related(site: Path):
    html = (site / "linux/how/tcp-handshake/index.html").read_text(encoding="utf-8")
    crumbs = html.split('class="breadcrumb"', 1)[1].split("</nav>", 1)[0]
    assert [c.split("<", 1)[0] for c in crumbs.split('">')[2:]] == \
        ["home", "linux", "how", "tcp-handshake"]
    sidebar = html.split('class="sidebar"', 1)[1].split("</nav>", 1)[0]
    for title in ("Introduction", "Lessons", "How it works", "Simulator", "Knowledge base",
                  "Interview prep"):
        assert f">{title}</a>" in sidebar
    assert parse(site / "linux/how/tcp-handshake/index.html").current == ["index.html"]
    assert '<p class="eyebrow">how/network</p>' in html
    related = html.split('id="sw-related"', 1)[1].split("</section>", 1)[0]
    assert [r.split("</code>")[0] for r in related.split("<code>")[1:]] == \
        ["kb/tcp-handshake", "tcp-states", "port", "tls-handshake"]
    labs = html.split('id="sw-labs"', 1)[1].split("</section>", 1)[0]
    assert "../../labs/intermediate-02-tcp-handshake/index.html" in labs


def test_knowledge_base_article_lists_its_backlinks(site: Path):
    html = (site / "linux/kb/tcp-states/index.html").read_text(encoding="utf-8")
    backlinks = html.split('id="sw-backlinks"', 1)[1].split("</section>", 1)[0]
    assert '../../how/tcp-handshake/index.html' in backlinks


def test_section_lists_its_children_by_order(site: Path):
    html = (site / "linux/kb/index.html").read_text(encoding="utf-8")
    listing = html.split('id="sw-in-section"', 1)[1].split("</section>", 1)[0]
    hrefs = [h.split('"', 1)[0] for h in listing.split('href="')[1:]]
    assert hrefs == ["tcp-handshake/index.html", "tcp-states/index.html", "port/index.html",
                     "tls-handshake/index.html", "bgp-states/index.html"]


def test_sitemap_and_404_use_base_url(site: Path):
    sitemap = (site / "sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>https://linuxlab.example.org/linux/how/tcp-handshake/</loc>" in sitemap
    css = published(site, "static/css/site.css").name
    assert f'href="https://linuxlab.example.org/static/css/{css}"' in \
        (site / "404.html").read_text(encoding="utf-8")


def test_code_is_highlighted_with_classes_not_inline_styles(site: Path):
    html = (site / "linux/labs/intermediate-02-tcp-handshake/index.html").read_text("utf-8")
    assert '<pre class="highlight"><code class="language-console">' in html
    assert 'style="' not in html


def test_two_builds_are_byte_identical(site: Path, tmp_path: Path):
    again = tmp_path / "again"
    build_site(REPO, again)
    assert digest(again) == digest(site)


def test_build_works_from_a_copy_at_another_path(tmp_path: Path):
    # nothing in the output depends on where the project lives
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("site.yaml", "content", "templates", "static"):  # the site's own files
        src = REPO / name
        if not src.exists():
            continue
        (shutil.copytree if src.is_dir() else shutil.copy)(src, copy / name)
    if (REPO / "node_modules").is_dir():  # the simulator's runtime, as `npm ci` installs it
        (copy / "node_modules").symlink_to(REPO / "node_modules")
    build_site(copy, copy / "site")
    first = tmp_path / "first"
    build_site(REPO, first)
    assert digest(copy / "site") == digest(first)


def test_the_same_code_block_is_highlighted_once_per_language(monkeypatch):
    import stepwise.markdown
    from stepwise.markdown import create_markdown, highlighted_blocks

    md = create_markdown()
    block = "```{}\nss -tan state time-wait\n```\n"
    monkeypatch.setattr(stepwise.markdown, "_HIGHLIGHTED", {})
    made = []
    real = stepwise.markdown._lexer
    monkeypatch.setattr(stepwise.markdown, "_lexer", lambda lang: made.append(lang) or real(lang))
    with highlighted_blocks() as blocks:
        first = md.render(block.format("shell"))
    assert '<code class="language-shell">' in first and '<span class="' in first
    assert blocks == [("ss -tan state time-wait\n", "shell", first.removesuffix("\n"))]
    assert md.render(block.format("shell")) == first
    assert made == ["shell"]  # the second page's block was reused
    # the same code in another language is highlighted again, with that language
    python = md.render(block.format("python"))
    assert '<code class="language-python">' in python and python != first
    # a language Pygments does not know stays a plain block
    assert "highlight" not in md.render(block.format("no-such-language"))
    assert made == ["shell", "python", "no-such-language"]


def test_blocks_remembered_from_an_earlier_build_are_not_highlighted_again(monkeypatch):
    import stepwise.markdown
    from stepwise.markdown import create_markdown, remember

    monkeypatch.setattr(stepwise.markdown, "_HIGHLIGHTED", {})
    monkeypatch.setattr(stepwise.markdown, "_lexer", lambda lang: pytest.fail("highlighted"))
    kept = '<pre class="highlight"><code class="language-shell">kept</code></pre>\n'
    remember([("ls\n", "shell", kept)])
    assert create_markdown().render("```shell\nls\n```\n") == kept + "\n"

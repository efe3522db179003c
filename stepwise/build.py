"""The build pipeline: ``content/`` in, a static site out.

Stages, in order (each a module of its own):

1. :mod:`~stepwise.config` reads ``site.yaml``;
2. :mod:`~stepwise.content` loads every page (frontmatter, permalinks);
3. :mod:`~stepwise.markdown` parses every body, so every heading id is known;
4. :mod:`~stepwise.links` resolves wiki-links, ``related:`` and ``labs:`` while the
   bodies render; lessons' steps run through the TCP model into traces
   (:mod:`~stepwise.trace`);
5. :mod:`~stepwise.render` fills the Jinja layouts, with navigation from :mod:`~stepwise.nav`;
6. :mod:`~stepwise.output` swaps the finished folder in.

Problems are collected across stages and reported together; nothing is written unless
the whole build succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from markupsafe import Markup

from .config import SiteConfig, load_config
from .content import Page, load_pages
from .errors import (
    BuildError,
    ErrorList,
    FrontmatterError,
    LinkError,
    TraceError,
    display_path,
)
from .links import LinkIndex, relative_asset, relative_url
from .markdown import (
    Problems,
    create_markdown,
    directive_marker,
    heading_ids,
    highlight_css,
    parse,
    render_tokens,
)
from .nav import NavLink, SiteTree
from .output import check_output_dir, write_site
from .render import create_environment, known_layouts, load_template, render_template, script_json

HIGHLIGHT_CSS = "static/css/highlight.css"


@dataclass
class BuildResult:
    """What a successful build made.

    Attributes:
        pages: number of pages rendered; ``files`` all files written (static included).
        seconds: wall time of the build.
        out: the output folder.
        warnings: problems that did not stop the build (errors under ``strict``).
    """

    pages: int
    files: int
    seconds: float
    out: Path
    warnings: list[BuildError] = field(default_factory=list)

    def summary(self) -> str:
        """The one-line summary: ``built 14 pages in 0.21 s -> site/``."""
        shown = self.out.name + "/"
        return f"built {self.pages} pages in {self.seconds:.2f} s -> {shown}"


@dataclass
class Project:
    """The folders of one site project."""

    root: Path
    content: Path
    templates: Path
    static: Path

    @classmethod
    def at(cls, root: Path, content: Path | None = None) -> Project:
        return cls(root, content or root / "content", root / "templates", root / "static")


def build_site(
    root: Path,
    out: Path | None = None,
    *,
    content: Path | None = None,
    strict: bool = False,
    drafts: bool = False,
) -> BuildResult:
    """Build the site of the project at ``root`` into ``out`` (default ``root/site``).

    Args:
        root: folder holding ``site.yaml``, ``templates/`` and ``static/``.
        out: output folder; replaced atomically on success.
        content: content folder (default ``root/content``).
        strict: warnings (unknown frontmatter keys, unknown code languages) fail the build.
        drafts: publish pages marked ``draft: true``.

    Raises:
        ErrorList: every problem found, each located ``path:line``; ``out`` is untouched.
    """
    started = time.perf_counter()
    project = Project.at(root, content)
    out = out or root / "site"
    try:
        config = load_config(root)
        check_output_dir(out, [root, project.content, project.templates, project.static])
    except BuildError as err:
        raise ErrorList([err]) from None
    files, pages, warnings = render_site(project, config, strict=strict, drafts=drafts)
    count = write_site(out, files, project.static)
    return BuildResult(len(pages), count, time.perf_counter() - started, out, warnings)


def render_site(
    project: Project, config: SiteConfig, *, strict: bool = False, drafts: bool = False
) -> tuple[dict[str, bytes], list[Page], list[BuildError]]:
    """Run stages 2-5 in memory.

    Returns:
        ``(files, pages, warnings)``: output files by relative path, the published
        pages, and the warnings.

    Raises:
        ErrorList: every error (and every warning under ``strict``).
    """
    pages, links, errors, warnings = compile_pages(project, config, drafts=drafts)
    if strict:
        errors.extend(warnings)
    if errors:
        raise ErrorList(errors)

    renderer = SiteRenderer(project, config, pages, links)
    files = renderer.render_all()
    return files, pages, warnings


def check_menu(config: SiteConfig, links: LinkIndex) -> list[BuildError]:
    """Every ``page:`` of the menu and footer must name one published page."""
    errors: list[BuildError] = []
    stack = [*config.menu, *config.footer]
    while stack:
        entry = stack.pop()
        stack.extend(entry.children)
        if entry.page is not None:
            try:
                links.resolve(entry.page, what="menu entry")
            except LinkError as err:
                errors.append(err.located(display_path(config.path), entry.line))
    return errors


def compile_pages(
    project: Project, config: SiteConfig, *, drafts: bool = False, only: Path | None = None
) -> tuple[list[Page], LinkIndex, list[BuildError], list[BuildError]]:
    """Stages 2-4: load every page, parse every body, then render the Markdown, check
    references and compile traces (of the page at ``only`` alone, when given).

    Returns:
        ``(pages, links, errors, warnings)``; ``pages`` are the published ones.
    """
    loaded = load_pages(project.content, include_drafts=drafts)
    errors, warnings = list(loaded.errors), list(loaded.warnings)
    pages = [p for p in loaded.pages if drafts or not p.draft]
    links = LinkIndex(loaded.pages, drafts_published=drafts)
    md = create_markdown(html=config.markdown_html)
    layouts = known_layouts(project.templates)
    tokens = {}
    for page in pages:
        tokens[page.url] = parse(md, page.source_file.body, page.source_file.body_line)
        page.headings = heading_ids(tokens[page.url])
    for page in pages:
        if only is not None and page.source.resolve() != only.resolve():
            continue
        if page.layout not in layouts:
            errors.append(FrontmatterError(
                f"unknown layout '{page.layout}'; known layouts: {', '.join(layouts)}"
                f" (templates in {project.templates.name}/layouts/)",
                page.shown, page.line_of("layout")))
        compiler = PageCompiler(page, md, links, errors, warnings)
        page.html = compiler.render_body(tokens[page.url])
        compiler.check_references()
        compiler.render_lead()
        compiler.compile_trace()
    if only is None:
        errors.extend(check_menu(config, links))
        if "/" not in {p.url for p in pages}:
            errors.append(BuildError("the site needs a front page: add content/_index.md",
                                     display_path(project.content)))
    return pages, links, errors, warnings


def lesson_trace(root: Path, lesson: Path) -> dict[str, Any]:
    """The trace of one lesson file, as the build would embed it.

    Raises:
        ErrorList: the lesson has errors, or is not a page with a simulation.
    """
    project = Project.at(root)
    try:
        config = load_config(root)
    except BuildError as err:
        raise ErrorList([err]) from None
    pages, _links, errors, _warnings = compile_pages(project, config, drafts=True, only=lesson)
    page = next((p for p in pages if p.source.resolve() == lesson.resolve()), None)
    if page is None and not errors:
        errors.append(BuildError(f"not a page of {display_path(project.content)}",
                                 display_path(lesson)))
    own = [e for e in errors if page is not None and e.path == page.shown]
    if page is not None and not own and page.trace is None:
        own.append(TraceError("this page has no 'simulation:'", page.shown))
    if own or page is None:
        raise ErrorList(own or errors)
    return page.trace  # type: ignore[return-value]


class PageCompiler:
    """Renders one page's Markdown (body and step texts) and compiles its trace,
    recording every problem with the page's path and the line in its file."""

    def __init__(self, page: Page, md: Any, links: LinkIndex,
                 errors: list[BuildError], warnings: list[BuildError]):
        self.page, self.md, self.links = page, md, links
        self.errors, self.warnings = errors, warnings

    def resolve(self, meta: dict[str, Any], problems: Problems) -> str:
        """Render one wiki-link token as an ``<a>`` (see :mod:`stepwise.wikilinks`)."""
        ref = meta["target"]
        try:
            target, anchor = self.links.resolve(ref)
            self.links.check_anchor(target, anchor, ref)
        except LinkError as err:
            problems.errors.append((meta.get("line"), err.message))
            return escape(meta["label"] or ref)
        if target is not self.page:
            self.page.links_out.add(target.url)
        label = meta["label"] or target.title
        href = relative_url(self.page.url, target.url, anchor)
        return (f'<a class="wikilink" href="{escape(href)}" '
                f'data-ref="{escape(self.links.shortest_ref(target))}">{escape(label)}</a>')

    def render_markdown(self, text: str, first_line: int, *, inline: bool = False
                        ) -> tuple[str, list[str]]:
        """Render Markdown found in the frontmatter (step texts, the lead)."""
        problems = Problems()
        tokens = parse(self.md, text, first_line, inline=inline)
        html, directives = render_tokens(self.md, tokens, self.resolve, problems, first_line)
        self._record(problems)
        return html, directives

    def render_body(self, tokens: list[Any]) -> str:
        problems = Problems()
        html, directives = render_tokens(self.md, tokens, self.resolve, problems,
                                         self.page.source_file.body_line)
        self._record(problems)
        if "player" in directives and "simulation" not in self.page.meta:
            self.errors.append(FrontmatterError(
                "::player needs a simulation: add 'simulation:' and 'steps:' to the "
                "frontmatter, or remove the ::player line", self.page.shown,
                self._directive_line("player")))
        if directives.count("player") > 1:
            self.errors.append(FrontmatterError("::player appears more than once",
                                                self.page.shown, self._directive_line("player")))
        return html

    def render_lead(self) -> None:
        """``lead:`` is inline Markdown (code, emphasis, wiki-links)."""
        lead = self.page.meta.get("lead")
        if isinstance(lead, str):
            line = self.page.source_file.yaml.text_start_line(("lead",)) or 1
            self.page.lead_html = self.render_markdown(lead, line, inline=True)[0]

    def check_references(self) -> None:
        """Resolve ``related:`` and ``labs:``; each entry counts as a link for backlinks."""
        for key in ("related", "labs"):
            for i, ref in enumerate(self.page.meta.get(key, []) or []):
                try:
                    target, anchor = self.links.resolve(str(ref), what=f"{key}: entry")
                    self.links.check_anchor(target, anchor, str(ref))
                except LinkError as err:
                    self.errors.append(err.located(self.page.shown, self.page.line_of(key, i)))
                    continue
                if target is not self.page:
                    self.page.links_out.add(target.url)

    def compile_trace(self) -> None:
        meta = self.page.meta
        if "simulation" not in meta and "steps" not in meta:
            return
        if "simulation" not in meta:
            self.errors.append(TraceError(
                "'steps:' needs a 'simulation:' (e.g. simulation: {model: tcp, ...})",
                self.page.shown, self.page.line_of("steps")))
            return
        from .trace import compile_trace

        steps = meta.get("steps")
        yaml_doc = self.page.source_file.yaml

        def render_text(text: str) -> str:
            index = next((i for i, s in enumerate(steps or [])
                          if isinstance(s, dict) and s.get("text") == text), None)
            line = (yaml_doc.text_start_line(("steps", index, "text")) if index is not None
                    else self.page.line_of("steps")) or 1
            return self.render_markdown(text, line)[0]

        try:
            self.page.trace = compile_trace(meta["simulation"], steps, seed=self.page.refpath
                                            or self.page.slug, render_text=render_text)
        except TraceError as err:
            self.errors.append(err.located(self.page.shown, self.page.line_of(*err.keypath)))

    def _record(self, problems: Problems) -> None:
        for line, message in problems.errors:
            self.errors.append(LinkError(message, self.page.shown, line))
        for line, message in problems.warnings:
            self.warnings.append(BuildError(message, self.page.shown, line))

    def _directive_line(self, name: str) -> int | None:
        for i, line in enumerate(self.page.source_file.body.split("\n")):
            if line.strip() == f"::{name}":
                return self.page.source_file.body_line + i
        return None


class SiteRenderer:
    """Stage 5: fills the layouts for every page, plus 404.html, sitemap.xml and the
    generated highlight CSS."""

    def __init__(self, project: Project, config: SiteConfig, pages: list[Page], links: LinkIndex):
        self.project, self.config, self.pages, self.links = project, config, pages, links
        self.tree = SiteTree(pages)
        self.env = create_environment(project.templates)
        self.errors: list[BuildError] = []

    def render_all(self) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        for page in self.pages:
            try:
                html = self.render_page(page)
            except BuildError as err:
                self.errors.append(err)
                continue
            files[page.output_path] = html.encode("utf-8")
        try:
            files["404.html"] = self.render_special("404.html", "/404/").encode("utf-8")
            files["sitemap.xml"] = self.render_sitemap().encode("utf-8")
        except BuildError as err:
            self.errors.append(err)
        files[HIGHLIGHT_CSS] = highlight_css().encode("utf-8")
        if self.errors:
            raise ErrorList(self.errors)
        return files

    def page_context(self, page: Page, *, absolute: bool = False) -> dict[str, Any]:
        """The template context of one page (see templates/README.md for the names)."""
        base = self.config.base_url

        def href(target: Page, anchor: str | None = None) -> str:
            if absolute:
                return base + target.url.lstrip("/") + (f"#{anchor}" if anchor else "")
            return relative_url(page.url, target.url, anchor)

        def asset(path: str) -> str:
            return base + path.lstrip("/") if absolute else relative_asset(page.url, path)

        i18n = _merge_strings(self.config.strings, page.meta.get("strings"))
        ui = i18n.get("ui", {})
        context: dict[str, Any] = {
            "site": self.config,
            "page": page,
            "i18n": i18n,
            "ui": ui,
            "content": Markup(page.html),
            "lead": Markup(page.lead_html),
            "asset": asset,
            "href": href,
            "canonical_url": base + page.url.lstrip("/"),
            "home": self.tree.by_url["/"],
            "menu": [self.menu_link(e, href, page) for e in self.config.menu],
            "footer": [self.menu_link(e, href, page) for e in self.config.footer],
            "breadcrumb": self.tree.breadcrumb(page, href, ui.get("home", "home")),
            "sidebar": self.tree.sidebar(page, href, ui.get("introduction", "Introduction")),
            "children": [self.listing(p, href) for p in self.tree.children(page)]
            if page.is_index else [],
            "backlinks": self.tree.backlinks(page, href),
            "related": self.resolved_list(page, "related", href),
            "labs": self.resolved_list(page, "labs", href),
            "label": self.section_label(page),
            "tags": [str(t) for t in page.meta.get("tags", []) or []],
            "trace": page.trace,
            "trace_json": script_json(page.trace) if page.trace is not None else Markup(""),
        }
        before, after = _split_at_player(page.html)
        context["content_before"], context["content_after"] = Markup(before), Markup(after)
        return context

    def render_page(self, page: Page) -> str:
        template = load_template(self.env, f"layouts/{page.layout}.html", self.project.templates)
        return render_template(template, self.page_context(page), self.project.templates,
                               page.shown)

    def render_special(self, name: str, url: str) -> str:
        """Render a page-less template (404.html) with absolute links: it is served at
        whatever URL was missing, so relative links would break."""
        front = self.tree.by_url["/"]
        context = self.page_context(front, absolute=True)
        context.update(content=Markup(""), lead=Markup(""), breadcrumb=[], sidebar=None, children=[],
                       backlinks=[], related=[], labs=[], label="", tags=[], trace=None,
                       canonical_url=self.config.base_url + url.lstrip("/"))
        template = load_template(self.env, name, self.project.templates)
        return render_template(template, context, self.project.templates, name)

    def render_sitemap(self) -> str:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        for page in self.pages:
            lines.append(f"  <url><loc>{escape(self.config.base_url + page.url.lstrip('/'))}"
                         "</loc></url>")
        lines.append("</urlset>")
        return "\n".join(lines) + "\n"

    def menu_link(self, entry: Any, href: Callable[..., str], current: Page) -> NavLink:
        target = None
        if entry.page is not None:
            try:
                target, anchor = self.links.resolve(entry.page, what="menu entry")
            except LinkError as err:  # already reported by check_menu
                raise err.located(display_path(self.config.path), entry.line) from None
        title = entry.title or (target.title if target else "")
        description = entry.description or (target.description if target else "")
        link = href(target) if target is not None else entry.url
        children = tuple(self.menu_link(c, href, current) for c in entry.children)
        return NavLink(title, link, target is current, description, children)

    def listing(self, page: Page, href: Callable[..., str]) -> NavLink:
        meta: dict[str, object] = {"layout": page.layout, "is_section": page.is_index}
        if page.trace is not None:
            meta["steps"] = len(page.trace.get("steps", []))
        return NavLink(page.title, href(page), description=page.description, meta=meta)

    def resolved_list(self, page: Page, key: str, href: Callable[..., str]) -> list[NavLink]:
        out = []
        for i, ref in enumerate(page.meta.get(key, []) or []):
            try:
                target, anchor = self.links.resolve(str(ref), what=f"{key}: entry")
                self.links.check_anchor(target, anchor, str(ref))
            except LinkError as err:
                raise err.located(page.shown, page.line_of(key, i)) from None
            out.append(NavLink(target.title, href(target, anchor), description=target.description,
                               meta={"ref": self.links.shortest_ref(target)}))
        return out

    def section_label(self, page: Page) -> str:
        parent = page.section_url
        section = parent.strip("/").split("/")[-1] if parent and parent != "/" else ""
        topic = page.meta.get("topic")
        return "/".join(x for x in (section, str(topic) if topic else "") if x)


def _merge_strings(site: dict[str, dict[str, str]], page: Any) -> dict[str, dict[str, str]]:
    merged = {group: dict(values) for group, values in site.items()}
    if isinstance(page, dict):
        for group, values in page.items():
            if isinstance(values, dict):
                merged.setdefault(str(group), {}).update({str(k): str(v) for k, v in values.items()})
    return merged


def _split_at_player(html: str) -> tuple[str, str]:
    """Split a lesson body where the player goes: at ``::player``, else before the
    first ``<h2`` (after the intro), else at the end."""
    marker = directive_marker("player")
    if marker in html:
        before, _, after = html.partition(marker)
        return before, after
    at = html.find("<h2")
    return (html, "") if at < 0 else (html[:at], html[at:])

"""Stage 4, one page at a time: render its Markdown (body, lead, step texts) with its
wiki-links resolved, check ``related:`` and ``labs:``, and compile its trace.

Every problem is recorded with the page's path and the line in its file. What a page
read from other pages (``links_out``, ``ref_slugs``) is recorded too: backlinks and
incremental rebuilds are computed from it.
"""

from __future__ import annotations

import difflib
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt

from .config import SiteConfig
from .content import Page
from .errors import BuildError, FrontmatterError, LinkError, TraceError, display_path
from .links import LinkIndex, reference_keys, relative_url
from .markdown import Problems, directive_marker, parse, render_tokens
from .nav import reading_minutes
from .simulator import SIMULATOR_LAYOUT


def menu_pages(config: SiteConfig, links: LinkIndex) -> tuple[list[Page], list[BuildError]]:
    """The pages the menu and footer link (``page:`` entries, children included), and
    the errors of entries that do not name exactly one published page (or name a
    heading it does not have: ``page: about#team``)."""
    pages: list[Page] = []
    errors: list[BuildError] = []
    stack = [*config.menu, *config.footer]
    while stack:
        entry = stack.pop()
        stack.extend(entry.children)
        if entry.page is not None:
            try:
                target, anchor = links.resolve(entry.page, what="menu entry")
                links.anchor_id(target, anchor, entry.page)
                pages.append(target)
            except LinkError as err:
                errors.append(err.located(display_path(config.path), entry.line))
    return pages, errors


def check_menu(config: SiteConfig, links: LinkIndex) -> list[BuildError]:
    """Every ``page:`` of the menu and footer must name one published page."""
    return menu_pages(config, links)[1]


class PageCompiler:
    """Renders one page's Markdown (body and step texts) and compiles its trace,
    recording every problem with the page's path and the line in its file."""

    def __init__(self, page: Page, md: MarkdownIt, links: LinkIndex,
                 errors: list[BuildError], warnings: list[BuildError]):
        self.page, self.md, self.links = page, md, links
        self.errors, self.warnings = errors, warnings
        #: every file compile_trace read for this page (packet captures), resolved; for
        #: incremental rebuilds: the page must be rebuilt when one of them changes
        self.trace_reads: set[Path] = set()

    def compile(self, tokens: list[Any], layouts: list[str], templates_name: str) -> None:
        """Run every step for the page; results land on the page, problems in the lists."""
        page = self.page
        page.links_out, page.ref_slugs, page.trace, page.minutes = set(), set(), None, None
        page.simulator = None
        page.html = page.lead_html = ""
        if page.layout not in layouts:
            close = difflib.get_close_matches(page.layout.lower(), layouts, n=1)
            known = (f"; did you mean '{close[0]}'? Known layouts" if close
                     else "; known layouts")
            self.errors.append(FrontmatterError(
                f"unknown layout '{page.layout}'{known}: {', '.join(layouts)}"
                f" (templates in {templates_name}/layouts/)",
                page.shown, page.line_of("layout")))
        page.html = self.render_body(tokens)
        self.check_references()
        self.render_lead()
        self.compile_trace()
        # counted here, where a parallel build compiles the page, not by the
        # process that lists it
        reading_minutes(page)

    def _note_ref(self, ref: str) -> None:
        # "#heading" alone names this page: no key
        self.page.ref_slugs.update(reference_keys(ref))

    def resolve(self, meta: dict[str, Any], problems: Problems) -> str:
        """Render one wiki-link token as an ``<a>`` (see :mod:`stepwise.wikilinks`)."""
        ref = meta["target"]
        self._note_ref(ref)
        try:
            target, anchor = self.links.resolve(ref, here=self.page)
            if target.layout == SIMULATOR_LAYOUT and anchor is not None and "=" in anchor:
                anchor = self.scenario_anchor(target, anchor, ref)
            else:
                anchor = self.links.anchor_id(target, anchor, ref)
        except LinkError as err:
            message = err.message
            if meta.get("embed"):
                message += ("; ![[...]] embeds are not supported: for an image next to the "
                            "page write ![](diagram.png)")
            problems.errors.append((meta.get("line"), message))
            return escape(meta["label"] or ref)
        if target is not self.page:
            self.page.links_out.add(target.url)
        href = relative_url(self.page.url, target.url, anchor)
        # the link preview (static/js/site.js) shows the target's title (and the
        # heading's, for #anchor) and description: written here, so no request is made
        heading = next((text for _level, hid, text in target.headings if hid == anchor), "")
        preview = f"{target.title} › {heading}" if heading else target.title
        # [[#heading]] reads as the heading; any other link as the target's title
        label = meta["label"] or (heading if ref.lstrip().startswith("#") else target.title)
        desc = (f' data-preview-desc="{escape(target.description)}"'
                if target.description else "")
        return (f'<a class="wikilink" href="{escape(href)}" '
                f'data-ref="{escape(self.links.shortest_ref(target))}" '
                f'data-preview-title="{escape(preview)}"{desc}>{escape(label)}</a>')

    @staticmethod
    def scenario_anchor(simulator: Page, anchor: str, ref: str) -> str:
        """A wiki-link into the simulator with a scenario (``[[tcp-playground#do=server
        listen;client connect|try it]]``): the scenario must open on that page, with
        its settings; returns the fragment as the URL carries it.

        Raises:
            LinkError: the simulator would refuse the scenario (its own message).
        """
        from .trace import check_scenario, simulator_settings

        simulation = simulator.meta.get("simulation")
        try:
            settings = simulator_settings(simulation, seed=simulator.seed)
        except TraceError:
            return quote(anchor, safe="=&;,:%+@/")  # the simulator page reports its own
        try:
            return check_scenario(simulation, settings, anchor)
        except TraceError as err:
            raise LinkError(f"[[{ref}]]: the simulator cannot open this scenario: "
                            f"{err.message}") from None

    def render_markdown(self, text: str, first_line: int, *, inline: bool = False,
                        exact_lines: bool = True) -> tuple[str, list[str]]:
        """Render Markdown found in the frontmatter (step texts, the lead)."""
        problems = Problems()
        tokens = parse(self.md, text, first_line, inline=inline, exact_lines=exact_lines)
        html, directives = render_tokens(self.md, tokens, self.resolve, problems, first_line)
        for name in directives:
            problems.errors.append((first_line, f"::{name} belongs in the page's body, not "
                                                "in its frontmatter"))
        self._record(problems)
        return html.replace(directive_marker("player"), ""), directives

    def render_body(self, tokens: list[Any]) -> str:
        problems = Problems()
        html, directives = render_tokens(self.md, tokens, self.resolve, problems,
                                         self.page.source_file.body_line)
        self._record(problems)
        if "player" in directives and "simulation" in self.page.meta \
                and self.page.layout != "lesson":
            self.errors.append(FrontmatterError(
                f"::player is shown only by layout: lesson (this page has layout: "
                f"{self.page.layout})", self.page.shown, self._directive_line("player")))
        if "player" in directives and "simulation" not in self.page.meta \
                and "simulation" not in self.page.invalid:
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
            line, exact = self.page.source_file.yaml.text_lines(("lead",))
            self.page.lead_html = self.render_markdown(lead, line or 1, inline=True,
                                                       exact_lines=exact)[0]

    def check_references(self) -> None:
        """Resolve ``related:`` and ``labs:``; each entry counts as a link for backlinks."""
        for key in ("related", "labs"):
            for i, ref in enumerate(self.page.meta.get(key, []) or []):
                if not isinstance(ref, str):
                    continue  # reported by the loader ("must be a list of strings")
                self._note_ref(str(ref))
                try:
                    target, anchor = self.links.resolve(str(ref), what=f"{key}: entry")
                    self.links.anchor_id(target, anchor, str(ref))
                except LinkError as err:
                    self.errors.append(err.located(self.page.shown, self.page.line_of(key, i)))
                    continue
                if target is not self.page:
                    self.page.links_out.add(target.url)

    def compile_trace(self) -> None:
        meta = self.page.meta
        if {"simulation", "steps"} & self.page.invalid:
            return  # its type error is reported; a trace error would say it again
        if self.page.layout == SIMULATOR_LAYOUT:
            self.compile_simulator()
            return
        if "simulation" not in meta and "steps" not in meta:
            if self.page.layout == "lesson":
                self.warnings.append(FrontmatterError(
                    "a lesson without 'simulation:' and 'steps:' shows no player; add "
                    "them, or use another layout (article)", self.page.shown,
                    self.page.line_of("layout")))
            return
        if "simulation" not in meta:
            self.errors.append(TraceError(
                "'steps:' needs a 'simulation:' (e.g. simulation: {model: tcp, ...})",
                self.page.shown, self.page.line_of("steps")))
            return
        from .trace import compile_trace

        steps = meta.get("steps")
        yaml_doc = self.page.source_file.yaml

        rendered: set[int] = set()

        def render_text(text: str) -> str:
            # the compiler renders the steps' texts in order: the first step not yet
            # rendered that holds this text is the one (two steps may share a text)
            index = next((i for i, s in enumerate(steps or []) if i not in rendered
                          and isinstance(s, dict) and s.get("text") == text), None)
            if index is None:
                return self.render_markdown(text, self.page.line_of("steps") or 1,
                                            exact_lines=False)[0]
            rendered.add(index)
            line, exact = yaml_doc.text_lines(("steps", index, "text"))
            return self.render_markdown(text, line or 1, exact_lines=exact)[0]

        # the content folder: the page's source less its path inside the content folder
        source = self.page.source
        content_dir = source.parents[len(self.page.rel.parts) - 1]
        # the same set on the page: stepwise.site rebuilds the page when one changes
        self.trace_reads = self.page.reads = set()
        try:
            self.page.trace = compile_trace(meta["simulation"], steps, seed=self.page.seed,
                                            render_text=render_text, base_dir=source.parent,
                                            content_dir=content_dir, reads=self.trace_reads)
        except TraceError as err:
            self.errors.append(err.located(self.page.shown, self.page.line_of(*err.keypath)))

    def compile_simulator(self) -> None:
        """A simulator page: its ``simulation:`` holds the settings it opens with."""
        from .trace import simulator_settings

        meta, page = self.page.meta, self.page
        if "steps" in meta:
            self.errors.append(TraceError(
                "a simulator page opens with no steps: remove 'steps:' (link a scenario "
                "instead: the simulator's URL with #do=server%20listen;client%20connect)",
                page.shown, page.line_of("steps")))
        if "simulation" not in meta:
            self.errors.append(TraceError(
                "a simulator page needs 'simulation:', the settings it opens with, e.g. "
                "simulation: {model: tcp, client: {name: curl, ip: 10.0.0.5}, server: "
                "{name: nginx, ip: 10.0.0.80, port: 443}}", page.shown, page.line_of("layout")))
            return
        try:
            page.simulator = simulator_settings(meta["simulation"], seed=page.seed)
        except TraceError as err:
            self.errors.append(err.located(page.shown, page.line_of(*err.keypath)))

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



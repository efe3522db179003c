"""Stage 4, one page at a time: render its Markdown (body, lead, step texts) with its
wiki-links resolved, check ``related:`` and ``labs:``, and compile its trace.

Every problem is recorded with the page's path and the line in its file. What a page
read from other pages (``links_out``, ``ref_slugs``) is recorded too: backlinks and
incremental rebuilds are computed from it.
"""

from __future__ import annotations

import difflib
import os
import re
from html import escape
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from markdown_it import MarkdownIt

from .config import SiteConfig
from .content import PAGE_SUFFIXES, Page, name_key, slugify, spelling
from .errors import BuildError, FrontmatterError, LinkError, TraceError, display_path
from .links import LinkIndex, page_keys, reference_keys, relative_file, relative_url
from .markdown import (
    RESERVED_IDS,
    Problems,
    directive_marker,
    highlighted_blocks,
    parse,
    render_tokens,
)
from .nav import reading_minutes
from .simulator import SIMULATOR_LAYOUT

#: Files a lesson may play but the site never publishes (docs/trace-format.md)
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")


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
                 errors: list[BuildError], warnings: list[BuildError],
                 strings: dict[str, dict[str, str]] | None = None):
        self.page, self.md, self.links = page, md, links
        self.errors, self.warnings = errors, warnings
        #: the titles of callouts without one: site.yaml's strings.callouts, then the page's
        self.callout_titles = dict((strings or {}).get("callouts", {}))
        own = page.meta.get("strings")
        if isinstance(own, dict) and isinstance(own.get("callouts"), dict):
            self.callout_titles.update({str(k): str(v) for k, v in own["callouts"].items()})
        #: every file compile_trace read for this page (packet captures), resolved; for
        #: incremental rebuilds: the page must be rebuilt when one of them changes
        self.trace_reads: set[Path] = set()

    def compile(self, tokens: list[Any], layouts: list[str], templates_name: str) -> None:
        """Run every step for the page; results land on the page, problems in the lists."""
        page = self.page
        page.links_out, page.ref_slugs, page.trace, page.minutes = set(), set(), None, None
        page.steps = None
        page.simulator = None
        page.reads, page.assets, page.external = set(), {}, []
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
        if page.trace is not None:
            page.steps = len(page.trace.get("steps", []))
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

    def rewrite(self, url: str, line: int | None, kind: str, problems: Problems) -> str:
        """The URL to write for a Markdown link or image (see :class:`Resolver`).

        A link to a page's ``.md`` file (``../kb/port.md#well-known-ports``, relative
        to this page's file) becomes the page's URL, as MkDocs rewrites them; its
        ``#heading`` is an id or a heading's text. A relative link or image to another
        file of the content folder (``diagram.png`` beside the page) publishes that
        file at the same place in the output. ``#heading`` alone is checked against
        this page. External URLs are left as written (``stepwise check-links``
        checks them). A missing page, heading or file is an error at ``line``.
        """
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith("//"):
            if kind == "link" and parts.scheme in ("http", "https"):
                self.page.external.append((url, line))
            return url
        try:
            if not parts.path:
                if kind == "link" and parts.fragment:
                    return self._own_anchor(url, unquote(parts.fragment))
                return url
            path = unquote(parts.path)
            suffix = PurePosixPath(path).suffix.lower()
            if path.startswith("/") or not suffix or suffix in (".html", ".htm"):
                return url  # written for the output folder: the author's to keep right
            if suffix in PAGE_SUFFIXES and kind == "link":
                return self._page_link(url, path, unquote(parts.fragment) or None)
            return self._asset(url, path, kind) + (f"#{parts.fragment}" if parts.fragment
                                                   else "")
        except LinkError as err:
            problems.errors.append((line, err.message))
            return url

    def _own_anchor(self, url: str, fragment: str) -> str:
        if RESERVED_IDS.fullmatch(fragment) or re.fullmatch(r"fn(ref)?\d+(-\d+)?|fn-.*|fnref-.*",
                                                            fragment):
            return url  # the player's and footnotes' ids
        return relative_url(self.page.url, self.page.url,
                            self.links.anchor_id(self.page, fragment, url, link=True))

    def _page_link(self, url: str, path: str, fragment: str | None) -> str:
        source = os.path.normpath(self.page.source.parent / path)
        target = self.links.by_source(source)
        self.page.ref_slugs.add(name_key(PurePosixPath(path).stem))
        if target is None:
            raise LinkError(f"link {url}: no page {display_path(source)}"
                            f"{_did_you_mean(path, source, PAGE_SUFFIXES)}")
        self.page.ref_slugs |= page_keys(target)
        if target.draft and not self.links.drafts_published:
            raise LinkError(f"link {url} links to a draft ({target.shown}); publish it "
                            "(remove 'draft: true') or remove the link")
        anchor = self.links.anchor_id(target, fragment, url, link=True)
        if target is not self.page:
            self.page.links_out.add(target.url)
        return relative_url(self.page.url, target.url, anchor)

    def _asset(self, url: str, path: str, kind: str) -> str:
        """The published URL of a file beside the page that ``url`` links or shows.

        Raises:
            LinkError: outside the content folder, missing, or a packet capture.
        """
        content_dir = self._content_dir()
        source = Path(os.path.normpath(self.page.source.parent / path))
        what = "image" if kind == "image" else "link"
        if not source.is_relative_to(content_dir):
            raise LinkError(f"{what} {url} points outside the content folder; put the file "
                            "beside the page")
        self.page.reads.add(source)
        if not source.is_file():
            raise LinkError(f"{what} {url}: no file {display_path(source)}"
                            f"{_did_you_mean(path, str(source), None)}")
        if source.suffix.lower() in CAPTURE_SUFFIXES:
            raise LinkError(f"{what} {url}: a packet capture is never published (it holds "
                            f"real addresses and payload bytes); play it in a lesson "
                            f"(simulation.capture) or link an anonymised copy under "
                            f"another name")
        rel = source.relative_to(content_dir)
        out = "/".join([*(slugify(p) for p in rel.parent.parts), spelling(rel.name)])
        self.page.assets[out] = source
        return relative_file(self.page.url, out)

    def _content_dir(self) -> Path:
        """The content folder: the page's source less its path inside it."""
        return self.page.source.parents[len(self.page.rel.parts) - 1]

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
        html, directives = render_tokens(self.md, tokens, self, problems, first_line,
                                         self.callout_titles)
        for name in directives:
            problems.errors.append((first_line, f"::{name} belongs in the page's body, not "
                                                "in its frontmatter"))
        self._record(problems)
        return html.replace(directive_marker("player"), ""), directives

    def render_body(self, tokens: list[Any]) -> str:
        problems = Problems()
        with highlighted_blocks() as blocks:
            html, directives = render_tokens(self.md, tokens, self, problems,
                                             self.page.source_file.body_line,
                                             self.callout_titles)
        self.page.highlights = tuple(blocks)
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

        source = self.page.source
        content_dir = self._content_dir()
        # kept on the page too: stepwise.site rebuilds the page when one changes
        self.trace_reads = set()
        try:
            self.page.trace = compile_trace(meta["simulation"], steps, seed=self.page.seed,
                                            render_text=render_text, base_dir=source.parent,
                                            content_dir=content_dir, reads=self.trace_reads)
        except TraceError as err:
            self.errors.append(err.located(self.page.shown, self.page.line_of(*err.keypath)))
        finally:
            self.page.reads |= self.trace_reads

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


def _did_you_mean(written: str, path: str, suffixes: tuple[str, ...] | None) -> str:
    """``; did you mean ../kb/port.md?``: ``written`` (a link's path) with its file
    name replaced by the closest one in the folder of ``path`` (its file)."""
    folder, name = os.path.split(path)
    try:
        names = sorted(n for n in os.listdir(folder) if not n.startswith(".")
                       and (suffixes is None or n.lower().endswith(suffixes)))
    except OSError:
        return ""
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if not close:
        return ""
    head = written.rpartition("/")[0]
    return f"; did you mean {head + '/' if head else ''}{close[0]}?"

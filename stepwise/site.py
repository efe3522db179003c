"""The site as one stateful build: a full build, then incremental rebuilds.

:class:`SiteBuild` runs the stages of :mod:`stepwise.build` and keeps what they made:
each page's parsed tokens, rendered HTML and output bytes, and the dependency graph
that says which outputs read which inputs:

- a page's output reads its own source, its layout and every template that layout
  extends or includes (the site's own or its theme's: :mod:`stepwise.theme`);
- its rendered body reads, for every reference it makes (wiki-links by name, title or
  heading text, Markdown links to ``.md`` files, ``related:``, ``labs:``), the pages
  that share one of the reference's keys (``Page.ref_slugs``; a page's keys are its
  slug and the folded forms of its file name and title, :func:`stepwise.links.page_keys`):
  their title, URL, headings and draft flag — the page's *link facet*; and the files
  it shows (images beside it, ``Page.reads``);
- its layout reads its tutorial's sidebar (titles and order of every page in the
  tutorial), its section's listing, its backlinks (``Page.links_out`` of the others),
  the breadcrumb (which ancestors exist) and the menu (the menu targets' facets).

:meth:`SiteBuild.update` rescans the inputs (size and mtime, then content hash),
reloads what changed, and re-renders only the pages whose inputs changed, so the
output after any sequence of edits is byte-identical to a clean full build (a test
checks this over random edit sequences). A change to ``site.yaml`` or a theme's
``theme.yaml``, adding or removing a template (which may change which folder wins a
name), or any update after a failed one falls back to a full build.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import pickle
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes

from .assets import Assets, AssetStage
from .cards import FOLDER as CARDS_FOLDER
from .cards import CardMaker
from .compile import PageCompiler, check_menu, menu_pages
from .config import SiteConfig, load_config
from .content import Page, check_collisions, load_page_file, page_files, page_names
from .errors import BuildError, ErrorList, OutputError, display_path
from .frontmatter import UnreadSource
from .layout import HIGHLIGHT_CSS, SiteRenderer, simulator_pages
from .links import LinkIndex, page_keys
from .markdown import create_markdown, heading_ids, highlight_css, parse, remember
from .nav import reading_minutes
from .output import OutputStage
from .parallel import BODY_FIELDS, body_blob, body_fields, build_in_parallel, worker_count
from .project import Project
from .render import create_environment, known_layouts
from .simulator import RUNTIME_DIR, SIMULATOR_LAYOUT, find_runtime, pack
from .snapshot import Digest, Snapshot, digest, folder_files
from .timings import span
from .trace import model_of


@dataclass
class Rebuild:
    """What one build or rebuild did.

    Attributes:
        full: True for a full build.
        rendered: URLs of the pages rendered again.
        changed: output paths whose bytes changed (written), ``removed``: output paths
            that no longer exist.
        static_changed / static_removed: paths under ``static/`` to copy or delete.
        inputs: the input files that triggered the rebuild (for the log line).
        seconds: wall time.
    """

    full: bool
    rendered: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    static_changed: list[str] = field(default_factory=list)
    static_removed: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pages: int = 0

    def summary(self) -> str:
        """``rebuilt 3 of 214 pages in 41 ms (content/linux/kb/port.md)``."""
        what = ", ".join(self.inputs[:3]) + (" ..." if len(self.inputs) > 3 else "")
        verb = "built" if self.full else "rebuilt"
        return (f"{verb} {len(self.rendered)} of {self.pages} pages in "
                f"{self.seconds * 1000:.0f} ms" + (f" ({what})" if what else ""))


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a full build.

    A build keeps every page's tokens (for incremental rebuilds: hundreds of thousands
    of objects at 1,000 pages) while it makes as many more, and each collection walks
    the kept ones again: a third of the parse time went there. A build makes few
    reference cycles (peak memory measured the same without the collector); whatever
    it made is collected once the collector runs again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class SiteBuild:
    """A site build that can be updated after edits.

    Args:
        project: the project's folders (its theme is set from ``site.yaml`` on each
            full build).
        strict: warnings are errors.
        drafts: publish draft pages.
        jobs: processes for a full build (None: one per core, for sites large enough
            to gain from it; see :mod:`stepwise.parallel`).
        base_url: used instead of ``site.yaml``'s (``build --base-url``, and ``serve``,
            whose pages are at the server's address); None: the file's.
    """

    def __init__(self, project: Project, *, strict: bool = False, drafts: bool = False,
                 jobs: int | None = None, base_url: str | None = None):
        self.project, self.strict, self.drafts, self.jobs = project, strict, drafts, jobs
        self.base_url = base_url
        self.config: SiteConfig | None = None
        self.ok = False
        self.warnings: list[BuildError] = []
        #: the bytes of every output file, by path in the output folder; in a build
        #: whose workers write their own pages (:attr:`stage` set), only those this
        #: process made
        self.outputs: dict[str, bytes] = {}
        #: every output file's digest and size (:func:`stepwise.snapshot.digest`):
        #: what the output folder holds
        self.digests: dict[str, Digest] = {}
        #: where a full build writes each page as soon as it is rendered (set by
        #: stepwise.build); None: the caller writes :attr:`outputs` itself
        self.stage: OutputStage | None = None
        #: the inputs as the caller just read them (stepwise.build snapshots every
        #: input first): a full build takes their stamps and hashes from it
        self.known: Snapshot | None = None
        #: where Jinja keeps compiled templates between builds (stepwise.build sets it
        #: in the build cache); None: compiled in memory only
        self.bytecode_cache: jinja2.BytecodeCache | None = None
        #: the build cache's folder (stepwise.build sets it), for what a build may keep
        #: between processes (the highlight stylesheet); None: nothing is kept
        self.cache_dir: Path | None = None
        # what the last build read, to find edits; pages by source file
        self._content = Snapshot()
        self._templates = Snapshot()
        self._static = Snapshot()
        self._config_snap = Snapshot()
        self._reads = Snapshot()  # files pages read besides their source (captures)
        self._pages: dict[Path, Page] = {}
        self._loads = 0  # pages loaded so far: :attr:`pages` is sorted again after one
        self._sorted: tuple[object, list[Page]] | None = None
        self._tokens: dict[Path, list[Any]] = {}
        self._page_warnings: dict[Path, list[BuildError]] = {}
        self._uses: dict[str, set[str]] = {}  # layout template -> templates it reads
        self._md: Any = None
        self._env: jinja2.Environment | None = None
        #: counts the changes to templates: the site files are made again after one
        self._templates_version = 0
        #: the site files (tag pages, sitemap, 404...) as last made, by their
        #: :attr:`_site_files_key`; a build restored from the build state has only
        #: their digests (their bytes are in the output folder already)
        self._site_files: dict[str, bytes] | None = {}
        self._site_digests: dict[str, Digest] = {}
        self._site_files_key: object = None
        #: pages whose heavy compile results (:data:`BODY_FIELDS`) are still pickled,
        #: by source: sent so by a worker, or restored from the build state; set on
        #: the page when it is rendered (:meth:`_materialize`)
        self._bodies: dict[Path, bytes] = {}
        #: pages restored from the build state (:meth:`restore`) and not compiled since:
        #: their source is read again before they are compiled, their results are in
        #: the state (``_body_source``) until they are rendered (``_materialized``)
        self._restored: set[Path] = set()
        self._materialized: set[Path] = set()
        self._stored: set[str] = set()
        self._body_source: Callable[[str], bytes | None] = lambda source: None
        self._facets: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
        self._facets_version = 0
        # the static files under their published names (stepwise.assets), and the
        # social cards drawn (stepwise.cards): kept between rebuilds
        self._asset_stage = AssetStage()
        self._assets = Assets()
        self._assets_version = 0
        self._asset_digests: dict[str, tuple[bytes, Digest]] = {}
        self._cards = CardMaker()

    # -- public ---------------------------------------------------------------------

    def full(self) -> Rebuild:
        """Build everything from the inputs.

        Raises:
            ErrorList: every problem found; the previous outputs are kept.
        """
        with _cyclic_gc_paused():
            return self._full()

    def _full(self) -> Rebuild:
        started = time.perf_counter()
        self.ok = False
        self.config = self._load_config()
        self._config_snap = Snapshot.take(self._config_files(), self.known)
        self._pages, self._tokens, self._page_warnings = {}, {}, {}
        self._loads += 1
        errors: list[BuildError] = []
        if not self.project.content.is_dir():
            raise ErrorList([BuildError("content folder not found",
                                        display_path(self.project.content))])
        with span("snapshot"):
            files = page_files(self.project.content)
            self._content = Snapshot.take(files, self.known)
        with span("load"):
            for path in files:
                errors.extend(self._load(path))
        with span("snapshot"):
            self._templates = Snapshot.take(self._template_files(), self.known)
            self._static = Snapshot.take(self._static_files(), self.known)
        with span("assets"):
            self._assets = self._make_assets()
        self._assets_version += 1
        self._uses, self._md, self._env = {}, None, None
        self._templates_version += 1
        self._site_files_key, self._facets, self._bodies = None, {}, {}
        urls = set(self._published_urls())
        jobs = worker_count(len(urls), self.jobs)
        if jobs > 1:
            pages, links, outputs, digests = build_in_parallel(self, sorted(urls), jobs,
                                                               errors)
            if self.stage is None:  # kept in memory (serve): every page's, unpickled
                self._materialize(pages)
            self._reads = Snapshot.take(self._read_paths(), self.known)
        else:
            pages, links = self._compile(urls, errors)
            self._reads = Snapshot.take(self._read_paths(), self.known)
            outputs, digests = self._render(pages, links, urls)
        old = self.digests
        self.outputs, self.digests = outputs, digests
        self.ok = True
        return Rebuild(
            full=True, rendered=sorted(self._published_urls()),
            changed=sorted(p for p, d in digests.items() if old.get(p) != d),
            removed=sorted(set(old) - set(digests)),
            static_changed=sorted(self._static_names(map(Path, self._static.files))),
            pages=len(self._published_urls()),
            seconds=time.perf_counter() - started, inputs=[],
        )

    def update(self) -> Rebuild:
        """Rebuild after edits: only the pages whose inputs changed.

        Raises:
            ErrorList: every problem found; :attr:`outputs` keeps the last good site
                and the next update is a full build.
        """
        started = time.perf_counter()
        if not self.ok or self.config is None or self._config_changed():
            # after a failed build the state is not trusted: build it all again
            reason = ("after an error" if not self.ok or self.config is None
                      else display_path(self.project.config))
            result = self.full()
            result.inputs = [reason]
            return result
        try:
            result = self._update()
        except BaseException:
            self.ok = False
            raise
        result.seconds = time.perf_counter() - started
        return result

    def full_needed(self) -> str | None:
        """Why the next :meth:`update` would be a full build (the reason, as its log
        line names it), or None: after an error, a change of ``site.yaml`` or of a
        theme's ``theme.yaml``, a template added or removed."""
        if not self.ok or self.config is None:
            return "after an error"
        if self._config_changed():
            return display_path(self.project.config)
        change = self._templates.compare(self._template_files(), self.known)[1]
        if change.added or change.removed:
            return display_path((change.added + change.removed)[0])
        return None

    def output_sizes(self) -> dict[str, int]:
        """Every file the last build put in the output folder (the static files
        among them), with its size in bytes."""
        return {name: size for name, (_hash, size) in self.digests.items()}

    def export_state(self) -> tuple[dict[str, Any], dict[str, bytes], set[str]]:
        """What a later build process needs to :meth:`restore` this build and update
        it (saved by :mod:`stepwise.state`).

        Returns:
            ``(index, bodies, removed)``: plain data (paths as text, no Path objects:
            they unpickle slowly); the pickled :data:`BODY_FIELDS` of the pages
            compiled since the state was restored (of every page, after a full
            build), by source; the sources of the restored pages that are gone.
        """
        assert self.ok and self.config is not None
        pages = []
        bodies: dict[str, bytes] = {}
        # by source: a page loaded again (an edit) keeps its place among the records,
        # which the state stores in chunks, writing again only those that changed
        for path, page in sorted(self._pages.items(), key=lambda item: str(item[0])):
            record = vars(page).copy()  # a copy, less a few keys: twice as quick
            for name in _NOT_KEPT:
                record.pop(name, None)
            if "steps" in page.meta:  # the trace has them, compiled
                record["meta"] = {k: v for k, v in page.meta.items() if k != "steps"}
            record["source"], record["rel"] = str(page.source), str(page.rel)
            record["reads"] = [str(p) for p in page.reads]
            record["assets"] = {out: str(p) for out, p in page.assets.items()}
            pages.append(record)
            if path not in self._restored:
                body = self._bodies.get(path)
                bodies[str(path)] = body if body is not None else body_blob(page)
        index = {
            "pages": pages,
            # only the pages that have some: restoring makes a Path of each
            "page_warnings": [(str(p), w) for p, w in self._page_warnings.items() if w],
            "snapshots": {name: _snapshot_out(getattr(self, f"_{name}"))
                          for name in _SNAPSHOTS},
            "facets": self._facets, "facets_version": self._facets_version,
            "templates_version": self._templates_version,
            "site_files_key": self._site_files_key, "site_digests": self._site_digests,
            "digests": self.digests, "assets": self._assets.names,
            "assets_version": self._assets_version,
        }
        return index, bodies, self._stored - {str(p) for p in self._pages}

    def restore(self, index: dict[str, Any], body: Callable[[str], bytes | None]) -> None:
        """Take up a build exported by :meth:`export_state` (by another process), as if
        this one had made it: :meth:`update` then rebuilds what changed since. The
        pages' sources are read again only for the pages compiled again, their
        heavy results (``body(source)``) only for the pages rendered again.

        Raises:
            ErrorList: ``site.yaml`` cannot be read now (the caller builds in full).
            KeyError, TypeError, ValueError: ``index`` is not what
                :meth:`export_state` makes.
        """
        self.config = self._load_config()
        for name in _SNAPSHOTS:
            setattr(self, f"_{name}", _snapshot_in(index["snapshots"][name]))
        self._pages, self._tokens, self._bodies = {}, {}, {}
        self._loads += 1
        for record in index["pages"]:
            page = Page.__new__(Page)
            vars(page).update(record)
            page.source, page.rel = Path(record["source"]), PurePosixPath(record["rel"])
            page.reads = {Path(p) for p in record["reads"]}
            page.assets = {out: Path(p) for out, p in record["assets"].items()}
            page.source_file = UnreadSource(page.source, page.shown)
            page.html, page.trace, page.external = "", None, []
            self._pages[page.source] = page
        self._restored = set(self._pages)
        self._stored = {record["source"] for record in index["pages"]}
        self._body_source = body
        self._page_warnings = {Path(p): w for p, w in index["page_warnings"]}
        self._facets = index["facets"]
        self._facets_version = index["facets_version"]
        self._templates_version = index["templates_version"]
        self._site_files_key = index["site_files_key"]
        self._site_files, self._site_digests = None, index["site_digests"]
        self.digests, self.outputs = index["digests"], {}
        self._assets = Assets(names=index["assets"])
        self._assets_version = index["assets_version"]
        self._uses, self._md, self._env = {}, None, None
        self.warnings = []
        self.ok = True

    def reuse_output(self, out: Path) -> None:
        """Take the social cards this build needs from ``out``, the output folder that
        holds the restored build, where it has them (a card's name is a hash of what
        it shows: the same name, the same picture), instead of drawing them again."""
        kept = {path for path in self.digests if path.startswith(CARDS_FOLDER)}

        def previous(path: str) -> bytes | None:
            if path not in kept:
                return None
            with contextlib.suppress(OSError):
                return (out / path).read_bytes()
            return None

        self._cards.previous = previous

    @property
    def pages(self) -> list[Page]:
        """The published pages, by URL (a new list; sorted again only after a page
        was loaded or removed)."""
        key = (len(self._pages), self._loads)
        if self._sorted is None or self._sorted[0] != key:
            self._sorted = (key, sorted((p for p in self._pages.values()
                                         if self.drafts or not p.draft), key=lambda p: p.url))
        return list(self._sorted[1])

    # -- stages ---------------------------------------------------------------------

    def _load_config(self) -> SiteConfig:
        """Read ``site.yaml`` (with :attr:`base_url` over its own) and take the theme it
        names as the project's.

        Raises:
            ErrorList: the file's problems.
        """
        try:
            config = load_config(self.project.root)
        except BuildError as err:
            raise ErrorList([err]) from None  # an ErrorList passes through as it is
        if self.base_url is not None:
            config = dataclasses.replace(config, base_url=self.base_url, base_url_line=None,
                                         base_url_from_flag=True)
        self.project = self.project.with_themes(config.themes)
        return config

    def _config_files(self) -> list[Path]:
        """``site.yaml``, the themes' ``theme.yaml`` and the simulator runtime's
        ``package.json`` (``npm ci`` installed another Pyodide): a change to any is a
        full build."""
        config = [self.project.config] if self.project.config.is_file() else []
        runtime = self.project.root / RUNTIME_DIR / "package.json"
        return config + self.project.theme_files + ([runtime] if runtime.is_file() else [])

    def _template_files(self) -> list[Path]:
        return [p for folder in self.project.template_dirs for p in folder_files(folder)]

    def _static_files(self) -> list[Path]:
        return [p for folder in self.project.static_dirs for p in folder_files(folder)]

    def _load(self, path: Path) -> list[BuildError]:
        """(Re)load one source file into the state; returns its load errors."""
        page, errors, warnings = load_page_file(path, self.project.content)
        self._page_warnings[path] = warnings
        if path in self._pages:  # an edit: the code blocks it had are likely still there
            self._remember_highlights(self._pages[path])
        self._pages.pop(path, None)
        self._loads += 1
        self._tokens.pop(path, None)
        self._bodies.pop(path, None)
        self._restored.discard(path)
        self._materialized.discard(path)
        if page is not None:
            self._pages[path] = page
        return errors

    def _published_urls(self) -> list[str]:
        return [p.url for p in self.pages]

    def _read_paths(self) -> list[Path]:
        """The existing files that pages read besides their sources (a capture a page
        looked for but did not find is picked up when it appears)."""
        return sorted({p for page in self._pages.values() for p in page.reads if p.is_file()})

    def _static_names(self, paths: Iterable[Path]) -> list[str]:
        return sorted({self.project.static_name(p) for p in paths})

    def _make_assets(self) -> Assets:
        """The static files under their published names (:mod:`stepwise.assets`): the
        site's and its theme's, the highlight stylesheet, and for simulator pages the
        packed Python and the Pyodide runtime.

        Raises:
            ErrorList: a static file cannot be published.
        """
        static = {}
        for name, path in self.project.static_files().items():
            folder = next(f for f in self.project.static_dirs if path.is_relative_to(f))
            entry = self._static.files.get(str(path))
            static[name] = (path, folder, entry[2] if entry is not None else "")
        simulators = [p for p in self.pages if p.layout == SIMULATOR_LAYOUT]
        entries = set()
        for page in simulators:
            with contextlib.suppress(BuildError):  # the page's compile reports it
                entries.add(model_of(page.meta.get("simulation")).playground)
        runtime = find_runtime(self.project.root)[0] if simulators else None
        try:
            return self._asset_stage.build(
                static, {HIGHLIGHT_CSS: highlight_css(self.cache_dir).encode("utf-8")}, runtime,
                [pack(e) for e in sorted(x for x in entries if x)] if runtime else [])
        except BuildError as err:
            raise ErrorList([err]) from None

    def _config_changed(self) -> bool:
        return bool(self._config_snap.compare(self._config_files(), self.known)[1])

    def _compile(self, compile_urls: set[str], errors: list[BuildError]
                 ) -> tuple[list[Page], LinkIndex]:
        """Parse pages not parsed yet, then compile ``compile_urls`` (stage 4).

        Raises:
            ErrorList: with ``errors`` and every problem found here.
        """
        if self._restored:
            restored = {p.url: path for path, p in self._pages.items() if path in self._restored}
            for url in compile_urls & set(restored):
                self._load(restored[url])
        pages, links, warnings = self._compile_setup()
        md = self._markdown()
        with span("parse"):
            for page in pages:
                # every page's headings must be known; a page built by a worker process
                # knows them without its tokens, which only the pages compiled now need
                if page.url in compile_urls or not page.parsed:
                    self._parsed(page, md)
        with span("compile"):
            self._compile_pages(pages, links, compile_urls, errors, warnings)
        with span("compile_finish"):
            self._compile_finish(pages, links, compile_urls, errors)
        return pages, links

    def _compile_setup(self) -> tuple[list[Page], LinkIndex, list[BuildError]]:
        """The published pages, the link index over all pages, the load warnings."""
        links = LinkIndex(self._pages.values(), drafts_published=self.drafts)
        warnings = [w for ws in self._page_warnings.values() for w in ws]
        return self.pages, links, warnings

    def _compile_pages(self, pages: list[Page], links: LinkIndex, urls: Iterable[str],
                       errors: list[BuildError], warnings: list[BuildError]) -> None:
        """Compile the pages at ``urls`` (already parsed)."""
        md = self._markdown()
        layouts = known_layouts(self.project.template_dirs)
        by_url = {p.url: p for p in pages}
        for url in sorted(urls):
            target = by_url.get(url)
            if target is not None:
                assert self.config is not None
                found: list[BuildError] = []
                self._bodies.pop(target.source, None)  # replaced by what this makes
                self._remember_highlights(target)
                PageCompiler(target, md, links, errors, found, self.config.strings).compile(
                    self._tokens[target.source], layouts, self.project.templates.name)
                target.warnings = found
                warnings.extend(found)

    def _compile_finish(self, pages: list[Page], links: LinkIndex, compile_urls: set[str],
                        errors: list[BuildError]) -> None:
        """The checks over the whole site, and the facets kept for rebuilds.

        Raises:
            ErrorList: with ``errors`` and every problem found here.
        """
        assert self.config is not None
        by_url = {p.url: p for p in pages}
        errors.extend(check_collisions(sorted(self._pages.values(), key=lambda p: p.url)))
        # what other pages show of each page, kept so a rebuild compares without
        # recomputing it for the pages it did not touch
        for url in [u for u in self._facets if u not in by_url]:
            del self._facets[url]
            self._facets_version += 1
        for url in compile_urls | (set(by_url) - set(self._facets)):
            if url in by_url:
                facets = (_link_facet(by_url[url]), _render_facet(by_url[url]))
                if self._facets.get(url) != facets:
                    self._facets[url] = facets
                    self._facets_version += 1
        errors.extend(check_menu(self.config, links))
        # every page's warnings, also those of the pages not compiled now: as a full
        # build reports them
        warnings = [w for path in sorted(self._page_warnings)
                    for w in self._page_warnings[path]]
        warnings += [w for page in pages for w in page.warnings]
        warnings.extend(config_warnings(self.config))
        simulators = [p for p in pages if p.layout == SIMULATOR_LAYOUT]
        if simulators:
            why = find_runtime(self.project.root)[1]
            if why:  # once, however many simulator pages: the fix is the same
                warnings.append(BuildError(
                    f"the simulator cannot run in this build: {why}; the page tells its "
                    f"readers so, and lessons show no 'explore from here' links",
                    simulators[0].shown, simulators[0].line_of("layout")))
            linked = simulator_pages(pages)
            for other in simulators:
                simulation = other.meta.get("simulation")
                model = simulation.get("model") if isinstance(simulation, dict) else None
                first = linked.get(str(model))
                if first is not None and other is not first:
                    warnings.append(BuildError(
                        f"lessons of the {model} model link one simulator page, "
                        f"{first.shown}, not this one; keep one simulator page per model",
                        other.shown, other.line_of("layout")))
        if "/" not in by_url:
            errors.append(BuildError("the site needs a front page: add content/_index.md",
                                     display_path(self.project.content)))
        self.warnings = warnings
        if self.strict:
            errors.extend(warnings)
        if errors:
            raise ErrorList(errors, [] if self.strict else warnings)

    def _renderer(self, pages: list[Page], links: LinkIndex) -> SiteRenderer:
        assert self.config is not None
        if self._env is None:
            # compiled templates are kept between rebuilds; Jinja's own mtime check is
            # too coarse for quick saves, so the env is dropped when a template changes
            self._env = create_environment(self.project.template_dirs, self.bytecode_cache)
        return SiteRenderer(self.project, self.config, pages, links, self._env,
                            assets=self._assets, cards=self._cards)

    @staticmethod
    def _render_pages(renderer: SiteRenderer, pages: list[Page], urls: set[str],
                      errors: list[BuildError], stage: OutputStage | None = None
                      ) -> tuple[dict[str, bytes], dict[str, Digest]]:
        """Render the pages at ``urls``; with a ``stage``, write each as it is made.

        Returns:
            ``(outputs, digests)``: the bytes and the digest of each page's file.
        """
        outputs: dict[str, bytes] = {}
        digests: dict[str, Digest] = {}
        for page in pages:
            if page.url in urls:
                try:
                    files = renderer.page_files(page)  # its HTML, a lesson's card
                except BuildError as err:
                    errors.append(err)
                    continue
                for path, data in files.items():
                    outputs[path] = data
                    digests[path] = (digest(data), len(data))
                    if stage is not None and not errors:
                        with span("write"):
                            stage.write(path, data)
                page.outputs = tuple(files)
                page.static_used = frozenset(renderer.static_used)
        return outputs, digests

    def _render(self, pages: list[Page], links: LinkIndex, render_urls: set[str]
                ) -> tuple[dict[str, bytes], dict[str, Digest]]:
        """Render ``render_urls`` (stage 5); returns the new outputs and digests, in
        which the other pages keep their previous ones.

        Raises:
            ErrorList: a template failed.
        """
        self._materialize(p for p in pages if p.url in render_urls)
        renderer = self._renderer(pages, links)
        errors: list[BuildError] = []
        with span("render"):
            rendered, digests = self._render_pages(renderer, pages, render_urls, errors,
                                                   self.stage)
        with span("render_finish"):
            return self._render_finish(renderer, pages, rendered, digests, errors)

    def _render_finish(self, renderer: SiteRenderer, pages: list[Page],
                       rendered: dict[str, bytes], digests: dict[str, Digest],
                       errors: list[BuildError]) -> tuple[dict[str, bytes], dict[str, Digest]]:
        """The whole output: the pages rendered now (``digests``, and the bytes of
        those in ``rendered``; their cards too), the others' previous files, the static
        files, the site files (tag pages, sitemap, feed, 404) and the files pages show.

        Returns:
            ``(outputs, digests)`` for :attr:`outputs` and :attr:`digests`.


        Raises:
            ErrorList: with ``errors`` and any failure of the site files.
        """
        outputs: dict[str, bytes] = {}
        every: dict[str, Digest] = {}
        for page in pages:
            for path in page.outputs:  # what it wrote when it was last rendered
                if path in digests:
                    every[path] = digests[path]
                    if path in rendered:
                        outputs[path] = rendered[path]
                elif path in self.digests:
                    every[path] = self.digests[path]
                    if path in self.outputs:
                        outputs[path] = self.outputs[path]
        for path, data in self._assets.files.items():
            outputs[path] = data
            every[path] = self._asset_digest(path, data)
        # the files beside pages that pages show (images): read again on every build
        # (an edit of one re-renders the page that shows it, see Page.reads)
        extra: dict[str, bytes] = {}
        for page in pages:
            for out, source in sorted(page.assets.items()):
                try:
                    extra[out] = source.read_bytes()
                except OSError as err:
                    errors.append(OutputError(f"cannot read the file: {err.strerror}",
                                              display_path(source)))
        # tag pages, sitemap, 404: made from every page's render facet, so they are
        # made again only when one of those (or a template) changed
        key = (self._templates_version, self._facets_version, self._assets_version)
        try:
            if key != self._site_files_key:
                self._site_files = renderer.site_files()
                self._site_digests = {path: (digest(data), len(data))
                                      for path, data in self._site_files.items()}
                self._site_files_key = key
        except BuildError as err:
            errors.append(err)
        if errors:
            raise ErrorList(errors)
        for path, data in extra.items():
            outputs[path] = data
            every[path] = (digest(data), len(data))
        outputs.update(self._site_files or {})
        every.update(self._site_digests)
        return outputs, every

    def _materialize(self, pages: Iterable[Page]) -> None:
        """Set the pickled compile results (:attr:`_bodies`, or the build state's) of
        ``pages`` on them."""
        for page in pages:
            body = self._bodies.pop(page.source, None)
            fields = pickle.loads(body) if body is not None else None  # this process's
            if body is None and page.source in self._restored \
                    and page.source not in self._materialized:
                fields = body_fields(self._body_source(str(page.source)))
                if fields is None:  # missing or damaged: the caller builds in full
                    raise ErrorList([BuildError("the build state lacks this page's "
                                                "results; build with --no-cache",
                                                page.shown)])
                self._materialized.add(page.source)
            if fields is not None:
                for name, value in zip(BODY_FIELDS, fields, strict=True):
                    setattr(page, name, value)

    def _remember_highlights(self, page: Page) -> None:
        """Before a page restored from the build state is loaded or compiled again,
        take up the code blocks it had highlighted (most edits leave them as they
        were)."""
        if page.source in self._materialized:
            remember(page.highlights)
        elif page.source in self._restored:  # else compiled here: in the cache already
            fields = body_fields(self._body_source(str(page.source)))
            if fields is not None:  # a damaged row: _materialize reports it, if needed
                remember(fields[BODY_FIELDS.index("highlights")])

    def _markdown(self) -> Any:
        assert self.config is not None
        if getattr(self, "_md", None) is None:
            self._md = create_markdown(html=self.config.markdown_html)
        return self._md

    def _parsed(self, page: Page, md: Any) -> list[Any]:
        """The page's tokens, parsing it (and learning its headings) on first use."""
        tokens = self._tokens.get(page.source)
        if tokens is None:
            tokens = self._tokens[page.source] = parse(md, page.source_file.body,
                                                       page.source_file.body_line)
            page.headings = heading_ids(tokens)
            page.parsed = True
        return tokens

    # -- incremental ----------------------------------------------------------------

    def _update(self) -> Rebuild:
        assert self.config is not None
        content = self.project.content
        before = {p.url: p for p in self.pages}
        simulators_before = {m: p.url for m, p in simulator_pages(list(before.values())).items()}
        facets_before = dict(self._facets)  # compiling replaces entries, not tuples
        links_before = {url: p.links_out for url, p in before.items()}  # compile makes new sets

        # 1. what changed on disk
        errors: list[BuildError] = []
        self._content, content_change = self._content.compare(
            page_names(content) if content.is_dir() else [], self.known)
        templates, template_change = self._templates.compare(self._template_files(),
                                                             self.known)
        if template_change.added or template_change.removed:
            result = self.full()  # the set of layouts changed: every page's check
            result.inputs = [display_path(p) for p in template_change.added
                             + template_change.removed]
            return result
        self._templates = templates
        changed_templates = {self.project.template_name(p) for p in template_change.modified}
        if changed_templates:
            self._env = None
            self._templates_version += 1
        self._static, static_change = self._static.compare(self._static_files(), self.known)
        static_changed = self._static_names(static_change.touched)
        static_removed = self._static_names(static_change.removed)
        assets_before = self._assets
        touched, removed_paths = content_change.touched, content_change.removed

        # 2. reload changed sources; new or deleted files (drafts too) change which
        # pages a reference can match
        matched_slugs = {k for p in removed_paths if p in self._pages
                         for k in page_keys(self._pages[p])}
        for path in removed_paths:
            self._pages.pop(path, None)
            self._loads += 1
            self._tokens.pop(path, None)
            self._page_warnings.pop(path, None)
            self._bodies.pop(path, None)
            self._restored.discard(path)
        for path in touched:
            errors.extend(self._load(path))
        if errors:
            raise ErrorList(errors)
        after = {p.url: p for p in self.pages}
        self._assets = self._make_assets()  # a static file, or a simulator page, changed
        if self._assets.names != assets_before.names:
            self._assets_version += 1
        self._reads, read_change = self._reads.compare(self._read_paths(), self.known)
        changed_reads = set(read_change.touched + read_change.removed)

        # 3. which pages read what changed
        changed_urls = {self._pages[p].url for p in touched if p in self._pages
                        and (self.drafts or not self._pages[p].draft)}
        added = set(after) - set(before)
        gone = set(before) - set(after)
        compile_urls = set(changed_urls) | added
        compile_urls |= {p.url for p in after.values() if p.reads & changed_reads}
        structural = added | gone
        md = self._markdown()
        facet_changed = {u for u in changed_urls & set(before)
                         if self._parsed(after[u], md) is not None
                         and _link_facet(after[u]) != facets_before[u][0]}
        # pages whose references may now resolve differently
        slugs = {k for u in gone | facet_changed for k in page_keys(before[u])}
        slugs |= {k for u in added | facet_changed for k in page_keys(after[u])}
        slugs |= matched_slugs | {k for p in content_change.added if p in self._pages
                                  for k in page_keys(self._pages[p])}
        for page in after.values():
            if page.ref_slugs & slugs:
                compile_urls.add(page.url)

        render_urls = set(compile_urls)
        pages, links = self._compile(compile_urls, errors)
        # after compiling we know the new links_out and render facets
        changed_render = {u for u in compile_urls & set(before)
                          if self._facets[u][1] != facets_before[u][1]}
        changed_render |= structural
        menu_targets = {p.url for p in menu_pages(self.config, links)[0]} | {"/"}
        for url in changed_render:
            page = after.get(url) or before[url]
            render_urls |= self._readers_of(page, after)
            if url in menu_targets:
                render_urls |= set(after)
        for url in structural:
            page = after.get(url) or before[url]
            if page.is_index:  # breadcrumbs below it
                render_urls |= {u for u in after if u.startswith(url)}
        for url in compile_urls & set(after):
            render_urls |= links_before.get(url, set()) ^ after[url].links_out
        for url in gone:
            render_urls |= links_before[url]
        for name in changed_templates:
            render_urls |= {u for u, p in after.items()
                            if {name, "*"} & self._templates_of(p.layout)}
        simulators_after = {m: p.url for m, p in simulator_pages(list(after.values())).items()}
        if simulators_before != simulators_after:
            # every lesson's "explore from here" links point at it
            render_urls |= {u for u, p in after.items() if p.steps is not None}
        render_urls |= self._asset_readers(assets_before, after)
        render_urls &= set(after)

        outputs, digests = self._render(pages, links, render_urls)
        old = self.digests
        self.outputs, self.digests = outputs, digests
        inputs = sorted({display_path(p) for p in touched + removed_paths}
                        | {f"templates/{n}" for n in changed_templates}
                        | {f"static/{n}" for n in static_changed + static_removed})
        return Rebuild(
            full=False, rendered=sorted(render_urls),
            changed=sorted(p for p, d in digests.items() if old.get(p) != d),
            removed=sorted(set(old) - set(digests)),
            static_changed=static_changed, static_removed=static_removed,
            inputs=inputs, pages=len(after),
        )

    def _asset_readers(self, before: Assets, pages: dict[str, Page]) -> set[str]:
        """Pages that name a static file whose published name changed (an edited
        stylesheet has a new hash): their output holds the old name (each page keeps
        the static files it named when it was rendered, ``Page.static_used``)."""
        changed = {name for name, published in before.names.items()
                   if self._assets.names.get(name) != published}
        if not changed:
            return set()
        return {url for url, page in pages.items() if page.static_used & changed}

    def _asset_digest(self, path: str, data: bytes) -> Digest:
        """The digest of a static file's bytes, hashed once for as long as
        :class:`AssetStage` keeps the same bytes (the Pyodide runtime is 13 MB)."""
        known = self._asset_digests.get(path)
        if known is not None and known[0] is data:
            return known[1]
        found = (digest(data), len(data))
        self._asset_digests[path] = (data, found)
        return found

    @staticmethod
    def _readers_of(page: Page, pages: dict[str, Page]) -> set[str]:
        """Pages whose layout shows ``page``'s title, order or description: its tutorial
        (sidebar), its section (listing), the front page (tutorial cards)."""
        readers = {"/"}
        if page.section_url is not None:
            readers.add(page.section_url)
        if page.url != "/":
            top = "/" + page.url.strip("/").split("/")[0] + "/"
            readers |= {u for u in pages if u.startswith(top)}
        return readers

    def _templates_of(self, layout: str) -> set[str]:
        """The layout's template and every template it extends, includes or renders
        with ``shared()``."""
        if layout in self._uses:
            return self._uses[layout]
        folders = self.project.template_dirs
        seen: set[str] = set()
        todo = [f"layouts/{layout}.html"]
        env = jinja2.Environment()
        while todo:
            name = todo.pop()
            path = next((f / name for f in folders if (f / name).is_file()), None)
            if name in seen or path is None:
                continue
            seen.add(name)
            try:
                ast = env.parse(path.read_text(encoding="utf-8"))
            except (jinja2.TemplateSyntaxError, UnicodeDecodeError):
                return {"*"}  # unknown until fixed: the render reports the error
            todo.extend(n for n in jinja2.meta.find_referenced_templates(ast) if n)
            # and the partials it renders with shared("partials/header.html")
            for call in ast.find_all(jinja2.nodes.Call):
                if isinstance(call.node, jinja2.nodes.Name) and call.node.name == "shared":
                    first = call.args[0] if call.args else None
                    if not isinstance(first, jinja2.nodes.Const) or \
                            not isinstance(first.value, str):
                        return {"*"}  # named at render time: any template may be it
                    todo.append(first.value)
        self._uses[layout] = seen
        return seen


#: the snapshots of what a build read, by attribute name less its underscore
_SNAPSHOTS = ("content", "templates", "static", "config_snap", "reads")
#: what the build state does not keep of a page: its source (read again when the page
#: is compiled again) and its heavy results (kept pickled on their own)
_NOT_KEPT = frozenset({"source_file", *BODY_FIELDS})


def _snapshot_out(snapshot: Snapshot) -> tuple[int, dict[str, tuple[int, int, str]]]:
    return snapshot.taken_ns, snapshot.files


def _snapshot_in(data: tuple[int, dict[str, tuple[int, int, str]]]) -> Snapshot:
    taken_ns, files = data
    return Snapshot(files, taken_ns)


def config_warnings(config: SiteConfig) -> list[BuildError]:
    """What ``site.yaml`` lacks for a complete site: a ``base_url`` (without it there is
    no sitemap, feed, 404 page, social card nor canonical link), an absolute one (a
    sitemap, a feed and ``og:url``/``og:image`` need full URLs)."""
    shown = display_path(config.path)
    if config.base_url is None:
        return [BuildError(
            "no 'base_url': sitemap.xml, feed.xml and 404.html are not written and pages "
            "have no canonical link, og:url nor social card (they need the address the "
            "site is published at); add 'base_url: https://example.org/' (with the "
            "sub-path the site is under, if any) or build with --base-url URL", shown)]
    if config.absolute_base is None:
        where = "--base-url" if config.base_url_from_flag else "base_url"
        return [BuildError(
            f"{where} '{config.base_url}' is only a path: sitemap.xml and feed.xml are not "
            f"written and pages have no og:url nor social card (they need full URLs); give "
            f"the whole address, e.g. https://example.org{config.base_url}",
            "command line" if config.base_url_from_flag else shown, config.base_url_line)]
    return []


def _link_facet(page: Page) -> tuple[Any, ...]:
    """What a wiki-link to ``page`` shows: URL, title, headings (ids and text, for
    ``#anchor`` labels and previews), description (the preview), draft flag; for a
    simulator page, its settings (a link's scenario is checked against them)."""
    settings = page.meta.get("simulation") if page.layout == SIMULATOR_LAYOUT else None
    return (page.url, page.slug, page.name, page.title, tuple(page.headings),
            page.description, page.draft, repr(settings))


def _render_facet(page: Page) -> tuple[Any, ...]:
    """What other pages' layouts show of ``page``: its link facet, order, layout, the
    number of steps of its trace, reading time, tags (the tag pages), dates (listings,
    the sitemap, the feed) and how it sorts its section's pages."""
    return (*_link_facet(page), page.order, page.layout, page.is_index, page.steps,
            reading_minutes(page), tuple(sorted(map(str, page.meta.get("tags") or []))),
            page.date.iso if page.date else None, page.updated.iso if page.updated else None,
            page.sort)

"""A full build on every core: the pages split in shards, one process per shard.

Stages 3-5 are per page, but each needs something from all pages before it can run:
compiling needs every page's heading ids (to check ``#anchor`` links), and rendering
needs what other pages' layouts show of each page (backlinks, reading times, step
counts). So the processes run in lock-step (bulk-synchronous), exchanging only what
the next stage needs:

1. each parses its shard and sends its pages' headings; all headings go to all;
2. each compiles its shard and sends the results to the build process (HTML, links,
   trace...: it keeps every page's, for the site-wide checks, the tag pages and the
   build cache); if the checks pass, it sends each worker only the *render facets* of
   the other shards' pages (:data:`RENDER_FIELDS`: links, reading time, step count,
   simulator settings), never their HTML;
3. each renders its shard, writes it into the build's temporary output folder
   (:class:`stepwise.output.OutputStage`) and sends back each file's digest and size
   (the bytes too only when there is no output stage: ``serve`` keeps them).

The pages are dealt out in URL order, each to the process with the least estimated
cost so far (:func:`shard`, :func:`page_cost`: lessons, their cards and section pages
cost more), so that every stage is balanced, not only the whole; the build process's
share is lighter by its own extra work (the site files, the merge). The workers are forked from the
build process once the pages are loaded, so they start with the same state and the
same code; the build process itself works on the first shard. Everything is merged by
URL, so the output is byte-identical to a serial build (tests/test_parallel.py checks
it). ``STEPWISE_TIMINGS`` records each process's stages (:mod:`stepwise.timings`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .content import Page
from .errors import BuildError, ErrorList, WorkerError
from .snapshot import Digest
from .timings import flush, forget, span

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from .config import SiteConfig
    from .layout import SiteRenderer
    from .links import LinkIndex
    from .output import OutputStage


class SiteBuild(Protocol):
    """The stages of :class:`stepwise.site.SiteBuild` that a parallel build runs in
    each process: described here so that this module need not import the one that
    imports it."""

    stage: OutputStage | None
    config: SiteConfig | None
    _bodies: dict[Path, bytes]

    @property
    def pages(self) -> list[Page]: ...

    def _compile_setup(self) -> tuple[list[Page], LinkIndex, list[BuildError]]: ...

    def _markdown(self) -> Any: ...

    def _parsed(self, page: Page, md: Any) -> list[Any]: ...

    def _compile_pages(self, pages: list[Page], links: LinkIndex, urls: Iterable[str],
                       errors: list[BuildError], warnings: list[BuildError]) -> None: ...

    def _compile_finish(self, pages: list[Page], links: LinkIndex, compile_urls: set[str],
                        errors: list[BuildError]) -> None: ...

    def _renderer(self, pages: list[Page], links: LinkIndex) -> SiteRenderer: ...

    def _render_pages(self, renderer: SiteRenderer, pages: list[Page], urls: set[str],
                      errors: list[BuildError], stage: OutputStage | None = None
                      ) -> tuple[dict[str, bytes], dict[str, Digest]]: ...

    def _render_finish(self, renderer: SiteRenderer, pages: list[Page],
                       rendered: dict[str, bytes], digests: dict[str, Digest],
                       errors: list[BuildError]
                       ) -> tuple[dict[str, bytes], dict[str, Digest]]: ...


#: Below this many pages a fork costs more than it saves.
MIN_PAGES = 200
#: What compiling a page sets on it (see PageCompiler.compile) that the build process
#: reads (the site-wide checks, the facets, the tag pages); the rest, its
#: :data:`BODY_FIELDS`, it gets pickled and keeps so, until a page is rendered again
#: (``serve``) or for the build state (:mod:`stepwise.state`).
RESULT_FIELDS = ("links_out", "ref_slugs", "reads", "steps", "minutes", "simulator",
                 "assets", "warnings", "lead_html")
#: The heavy part of a page's compile results: read only to render the page itself
#: (the lead is not: the feed shows it for every page without a description).
BODY_FIELDS = ("html", "trace", "external", "highlights")
#: What rendering a page sets on it (see ``SiteBuild._render_pages``).
RENDERED_FIELDS = ("outputs", "static_used")
#: What rendering another page reads of a page's compile results: its links (the
#: backlinks), reading time and step count (listings), simulator settings (the
#: lessons' "explore from here" links). Its title, headings, tags... every process
#: has from loading and parsing.
RENDER_FIELDS = ("links_out", "minutes", "steps", "simulator")


def body_blob(page: Page) -> bytes:
    """``page``'s :data:`BODY_FIELDS`, pickled (see ``SiteBuild._materialize``)."""
    return pickle.dumps(tuple(getattr(page, f) for f in BODY_FIELDS),
                        protocol=pickle.HIGHEST_PROTOCOL)


def body_fields(body: bytes | None) -> tuple[Any, ...] | None:
    """A page's pickled :data:`BODY_FIELDS` (:func:`body_blob`), or None when ``body`` is
    None or not such a pickle (a damaged row of the build state)."""
    if body is None:
        return None
    try:
        fields = pickle.loads(body)
    except Exception:  # noqa: BLE001 - unpickling damaged bytes raises anything
        return None
    if not isinstance(fields, tuple) or len(fields) != len(BODY_FIELDS):
        return None
    return fields


#: What drawing a lesson's social card costs (µs; stepwise.cards: 5 ms each, JPEG).
CARD_COST = 5_000


def page_cost(page: Page, cards: bool = False) -> int:
    """The estimated time to parse, compile, render and write ``page``, in
    microseconds (measured on the benchmark site: ~0.3 µs a byte of Markdown, 200 µs
    a step of a lesson's trace, 1.3 ms for a section page's listing; with ``cards``,
    :data:`CARD_COST` for a lesson's card)."""
    body = len(page.source_file.body)
    steps = page.meta.get("steps")
    lesson = isinstance(steps, list)
    return (800 + body * 3 // 10 + (200 * len(steps) if isinstance(steps, list) else 0)
            + (1300 if page.is_index else 0) + (CARD_COST if lesson and cards else 0))


def shard(pages: list[Page], jobs: int, handicap: int = 0, cards: bool = False
          ) -> list[list[str]]:
    """Deal ``pages`` (sorted by URL) out to ``jobs`` processes, each page in turn to
    the one with the least estimated cost so far (:func:`page_cost`; the first starts
    at ``handicap``, µs: the build process's own work). Dealt in turn, every process
    gets a like mix of pages, lessons and articles alike, so each stage is about as
    long in each and none waits long at the barriers between them (runs of pages by
    URL balanced in total were not: lessons gather in some sections, and a run of
    them parses in far less than its cost says, the cards being drawn later).
    Returns the URLs of each process, in URL order."""
    shards: list[list[str]] = [[] for _ in range(jobs)]
    loads = [handicap] + [0] * (jobs - 1)
    for page in pages:
        at = loads.index(min(loads))
        shards[at].append(page.url)
        loads[at] += page_cost(page, cards)
    return shards


def worker_count(pages: int, jobs: int | None) -> int:
    """How many processes to use: ``jobs`` when given (``STEPWISE_JOBS`` in the
    environment otherwise), else one per core for sites of :data:`MIN_PAGES` pages or
    more; 1 where fork is not available."""
    if not hasattr(os, "fork"):  # multiprocessing's "fork" start method needs it
        return 1
    if jobs is None and os.environ.get("STEPWISE_JOBS", "").isdigit():
        jobs = int(os.environ["STEPWISE_JOBS"])
    if jobs is not None:
        return max(1, jobs)
    return max(1, min(len(os.sched_getaffinity(0)), 8)) if pages >= MIN_PAGES else 1


class _Shard:
    """The work of one process on its shard of URLs, stage by stage."""

    def __init__(self, build: SiteBuild, urls: list[str]):
        self.build, self.urls = build, urls
        self.pages, self.links, _warnings = build._compile_setup()
        self.by_url = {p.url: p for p in self.pages}

    def parse(self) -> dict[str, list[tuple[int, str, str]]]:
        md = self.build._markdown()
        return {url: (self.build._parsed(self.by_url[url], md), self.by_url[url].headings)[1]
                for url in self.urls}

    def set_headings(self, headings: dict[str, list[tuple[int, str, str]]]) -> None:
        for url, found in headings.items():
            self.by_url[url].headings = found
            self.by_url[url].parsed = True

    def compile(self) -> tuple[dict[str, tuple[Any, ...]], list[BuildError]]:
        """Compile the shard: its pages' :data:`RESULT_FIELDS` and the errors."""
        errors: list[BuildError] = []
        self.build._compile_pages(self.pages, self.links, self.urls, errors, [])
        return self.results(RESULT_FIELDS, self.urls), errors

    def bodies(self) -> dict[str, bytes]:
        """The shard's :data:`BODY_FIELDS`, pickled page by page."""
        return {url: body_blob(self.by_url[url]) for url in self.urls}

    def results(self, fields: tuple[str, ...], urls: Iterable[str]
                ) -> dict[str, tuple[Any, ...]]:
        """The ``fields`` of the pages at ``urls``."""
        return {url: tuple(getattr(self.by_url[url], f) for f in fields) for url in urls}

    def apply(self, fields: tuple[str, ...], results: dict[str, tuple[Any, ...]]) -> None:
        for url, values in results.items():
            page = self.by_url[url]
            for name, value in zip(fields, values, strict=True):
                setattr(page, name, value)

    def render(self) -> tuple[dict[str, bytes] | None, dict[str, Digest], list[BuildError],
                              Any, dict[str, tuple[Any, ...]]]:
        """Render the shard; with an output stage, also write it, and keep no bytes.
        Returns the bytes (or None), digests, errors, writes and the pages'
        :data:`RENDERED_FIELDS`."""
        errors: list[BuildError] = []
        renderer = self.build._renderer(self.pages, self.links)
        stage = self.build.stage
        rendered, digests = self.build._render_pages(renderer, self.pages, set(self.urls),
                                                     errors, stage)
        facts = self.results(RENDERED_FIELDS, self.urls)
        if stage is None:
            return rendered, digests, errors, None, facts
        return None, digests, errors, stage.flush(), facts


def _child(build: SiteBuild, urls: list[str], conn: Connection,
           inherited: list[Connection]) -> None:
    # the build process's ends of the pipes: held here, they would keep this worker
    # (and the ones forked before it) from seeing the build process die
    for other in inherited:
        other.close()
    forget()
    status = 0
    try:
        with span("setup"):
            shard = _Shard(build, urls)
        with span("parse"):
            parsed = shard.parse()
        _send(conn, parsed, "headings")
        shard.set_headings(_get(conn, "headings"))
        with span("compile"):
            results, errors = shard.compile()
        with span("pickle:bodies"):
            bodies = shard.bodies()
        _send(conn, (results, bodies, errors), "results")
        facets = _get(conn, "facets")
        if facets is None:  # the build found errors before rendering: nothing to do
            return
        with span("apply"):
            shard.apply(RENDER_FIELDS, facets)
        with span("render"):
            rendered = shard.render()
        _send(conn, rendered, "outputs")
    except KeyboardInterrupt:
        status = 1
        with contextlib.suppress(OSError):
            conn.send(_Interrupted())
    except (EOFError, BrokenPipeError, ConnectionResetError):
        status = 1  # the build process is gone: nobody to report to
    except BaseException:  # noqa: BLE001 - reported by the parent, with the traceback
        status = 1
        with contextlib.suppress(OSError):
            conn.send(_Crash(traceback.format_exc()))
    finally:
        conn.close()
        flush()
        os._exit(status)  # no atexit handlers or buffers of the parent run twice


class _Crash:
    def __init__(self, text: str):
        self.text = text


class _Interrupted:
    """Sent by a worker that got Ctrl-C: the build process reports it as its own."""


def _send(conn: Connection, message: Any, what: str) -> None:
    """Pickle and send ``message`` (timed as ``pickle:what`` and ``pipe:what``)."""
    from multiprocessing.reduction import ForkingPickler

    with span(f"pickle:{what}") as measured:
        data = ForkingPickler.dumps(message)
        measured.bytes = len(data)
    with span(f"pipe:{what}"):
        conn.send_bytes(data)


def _get(conn: Connection, what: str) -> Any:
    """Receive and unpickle a message (timed as ``wait:what`` and ``unpickle:what``)."""
    with span(f"wait:{what}") as measured:
        data = conn.recv_bytes()
        measured.bytes = len(data)
    with span(f"unpickle:{what}"):
        return pickle.loads(data)


def _recv(conn: Connection, worker: BaseProcess, what: str) -> Any:
    try:
        message = _get(conn, what)
    except EOFError:
        worker.join(timeout=1)
        code = worker.exitcode
        how = (f"was killed by signal {-code}" if code is not None and code < 0
               else f"exited with status {code}" if code is not None else "stopped answering")
        raise WorkerError(f"build worker {worker.pid} {how}; nothing was published") from None
    if isinstance(message, _Interrupted):
        raise KeyboardInterrupt
    if isinstance(message, _Crash):
        raise WorkerError(f"build worker {worker.pid} failed (a bug in stepwise; please "
                          f"report it with this text):\n{message.text}")
    return message


def build_in_parallel(build: SiteBuild, urls: list[str], jobs: int, errors: list[BuildError]
                      ) -> tuple[list[Page], LinkIndex, dict[str, bytes], dict[str, Digest]]:
    """Compile and render ``urls`` in ``jobs`` processes (this one included).

    Returns:
        ``(pages, links, outputs, digests)`` as the serial stages would; ``outputs``
        lacks the workers' pages when they wrote them (an output stage is set).

    Raises:
        ErrorList: every problem found, as a serial build would report them.
    """
    pages = build.pages
    # the build process also merges, checks the whole site and makes the site files
    # (about a section page per tag): its shard is lighter by as much
    tags = {str(t) for p in pages for t in (p.meta.get("tags") or [])}
    cards = build.config is not None and build.config.absolute_base is not None
    shards = shard([p for p in pages if p.url in set(urls)], jobs,
                   handicap=20_000 + 1300 * len(tags) + (CARD_COST if cards else 0),
                   cards=cards)
    import multiprocessing  # here: a build of one process (most incremental ones) needs none

    context = multiprocessing.get_context("fork")
    conns: list[Connection] = []
    workers = []
    flush()  # the spans so far are this process's, not the workers' too
    for shard_urls in shards[1:]:
        mine, theirs = context.Pipe()
        worker = context.Process(target=_child, daemon=True,
                                 args=(build, shard_urls, theirs, [*conns, mine]))
        with span("fork"):
            worker.start()
        theirs.close()
        conns.append(mine)
        workers.append(worker)
    pairs = list(zip(conns, workers, strict=True))
    failed = True
    try:
        with span("setup"):
            local = _Shard(build, shards[0])
        with span("parse"):
            headings = local.parse()
        for conn, worker in pairs:
            headings.update(_recv(conn, worker, "headings"))
        for conn in conns:
            _send(conn, headings, "headings")
        local.set_headings(headings)
        with span("compile"):
            _results, found = local.compile()
        for conn, worker in pairs:
            theirs_results, theirs_bodies, theirs_errors = _recv(conn, worker, "results")
            with span("apply"):
                local.apply(RESULT_FIELDS, theirs_results)
                for url, body in theirs_bodies.items():
                    build._bodies[local.by_url[url].source] = body
            found += theirs_errors
        # the checks over the whole site, before any page is rendered (as a serial
        # build does them): rendering assumes them (a front page, say); the pages'
        # warnings came with their results
        errors.extend(found)
        try:
            with span("compile_finish"):
                build._compile_finish(local.pages, local.links, set(urls), errors)
        except ErrorList:
            for conn in conns:
                with contextlib.suppress(OSError):  # a worker that died meanwhile
                    conn.send(None)
            raise
        for conn, theirs_urls in zip(conns, shards[1:], strict=True):
            own = set(theirs_urls)
            _send(conn, local.results(RENDER_FIELDS, (u for u in urls if u not in own)),
                  "facets")
        with span("render"):
            rendered, digests, render_errors, _, _facts = local.render()
        assert rendered is not None or build.stage is not None
        outputs = rendered or {}
        for conn, worker in pairs:
            theirs_rendered, theirs_digests, theirs_errors, theirs_writes, theirs_facts = _recv(
                conn, worker, "outputs")
            local.apply(RENDERED_FIELDS, theirs_facts)
            digests.update(theirs_digests)
            if theirs_rendered is not None:
                outputs.update(theirs_rendered)
            render_errors += theirs_errors
            if build.stage is not None and theirs_writes is not None:
                written, failures = theirs_writes
                build.stage.staged.update(written)
                build.stage.failures.extend(failures)
        failed = False
    finally:
        for conn in conns:
            conn.close()
        for worker in workers:
            if failed:  # interrupted, or an error: the workers' work is wasted
                worker.terminate()
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()
                worker.join()
    if render_errors:
        raise ErrorList(render_errors)
    renderer = build._renderer(local.pages, local.links)
    with span("render_finish"):
        outputs, digests = build._render_finish(renderer, local.pages, outputs, digests, [])
    return local.pages, local.links, outputs, digests

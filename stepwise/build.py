"""The build pipeline: ``content/`` in, a static site out.

Stages, in order (each a module of its own):

1. :mod:`~stepwise.config` reads ``site.yaml``;
2. :mod:`~stepwise.content` loads every page (frontmatter, permalinks);
3. :mod:`~stepwise.markdown` parses every body, so every heading id is known;
4. :mod:`~stepwise.compile` renders each body with its wiki-links resolved
   (:mod:`~stepwise.links`), checks ``related:`` and ``labs:``, and runs lessons' steps
   through the TCP model into traces (:mod:`~stepwise.trace`);
5. :mod:`~stepwise.layout` fills the Jinja layouts (:mod:`~stepwise.render`), with
   navigation from :mod:`~stepwise.nav`;
6. :mod:`~stepwise.output` swaps the finished folder in.

:class:`stepwise.site.SiteBuild` holds the stages' results so that ``serve`` can
rebuild incrementally. Problems are collected across stages and reported together;
nothing is written unless the whole build succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import CACHE_DIR, entry_key, inputs, output_id, save, scan
from .errors import BuildError, ErrorList, OutputError, TraceError, display_path
from .journal import InPlaceUpdate
from .journal import recover as recover_update
from .output import (
    MARKER,
    OutputStage,
    check_output_dir,
    check_paths,
    effective_output,
    marker_text,
    recover,
    remove_leftovers,
)
from .project import Project
from .search import SEARCH_DIR, SearchIndex, check_pages, index_site, make_index
from .snapshot import Digest, Snapshot
from .state import BuildState, save_state, state_path
from .timings import flush, span

if TYPE_CHECKING:
    from .site import SiteBuild

__all__ = ["BuildResult", "Project", "build_site", "lesson_trace"]


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
    warnings: list[str] = field(default_factory=list)
    search: str = ""
    unchanged: bool = False
    #: pages rendered again by an incremental build (None: a full build)
    rendered: int | None = None

    def summary(self) -> str:
        """The one-line summary: ``built 14 pages in 0.21 s -> site/ (search index: 51
        pages, 303 KB)``, after an edit ``built 14 pages in 0.08 s -> site/ (1 rendered
        again, the others as they were; search index: ...)``, or ``site/ is up to date:
        14 pages, nothing changed (0.03 s)``."""
        shown = display_path(self.out).rstrip("/") + "/"
        if self.unchanged:
            return (f"{shown} is up to date: {self.pages} pages, nothing changed "
                    f"({self.seconds:.2f} s)")
        line = f"built {self.pages} pages in {self.seconds:.2f} s -> {shown}"
        notes = [] if self.rendered is None else [
            f"{self.rendered} rendered again, the others as they were"]
        notes += [self.search] if self.search else []
        return f"{line} ({'; '.join(notes)})" if notes else line


def build_site(
    root: Path,
    out: Path | None = None,
    *,
    content: Path | None = None,
    strict: bool = False,
    drafts: bool = False,
    search: bool = True,
    cache: bool = True,
    base_url: str | None = None,
) -> BuildResult:
    """Build the site of the project at ``root`` into ``out`` (default ``root/site``).

    Args:
        root: folder holding ``site.yaml`` (and the site's own ``templates/`` and
            ``static/``, if any).
        out: output folder; replaced atomically on success.
        content: content folder (default ``root/content``).
        strict: warnings (unknown frontmatter keys) fail the build.
        drafts: publish pages marked ``draft: true``.
        search: write the full-text search index (Pagefind) into the output.
        cache: skip the build when nothing changed since the last one with the same
            options into ``out`` (see :mod:`stepwise.cache`).
        base_url: where the site is published, used instead of ``site.yaml``'s
            ``base_url`` (normalized: ends in ``/``); None: the file's.

    Raises:
        ErrorList: every problem found, each located ``path:line``; ``out`` is untouched.
    """
    started = time.perf_counter()
    # absolute: the build cache and state name files by path, whichever way --root was
    # given (relative or not) from one build to the next
    root = root.absolute()
    project = Project.at(root, content.absolute() if content is not None else None)
    try:
        out = effective_output(out or root / "site")
    except OutputError as err:
        raise ErrorList([err]) from None
    with contextlib.suppress(OSError):
        recover(out)  # a build killed between its two renames left the site aside
        recover_update(out)  # a build killed while it updated the site in place
    key = cache_key(project, out, strict=strict, drafts=drafts, search=search,
                    base_url=base_url)
    read_before = None
    if cache:
        with span("cache check"):
            hit, read_before = scan(project, out, key)
        if hit is not None:
            return BuildResult(int(str(hit.summary["pages"])), int(str(hit.summary["files"])),
                               time.perf_counter() - started, out,
                               [str(w) for w in hit.summary["warnings"]],  # type: ignore[attr-defined]
                               str(hit.summary["search"]), unchanged=True)
    # the pipeline is imported only now: a build with nothing to do never loads it
    with span("import pipeline"):
        from .render import TEMPLATES_CACHE, bytecode_cache
        from .site import SiteBuild
    if read_before is None:
        with span("snapshot"):
            # edits during the build show up next time
            read_before = Snapshot.take(inputs(project))
    options = (f"strict={strict} drafts={drafts} search={search} base_url={base_url}")
    build = SiteBuild(project, strict=strict, drafts=drafts, base_url=base_url)
    build.known = read_before
    if cache:
        build.bytecode_cache = bytecode_cache(root / CACHE_DIR / TEMPLATES_CACHE)
        build.cache_dir = root / CACHE_DIR
        with span("state load"):
            state = BuildState.open(state_path(root, key), output_id(out))
        if state is not None:
            try:
                if _restored(build, state, out):
                    result = _update(build, out, key, options, search, started, state)
                    if result is not None:
                        return result
            except ErrorList:
                # the full build below finds every problem, as it reports them (an
                # update stops at the first stage that fails); the output is untouched
                pass
            finally:
                state.close()
        build = SiteBuild(project, strict=strict, drafts=drafts, base_url=base_url)
        build.known, build.bytecode_cache = read_before, bytecode_cache(
            root / CACHE_DIR / TEMPLATES_CACHE)
        build.cache_dir = root / CACHE_DIR
    with span("config"):
        build.config = build._load_config()
    project = build.project  # with the theme site.yaml names
    try:
        check_output_dir(out, [root, project.content, project.templates, project.static,
                               *project.template_dirs, *project.static_dirs,
                               root / CACHE_DIR])
        # pages are written into it as they are rendered; swapped in only at the end
        stage = OutputStage(out)
    except OutputError as err:
        raise ErrorList([err]) from None
    indexed: list[SearchIndex] = []
    try:
        build.stage = stage
        build.full()
        build.stage = None
        if search:
            check_pages(build.pages)
        # the options are part of the id: after a --no-search build into the same
        # folder, a build with search must not find "its" output up to date (it lacks
        # the index)
        with span("outputs_id"):
            out_id = outputs_id(build.digests, options)

        def save_state() -> None:  # while Pagefind indexes, if it does
            if cache:
                _save_state(build, key, out_id)

        with span("commit"):
            # the static files are among the outputs, under their published names
            count = stage.commit(
                build.outputs, None,
                before_swap=(lambda tmp: indexed.append(index_site(tmp, meanwhile=save_state)))
                if search else None, output_id=out_id, names=build.digests.keys())
    except BuildError as err:
        stage.discard()
        raise ErrorList([err]) from None
    except BaseException:
        stage.discard()
        raise
    result = BuildResult(len(build.pages), count, time.perf_counter() - started, out,
                         [str(w) for w in build.warnings],
                         indexed[0].summary() if indexed else "")
    if cache:
        if not search:
            save_state()
        _save_cache(build, key, out_id, result, read_before)
    flush()
    return result


def _restored(build: SiteBuild, state: BuildState, out: Path) -> bool:
    """Whether ``build`` took up the build ``state`` describes and can update it: the
    output folder still holds every file of it (none deleted or cut short by hand),
    and nothing calls for a full build (:meth:`SiteBuild.full_needed`)."""
    with span("state restore"):
        try:
            build.restore(state.index, state.body)
        except (KeyError, TypeError, ValueError, AttributeError, ErrorList):
            return False
        try:
            if any(os.stat(os.path.join(out, name)).st_size != size
                   for name, size in build.output_sizes().items()):
                return False
        except (OSError, ValueError):
            return False
        build.reuse_output(out)
    return build.full_needed() is None


def _update(build: SiteBuild, out: Path, key: str, options: str, search: bool,
            started: float, state: BuildState) -> BuildResult | None:
    """The incremental build: ``build`` (restored) updated after the edits since, and
    only the files that changed written, in place (:mod:`stepwise.journal`).

    Returns:
        The result, or None when the output folder does not hold what the state says
        (then the caller builds in full).

    Raises:
        ErrorList: every problem found; the output folder is left as it was.
    """
    project = build.project
    with span("update"):
        result = build.update()
    if result.full:  # it found a reason to start again: the full build writes it all
        return None
    if search:
        check_pages(build.pages)
    # the static files are among the outputs, under their published names
    files: dict[str, bytes | Path] = {rel: build.outputs[rel] for rel in result.changed}
    try:
        check_output_dir(out, [project.root, project.content, project.templates,
                               project.static, *project.template_dirs,
                               *project.static_dirs, project.root / CACHE_DIR])
        check_paths(list(build.digests))
    except OutputError as err:
        raise ErrorList([err]) from None
    read_before = build.known
    assert read_before is not None
    out_id = outputs_id(build.digests, options)
    files[MARKER] = marker_text(out_id).encode()
    indexed: list[SearchIndex] = []
    with span("write"):
        with contextlib.suppress(OSError):
            remove_leftovers(out)
        try:
            update = InPlaceUpdate(out)
        except BlockingIOError:
            raise ErrorList([OutputError("another build is writing this folder; wait for "
                                         "it and build again", display_path(out))]) from None
        try:
            update.apply(files, result.removed)
            if search:
                index, found = make_index(
                    out, meanwhile=lambda: _save_state(build, key, out_id, state))
                indexed.append(found)
                update.replace_folder(SEARCH_DIR, index)
            update.commit()
        except BuildError as err:
            update.rollback()
            raise ErrorList([err]) from None
        except OSError as err:
            update.rollback()
            raise ErrorList([OutputError(f"cannot write the output: {err.strerror}",
                                         display_path(err.filename or out))]) from None
        except BaseException:
            update.rollback()
            raise
    done = BuildResult(len(build.pages), len(build.digests),
                       time.perf_counter() - started, out, [str(w) for w in build.warnings],
                       indexed[0].summary() if indexed else "", rendered=len(result.rendered))
    if not search:
        _save_state(build, key, out_id, state)
    _save_cache(build, key, out_id, done, read_before)
    flush()
    return done


def _save_state(build: SiteBuild, key: str, out_id: str,
                state: BuildState | None = None) -> None:
    """Record the build's state for the next one (:mod:`stepwise.state`): in the
    ``state`` it was restored from, or a new one."""
    with span("state save"):
        index, bodies, removed = build.export_state()
        if state is not None:
            state.update(index, bodies, removed, out_id)
        else:
            save_state(state_path(build.project.root, key), index, bodies, out_id)


def _save_cache(build: SiteBuild, key: str, out_id: str, result: BuildResult,
                read_before: Snapshot) -> None:
    """Record the build so that the next finds it up to date when nothing changed
    (:mod:`stepwise.cache`; after the state: its entry names the state's output)."""
    with span("cache save"):
        save(build.project, key, out_id, {
            "pages": result.pages, "files": result.files, "warnings": result.warnings,
            "search": result.search,
            "sizes": {name: size for name, (_hash, size) in build.digests.items()}},
            read_before)


def cache_key(project: Project, out: Path, **options: object) -> str:
    """The cache entry of builds of ``project`` into ``out`` with these options."""
    return entry_key(out, {"content": str(project.content.resolve()), **options})


def outputs_id(digests: Mapping[str, Digest], options: str = "") -> str:
    """A deterministic id of one build's output: the hash of the options and of every
    file's path and digest (:attr:`stepwise.site.SiteBuild.digests`; the static files
    are among them, under their published names)."""
    digest = hashlib.blake2b(options.encode(), digest_size=16)
    for name in sorted(digests):
        digest.update(f"{name}\0{digests[name][0]}\0".encode())
    return digest.hexdigest()


def lesson_trace(root: Path, lesson: Path) -> dict[str, Any]:
    """The trace of one lesson file, as the build would embed it.

    Raises:
        ErrorList: the lesson has errors, or is not a page with a simulation.
    """
    from .site import SiteBuild

    build = SiteBuild(Project.at(root), drafts=True)
    try:
        build.full()
    except ErrorList as errors:
        # other pages' problems do not hide this lesson's trace
        own = [e for e in errors if e.path == display_path(lesson)]
        if own or not build.pages:
            raise ErrorList(own or list(errors)) from None
    page = next((p for p in build.pages if p.source.resolve() == lesson.resolve()), None)
    if page is None:
        raise ErrorList([BuildError(
            f"not a page of {display_path(build.project.content)}", display_path(lesson))])
    if page.trace is None:
        raise ErrorList([TraceError("this page has no 'simulation:'", page.shown)])
    return page.trace

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
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import CACHE_DIR, entry_key, inputs, save, unchanged
from .errors import BuildError, ErrorList, OutputError, TraceError, display_path
from .output import OutputStage, check_output_dir, effective_output, recover
from .project import Project
from .search import SearchIndex, check_pages, index_site
from .snapshot import Digest, Snapshot
from .timings import flush, span

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

    def summary(self) -> str:
        """The one-line summary: ``built 14 pages in 0.21 s -> site/ (search index: 51
        pages, 303 KB)``, or ``site/ is up to date: 14 pages, nothing changed (0.03 s)``."""
        shown = display_path(self.out).rstrip("/") + "/"
        if self.unchanged:
            return (f"{shown} is up to date: {self.pages} pages, nothing changed "
                    f"({self.seconds:.2f} s)")
        line = f"built {self.pages} pages in {self.seconds:.2f} s -> {shown}"
        return f"{line} ({self.search})" if self.search else line


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
    project = Project.at(root, content)
    try:
        out = effective_output(out or root / "site")
    except OutputError as err:
        raise ErrorList([err]) from None
    with contextlib.suppress(OSError):
        recover(out)  # a build killed between its two renames left the site aside
    key = cache_key(project, out, strict=strict, drafts=drafts, search=search,
                    base_url=base_url)
    if cache:
        with span("cache check"):
            hit = unchanged(project, out, key)
        if hit is not None:
            return BuildResult(int(str(hit.summary["pages"])), int(str(hit.summary["files"])),
                               time.perf_counter() - started, out,
                               [str(w) for w in hit.summary["warnings"]],  # type: ignore[attr-defined]
                               str(hit.summary["search"]), unchanged=True)
    # the pipeline is imported only now: a build with nothing to do never loads it
    with span("import pipeline"):
        from .site import SiteBuild
    with span("snapshot"):
        read_before = Snapshot.take(inputs(project))  # edits during the build show up next time
    build = SiteBuild(project, strict=strict, drafts=drafts, base_url=base_url)
    build.known = read_before
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
            out_id = outputs_id(build.digests, project.static_dirs, read_before,
                                f"strict={strict} drafts={drafts} search={search} "
                                f"base_url={base_url}")
        with span("commit"):
            count = stage.commit(build.outputs, project.static_dirs,
                                 before_swap=(lambda tmp: indexed.append(index_site(tmp)))
                                 if search else None, output_id=out_id,
                                 names=build.digests.keys())
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
        with span("cache save"):
            save(project, key, out_id, {
                "pages": result.pages, "files": result.files, "warnings": result.warnings,
                "search": result.search,
                "sizes": {name: size for name, (_hash, size) in build.digests.items()}},
                read_before)
    flush()
    return result


def cache_key(project: Project, out: Path, **options: object) -> str:
    """The cache entry of builds of ``project`` into ``out`` with these options."""
    return entry_key(out, {"content": str(project.content.resolve()), **options})


def outputs_id(digests: Mapping[str, Digest], static: Path | list[Path],
               inputs_read: Snapshot, options: str = "") -> str:
    """A deterministic id of one build's output: the hash of every generated file's
    path and digest (:attr:`stepwise.site.SiteBuild.digests`) and of the static files
    copied (by their path inside their static folder, the site's or a theme's, so the
    id does not depend on where the project or the theme lives)."""
    digest = hashlib.blake2b(options.encode(), digest_size=16)
    for name in sorted(digests):
        digest.update(f"{name}\0{digests[name][0]}\0".encode())
    folders = [static] if isinstance(static, Path) else static
    for i, folder in enumerate(folders):
        for path, (_mtime, _size, content_hash) in sorted(inputs_read.files.items()):
            if path.is_relative_to(folder):
                digest.update(f"{i}:".encode() + path.relative_to(folder).as_posix().encode()
                              + b"\0" + content_hash.encode())
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

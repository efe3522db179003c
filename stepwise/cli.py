"""Command line: ``python build.py build|trace|docs|serve``.

Errors print one per line as ``path:line: message`` on stderr, then a count; the exit
status is 1 for problems in the content, 2 for wrong command-line use.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from .errors import BuildError, ErrorList, WorkerError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py",
        description="Build the tutorial site: content/ (Markdown + YAML frontmatter) "
        "through templates/ into a static site.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = sub.add_parser("build", help="build the site into the output folder")
    build.add_argument("--root", type=Path, default=Path("."),
                       help="project folder holding site.yaml, templates/, static/ (default: .)")
    build.add_argument("--content", type=Path, default=None,
                       help="content folder (default: ROOT/content)")
    build.add_argument("--out", type=Path, default=None, help="output folder (default: ROOT/site)")
    build.add_argument("--strict", action="store_true", help="treat warnings as errors")
    build.add_argument("--drafts", action="store_true", help="also publish pages with draft: true")
    build.add_argument("--no-search", action="store_true",
                       help="skip the full-text search index (faster local builds)")
    build.add_argument("--no-cache", action="store_true",
                       help="build even when nothing changed since the last build")
    build.add_argument("--check-external", action="store_true",
                       help="then check the external links, as check-links does")

    links = sub.add_parser("check-links", help="check the external (http, https) links of "
                           "the pages: a bounded number of requests at a time, answers cached")
    links.add_argument("--root", type=Path, default=Path("."), help="project folder (default: .)")
    links.add_argument("--workers", type=int, default=8,
                       help="requests at a time, at most (default: 8)")
    links.add_argument("--timeout", type=float, default=10.0,
                       help="seconds to wait for one answer (default: 10)")
    links.add_argument("--max-age", type=float, default=24.0,
                       help="hours a link that worked is trusted without asking again "
                       "(default: 24; 0: ask again)")

    trace = sub.add_parser("trace", help="print a lesson's trace (the animation's data) as JSON")
    trace.add_argument("lesson", type=Path, help="the lesson's .md file")
    trace.add_argument("--root", type=Path, default=Path("."), help="project folder (default: .)")
    docs = sub.add_parser("docs", help="rewrite the generated sections of docs/ (each "
                          "model's action reference) from the code")
    docs.add_argument("folder", type=Path, nargs="?", default=Path("docs"),
                      help="the folder of Markdown files (default: docs)")
    docs.add_argument("--check", action="store_true",
                      help="change nothing; exit 1 if a section is out of date")
    serve = sub.add_parser("serve", help="serve the site with live reload while you edit")
    serve.add_argument("--root", type=Path, default=Path("."), help="project folder (default: .)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any free)")
    serve.add_argument("--open", action="store_true", help="open the site in a browser")
    serve.add_argument("--no-search", action="store_true", help="do not keep the search index")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            return _build(args)
        if args.command == "trace":
            return _trace(args)
        if args.command == "check-links":
            return _check_links(args.root, args.workers, args.timeout, args.max_age)
        if args.command == "docs":
            return _docs(args)
        if args.command == "serve":
            from .serve import serve

            return serve(args.root, host=args.host, port=args.port, open_browser=args.open,
                         search=not args.no_search)
    except ErrorList as errors:
        for warning in errors.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for err in errors:
            print(err, file=sys.stderr)
        n = len(errors)
        plural = "s" if n != 1 else ""
        if args.command == "build":
            print(f"build failed: {n} error{plural}; the previous output was kept",
                  file=sys.stderr)
        else:
            print(f"{args.command} failed: {n} error{plural}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C: a build writes nothing unless it finished; no traceback for the user
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `build.py trace x.md | head`: the reader left; that is not an error
        sys.stderr.close()
        return 0
    except BuildError as err:
        print(err, file=sys.stderr)
        return 1
    except WorkerError as err:
        print(f"build failed: {err}", file=sys.stderr)
        return 1
    return 2


def _build(args: argparse.Namespace) -> int:
    from .build import build_site

    # a one-shot process: the cyclic collector would walk every object of the build
    # once it is done, and again at exit, to free nothing that matters
    gc.disable()
    result = build_site(args.root, args.out, content=args.content, strict=args.strict,
                        drafts=args.drafts, search=not args.no_search, cache=not args.no_cache)
    gc.freeze()  # out of the collection the interpreter makes when it exits
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(result.summary())
    if args.check_external:
        return _check_links(args.root, 8, 10.0, 24.0)
    return 0


def _check_links(root: Path, workers: int, timeout: float, max_age_hours: float) -> int:
    from .cache import CACHE_DIR
    from .linkcheck import check_site_links
    from .project import Project
    from .site import SiteBuild

    build = SiteBuild(Project.at(root))
    build.full()  # in memory: nothing is written but the link cache
    count, errors = check_site_links(build.pages, root / CACHE_DIR, workers=workers,
                                     timeout=timeout, max_age=max_age_hours * 3600)
    for err in errors:
        print(err, file=sys.stderr)
    broken = len({e.message for e in errors})
    print(f"checked {count} external links: " + (f"{broken} broken" if broken else "all work"))
    return 1 if errors else 0


def _docs(args: argparse.Namespace) -> int:
    from .reference import ReferenceError, update_docs

    try:
        stale = update_docs(args.folder, check=args.check)
    except ReferenceError as err:
        print(err, file=sys.stderr)
        return 1
    for path in stale:
        print(f"{path}: {'out of date' if args.check else 'rewritten'}",
              file=sys.stderr if args.check else sys.stdout)
    if not stale:
        print(f"{args.folder}: every generated section is up to date")
    return 1 if stale and args.check else 0


def _trace(args: argparse.Namespace) -> int:
    from .build import lesson_trace
    from .models.base import trace_text

    if not args.lesson.is_file():
        print(f"{args.lesson}: file not found", file=sys.stderr)
        return 1
    trace = lesson_trace(args.root, args.lesson)
    sys.stdout.write(trace_text(trace))
    return 0

"""Command line: ``stepwise build|serve|new|clean|trace|docs`` (``python build.py ...``
in this repository does the same).

Errors print one per line as ``path:line: message`` on stderr, then a count; the exit
status is 1 for problems in the content, 2 for wrong command-line use (with the usage
of the subcommand that was used).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import BuildError, ErrorList, WorkerError

PROG = "stepwise"


def version() -> str:
    """This package's version, as installed (``0.1.0``)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("stepwise")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class _Version(argparse.Action):
    """``--version``: argparse's own action, with the version looked up only when
    asked for (importlib.metadata costs 20 ms on every command otherwise)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"{PROG} {version()}")
        parser.exit()


def _base_url(value: str) -> str:
    """``--base-url``: an http(s) URL or a path, ending in ``/``."""
    from .config import normalize_base_url

    url = normalize_base_url(value)
    if url is None:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither an http(s) URL nor a path; e.g. "
            "https://example.org/docs/")
    return url


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    # -q and -v are accepted before the subcommand and after it: the parent parser's
    # defaults are SUPPRESS, so a subcommand's own default does not overwrite the
    # value given before it
    common = argparse.ArgumentParser(add_help=False)
    talk = common.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                      help="print only errors")
    talk.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                      help="also print the theme's folders, the site's files that "
                      "override the theme's, and (serve) every request")
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common],
        description="A static-site generator for interactive tutorial pages: content/ "
        "(Markdown + YAML frontmatter) through a theme into a static site.",
        epilog="Run `stepwise COMMAND --help` for a command's options.")
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="show the program's version number and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: dict[str, argparse.ArgumentParser] = {}

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        commands[name] = sub.add_parser(name, help=help_text, description=help_text,
                                        parents=[common])
        return commands[name]

    build = command("build", "build the site into the output folder")
    build.add_argument("--root", type=Path, default=Path("."),
                       help="the site's folder, holding site.yaml (default: .)")
    build.add_argument("--content", type=Path, default=None,
                       help="content folder (default: ROOT/content)")
    build.add_argument("--out", type=Path, default=None, help="output folder (default: ROOT/site)")
    build.add_argument("--base-url", type=_base_url, default=None, metavar="URL",
                       help="the address the site is published at, instead of site.yaml's "
                       "base_url (e.g. https://user.github.io/project/)")
    build.add_argument("--strict", action="store_true", help="treat warnings as errors")
    build.add_argument("--drafts", action="store_true", help="also publish pages with draft: true")
    build.add_argument("--no-search", action="store_true",
                       help="skip the full-text search index (faster local builds)")
    build.add_argument("--no-cache", action="store_true",
                       help="build even when nothing changed since the last build")
    build.add_argument("--check-external", action="store_true",
                       help="then check the external links, as check-links does")

    links = command("check-links", "check the external (http, https) links of the pages: a "
                    "bounded number of requests at a time, answers cached")
    links.add_argument("--root", type=Path, default=Path("."),
                       help="the site's folder, holding site.yaml (default: .)")
    links.add_argument("--workers", type=int, default=8,
                       help="requests at a time, at most (default: 8)")
    links.add_argument("--timeout", type=float, default=10.0,
                       help="seconds to wait for one answer (default: 10)")
    links.add_argument("--max-age", type=float, default=24.0,
                       help="hours a link that worked is trusted without asking again "
                       "(default: 24; 0: ask again)")

    serve = command("serve", "serve the site with live reload while you edit")
    serve.add_argument("--root", type=Path, default=Path("."),
                       help="the site's folder, holding site.yaml (default: .)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any free)")
    serve.add_argument("--drafts", action="store_true",
                       help="also serve pages with draft: true, to read them while you write")
    serve.add_argument("--open", action="store_true", help="open the site in a browser")
    serve.add_argument("--no-search", action="store_true", help="do not keep the search index")

    new = command("new", "start a new site in DIR: site.yaml, a home page, a lesson, an "
                  "article, .gitignore, a GitHub Pages workflow, a README")
    new.add_argument("dir", type=Path, metavar="DIR",
                     help="the folder to create (or an empty one)")
    new.add_argument("--title", default=None,
                     help="the site's title (default: DIR's name)")
    new.add_argument("--base-url", type=_base_url, default=None, metavar="URL",
                     help="where the site will be published (default: "
                     "https://example.org/, to change in site.yaml)")

    clean = command("clean", "remove what builds leave: the output folder, .serve-site/ "
                    "and the build cache")
    clean.add_argument("--root", type=Path, default=Path("."),
                       help="the site's folder (default: .)")
    clean.add_argument("--out", type=Path, default=None,
                       help="the output folder, if not ROOT/site")

    trace = command("trace", "print a lesson's trace (the animation's data) as JSON")
    trace.add_argument("lesson", type=Path, help="the lesson's .md file")
    trace.add_argument("--root", type=Path, default=Path("."),
                       help="the site's folder (default: .)")

    docs = command("docs", "rewrite the generated sections of stepwise's own docs/ "
                   "(each model's action reference) from the code")
    docs.add_argument("folder", type=Path, nargs="?", default=Path("docs"),
                      help="the folder of Markdown files (default: docs)")
    docs.add_argument("--check", action="store_true",
                      help="change nothing; exit 1 if a section is out of date")
    return parser, commands


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line; exits with status 2 and the usage of the subcommand
    that was used (not the program's) on a wrong option."""
    parser, commands = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    args.quiet = getattr(args, "quiet", False)
    args.verbose = getattr(args, "verbose", False)
    return args


def run() -> None:
    """The ``stepwise`` command: :func:`main`, then exit at once.

    A build leaves a million objects behind; tearing the interpreter down frees each
    of them (60 ms at 1,000 pages) for a process that is ending anyway. Every file
    written is closed by then, and the output streams are flushed here.
    """
    try:
        status = main()
    except SystemExit as stop:  # --help, --version, a wrong option (argparse)
        status = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
        if not isinstance(stop.code, int | None):
            print(stop.code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or a reader gone
            stream.flush()
    os._exit(status)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parse(argv)
    try:
        if args.command == "build":
            return _build(args)
        if args.command == "trace":
            return _trace(args)
        if args.command == "check-links":
            return _check_links(args.root, args.workers, args.timeout, args.max_age)
        if args.command == "docs":
            return _docs(args)
        if args.command == "new":
            return _new(args)
        if args.command == "clean":
            return _clean(args)
        if args.command == "serve":
            from .serve import serve

            return serve(args.root, host=args.host, port=args.port, open_browser=args.open,
                         search=not args.no_search, drafts=args.drafts, quiet=args.quiet,
                         verbose=args.verbose)
    except ErrorList as errors:
        if not args.quiet:
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
        # `stepwise trace x.md | head`: the reader left; that is not an error
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
    # a one-shot process: the cyclic collector would walk every object of the build
    # (and of the modules it imports) once it is done, and again at exit, to free
    # nothing that matters
    gc.disable()
    from .build import build_site

    result = build_site(args.root, args.out, content=args.content, strict=args.strict,
                        drafts=args.drafts, search=not args.no_search, cache=not args.no_cache,
                        base_url=args.base_url)
    gc.freeze()  # out of the collection the interpreter makes when it exits
    if args.verbose:
        from .project import Project

        for line in Project.at(args.root, args.content).describe():
            print(line)
    if not args.quiet:
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(result.summary() + (f", {result.files} files" if args.verbose else ""))
    if args.check_external:
        return _check_links(args.root, 8, 10.0, 24.0)
    return 0


def _new(args: argparse.Namespace) -> int:
    from .scaffold import create_site

    written = create_site(args.dir, title=args.title, base_url=args.base_url)
    if args.verbose:
        for path in written:
            print(f"wrote {path}")
    if not args.quiet:
        from .errors import display_path

        here = args.dir.resolve() == Path.cwd().resolve()
        shown = "this folder" if here else display_path(args.dir) + "/"
        cd = "" if here else f"  cd {shlex.quote(display_path(args.dir))}\n"
        print(f"created a site in {shown} ({len(written)} files). Next:\n{cd}"
              f"  stepwise serve      # http://127.0.0.1:8000/, rebuilt on every save\n"
              f"  stepwise build      # the site, into site/, to publish\n"
              f"Its README.md says how to publish it (GitHub Pages, Netlify, any host).")
    return 0


def _clean(args: argparse.Namespace) -> int:
    from .errors import display_path
    from .output import clean

    removed = clean(args.root, args.out)
    if not args.quiet:
        print("removed " + ", ".join(display_path(p) + "/" for p in removed) if removed
              else "nothing to remove")
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
    if not stale and not args.quiet:
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

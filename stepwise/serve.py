"""``python build.py serve``: the authoring server, with live reload.

Built on the livereload package's :class:`livereload.Server`, with its weak spots
handled (each checked in its source, livereload 2.7):

- *3 s debounce*: ``LiveReloadHandler.poll_tasks`` drops a change that comes within
  3 s of the last reload, so quick saves would go unseen. We never go through it: our
  watcher rebuilds and calls ``reload_waiters`` itself, once per rebuild.
- *Polling*: without pyinotify the package polls file times every 800 ms. Our watcher
  uses watchfiles (inotify through Rust's notify), which reports a save within ~50 ms.
- *Any Origin*: ``LiveReloadHandler.check_origin`` returns True, so any web page could
  open the reload socket. We accept only the origin being served.
- *Inline script*: the package injects an inline ``<script>``, which our pages'
  Content-Security-Policy forbids. We inject ``<script src="/livereload.js">`` instead,
  and no ``/forcereload`` endpoint (a GET any page could trigger).

The server writes into its own output folder (``.serve-site/``), never the published
``site/``, and rebuilds incrementally (:class:`stepwise.site.SiteBuild`). When a build
fails it keeps serving the last good pages, with an overlay listing the same
``path:line: message`` lines the terminal prints; the next good build removes it. Its
pages are built with the server's own address as ``base_url`` (as ``hugo server``
does), so the 404 page links back to the served site, and with ``--drafts`` a draft
can be read while it is written.
"""

from __future__ import annotations

import errno
import html
import os
import sys
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

import watchfiles
from livereload import Server
from livereload.handlers import LiveReloadHandler, LiveReloadJSHandler, StaticFileHandler
from livereload.watcher import Watcher
from tornado import httputil, netutil, web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from .errors import BuildError, ErrorList, display_path
from .output import MARKER, write_site
from .project import Project
from .search import check_pages, index_site
from .site import Rebuild, SiteBuild

SERVE_DIR = ".serve-site"
OVERLAY_CSS = """
#stepwise-overlay{position:fixed;inset:0;z-index:2147483647;overflow:auto;padding:2rem;
background:rgba(20,20,24,.94);color:#ffd9d0;font:14px/1.5 ui-monospace,monospace}
#stepwise-overlay h2{color:#ff8a70;font-size:16px;margin:0 0 1rem}
#stepwise-overlay pre{white-space:pre-wrap;margin:0}
""".strip()


class BuildState:
    """The server's build and the errors of its last attempt, shared between the
    watcher thread (which rebuilds) and the request handlers (which show the overlay).
    """

    def __init__(self, project: Project, out: Path, *, search: bool = True,
                 drafts: bool = False, base_url: str | None = None, quiet: bool = False):
        self.out, self.search, self.quiet = out, search, quiet
        self.build = SiteBuild(project, drafts=drafts, base_url=base_url)
        self.errors: list[str] = []
        self.lock = threading.Lock()

    @property
    def project(self) -> Project:
        """The project, with the theme its ``site.yaml`` names (as of the last build)."""
        return self.build.project

    def rebuild(self, full: bool = False) -> Rebuild | None:
        """Build (incrementally unless ``full``) and write what changed.

        Returns the :class:`Rebuild`, or None when the build failed (the errors are
        in :attr:`errors` and printed; the output folder is left as it was).
        """
        with self.lock:
            try:
                result = self.build.full() if full else self.build.update()
                if not self.quiet:
                    for warning in self.build.warnings if result.full else []:
                        print(f"warning: {warning}", file=sys.stderr, flush=True)
                if self.search:
                    try:
                        check_pages(self.build.pages)
                    except ErrorList:
                        # nothing of this build is written: the next one must be a
                        # full build, or it would write only what differs from it
                        self.build.ok = False
                        raise
            except ErrorList as errors:
                self.errors = [str(e) for e in errors]
                for line in self.errors:
                    print(line, file=sys.stderr, flush=True)
                n = len(self.errors)
                print(f"build failed: {n} error{'s' if n != 1 else ''}; still serving the last "
                      "good pages", file=sys.stderr, flush=True)
                return None
            self.errors = []
            self._write(result)
            return result

    def _write(self, result: Rebuild) -> None:
        if result.full or not (self.out / MARKER).exists():
            # the static files are among the outputs, under their published names
            write_site(self.out, self.build.outputs, None, before_swap=self._index)
            return
        for rel in result.changed:
            _write_file(self.out / rel, self.build.outputs[rel])
        for rel in result.removed:
            (self.out / rel).unlink(missing_ok=True)
        if result.changed or result.removed:
            self._index(self.out)

    def _index(self, folder: Path) -> None:
        """Keep search working while serving (Pagefind swaps its folder in itself)."""
        if not self.search:
            return
        try:
            index_site(folder)
        except BuildError as err:
            print(f"warning: {err}", file=sys.stderr, flush=True)

    def overlay(self) -> bytes:
        """The HTML injected into served pages while the last build failed ("" if not)."""
        if not self.errors:
            return b""
        lines = html.escape("\n".join(self.errors))
        return ('<link rel="stylesheet" href="/__stepwise/overlay.css">'
                '<div id="stepwise-overlay" role="alert"><h2>build failed</h2>'
                f"<pre>{lines}</pre></div>").encode()


def _write_file(path: Path, data: bytes) -> None:
    """Replace ``path`` at once, so the browser never reads a half-written page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class InotifyWatcher(Watcher):  # type: ignore[misc]
    """A livereload watcher that rebuilds on inotify events (watchfiles), then reloads
    the browsers directly, bypassing livereload's polling and its 3 s debounce."""

    def __init__(self, state: BuildState, paths: list[Path], on_rebuilt: Callable[[], None],
                 quiet: bool = False):
        super().__init__()
        self.state, self.paths, self.on_rebuilt, self.quiet = state, paths, on_rebuilt, quiet
        self.stop_event = threading.Event()
        for path in paths:
            self.watch(str(path))  # keeps livereload from watching the whole cwd
        self.thread = threading.Thread(target=self._run, name="stepwise-watch", daemon=True)

    def start(self, callback: Callable[[], Any]) -> bool:
        """Called by livereload; True tells it not to poll."""
        if not self.thread.is_alive():
            self.thread.start()
        return True

    def examine(self) -> tuple[None, None]:
        return None, None

    def _run(self) -> None:
        existing = [str(p) for p in self.paths if p.exists()]
        caught_up = False
        for changes in watchfiles.watch(*existing, stop_event=self.stop_event,
                                        debounce=50, step=20, rust_timeout=300,
                                        yield_on_timeout=True):
            if not changes:
                if caught_up:
                    continue
                # the first timeout comes once the watch is in place: catch up with
                # saves made between the first build and then
                caught_up = True
            result = self.state.rebuild()
            if not self.quiet and result is not None and (
                    result.changed or result.removed
                    or result.static_changed or result.static_removed):
                print(result.summary(), flush=True)
            self.on_rebuilt()


class OriginCheckedReloadHandler(LiveReloadHandler):  # type: ignore[misc]
    """livereload's WebSocket handler, accepting only the served origin."""

    allowed_origins: frozenset[str] = frozenset()

    def check_origin(self, origin: str) -> bool:
        return origin in self.allowed_origins


class DevStaticHandler(StaticFileHandler):  # type: ignore[misc]
    """Serves the output folder: never cached, 404.html for missing pages, and the
    error overlay and reload script injected into HTML pages."""

    state: BuildState

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-store")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        page = self.state.out / "404.html"
        if status_code == 404 and page.is_file():
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.finish(page.read_bytes())
            return
        super().write_error(status_code, **kwargs)


class InjectTransform(web.OutputTransform):
    """Adds the reload script (external: the pages' CSP forbids inline scripts) and,
    after a failed build, the error overlay to every HTML response."""

    script = b""
    state: BuildState

    def transform_first_chunk(self, status_code: int, headers: httputil.HTTPHeaders,
                              chunk: bytes, finishing: bool) -> tuple[int, Any, bytes]:
        if "html" not in headers.get("Content-Type", ""):
            return status_code, headers, chunk
        added = 0
        if b"</head>" in chunk:
            chunk = chunk.replace(b"</head>", self.script + b"</head>", 1)
            added += len(self.script)
        overlay = self.state.overlay()
        start = chunk.find(b"<body")
        end = chunk.find(b">", start) if start >= 0 else -1
        if overlay and end >= 0:
            chunk = chunk[: end + 1] + overlay + chunk[end + 1 :]
            added += len(overlay)
        if "Content-Length" in headers:
            headers["Content-Length"] = str(int(headers["Content-Length"]) + added)
        return status_code, headers, chunk


class OverlayCSSHandler(web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/css")
        self.finish(OVERLAY_CSS)


class DevServer(Server):  # type: ignore[misc]
    """livereload's Server with our handlers (see the module docstring)."""

    def __init__(self, state: BuildState, watcher: InotifyWatcher):
        super().__init__(watcher=watcher)
        self.state = state

    def make_app(self, port: int, origins: frozenset[str],
                 verbose: bool = False) -> web.Application:
        LiveReloadHandler.watcher = self.watcher
        LiveReloadHandler.live_css = True
        OriginCheckedReloadHandler.allowed_origins = origins
        DevStaticHandler.state = self.state

        class Transform(InjectTransform):
            script = f'<script src="/livereload.js?port={port}" defer></script>'.encode()
            state = self.state

        settings: dict[str, Any] = {"log_function": _log_request} if verbose else {}
        return web.Application(
            handlers=[
                (r"/livereload", OriginCheckedReloadHandler),
                (r"/livereload.js", LiveReloadJSHandler),
                (r"/__stepwise/overlay.css", OverlayCSSHandler),
                (r"/(.*)", DevStaticHandler,
                 {"path": str(self.state.out), "default_filename": "index.html"}),
            ],
            transforms=[Transform],
            # verbose: every request; else tornado's own (4xx and 5xx, on stderr)
            **settings,
        )


def _log_request(handler: web.RequestHandler) -> None:
    """``--verbose``: one line per request, ``200 GET /linux/ (3 ms)``."""
    request = handler.request
    print(f"{handler.get_status()} {request.method} {request.uri} "
          f"({1000 * request.request_time():.0f} ms)", flush=True)


def serve(root: Path, *, host: str = "127.0.0.1", port: int = 8000,
          open_browser: bool = False, search: bool = True, drafts: bool = False,
          quiet: bool = False, verbose: bool = False,
          ready: Callable[[str, Callable[[], None]], None] | None = None) -> int:
    """Build into ``.serve-site/``, serve it on ``host:port`` and rebuild on every save.

    Args:
        root: the project folder.
        host: address to bind; 127.0.0.1 unless another is asked for.
        port: TCP port; 0 picks a free one.
        open_browser: open the site in the default browser.
        search: keep the full-text search index up to date (about 0.2 s a rebuild).
        drafts: publish pages marked ``draft: true`` too.
        quiet: print only errors (no summary lines, no warnings).
        verbose: also print the theme's folders and every request served.
        ready: called with the site's URL and a thread-safe ``stop()`` once the server
            listens (tests run the server in a thread).

    Returns:
        The exit status: 0 after Ctrl-C, 1 when the port cannot be bound.
    """
    try:
        sockets = netutil.bind_sockets(port, host)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            print(f"port {port} on {host} is in use; choose another with --port "
                  f"(e.g. --port {port + 1})", file=sys.stderr)
        else:
            print(f"cannot listen on {host}:{port}: {err.strerror}", file=sys.stderr)
        return 1
    port = sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    origins = {f"http://{shown}:{port}"}
    if host in ("127.0.0.1", "::1", "localhost"):
        origins |= {f"http://localhost:{port}", f"http://127.0.0.1:{port}", f"http://[::1]:{port}"}

    # bound before the first build: the pages' base_url is the address being served
    state = BuildState(Project.at(root), root / SERVE_DIR, search=search, drafts=drafts,
                       base_url=url, quiet=quiet)
    result = state.rebuild(full=True)
    if result is not None and not quiet:
        print(result.summary(), flush=True)
    project = state.project
    if verbose:
        for line in project.describe():
            print(line, flush=True)
    loop = IOLoop.current()
    watched = [project.content, project.templates, project.static, project.config]
    # the theme's folders too: editing a theme (an editable install) reloads like a site
    extra = [*project.template_dirs, *project.static_dirs, *project.theme_files]
    watcher = InotifyWatcher(state, watched + [p for p in extra if p not in watched],
                             on_rebuilt=lambda: loop.add_callback(LiveReloadHandler.reload_waiters),
                             quiet=quiet)
    app = DevServer(state, watcher).make_app(port, frozenset(origins), verbose=verbose)
    httpserver = HTTPServer(app)
    httpserver.add_sockets(sockets)
    names = ", ".join(f"{display_path(p)}{'/' if p.is_dir() else ''}" for p in watched[:3]
                      if p.exists())
    try:  # Ctrl-C may come at any moment from here on
        print(f"serving {url} — watching {names}, {display_path(project.config)}"
              + (f" and the theme '{project.themes[0].name}'" if project.themes else ""),
              flush=True)
        watcher.start(lambda: None)
        if ready is not None:
            ready(url, lambda: loop.add_callback(loop.stop))
        if open_browser:
            webbrowser.open(url)
        loop.start()
    except KeyboardInterrupt:
        print("\nstopped", flush=True)
    finally:
        watcher.stop_event.set()
        httpserver.stop()
    return 0


"""Full-text search: a Pagefind index of the written site.

Pagefind (https://pagefind.app, the ``pagefind_bin`` package ships its binary) reads the
HTML files of the output folder and writes a static, chunked index into ``pagefind/``
beside them; the header's search box (``static/js/site.js``) imports
``pagefind/pagefind.js`` only when the reader opens it, and fetches only the chunks a
query needs. Run it after the pages are written (:func:`stepwise.output.write_site`).

What is indexed is chosen by the templates: only the ``<main data-pagefind-body>`` of
published pages (not drafts, not 404.html), minus the elements marked
``data-pagefind-ignore`` (breadcrumb, tags, on-page contents, related lists, the
previous/next links, the animation player). The ``section`` shown with a result is
``<main data-section>`` (``data-pagefind-meta="section[data-section]"``, see
templates/base.html).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BuildError, ErrorList, display_path

if TYPE_CHECKING:
    from .content import Page

#: The folder of the output that holds the index, as templates/partials/search.html
#: names it (``pagefind/pagefind.js``).
SEARCH_DIR = "pagefind"
TIMEOUT_S = 300
#: Pagefind's ready-made interfaces, written with every index: the site has its own
#: (static/js/site.js, in the site's words and styles) and uses only the JS API
#: (pagefind.js, pagefind-worker.js, the WASM, the index), so these are removed.
UNUSED = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js",
          "pagefind-modular-ui.css", "pagefind-component-ui.js", "pagefind-component-ui.css",
          "pagefind-highlight.js")


@dataclass(frozen=True)
class SearchIndex:
    """What :func:`index_site` wrote.

    Attributes:
        pages: pages indexed; ``files`` and ``bytes``: the index's files and their size.
        path: the index folder (``out_dir/pagefind``).
    """

    pages: int
    files: int
    bytes: int
    path: Path

    def summary(self) -> str:
        """``search index: 24 pages, 181 KB``."""
        return f"search index: {self.pages} pages, {self.bytes / 1024:.0f} KB"


def pagefind_executable() -> Path:
    """The Pagefind binary of the ``pagefind_bin`` package.

    Raises:
        BuildError: the package is not installed or holds no binary for this system.
    """
    try:
        import pagefind_bin
    except ImportError:
        raise BuildError("search: the pagefind_bin package is not installed; run "
                         "`pip install -e .` (or build with --no-search)") from None
    try:
        return Path(str(pagefind_bin.get_executable()))
    except (FileNotFoundError, OSError) as err:
        raise BuildError(f"search: no Pagefind binary for this system ({err}); "
                         "build with --no-search") from None


def check_pages(pages: Iterable[Page]) -> None:
    """Refuse pages published where the search index goes (``/pagefind/``): indexing
    would replace them.

    Raises:
        ErrorList: one error per such page.
    """
    errors = [BuildError(f"/{SEARCH_DIR}/ is where the search index goes; rename this page "
                         "(or build with --no-search)", page.shown)
              for page in pages if page.url.startswith(f"/{SEARCH_DIR}/")]
    if errors:
        raise ErrorList(errors)


def index_site(out_dir: Path, *, executable: Path | None = None,
               meanwhile: Callable[[], object] | None = None) -> SearchIndex:
    """Index the HTML pages of the written site ``out_dir`` into ``out_dir/pagefind/``.

    The new index is written beside the old one and swapped in when complete, so a
    served site always has a whole index. The output is the same for the same pages.

    Args:
        out_dir: the output folder, pages already written.
        executable: the Pagefind binary (default: :func:`pagefind_executable`).
        meanwhile: called while Pagefind runs (the build saves its caches).

    Returns:
        The number of pages indexed and the index's size.

    Raises:
        BuildError: the binary is missing, fails or times out (its output is quoted).
    """
    tmp, found = make_index(out_dir, executable=executable, meanwhile=meanwhile)
    final = out_dir / SEARCH_DIR
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return dataclasses.replace(found, path=final)


def make_index(out_dir: Path, *, executable: Path | None = None,
               meanwhile: Callable[[], object] | None = None) -> tuple[Path, SearchIndex]:
    """Index the HTML pages of ``out_dir`` into a new folder inside it, hidden
    (``.pagefind-PID``), for the caller to put in place of ``pagefind/``: Pagefind has
    no incremental mode (its issue #71), so every page is indexed each time.

    Returns:
        ``(folder, index)``.

    Raises:
        BuildError: as :func:`index_site`.
    """
    binary = executable or pagefind_executable()
    if not out_dir.is_dir():
        raise BuildError("search: the output folder does not exist; build the site first",
                         display_path(out_dir))
    tmp_name = f".{SEARCH_DIR}-{os.getpid()}"
    tmp = out_dir / tmp_name
    shutil.rmtree(tmp, ignore_errors=True)
    import subprocess  # here: a build --no-search starts no process

    command = [str(binary), "--site", str(out_dir), "--output-subdir", tmp_name,
               "--keep-index-url", "--quiet"]
    try:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "NO_COLOR": "1"}) as running:
            try:
                if meanwhile is not None:
                    meanwhile()
                stdout, stderr = running.communicate(timeout=TIMEOUT_S)
            except BaseException:
                running.kill()
                raise
    except (OSError, subprocess.TimeoutExpired) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BuildError(f"search: could not run Pagefind ({binary}): {err}",
                         display_path(out_dir)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if running.returncode != 0 or not (tmp / "pagefind.js").is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        output = (stderr.strip() or stdout.strip() or "no output").splitlines()
        raise BuildError(
            f"search: Pagefind failed (exit status {running.returncode}): "
            + " | ".join(output[-5:]), display_path(out_dir))
    for name in UNUSED:
        (tmp / name).unlink(missing_ok=True)
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    fragments = tmp / "fragment"
    pages = sum(1 for _ in fragments.iterdir()) if fragments.is_dir() else 0
    return tmp, SearchIndex(pages=pages, files=len(files),
                            bytes=sum(p.stat().st_size for p in files), path=tmp)

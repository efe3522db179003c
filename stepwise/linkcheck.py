"""Checking the external links of a site, for authors who want it.

A build leaves external (``http``, ``https``) links alone: a build must not depend on
the network. ``python build.py check-links`` (``stepwise check-links``; or ``build
--check-external``) builds the site in memory, collects every external URL its
Markdown links (``Page.external``, with the line it is written on) and asks each
server once, with at most ``workers`` requests at a time and a timeout. A ``HEAD`` is
tried first and a ``GET`` where the server refuses ``HEAD``. Answers that worked are
cached in ``.stepwise-cache/links.json`` for ``max_age`` seconds (a day by default), so
a second run asks only about new links and the ones that failed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .content import Page
from .errors import BuildError

CACHE_FILE = "links.json"
USER_AGENT = "stepwise-check-links/1 (+static site link checker)"

#: ``url -> problem`` (None when the link works)
Fetch = Callable[[str, float], str | None]


def external_links(pages: Iterable[Page]) -> dict[str, list[tuple[str, int | None]]]:
    """Every external URL the pages link, with where each is written (path, line)."""
    found: dict[str, list[tuple[str, int | None]]] = {}
    for page in sorted(pages, key=lambda p: p.url):
        for url, line in page.external:
            found.setdefault(url, []).append((page.shown, line))
    return found


def fetch(url: str, timeout: float) -> str | None:
    """Ask the server of ``url``: None when it answers 2xx or 3xx (after redirects),
    else the problem (``404 Not Found``, ``timed out``, ``connection refused``)."""
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method,
                                         headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 - http(s) only
                return None
        except urllib.error.HTTPError as err:
            if method == "HEAD" and err.code in (403, 405, 501):
                continue  # some servers refuse HEAD: ask again with GET
            return f"{err.code} {err.reason}"
        except urllib.error.URLError as err:
            reason = err.reason
            return str(getattr(reason, "strerror", None) or reason)
        except (TimeoutError, OSError) as err:
            return str(err) or type(err).__name__
    return None


def check_urls(urls: Iterable[str], cache_dir: Path | None = None, *, workers: int = 8,
               timeout: float = 10.0, max_age: float = 86400.0,
               fetch_url: Fetch = fetch) -> dict[str, str | None]:
    """Check ``urls``: ``url -> problem`` (None: it works).

    Args:
        cache_dir: where ``links.json`` keeps the URLs that worked and when (None: no
            cache).
        workers: requests at a time, at most.
        timeout: seconds to wait for one answer.
        max_age: seconds a working URL is trusted without asking again.
        fetch_url: asks one URL (tests pass their own).
    """
    cache_path = cache_dir / CACHE_FILE if cache_dir is not None else None
    cache: dict[str, float] = {}
    if cache_path is not None:
        try:
            cache = {str(k): float(v) for k, v in
                     json.loads(cache_path.read_text(encoding="utf-8")).items()}
        except (OSError, ValueError, AttributeError):
            cache = {}
    now = time.time()
    wanted = sorted(set(urls))
    results: dict[str, str | None] = {u: None for u in wanted if now - cache.get(u, -1e18)
                                      < max_age}
    todo = [u for u in wanted if u not in results]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for url, problem in zip(todo, pool.map(lambda u: fetch_url(u, timeout), todo),
                                strict=True):
            results[url] = problem
            if problem is None:
                cache[url] = now
            else:
                cache.pop(url, None)
    if cache_path is not None:
        try:
            cache_path.parent.mkdir(exist_ok=True)
            cache_path.write_text(json.dumps(cache, sort_keys=True), encoding="utf-8")
        except OSError:
            pass  # a read-only project checks again next time
    return results


def check_site_links(pages: Iterable[Page], cache_dir: Path | None = None, *,
                     workers: int = 8, timeout: float = 10.0, max_age: float = 86400.0,
                     fetch_url: Fetch = fetch) -> tuple[int, list[BuildError]]:
    """Check the external links of ``pages``: ``(number of URLs, one error per place a
    broken URL is written)``, each ``path:line: external link URL: problem``."""
    where = external_links(pages)
    results = check_urls(where, cache_dir, workers=workers, timeout=timeout,
                         max_age=max_age, fetch_url=fetch_url)
    errors = [BuildError(f"external link {url}: {problem}", path, line)
              for url, problem in sorted(results.items()) if problem is not None
              for path, line in where[url]]
    return len(where), errors

"""Print a built page's weight: its HTML and the local CSS and JS it loads, raw and gzipped.

    python bench/page_weight.py [PAGE] [--budget KB]

PAGE defaults to site/linux/how/tcp-handshake/index.html (build the site first). The
stylesheets (<link rel=stylesheet href>) and scripts (<script src>) are resolved next to
the page; the total gzipped size must stay under the budget (30 KB), else exit 1.
Files are gzipped one by one at level 6, the usual server setting.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_PAGE = "site/linux/how/tcp-handshake/index.html"
BUDGET_KB = 30.0
KB = 1024


class _Assets(HTMLParser):
    """Collects the href of stylesheets and the src of scripts, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (kind, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and "stylesheet" in a.get("rel", "").lower().split() and a.get("href"):
            self.found.append(("css", a["href"]))
        elif tag == "script" and a.get("src"):
            self.found.append(("js", a["src"]))


def site_root(page: Path) -> Path:
    """The folder the site is served from: the nearest parent holding index.html and
    static/, else the page's own folder."""
    for parent in page.resolve().parents:
        if (parent / "static").is_dir() and (parent / "index.html").is_file():
            return parent
    return page.resolve().parent


def resolve(page: Path, url: str) -> Path | None:
    """The local file of a URL the page names, or None for one on another host."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path)
    if path.startswith("/"):
        return site_root(page) / path.lstrip("/")
    return (page.parent / path).resolve()


def weigh(data: bytes) -> tuple[int, int]:
    return len(data), len(gzip.compress(data, compresslevel=6, mtime=0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", nargs="?", default=DEFAULT_PAGE, type=Path)
    parser.add_argument("--budget", type=float, default=BUDGET_KB, help="KB gzipped (30)")
    args = parser.parse_args(argv)
    page: Path = args.page
    if not page.is_file():
        print(f"{page}: no such page; build the site first (make build)", file=sys.stderr)
        return 2

    html = page.read_bytes()
    parser_ = _Assets()
    parser_.feed(html.decode("utf-8", errors="replace"))
    rows = [("html", str(page), *weigh(html))]
    problems = []
    seen = set()
    for kind, url in parser_.found:
        target = resolve(page, url)
        if target is None:
            problems.append(f"{url}: on another host, not counted (and not allowed)")
            continue
        if target in seen:
            continue
        seen.add(target)
        if not target.is_file():
            problems.append(f"{url}: missing ({target})")
            continue
        rows.append((kind, url, *weigh(target.read_bytes())))

    width = max(len(r[1]) for r in rows)
    print(f"{'kind':<5} {'file':<{width}} {'raw':>9} {'gzip':>9}")
    for kind, name, raw, gz in rows:
        print(f"{kind:<5} {name:<{width}} {raw / KB:>7.1f}KB {gz / KB:>7.1f}KB")
    for kind in ("html", "css", "js"):
        of = [r for r in rows if r[0] == kind]
        if of:
            raw, gz = sum(r[2] for r in of), sum(r[3] for r in of)
            print(f"{kind:<5} {'(all ' + kind + ')':<{width}} {raw / KB:>7.1f}KB {gz / KB:>7.1f}KB")
    raw, gz = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(f"{'total':<5} {'':<{width}} {raw / KB:>7.1f}KB {gz / KB:>7.1f}KB")
    for p in problems:
        print(f"warning: {p}", file=sys.stderr)
    ok = gz <= args.budget * KB
    verdict = "under" if ok else "OVER"
    print(f"{verdict} the budget: {gz / KB:.1f} KB of {args.budget:g} KB gzipped")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

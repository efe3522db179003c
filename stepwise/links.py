"""Page references: how ``[[tcp-states]]``, ``related:``, ``labs:`` and menu entries
find their page, and how URLs between pages are written.

A reference is a slug (``tcp-states``), or a slash path that ends a page's path
(``kb/tcp-handshake`` or ``linux/kb/tcp-handshake``) to pick between equal slugs,
optionally followed by ``#heading-id``. References name pages, never files: ``..``,
``.``, empty segments and absolute file paths are refused.

URLs between pages are relative (``../../kb/port/index.html``) so one output folder
works at a domain root, under a sub-path and opened from disk; only the sitemap,
canonical links and the 404 page use ``base_url``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from .content import Page
from .errors import LinkError


class LinkIndex:
    """Resolves page references against the pages of one build.

    Args:
        pages: every page, drafts included (a link to a draft is a precise error).
        drafts_published: True when drafts are built (``--drafts``), so links to them
            are fine.
    """

    def __init__(self, pages: Iterable[Page], *, drafts_published: bool = False):
        self.pages = sorted(pages, key=lambda p: p.url)
        self.drafts_published = drafts_published
        self._by_slug: dict[str, list[Page]] = {}
        for page in self.pages:
            self._by_slug.setdefault(page.slug, []).append(page)
        self._shortest: dict[int, str] = {}  # by id(page): every link writes one

    def resolve(self, ref: str, what: str = "wiki-link", here: Page | None = None
                ) -> tuple[Page, str | None]:
        """Find the one page ``ref`` names.

        Args:
            ref: ``slug``, ``section/slug`` or ``slug#heading-id`` (label already removed).
            what: how the reference is named in messages (``wiki-link``, ``related: entry``).
            here: the page the reference is written in: ``#heading-id`` alone names it.

        Returns:
            ``(page, anchor)``; ``anchor`` is None without ``#``. The anchor is checked
            against the page's headings only when they are known (see :meth:`check_anchor`).

        Raises:
            LinkError: no page, several pages, a path trick, or a draft target. The
                message suggests the closest reference (difflib).
        """
        target, sep, anchor = ref.strip().partition("#")
        target = target.strip()
        if not target and sep and anchor.strip() and here is not None:
            return here, anchor.strip()
        # "/kb/port" is the full path from the content folder: it names one page even
        # where a shorter path is ambiguous; "/" is the front page
        rooted = target.startswith("/")
        parts = target.strip("/").split("/") if target.strip("/") else []
        if (not target or any(p in ("", ".", "..") for p in parts) or "\\" in target
                or "//" in target or (not rooted and not parts)):
            raise LinkError(
                f"{what} [[{ref}]] is not a page reference; write a slug such as [[tcp-states]] "
                "or a section path such as [[kb/tcp-handshake]]"
            )
        if rooted:
            matches = [p for p in self.pages if p.refpath == "/".join(parts)]
        else:
            candidates = self._by_slug.get(parts[-1], [])
            matches = [p for p in candidates if _ends_with(p.refpath, parts) or target == p.slug]
        if not matches:
            raise LinkError(f"unknown {what} [[{target}]]{self._suggest(target)}")
        if len(matches) > 1:
            options = " or ".join(f"[[{self.shortest_ref(p)}]]" for p in matches)
            where = ", ".join(p.shown for p in matches)
            raise LinkError(
                f"ambiguous {what} [[{target}]]: {len(matches)} pages match ({where}); "
                f"write {options}"
            )
        page = matches[0]
        if page.draft and not self.drafts_published:
            raise LinkError(
                f"{what} [[{target}]] links to a draft ({page.shown}); publish it (remove "
                "'draft: true') or remove the link"
            )
        return page, (anchor.strip() or None) if sep else None

    @staticmethod
    def check_anchor(page: Page, anchor: str | None, ref: str) -> None:
        """Raise LinkError when ``anchor`` is not a heading id of ``page``."""
        if anchor is None:
            return
        ids = [hid for _level, hid, _text in page.headings]
        if anchor in ids:
            return
        close = difflib.get_close_matches(anchor, ids, n=1)
        hint = f"; did you mean #{close[0]}?" if close else (
            f"; its headings: {', '.join('#' + i for i in ids[:8])}" if ids else
            "; it has no headings"
        )
        raise LinkError(f"[[{ref}]]: {page.shown} has no heading #{anchor}{hint}")

    def shortest_ref(self, page: Page) -> str:
        """The shortest reference that names ``page`` alone (its slug when unique)."""
        found = self._shortest.get(id(page))
        if found is None:
            found = self._shortest[id(page)] = self._shortest_ref(page)
        return found

    def _shortest_ref(self, page: Page) -> str:
        parts = page.refpath.split("/") if page.refpath else [page.slug]
        others = [p for p in self._by_slug.get(page.slug, []) if p is not page]
        for n in range(1, len(parts) + 1):
            tail = parts[-n:]
            if not any(_ends_with(o.refpath, tail) or o.slug == "/".join(tail) for o in others):
                return "/".join(tail)
        return "/" + page.refpath  # no suffix is unique: the full path always is

    def _suggest(self, target: str) -> str:
        names = sorted({self.shortest_ref(p) for p in self.pages if not p.draft}
                       | {p.slug for p in self.pages if not p.draft})
        close = difflib.get_close_matches(target, names, n=1, cutoff=0.6)
        if not close:
            close = difflib.get_close_matches(target.split("/")[-1], names, n=1, cutoff=0.6)
        return f"; did you mean [[{close[0]}]]?" if close else ""


def _ends_with(refpath: str, parts: list[str]) -> bool:
    have = refpath.split("/") if refpath else []
    return len(have) >= len(parts) and have[len(have) - len(parts):] == parts


def relative_url(from_url: str, to_url: str, anchor: str | None = None) -> str:
    """URL of page ``to_url`` as written in page ``from_url``, both site-root URLs.

    Returns a relative link ending in ``index.html`` (so it also works from disk,
    where a folder does not open its index), e.g. ``relative_url("/linux/how/x/",
    "/linux/kb/port/")`` -> ``"../../kb/port/index.html"``. A link to the same page
    with an anchor is just ``#anchor``.
    """
    if from_url == to_url and anchor:
        return f"#{anchor}"
    # string arithmetic, not posixpath.relpath: this runs for every link of every page
    src = from_url.strip("/").split("/") if from_url != "/" else []
    dst = to_url.strip("/").split("/") if to_url != "/" else []
    common = 0
    while common < len(src) and common < len(dst) and src[common] == dst[common]:
        common += 1
    url = "/".join([".."] * (len(src) - common) + dst[common:] + ["index.html"])
    return f"{url}#{anchor}" if anchor else url


def relative_asset(from_url: str, asset_path: str) -> str:
    """URL of a file of the output folder (``static/css/site.css``) from page ``from_url``."""
    depth = from_url.strip("/").count("/") + 1 if from_url != "/" else 0
    return "../" * depth + asset_path.lstrip("/")

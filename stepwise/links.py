"""Page references: how ``[[TCP States]]``, ``[[kb/tcp-handshake]]``, ``related:``,
``labs:``, menu entries and Markdown links to ``.md`` files find their page and
heading, and how URLs between pages are written.

A reference names a page by its file name or its title, as authors write them in
Obsidian, Foam or MkDocs: any case, any Unicode normalisation form, spaces and
punctuation (``[[TCP States]]``, ``[[Port numbers (well-known)]]``). Both sides are
compared through :func:`stepwise.content.name_key` (NFC, case-folded, the slug rule):
one page with that key resolves; where several do, the one whose file name or title
is spelled exactly as written wins; otherwise the reference is ambiguous. Folders
before the name pick between equal names (``[[kb/tcp-handshake]]``,
``[[/linux/kb/port]]`` from the content folder). ``#heading`` names a heading by its
id or its text (``#The 11 states``), resolved to the id the heading gets.
References name pages, never files: ``..``, ``.``, empty segments and absolute file
paths are refused.

URLs between pages are relative (``../../kb/port/index.html``) and percent-encoded
(non-ASCII slugs and ids are kept as Unicode on disk and in ids) so one output
folder works at a domain root, under a sub-path and opened from disk; only the
sitemap, canonical links and the 404 page use ``base_url``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from urllib.parse import quote

from .content import PAGE_SUFFIXES, Page, name_key, spelling
from .errors import LinkError
from .markdown import heading_key

#: what the name of a reference may not hold (Obsidian refuses them in names too)
_NOT_IN_NAMES = set("[]")


def page_keys(page: Page) -> set[str]:
    """The keys a reference can match ``page`` by: its slug, and the keys of its file
    name and title (see :func:`stepwise.content.name_key`)."""
    return set(page.keys)


def reference_keys(ref: str) -> set[str]:
    """The keys of the pages a reference may resolve to (for incremental rebuilds: a
    page that gains or loses one of these keys may change what ``ref`` names)."""
    target = ref.partition("#")[0].strip()
    if not target:
        return set()
    keys = {name_key(target.rstrip("/").split("/")[-1] or target)}
    if "/" in target:
        keys.add(name_key(target))  # a title holding a slash ("TCP/IP basics")
    return keys


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
        self._by_key: dict[str, list[Page]] = {}
        self._by_slug: dict[str, list[Page]] = {}
        for page in self.pages:
            self._by_slug.setdefault(page.slug, []).append(page)
            for key in sorted(page.keys):
                self._by_key.setdefault(key, []).append(page)
        self._shortest: dict[int, str] = {}  # by id(page): every link writes one
        self._sources = {os.path.normpath(p.source): p for p in self.pages}
        self._path_keys = {id(p): list(p.path_keys) for p in self.pages}

    def resolve(self, ref: str, what: str = "wiki-link", here: Page | None = None
                ) -> tuple[Page, str | None]:
        """Find the one page ``ref`` names.

        Args:
            ref: ``name``, ``folder/name``, ``/full/path`` or any of them with
                ``#heading`` (label already removed); a name is a file name or a title.
            what: how the reference is named in messages (``wiki-link``, ``related: entry``).
            here: the page the reference is written in: ``#heading`` alone names it.

        Returns:
            ``(page, anchor)``; ``anchor`` is the text after ``#`` as written (None
            without ``#``): :meth:`anchor_id` turns it into the heading's id.

        Raises:
            LinkError: no page, several pages, a path trick, or a draft target. The
                message suggests the closest reference (difflib).
        """
        target, sep, anchor = ref.strip().partition("#")
        target = target.strip()
        if not target and sep and anchor.strip() and here is not None:
            return here, anchor.strip()
        rooted = target.startswith("/")
        parts = [p.strip() for p in target.strip("/").split("/")] if target.strip("/") else []
        if (not target or any(p in ("", ".", "..") for p in parts) or "\\" in target
                or "//" in target or (not rooted and not parts)
                or _NOT_IN_NAMES & set(target)):
            raise LinkError(
                f"{what} [[{ref}]] is not a page reference; write a page's name or title "
                "such as [[tcp-states]] or [[TCP states]], or a folder and name such as "
                "[[kb/tcp-handshake]]"
            )
        matches = self._find(target)
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

    def _find(self, target: str) -> list[Page]:
        """The pages ``target`` (no ``#``) names: one, none, or several (ambiguous)."""
        rooted = target.startswith("/")
        parts = [p.strip() for p in target.strip("/").split("/")] if target.strip("/") else []
        if rooted:
            path = [name_key(_without_suffix(p)) for p in parts]
            return [p for p in self.pages if self._path_keys[id(p)] == path]
        name = _without_suffix(parts[-1])
        folders = [name_key(f) for f in parts[:-1]]
        matches = self._named(name, folders)
        if not matches and folders:
            matches = self._named(_without_suffix(target), [])  # "TCP/IP basics"
        return matches

    def _named(self, name: str, folders: list[str]) -> list[Page]:
        candidates = [p for p in self._by_key.get(name_key(name), [])
                      if _ends_with(self._path_keys[id(p)][:-1], folders)]
        if len(candidates) > 1:  # the exact spelling of a file name or title wins
            written = spelling(name)
            exact = [p for p in candidates if written in (p.name, spelling(p.title))]
            if exact:
                return exact
        return candidates

    @staticmethod
    def anchor_id(page: Page, anchor: str | None, ref: str, *, link: bool = False
                  ) -> str | None:
        """The id of the heading of ``page`` that ``anchor`` names, byte for byte.

        ``anchor`` is a heading id (``the-11-states``) or a heading's text as written
        in the page (``The 11 states``, ``Ports 0-1023: well known``, ``TCP/UDP``),
        matched exactly first, then in any case and Unicode form, ignoring punctuation
        (GitHub's slug rule). Of two headings with the same text, the first.

        ``link``: ``ref`` is a Markdown link's URL (messages say ``link URL``, not
        ``[[ref]]``).

        Raises:
            LinkError: no heading matches; the message suggests the closest one, in
                the form the reference used (id or text).
        """
        if anchor is None:
            return None
        ids = [hid for _level, hid, _text in page.headings]
        if anchor in ids:
            return anchor
        written = spelling(anchor)
        for _level, hid, text in page.headings:
            if spelling(text) == written:
                return hid
        key = heading_key(anchor)
        if key:
            for _level, hid, text in page.headings:
                if heading_key(text) == key or hid == key:
                    return hid
        as_text = anchor != heading_key(anchor)
        names = [text for _l, _h, text in page.headings] if as_text else ids
        close = difflib.get_close_matches(anchor, names, n=1)
        if not close and as_text:
            close = [text for _l, hid, text in page.headings
                     if hid in difflib.get_close_matches(key, ids, n=1)][:1]
        hint = f"; did you mean #{close[0]}?" if close else (
            f"; its headings: {', '.join('#' + i for i in names[:8])}" if names else
            "; it has no headings"
        )
        shown = f"link {ref}" if link else f"[[{ref}]]"
        raise LinkError(f"{shown}: {page.shown} has no heading #{anchor}{hint}")

    def check_anchor(self, page: Page, anchor: str | None, ref: str) -> None:
        """Raise LinkError when ``anchor`` names no heading of ``page`` (see
        :meth:`anchor_id`)."""
        self.anchor_id(page, anchor, ref)

    def shortest_ref(self, page: Page) -> str:
        """The shortest reference that names ``page`` alone (its slug when unique)."""
        found = self._shortest.get(id(page))
        if found is None:
            found = self._shortest[id(page)] = self._shortest_ref(page)
        return found

    def _shortest_ref(self, page: Page) -> str:
        parts = page.refpath.split("/") if page.refpath else [page.slug]
        for n in range(1, len(parts) + 1):
            tail = "/".join(parts[-n:])
            if self._find(tail) == [page]:
                return tail
        return "/" + page.refpath  # no suffix is unique: the full path always is

    def _suggest(self, target: str) -> str:
        shown: dict[str, str] = {}
        for page in self.pages:
            if not page.draft:
                for key in sorted(page_keys(page)):
                    shown.setdefault(key, self.shortest_ref(page))
                shown.setdefault(self.shortest_ref(page), self.shortest_ref(page))
        for wanted in (name_key(target), name_key(target.split("/")[-1])):
            close = difflib.get_close_matches(wanted, sorted(shown), n=1, cutoff=0.6)
            if close:
                return f"; did you mean [[{shown[close[0]]}]]?"
        return ""

    def by_source(self, path: str) -> Page | None:
        """The page whose source file is ``path`` (a normalised absolute path)."""
        return self._sources.get(path)


def _without_suffix(name: str) -> str:
    """``tcp-states.md`` -> ``tcp-states``: a wiki-link may name the file."""
    for suffix in PAGE_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _ends_with(have: list[str], folders: list[str]) -> bool:
    """Whether the folder keys ``have`` end with ``folders``."""
    return len(have) >= len(folders) and have[len(have) - len(folders):] == folders


#: what a URL may keep as it is: ASCII letters and digits, ``_.-~`` (always kept by
#: quote) and the delimiters; ``%`` too, so an already encoded scenario stays as it is
_URL_SAFE = "!#$%&'()*+,/:;=?@[]"


def encode_url(url: str) -> str:
    """``url`` percent-encoded where it holds non-ASCII or unsafe characters (slugs
    and heading ids keep Unicode letters: ``/kb/сокеты/`` -> ``/kb/%D1%81...``)."""
    return url if url.isascii() and " " not in url and '"' not in url else \
        quote(url, safe=_URL_SAFE)


def relative_url(from_url: str, to_url: str, anchor: str | None = None) -> str:
    """URL of page ``to_url`` as written in page ``from_url``, both site-root URLs.

    Returns a relative link ending in ``index.html`` (so it also works from disk,
    where a folder does not open its index), e.g. ``relative_url("/linux/how/x/",
    "/linux/kb/port/")`` -> ``"../../kb/port/index.html"``. A link to the same page
    with an anchor is just ``#anchor``.
    """
    if from_url == to_url and anchor:
        return encode_url(f"#{anchor}")
    # string arithmetic, not posixpath.relpath: this runs for every link of every page
    src = from_url.strip("/").split("/") if from_url != "/" else []
    dst = to_url.strip("/").split("/") if to_url != "/" else []
    common = 0
    while common < len(src) and common < len(dst) and src[common] == dst[common]:
        common += 1
    url = "/".join([".."] * (len(src) - common) + dst[common:] + ["index.html"])
    return encode_url(f"{url}#{anchor}" if anchor else url)


def relative_file(from_url: str, file_path: str) -> str:
    """URL of a file of the output folder (``linux/how/diagram.png``) as written in page
    ``from_url``, relative and percent-encoded: ``relative_file("/linux/how/x/",
    "linux/how/diagram.png")`` -> ``"../diagram.png"``."""
    src = from_url.strip("/").split("/") if from_url != "/" else []
    dst = file_path.strip("/").split("/")
    common = 0
    while common < len(src) and common < len(dst) - 1 and src[common] == dst[common]:
        common += 1
    return encode_url("/".join([".."] * (len(src) - common) + dst[common:]))


def relative_asset(from_url: str, asset_path: str) -> str:
    """URL of a file of the output folder (``static/css/site.css``) from page ``from_url``."""
    depth = from_url.strip("/").count("/") + 1 if from_url != "/" else 0
    return "../" * depth + asset_path.lstrip("/")

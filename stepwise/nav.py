"""Navigation built from the content tree: breadcrumb, tutorial sidebar, section
listings, backlinks, previous/next, the on-page contents, tags and reading time. Pure
functions of the pages; links are made relative to the page being rendered by the
``href`` callable the renderer passes in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .content import Page, slugify

Href = Callable[[Page], str]

#: Reading speed for :func:`reading_minutes`, in words per minute.
WORDS_PER_MINUTE = 200
#: Fewer h2/h3 headings than this and a page gets no table of contents.
TOC_MIN_HEADINGS = 3

_TAG = re.compile(r"<[^>]*>")
# a word: a letter or digit, then letters, digits, apostrophes, dots and hyphens
# ("TIME-WAIT", "don't", "v1.2"). A trailing "." or "-" is taken with it: that changes
# no count, and is a third faster than ending each match on a letter or digit
_WORD = re.compile(r"[^\W_][\w'’.-]*")


@dataclass(frozen=True)
class NavLink:
    """A link as templates see it: ``title``, ``href`` (None: not a link), ``current``
    (this is the page being rendered), and optional ``description`` and ``children``."""

    title: str
    href: str | None
    current: bool = False
    description: str = ""
    children: tuple[NavLink, ...] = field(default_factory=tuple)
    meta: dict[str, object] = field(default_factory=dict)


class SiteTree:
    """The published pages arranged by section.

    Args:
        pages: the published pages (drafts already removed).
    """

    def __init__(self, pages: Iterable[Page]):
        self.pages = sorted(pages, key=lambda p: p.url)
        self.by_url = {p.url: p for p in self.pages}
        self._children: dict[str, list[Page]] = {}
        for page in self.pages:
            parent = page.section_url
            if parent is not None:
                self._children.setdefault(parent, []).append(page)
        for parent, kids in self._children.items():
            section = self.by_url.get(parent)
            kids.sort(key=listing_order(section.sort if section is not None else "order"))
        self._tags: dict[str, tuple[str, list[Page]]] | None = None
        self._linked_from: dict[str, list[Page]] = {}
        for page in self.pages:
            for url in page.links_out:
                self._linked_from.setdefault(url, []).append(page)

    def children(self, section: Page) -> list[Page]:
        """Direct children of a section (its pages and sub-sections), in the order its
        ``sort:`` asks for (:func:`listing_order`)."""
        return list(self._children.get(section.url, []))

    def tutorial_of(self, page: Page) -> Page | None:
        """The tutorial (top-level section) a page belongs to, e.g. ``/linux/``."""
        if page.url == "/":
            return None
        top = "/" + page.url.strip("/").split("/")[0] + "/"
        found = self.by_url.get(top)
        return found if found is not None and found.is_index else None

    def breadcrumb(self, page: Page, href: Href, home_label: str) -> list[NavLink]:
        """``home / linux / how / tcp-handshake``: one link per URL segment that has a
        page; the last entry (the page itself) is not a link."""
        crumbs = [NavLink(home_label, href(self.by_url["/"]) if "/" in self.by_url else None)]
        parts = page.url.strip("/").split("/") if page.url != "/" else []
        for i, part in enumerate(parts):
            url = "/" + "/".join(parts[: i + 1]) + "/"
            target = self.by_url.get(url)
            last = i == len(parts) - 1
            crumbs.append(NavLink(part, None if last or target is None else href(target), last))
        return crumbs

    def sidebar(self, page: Page, href: Href, intro_label: str,
                more_label: str = "{n}") -> NavLink | None:
        """The tutorial's sidebar: its introduction, then each of its sections; the
        section holding ``page`` is expanded to its pages — at most
        :data:`SIDEBAR_WINDOW` on each side of the current one, then a link to the
        section (``more_label``, ``{n}``: its number of pages). Without the window a
        section of N pages puts N links on each of its N pages: the site grows as N².
        None outside a tutorial."""
        tutorial = self.tutorial_of(page)
        if tutorial is None:
            return None
        entries = [NavLink(intro_label, href(tutorial), tutorial is page)]
        for child in self.children(tutorial):
            if not child.is_index:
                entries.append(NavLink(child.title, href(child), child is page))
                continue
            inside = page.url.startswith(child.url)
            pages: tuple[NavLink, ...] = ()
            if inside:
                kids = self.children(child)
                shown = _window(kids, page)
                pages = tuple(NavLink(p.title, href(p), p is page) for p in shown)
                if len(shown) < len(kids):
                    pages += (NavLink(more_label.replace("{n}", str(len(kids))), href(child),
                                      meta={"more": True}),)
            entries.append(NavLink(child.title, href(child), child is page, children=pages,
                                   meta={"open": inside}))
        return NavLink(tutorial.title, href(tutorial), tutorial is page, children=tuple(entries))

    def backlinks(self, page: Page, href: Href) -> list[NavLink]:
        """Pages whose text links to ``page``, by title."""
        sources = [p for p in self._linked_from.get(page.url, []) if p is not page]
        sources.sort(key=lambda p: (p.title.casefold(), p.url))
        return [NavLink(p.title, href(p), description=p.description) for p in sources]

    def neighbours(self, page: Page) -> tuple[Page | None, Page | None]:
        """The pages before and after ``page`` in its section, by order then title.

        Sub-sections (index pages) are skipped; pages outside a tutorial (the front
        page, the top-level pages) and section pages have no neighbours.
        """
        parent = page.section_url
        if page.is_index or parent is None or parent == "/" or parent not in self.by_url:
            return None, None
        siblings = [p for p in self._children.get(parent, []) if not p.is_index]
        at = next((i for i, p in enumerate(siblings) if p is page), None)
        if at is None:
            return None, None
        return (siblings[at - 1] if at > 0 else None,
                siblings[at + 1] if at + 1 < len(siblings) else None)

    def ancestors(self, page: Page) -> list[Page]:
        """The sections above ``page``, from its tutorial down to its parent (the front
        page excluded)."""
        parts = page.url.strip("/").split("/") if page.url != "/" else []
        found = (self.by_url.get("/" + "/".join(parts[:i]) + "/") for i in range(1, len(parts)))
        return [p for p in found if p is not None]

    def tags(self) -> dict[str, tuple[str, list[Page]]]:
        """Every tag of the pages: ``{slug: (label, pages)}``, by slug; the pages of a
        tag by title. The label is the tag as first written (pages by URL)."""
        if self._tags is None:
            self._tags = self._collect_tags()
        return self._tags

    def _collect_tags(self) -> dict[str, tuple[str, list[Page]]]:
        found: dict[str, tuple[str, list[Page]]] = {}
        for page in self.pages:
            for tag in page_tags(page):
                label, pages = found.setdefault(slugify(tag), (tag, []))
                if page not in pages:
                    pages.append(page)
        for _label, pages in found.values():
            pages.sort(key=lambda p: (p.title.casefold(), p.url))
        return dict(sorted(found.items()))


def listing_order(sort: str) -> Callable[[Page], tuple[object, ...]]:
    """The sort key of a section's pages for its ``sort:`` (listing, sidebar,
    previous/next): ``order`` (then title), ``date`` (newest first; pages without a
    date after the dated ones, by order), ``title``; the URL last, for stability."""
    if sort == "date":
        return lambda p: ((0, -p.date.instant.timestamp()) if p.date is not None
                          else (1, 0.0), *p.sort_key())
    if sort == "title":
        return lambda p: (p.title.casefold(), p.url)
    return Page.sort_key


#: Pages listed on each side of the current one in an expanded sidebar section.
SIDEBAR_WINDOW = 12


def _window(kids: list[Page], page: Page) -> list[Page]:
    """The pages of a section around ``page`` (or around the child holding it)."""
    size = 2 * SIDEBAR_WINDOW + 1
    if len(kids) <= size:
        return kids
    at = next((i for i, p in enumerate(kids) if page.url.startswith(p.url)), 0)
    start = min(max(0, at - SIDEBAR_WINDOW), len(kids) - size)
    return kids[start:start + size]


def page_tags(page: Page) -> list[str]:
    """The page's ``tags:``, as strings, without empty ones or repeats."""
    out: list[str] = []
    for tag in page.meta.get("tags", []) or []:
        text = str(tag).strip()
        if text and slugify(text) not in {slugify(t) for t in out}:
            out.append(text)
    return out


def tag_url(tag: str) -> str:
    """The site-root URL of a tag's page: ``/tags/tcp/``."""
    return f"/tags/{slugify(tag)}/"


def table_of_contents(headings: Sequence[tuple[int, str, str]],
                      minimum: int = TOC_MIN_HEADINGS) -> list[NavLink]:
    """The on-page contents: one link per h2 (``#id``) holding its h3s as children.

    Returns [] when the page has fewer than ``minimum`` h2/h3 headings. An h3 before
    any h2 is listed at the top level.
    """
    kept = [(level, hid, text) for level, hid, text in headings if level in (2, 3)]
    if len(kept) < minimum:
        return []
    entries: list[tuple[str, str, list[NavLink]]] = []
    for level, hid, text in kept:
        if level == 3 and entries:
            entries[-1][2].append(NavLink(text, f"#{hid}"))
        else:
            entries.append((text, f"#{hid}", []))
    return [NavLink(text, href, children=tuple(kids)) for text, href, kids in entries]


def word_count(html: str) -> int:
    """Words in an HTML fragment's text (tags dropped; ``TIME-WAIT`` is one word)."""
    return len(_WORD.findall(_TAG.sub(" ", html)))


def reading_minutes(page: Page) -> int:
    """Minutes to read the page at :data:`WORDS_PER_MINUTE`, rounded up, at least 1:
    its lead, its body and, for a lesson, its steps' titles and texts. Kept on the
    page (``Page.minutes``, reset when the page is compiled again)."""
    if page.minutes is None:
        words = word_count(page.lead_html) + word_count(page.html)
        for step in (page.trace or {}).get("steps", []):
            words += word_count(str(step.get("title", ""))) + word_count(str(step.get("html", "")))
        page.minutes = max(1, math.ceil(words / WORDS_PER_MINUTE))
    return page.minutes

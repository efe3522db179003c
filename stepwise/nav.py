"""Navigation built from the content tree: breadcrumb, tutorial sidebar, section
listings, backlinks. Pure functions of the pages; links are made relative to the page
being rendered by the ``href`` callable the renderer passes in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .content import Page

Href = Callable[[Page], str]


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
        for kids in self._children.values():
            kids.sort(key=Page.sort_key)
        self._linked_from: dict[str, list[Page]] = {}
        for page in self.pages:
            for url in page.links_out:
                self._linked_from.setdefault(url, []).append(page)

    def children(self, section: Page) -> list[Page]:
        """Direct children of a section (its pages and sub-sections), by order then title."""
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

    def sidebar(self, page: Page, href: Href, intro_label: str) -> NavLink | None:
        """The tutorial's sidebar: its introduction, then each of its sections; the
        section holding ``page`` is expanded to its pages. None outside a tutorial."""
        tutorial = self.tutorial_of(page)
        if tutorial is None:
            return None
        entries = [NavLink(intro_label, href(tutorial), tutorial is page)]
        for child in self.children(tutorial):
            if not child.is_index:
                entries.append(NavLink(child.title, href(child), child is page))
                continue
            inside = page.url.startswith(child.url)
            pages = tuple(
                NavLink(p.title, href(p), p is page)
                for p in self.children(child)
            ) if inside else ()
            entries.append(NavLink(child.title, href(child), child is page, children=pages,
                                   meta={"open": inside}))
        return NavLink(tutorial.title, href(tutorial), tutorial is page, children=tuple(entries))

    def backlinks(self, page: Page, href: Href) -> list[NavLink]:
        """Pages whose text links to ``page``, by title."""
        sources = [p for p in self._linked_from.get(page.url, []) if p is not page]
        sources.sort(key=lambda p: (p.title.casefold(), p.url))
        return [NavLink(p.title, href(p), description=p.description) for p in sources]

"""Stage 5: the template context of each page, and the layouts filled with it.

Links in the context are relative to the page being rendered (see
:func:`stepwise.links.relative_url`); navigation comes from :class:`stepwise.nav.SiteTree`.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import jinja2
from markupsafe import Markup

from .config import MenuEntry, SiteConfig
from .content import Page
from .errors import LinkError, display_path
from .links import LinkIndex, relative_asset, relative_url
from .markdown import directive_marker, highlight_css
from .nav import NavLink, SiteTree
from .project import Project
from .render import create_environment, load_template, render_template, script_json

HIGHLIGHT_CSS = "static/css/highlight.css"


class SiteRenderer:
    """Stage 5: fills the layouts for every page, plus 404.html, sitemap.xml and the
    generated highlight CSS."""

    def __init__(self, project: Project, config: SiteConfig, pages: list[Page], links: LinkIndex,
                 env: jinja2.Environment | None = None):
        self.project, self.config, self.pages, self.links = project, config, pages, links
        self.tree = SiteTree(pages)
        self.env = env or create_environment(project.templates)

    def site_files(self) -> dict[str, bytes]:
        """The files that are not pages: 404.html, sitemap.xml, the highlight CSS.

        Raises:
            TemplateError: 404.html fails to render.
        """
        return {
            "404.html": self.render_special("404.html", "/404/").encode("utf-8"),
            "sitemap.xml": self.render_sitemap().encode("utf-8"),
            HIGHLIGHT_CSS: highlight_css().encode("utf-8"),
        }

    def page_context(self, page: Page, *, absolute: bool = False) -> dict[str, Any]:
        """The template context of one page (see templates/README.md for the names)."""
        base = self.config.base_url

        def href(target: Page, anchor: str | None = None) -> str:
            if absolute:
                return base + target.url.lstrip("/") + (f"#{anchor}" if anchor else "")
            return relative_url(page.url, target.url, anchor)

        def asset(path: str) -> str:
            return base + path.lstrip("/") if absolute else relative_asset(page.url, path)

        i18n = _merge_strings(self.config.strings, page.meta.get("strings"))
        ui = i18n.get("ui", {})
        context: dict[str, Any] = {
            "site": self.config,
            "page": page,
            "i18n": i18n,
            "ui": ui,
            "content": Markup(page.html),
            "lead": Markup(page.lead_html),
            "asset": asset,
            "href": href,
            "canonical_url": base + page.url.lstrip("/"),
            "home": self.tree.by_url["/"],
            "menu": [self.menu_link(e, href, page) for e in self.config.menu],
            "footer": [self.menu_link(e, href, page) for e in self.config.footer],
            "breadcrumb": self.tree.breadcrumb(page, href, ui.get("home", "home")),
            "sidebar": self.tree.sidebar(page, href, ui.get("introduction", "Introduction")),
            "children": [self.listing(p, href) for p in self.tree.children(page)]
            if page.is_index else [],
            "backlinks": self.tree.backlinks(page, href),
            "related": self.resolved_list(page, "related", href),
            "labs": self.resolved_list(page, "labs", href),
            "label": self.section_label(page),
            "tags": [str(t) for t in page.meta.get("tags", []) or []],
            "trace": page.trace,
            "trace_json": script_json(page.trace) if page.trace is not None else Markup(""),
        }
        before, after = _split_at_player(page.html)
        context["content_before"], context["content_after"] = Markup(before), Markup(after)
        return context

    def render_page(self, page: Page) -> str:
        template = load_template(self.env, f"layouts/{page.layout}.html", self.project.templates)
        return render_template(template, self.page_context(page), self.project.templates,
                               page.shown)

    def render_special(self, name: str, url: str) -> str:
        """Render a page-less template (404.html) with absolute links: it is served at
        whatever URL was missing, so relative links would break."""
        front = self.tree.by_url["/"]
        context = self.page_context(front, absolute=True)
        context.update(content=Markup(""), lead=Markup(""), breadcrumb=[], sidebar=None,
                       children=[], backlinks=[], related=[], labs=[], label="", tags=[],
                       trace=None,
                       canonical_url=self.config.base_url + url.lstrip("/"))
        template = load_template(self.env, name, self.project.templates)
        return render_template(template, context, self.project.templates, name)

    def render_sitemap(self) -> str:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        for page in self.pages:
            lines.append(f"  <url><loc>{escape(self.config.base_url + page.url.lstrip('/'))}"
                         "</loc></url>")
        lines.append("</urlset>")
        return "\n".join(lines) + "\n"

    def menu_link(self, entry: MenuEntry, href: Callable[..., str], current: Page) -> NavLink:
        target = None
        if entry.page is not None:
            try:
                target, anchor = self.links.resolve(entry.page, what="menu entry")
            except LinkError as err:  # already reported by check_menu
                raise err.located(display_path(self.config.path), entry.line) from None
        title = entry.title or (target.title if target else "")
        description = entry.description or (target.description if target else "")
        link = href(target) if target is not None else entry.url
        children = tuple(self.menu_link(c, href, current) for c in entry.children)
        return NavLink(title, link, target is current, description, children)

    def listing(self, page: Page, href: Callable[..., str]) -> NavLink:
        meta: dict[str, object] = {"layout": page.layout, "is_section": page.is_index}
        if page.trace is not None:
            meta["steps"] = len(page.trace.get("steps", []))
        return NavLink(page.title, href(page), description=page.description, meta=meta)

    def resolved_list(self, page: Page, key: str, href: Callable[..., str]) -> list[NavLink]:
        out = []
        for i, ref in enumerate(page.meta.get(key, []) or []):
            try:
                target, anchor = self.links.resolve(str(ref), what=f"{key}: entry")
                self.links.check_anchor(target, anchor, str(ref))
            except LinkError as err:
                raise err.located(page.shown, page.line_of(key, i)) from None
            out.append(NavLink(target.title, href(target, anchor), description=target.description,
                               meta={"ref": self.links.shortest_ref(target)}))
        return out

    def section_label(self, page: Page) -> str:
        parent = page.section_url
        section = parent.strip("/").split("/")[-1] if parent and parent != "/" else ""
        topic = page.meta.get("topic")
        return "/".join(x for x in (section, str(topic) if topic else "") if x)


def _merge_strings(site: dict[str, dict[str, str]], page: Any) -> dict[str, dict[str, str]]:
    merged = {group: dict(values) for group, values in site.items()}
    if isinstance(page, dict):
        for group, values in page.items():
            if isinstance(values, dict):
                group_strings = merged.setdefault(str(group), {})
                group_strings.update({str(k): str(v) for k, v in values.items()})
    return merged


def _split_at_player(html: str) -> tuple[str, str]:
    """Split a lesson body where the player goes: at ``::player``, else before the
    first ``<h2`` (after the intro), else at the end."""
    marker = directive_marker("player")
    if marker in html:
        before, _, after = html.partition(marker)
        return before, after
    at = html.find("<h2")
    return (html, "") if at < 0 else (html[:at], html[at:])

"""Stage 5: the template context of each page, and the layouts filled with it.

Links in the context are relative to the page being rendered (see
:func:`stepwise.links.relative_url`); navigation comes from :class:`stepwise.nav.SiteTree`.
Besides the pages, the renderer makes the files no page source stands for: 404.html,
sitemap.xml, feed.xml (:mod:`stepwise.feed`), the social cards (:mod:`stepwise.cards`)
and the tag pages (``/tags/`` and ``/tags/SLUG/``).
404.html, sitemap.xml, feed.xml and the cards are made only when ``site.yaml`` says
where the site is published (``base_url``; an absolute one for all but the 404 page):
the 404 page is served at any address that is missing, so its links must be absolute,
and a sitemap, a feed and ``og:image`` need full URLs; none ever gets a link that
starts with a bare ``/`` the site may not be published under. Static files are named
by their content (:mod:`stepwise.assets`): ``asset()`` gives their published URLs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from typing import Any

import jinja2
from markupsafe import Markup

from .assets import Assets
from .cards import Card, CardMaker
from .config import MenuEntry, SiteConfig
from .content import Page
from .dates import PageDate, format_date
from .errors import BuildError, LinkError, TemplateError, display_path
from .feed import FEED_PATH, render_feed
from .links import LinkIndex, relative_asset, relative_url
from .markdown import directive_marker
from .nav import (
    NavLink,
    SiteTree,
    page_tags,
    reading_minutes,
    table_of_contents,
    tag_url,
)
from .project import Project
from .render import (
    StringGroups,
    Strings,
    create_environment,
    load_template,
    render_template,
    script_json,
)
from .simulator import (
    SIMULATOR_LAYOUT,
    WORKER,
    Runtime,
    bundle_path,
    download_size,
    find_runtime,
    pack,
)
from .trace import explore, model_of, scene_of

HIGHLIGHT_CSS = "static/css/highlight.css"
TAGS_URL = "/tags/"
#: Layouts whose pages are articles to Open Graph (``og:type``) and to the feed.
ARTICLE_LAYOUTS = ("lesson", "article", "lab")


def simulator_pages(pages: list[Page]) -> dict[str, Page]:
    """The pages lessons' "explore from here" links open, by model name: for each model,
    the first simulator page (by URL) of that model whose settings compiled."""
    found: dict[str, Page] = {}
    for page in sorted(pages, key=lambda p: p.url):
        if page.layout == SIMULATOR_LAYOUT and page.simulator is not None:
            found.setdefault(str(page.meta["simulation"]["model"]), page)
    return found


@dataclass(frozen=True)
class GeneratedPage:
    """What templates read of ``page`` for a page no source file stands for (the tag
    pages): the same attribute names as :class:`stepwise.content.Page`."""

    url: str
    title: str
    description: str = ""
    layout: str = "tags"
    draft: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def output_path(self) -> str:
        return self.url.strip("/") + "/index.html"


class SiteRenderer:
    """Stage 5: fills the layouts for every page, plus 404.html, sitemap.xml and the
    generated highlight CSS."""

    def __init__(self, project: Project, config: SiteConfig, pages: list[Page], links: LinkIndex,
                 env: jinja2.Environment | None = None, assets: Assets | None = None,
                 cards: CardMaker | None = None):
        self.project, self.config, self.pages, self.links = project, config, pages, links
        self.assets = assets if assets is not None else Assets()
        #: the static files (as their sources name them) that ``asset()`` was asked
        #: for since :meth:`page_files` began the page
        self.static_used: set[str] = set()
        self.cards = cards if cards is not None else CardMaker()
        self.tree = SiteTree(pages)
        self.env = env or create_environment(project.template_dirs)
        self._relative_urls: dict[tuple[str, str], str] = {}
        self._menu_targets: dict[int, tuple[Page, str | None]] = {}
        self._menu_url_list: list[str] | None = None
        #: the menu and footer links by view (see _shared_renderer): the same for
        #: every page of a folder
        self._menus: dict[object, tuple[list[NavLink], list[NavLink]]] = {}
        #: shared fragments (``shared()``) as rendered: HTML and the static files named
        self._shared: dict[tuple[str, object], tuple[Markup, frozenset[str]]] = {}
        self.simulators = simulator_pages(pages)
        self.runtime: Runtime | None = None
        #: why the simulator cannot run in this build ("" when it can)
        self.runtime_problem = ""
        if any(p.layout == SIMULATOR_LAYOUT for p in pages):
            self.runtime, self.runtime_problem = find_runtime(project.root)

    def site_files(self) -> dict[str, bytes]:
        """The files that are not pages: 404.html (with a ``base_url``), sitemap.xml,
        feed.xml and the site's social card (with an absolute one) and the tag pages.
        They are made again whenever what they show may have changed.

        Raises:
            TemplateError: a template fails to render.
            BuildError: a page's URL is under ``/tags/``, where the tag pages go.
        """
        files: dict[str, bytes] = {}
        if self.config.base_url is not None:
            files["404.html"] = self.render_special("404.html", "/404/").encode("utf-8")
        files.update(self.render_tag_pages())
        if self.config.absolute_base is not None:
            files["sitemap.xml"] = self.render_sitemap().encode("utf-8")
            if self.has_feed:
                files[FEED_PATH] = self.render_feed()
            card = self.site_card()
            files[card.path] = self.cards.image(card)
        return dict(sorted(files.items()))

    def page_files(self, page: Page) -> dict[str, bytes]:
        """What rendering ``page`` writes: its HTML, and a lesson's social card; and in
        :attr:`static_used`, the static files it names."""
        self.static_used = set()
        files = {page.output_path: self.render_page(page).encode("utf-8")}
        card = self.page_card(page)
        if card is not None:
            files[card.path] = self.cards.image(card)
        return files

    def page_card(self, page: Page) -> Card | None:
        """A lesson's social card (None for other pages, and without an absolute
        ``base_url``: ``og:image`` could not name it)."""
        if page.trace is None or self.config.absolute_base is None:
            return None
        words: dict[str, str] = _merge_strings(self.config.strings,
                                               page.meta.get("strings")).get("player", {})
        return self.cards.lesson(self.config.title, page.title, page.refpath or page.slug,
                                 page.trace, words)

    def site_card(self) -> Card:
        """The card of every page that has none of its own: the site's title and
        description."""
        return Card(self.config.title, self.config.description, "site")

    @property
    def has_feed(self) -> bool:
        """Whether the site has feed.xml: an absolute ``base_url``, and no ``feed: false``."""
        return self.config.absolute_base is not None and self.config.feed

    def render_feed(self) -> bytes:
        """feed.xml (see :mod:`stepwise.feed`; :attr:`has_feed` must be true)."""
        base = self.config.absolute_base
        assert base is not None
        return render_feed(self.config, [p for p in self.pages if p.layout in ARTICLE_LAYOUTS
                                         and not p.draft], base)

    def social(self, url: str, page: Page | None) -> dict[str, Any]:
        """What partials/social.html writes (Open Graph and X/Twitter tags): ``type``
        (``article`` for lessons, articles and labs, else ``website``), ``description``
        (the page's, else the site's), and with an absolute ``base_url`` the page's
        ``url`` and its card's ``image`` (a lesson's own, else the site's); the
        page's ``published`` and ``modified`` dates and ``tags``."""
        base = self.config.absolute_base
        article = page is not None and page.layout in ARTICLE_LAYOUTS
        info: dict[str, Any] = {
            "type": "article" if article else "website",
            "description": (page.description if page is not None else "")
            or self.config.description,
            "url": base + url.lstrip("/") if base else None,
            "image": None, "image_alt": "",
            "published": page.date.iso if article and page and page.date else None,
            "modified": page.updated.iso if article and page and page.updated else None,
            "tags": page_tags(page) if article and page is not None else [],
        }
        if base:
            card = (self.page_card(page) if page is not None else None) or self.site_card()
            info["image"] = base + card.path
            info["image_alt"] = (f"{card.title}: {card.caption}" if card.caption
                                 else f"{card.site}: {card.title}" if card.title else card.site)
        return info

    def dates(self, page: Page, i18n: StringGroups) -> dict[str, dict[str, str] | None]:
        """A page's ``date`` and ``updated`` as templates show them (None when not
        given): ``iso`` (for ``<time datetime>``) and ``text`` (in the site's words,
        ``strings: dates:``)."""
        words = i18n.get("dates")
        return {key: {"iso": value.iso, "text": format_date(value, words)}
                if value is not None else None
                for key, value in (("date", page.date), ("updated", page.updated))}

    @staticmethod
    def bundle(page: Page) -> bytes | None:
        """The packed Python of a simulator page's model (None: it has no playground)."""
        entry = model_of(page.meta["simulation"]).playground
        return pack(entry) if entry else None

    def simulator_context(self, page: Page, asset: Callable[[str], str]) -> dict[str, Any]:
        """What layouts/simulator.html reads: the settings it opens with (JSON), and
        the URLs of the worker, the runtime and our Python; ``available`` False (with
        ``problem``) in a build without the runtime."""
        context: dict[str, Any] = {"available": self.runtime is not None,
                                   "problem": self.runtime_problem,
                                   "settings": page.simulator}
        bundle = self.bundle(page)
        if self.runtime is not None and bundle is not None:
            context.update(worker=asset(WORKER), runtime=asset(self.runtime.url_dir),
                           bundle=asset(bundle_path(bundle)),
                           module=model_of(page.meta["simulation"]).playground,
                           download_mb=f"{download_size(self.runtime, bundle) / 1e6:.1f}")
        else:
            context["available"] = False
        return context

    def explore_links(self, page: Page, href: Callable[..., str]) -> list[str | None]:
        """A lesson's "explore from here" links, one per step (None where the simulator
        cannot replay its step), or [] when the site has no working simulator (made
        here, not when the lesson compiles: a site without a simulator pays nothing)."""
        if page.trace is None or self.runtime is None:
            return []
        simulator = self.simulators.get(str(page.trace["model"]))
        if simulator is None:
            return []
        base = href(simulator)
        return [f"{base}#{fragment}" if fragment is not None else None
                for fragment in explore(page.meta["simulation"], page.trace, seed=page.seed)]

    def common_context(self, url: str, *, absolute: bool = False,
                       strings: Any = None, current: Page | None = None) -> dict[str, Any]:
        """What every template reads: the site, strings, link helpers, menu and footer,
        for a page at site URL ``url`` (``absolute``: links start with ``base_url``, for
        404.html; it must be set). ``canonical_url`` is None without a ``base_url``."""
        base = self.config.base_url or ""
        assert base or not absolute
        # pages of one folder write the same relative URL for any page outside them
        # (the sidebar, menu and footer of a section's pages), so it is made once
        folder = url[:url.rstrip("/").rfind("/") + 1]
        shared = self._relative_urls

        def href_url(to_url: str, anchor: str | None = None) -> str:
            if absolute:
                return base + to_url.lstrip("/") + (f"#{anchor}" if anchor else "")
            if anchor is not None or not folder or to_url.startswith(url) \
                    or not to_url.endswith("/"):
                return relative_url(url, to_url, anchor)
            key = (folder, to_url)
            found = shared.get(key)
            if found is None:
                found = shared[key] = relative_url(url, to_url)
            return found

        def href(target: Page | GeneratedPage, anchor: str | None = None) -> str:
            return href_url(target.url, anchor)

        def asset(path: str) -> str:
            self.static_used.add(path.lstrip("/"))
            path = self.assets.published(path)
            return base + path.lstrip("/") if absolute else relative_asset(url, path)

        i18n = _merge_strings(self.config.strings, strings)
        ui: dict[str, str] = i18n.get("ui") or Strings("ui", {})
        # the pages of a folder share the header and footer: same links, same strings,
        # none of them current (else the page is a key of its own)
        own = absolute or strings is not None or url == "/" or any(
            t.startswith(url) for t in self._menu_urls())
        view = None if absolute else (folder, url if own else None)
        menus = self._menus.get(view) if view is not None else None
        if menus is None:
            menus = ([self.menu_link(e, href, current) for e in self.config.menu],
                     [self.menu_link(e, href, current) for e in self.config.footer])
            if view is not None:
                self._menus[view] = menus
        context = {
            "site": self.config,
            "i18n": i18n,
            "ui": ui,
            "asset": asset,
            "href": href,
            "href_url": href_url,
            "site_root": asset(""),
            "canonical_url": base + url.lstrip("/") if base else None,
            "feed_url": asset(FEED_PATH) if self.has_feed else None,
            "social": self.social(url, None),
            "home": self.tree.by_url["/"],
            "menu": list(menus[0]),
            "footer": list(menus[1]),
            "highlighted": False,
        }
        context["shared"] = self._shared_renderer(
            view, context, current.shown if current is not None else url)
        return context

    #: What a shared fragment (``shared("partials/header.html")``) sees of the context.
    SHARED_NAMES = ("site", "i18n", "ui", "asset", "href", "href_url", "site_root", "home",
                    "menu", "footer", "feed_url")

    def _menu_urls(self) -> list[str]:
        """The URLs of the pages the menu and footer link."""
        if self._menu_url_list is None:
            found = []
            stack = [*self.config.menu, *self.config.footer]
            while stack:
                entry = stack.pop()
                stack.extend(entry.children)
                if entry.page is not None:
                    with contextlib.suppress(LinkError):  # reported by check_menu
                        found.append(self.links.resolve(entry.page, what="menu entry")[0].url)
            self._menu_url_list = found
        return self._menu_url_list

    def _shared_renderer(self, view: tuple[str, str | None] | None, context: dict[str, Any],
                         rendering: str) -> Callable[[str], Markup]:
        """``shared(name)`` for templates: the partial ``name`` rendered once for every
        page with the same ``view`` (their folder; the page itself where it is one of
        the menu's targets, has strings of its own, or for 404.html: None, never
        shared), from :data:`SHARED_NAMES` of the context only (its errors name the
        page ``rendering``). The static files it names count as the page's
        (``static_used``), from cache or not."""
        def shared(name: str) -> Markup:
            key = (name, view)
            found = self._shared.get(key) if view is not None else None
            if found is None:
                before = self.static_used
                self.static_used = set()
                try:
                    template = load_template(self.env, name, self.project.template_dirs)
                    visible = {k: context[k] for k in self.SHARED_NAMES}
                    html = Markup(render_template(template, visible, self.project.template_dirs,
                                                  rendering))
                except TemplateError as err:
                    if "' is undefined" not in err.message:
                        raise
                    what, _, where = err.message.partition(" (rendering ")
                    raise TemplateError(
                        f"{what}; a partial included with shared() is rendered once for the "
                        f"pages of a folder and sees only {', '.join(self.SHARED_NAMES)} "
                        f"(include it with {{% include %}} to read the page)"
                        + (f" (rendering {where}" if where else ""), err.path, err.line) from None
                finally:
                    used, self.static_used = self.static_used, before
                found = (html, frozenset(used))
                if view is not None:
                    self._shared[key] = found
            self.static_used |= found[1]
            return found[0]

        return shared

    def page_context(self, page: Page, *, absolute: bool = False) -> dict[str, Any]:
        """The template context of one page (see templates/README.md for the names)."""
        context = self.common_context(page.url, absolute=absolute,
                                      strings=page.meta.get("strings"), current=page)
        href, ui = context["href"], context["ui"]
        before, after = self.tree.neighbours(page)
        scene = scene_of(page.trace) if page.trace is not None else None
        context.update({
            "page": page,
            "content": Markup(page.html),
            "lead": Markup(page.lead_html),
            "breadcrumb": self.tree.breadcrumb(page, href, ui.get("home", "home")),
            "sidebar": self.tree.sidebar(page, href, ui.get("introduction", "Introduction"),
                                         ui.get("sidebar_more", "{n}")),
            "children": [self.listing(p, href) for p in self.tree.children(page)]
            if page.is_index else [],
            "backlinks": self.tree.backlinks(page, href),
            "related": self.resolved_list(page, "related", href),
            "labs": self.resolved_list(page, "labs", href),
            "label": self.section_label(page),
            "tags": [NavLink(t, context["href_url"](tag_url(t))) for t in page_tags(page)],
            "prev_page": NavLink(before.title, href(before), description=before.description)
            if before is not None else None,
            "next_page": NavLink(after.title, href(after), description=after.description)
            if after is not None else None,
            "toc": table_of_contents(page.headings),
            "searchable": not page.draft,
            "search_section": " › ".join(p.title for p in self.tree.ancestors(page)),
            "trace": page.trace,
            "trace_json": script_json(page.trace) if page.trace is not None else Markup(""),
            "scene": scene,
            "scene_json": script_json(scene) if scene is not None else Markup(""),
            # Pygments' stylesheet only where there is highlighted code (1.4 KB gzipped)
            "highlighted": _HIGHLIGHTED in page.html or any(
                _HIGHLIGHTED in step["html"] for step in (page.trace or {}).get("steps", [])),
            "explore": self.explore_links(page, href),
            "simulator": self.simulator_context(page, context["asset"])
            if page.layout == SIMULATOR_LAYOUT and page.simulator is not None else None,
            "dates": self.dates(page, context["i18n"]),
            "social": self.social(page.url, page),
        })
        before_html, after_html = _split_at_player(page.html)
        context["content_before"], context["content_after"] = (Markup(before_html),
                                                               Markup(after_html))
        return context

    def render_page(self, page: Page) -> str:
        template = load_template(self.env, f"layouts/{page.layout}.html",
                                 self.project.template_dirs)
        return render_template(template, self.page_context(page), self.project.template_dirs,
                               page.shown)

    def render_special(self, name: str, url: str) -> str:
        """Render a page-less template (404.html) with absolute links: it is served at
        whatever URL was missing, so relative links would break."""
        front = self.tree.by_url["/"]
        context = self.page_context(front, absolute=True)
        context.update(content=Markup(""), lead=Markup(""), breadcrumb=[], sidebar=None,
                       children=[], backlinks=[], related=[], labs=[], label="", tags=[],
                       trace=None, scene=None, explore=[], simulator=None, prev_page=None,
                       next_page=None, toc=[],
                       searchable=False, search_section="", dates={},
                       # it stands for no address of its own (/404/ does not exist)
                       canonical_url=None, social=None)
        template = load_template(self.env, name, self.project.template_dirs)
        return render_template(template, context, self.project.template_dirs, name)

    def render_tag_pages(self) -> dict[str, bytes]:
        """``tags/index.html`` (every tag, with its number of pages) and one
        ``tags/SLUG/index.html`` per tag listing its pages; nothing without tags.

        Raises:
            BuildError: a page of the content is published under ``/tags/``.
        """
        tags = self.tree.tags()
        if not tags:
            return {}
        for page in self.pages:
            if page.url.startswith(TAGS_URL):
                raise BuildError(f"{TAGS_URL} is where the tag pages go; move this page",
                                 page.shown)
        ui: dict[str, str] = _merge_strings(self.config.strings, None).get("ui", {})
        index = GeneratedPage(TAGS_URL, ui.get("tags_title", "Tags"),
                              ui.get("tags_description", ""))
        files: dict[str, bytes] = {}
        entries = []
        for slug, (label, pages) in tags.items():
            title = ui.get("tag_title", "{tag}").replace("{tag}", label)
            description = ui.get("tag_description", "").replace("{tag}", label)
            tag_page = GeneratedPage(f"{TAGS_URL}{slug}/", title, description, layout="tag")
            context = self.generated_context(tag_page, [index])
            href = context["href"]
            context.update(tag=label, items=[self.listing(p, href) for p in pages])
            files[tag_page.output_path] = self.render_generated("tag.html", context)
            count_key = "tag_pages_one" if len(pages) == 1 else "tag_pages_other"
            entries.append((label, tag_page, ui.get(count_key, "{n}").replace(
                "{n}", str(len(pages)))))
        context = self.generated_context(index, [])
        href = context["href"]
        context["items"] = [NavLink(label, href(p), description=count)
                            for label, p, count in entries]
        files[index.output_path] = self.render_generated("tags.html", context)
        return files

    def generated_context(self, page: GeneratedPage, parents: list[GeneratedPage]
                          ) -> dict[str, Any]:
        """The context of a tag page: what base.html reads, with a breadcrumb through
        ``parents``."""
        context = self.common_context(page.url)
        href, ui = context["href"], context["ui"]
        crumbs = [NavLink(ui.get("home", "home"), href(self.tree.by_url["/"]))]
        crumbs += [NavLink(p.url.strip("/").split("/")[-1], href(p)) for p in parents]
        crumbs.append(NavLink(page.url.strip("/").split("/")[-1], None, True))
        context.update(page=page, breadcrumb=crumbs, sidebar=None, searchable=True,
                       search_section=" › ".join(p.title for p in parents))
        return context

    def render_generated(self, name: str, context: dict[str, Any]) -> bytes:
        template = load_template(self.env, name, self.project.template_dirs)
        return render_template(template, context, self.project.template_dirs,
                               name).encode("utf-8")

    def render_sitemap(self) -> str:
        """sitemap.xml: every published page and tag page, by its full URL (the
        configuration's :attr:`~stepwise.config.SiteConfig.absolute_base` must be set)."""
        base = self.config.absolute_base
        assert base is not None
        tags = self.tree.tags()
        lastmod: dict[str, PageDate | None] = {p.url: p.lastmod for p in self.pages}
        if tags:
            # a tag page changes when one of its pages does
            lastmod[TAGS_URL] = _newest(p.lastmod for _, pages in tags.values() for p in pages)
            for slug, (_label, pages) in tags.items():
                lastmod[f"{TAGS_URL}{slug}/"] = _newest(p.lastmod for p in pages)
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        for url, date in sorted(lastmod.items()):
            when = f"<lastmod>{date.iso}</lastmod>" if date is not None else ""
            lines.append(f"  <url><loc>{escape(base + url.lstrip('/'))}</loc>{when}</url>")
        lines.append("</urlset>")
        return "\n".join(lines) + "\n"

    def menu_link(self, entry: MenuEntry, href: Callable[..., str],
                  current: Page | None) -> NavLink:
        target = None
        if entry.page is not None:
            # the same entries on every page: resolved once (by identity, they are
            # the config's objects)
            resolved = self._menu_targets.get(id(entry))
            if resolved is None:
                try:
                    target, anchor = self.links.resolve(entry.page, what="menu entry")
                    resolved = (target, self.links.anchor_id(target, anchor, entry.page))
                except LinkError as err:  # already reported by check_menu
                    raise err.located(display_path(self.config.path), entry.line) from None
                self._menu_targets[id(entry)] = resolved
            target, anchor = resolved
        title = entry.title or (target.title if target else "")
        description = entry.description or (target.description if target else "")
        link = href(target, anchor) if target is not None else entry.url
        children = tuple(self.menu_link(c, href, current) for c in entry.children)
        return NavLink(title, link, target is current, description, children)

    def listing(self, page: Page, href: Callable[..., str]) -> NavLink:
        meta: dict[str, object] = {"layout": page.layout, "is_section": page.is_index}
        if not page.is_index:
            meta["minutes"] = reading_minutes(page)
        if page.steps is not None:
            meta["steps"] = page.steps
        if page.date is not None:
            words = self.config.strings.get("dates")
            meta["date"] = {"iso": page.date.iso, "text": format_date(page.date, words)}
        return NavLink(page.title, href(page), description=page.description, meta=meta)

    def resolved_list(self, page: Page, key: str, href: Callable[..., str]) -> list[NavLink]:
        out = []
        for i, ref in enumerate(page.meta.get(key, []) or []):
            try:
                target, anchor = self.links.resolve(str(ref), what=f"{key}: entry")
                anchor = self.links.anchor_id(target, anchor, str(ref))
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


_HIGHLIGHTED = '<pre class="highlight">'


def _newest(dates: Iterable[PageDate | None]) -> PageDate | None:
    """The latest of ``dates`` (None when none is given)."""
    known = [d for d in dates if d is not None]
    return max(known, key=lambda d: d.instant) if known else None


def _merge_strings(site: dict[str, dict[str, str]], page: Any) -> StringGroups:
    """The strings a page is rendered with: the site's (the theme's included), and the
    page's own ``strings:`` over them."""
    merged = StringGroups((group, Strings(group, values)) for group, values in site.items())
    if isinstance(page, dict):
        for group, values in page.items():
            if isinstance(values, dict):
                group_strings = merged.setdefault(str(group), Strings(str(group), {}))
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

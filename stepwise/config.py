"""``site.yaml``: the site-wide settings every page is rendered with.

The file holds the site title, ``base_url`` (used only where an absolute URL is
required: sitemap, canonical link, 404 page), the language, the theme, the top menu,
the footer links and the UI strings (button labels and the like, in the site's
language; the theme's own are the defaults, see :mod:`stepwise.theme`). Only ``title``
is required.
Menu and footer entries name pages with the same references as wiki-links
(``page: linux``), so renaming a page cannot leave a dead menu entry.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import BuildError, ConfigError, ErrorList, display_path
from .theme import DEFAULT, Theme, ThemeError, merged_strings, theme_chain
from .yamlsource import (
    YamlDocument,
    duplicate_keys,
    parse_yaml,
    yaml_error_line,
    yaml_error_message,
)

CONFIG_NAME = "site.yaml"


@dataclass(frozen=True)
class MenuEntry:
    """One link of the top menu or footer.

    ``page`` is a page reference (resolved like a wiki-link), ``url`` an external URL;
    exactly one is set. ``children`` holds a drop-down's entries.
    """

    title: str | None
    page: str | None = None
    url: str | None = None
    description: str | None = None
    children: tuple[MenuEntry, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class SiteConfig:
    """The parsed ``site.yaml``.

    Attributes:
        path: the file it was read from.
        title: the site name shown in the header and page titles.
        base_url: URL of the published site, always ending in ``/``: absolute
            (``https://example.org/docs/``) or a path (``/docs/``); None when
            ``site.yaml`` gives none (the build warns: the sitemap and 404 page need it).
        language: BCP 47 tag for ``<html lang>``.
        menu / footer: link entries (see :class:`MenuEntry`).
        copyright: the footer's copyright line.
        strings: UI strings by group, e.g. ``strings["player"]["play"]``: the theme's,
            overridden by the site's.
        theme: the theme's name; ``themes``: it and the themes it extends, in lookup
            order (:func:`stepwise.theme.theme_chain`).
        markdown_html: allow raw HTML in Markdown (off by default: content is untrusted).
        author: who writes the site (the feed's author; the site's title when empty).
        feed: write feed.xml (``feed: false`` turns it off); ``feed_entries``: how many
            pages it lists at most (``feed: {entries: 20}``).
    """

    path: Path
    title: str
    base_url: str | None
    language: str = "en"
    description: str = ""
    menu: tuple[MenuEntry, ...] = ()
    footer: tuple[MenuEntry, ...] = ()
    copyright: str = ""
    strings: dict[str, dict[str, str]] = field(default_factory=dict)
    markdown_html: bool = False
    theme: str = DEFAULT
    themes: tuple[Theme, ...] = ()
    base_url_line: int | None = None
    #: True when ``base_url`` came from the command line (``--base-url``), not the file
    base_url_from_flag: bool = False
    author: str = ""
    feed: bool = True
    feed_entries: int = 50

    @property
    def absolute_base(self) -> str | None:
        """``base_url`` when it is an absolute http(s) URL (what a sitemap needs)."""
        url = self.base_url
        return url if url is not None and url.lower().startswith(("http://", "https://")) \
            else None


_KNOWN_KEYS = {
    "title", "base_url", "language", "description", "menu", "footer", "copyright",
    "strings", "markdown", "theme", "author", "feed",
}


def load_config(root: Path) -> SiteConfig:
    """Read ``root/site.yaml``.

    Raises:
        ConfigError: the file is missing, is not valid YAML or not a mapping.
        ErrorList: of ConfigError, one per wrong value (all of them), each with its
            line and the fix (an unknown theme, a wrong ``theme.yaml`` included).
    """
    path = root / CONFIG_NAME
    shown = display_path(path)
    if not path.is_file():
        raise ConfigError(
            f"{CONFIG_NAME} not found in {root.resolve()}; run from the site's folder, "
            "pass --root, or start a site with `stepwise new DIR`",
            shown,
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(f"not valid UTF-8 at byte {err.start}", shown) from None
    try:
        doc = parse_yaml(text)
    except yaml.YAMLError as err:
        raise ConfigError(
            f"malformed YAML: {yaml_error_message(err, text)}", shown, yaml_error_line(err, 1, text)
        ) from None
    for key, first, second in duplicate_keys(doc.node):
        raise ConfigError(f"duplicate key '{key}' (first on line {first + 1}); keep one of them",
                          shown, second + 1)
    if not isinstance(doc.data, dict):
        raise ConfigError("must be a YAML mapping (key: value lines)", shown, 1)
    data: dict[str, Any] = doc.data

    problems: list[BuildError] = []

    def fail(message: str, *keypath: str | int) -> None:
        problems.append(ConfigError(message, shown, doc.line_of(keypath)))

    for key in data:
        if key not in _KNOWN_KEYS:
            close = difflib.get_close_matches(str(key), _KNOWN_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            fail(f"unknown key '{key}'; known keys: {', '.join(sorted(_KNOWN_KEYS))}{hint}", key)
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        fail("'title' is required and must be a string", "title")
    for key in ("language", "description", "copyright", "author"):
        if key in data and not isinstance(data[key], str):
            fail(f"'{key}' must be a string", key)
    base_url = data.get("base_url")
    if base_url is not None:
        base_url = normalize_base_url(base_url)
        if base_url is None:
            fail("'base_url' must be an http(s) URL or a path, e.g. https://example.org/docs/",
                 "base_url")
    theme = data.get("theme", DEFAULT)
    themes: tuple[Theme, ...] = ()
    if not isinstance(theme, str) or not theme.strip():
        fail("'theme' must be the name of an installed theme, e.g. theme: default", "theme")
        theme = DEFAULT
    try:
        themes = theme_chain(theme)
    except ThemeError as err:
        problems.append(err if err.path is not None
                        else err.located(shown, doc.line_of(("theme",))))
    strings = data.get("strings", {}) or {}
    if not isinstance(strings, dict):
        fail("'strings' must map groups to {key: text} mappings", "strings")
        strings = {}
    for group, values in strings.items():
        if not isinstance(values, dict):
            fail(f"strings.{group} must be a mapping of key: text", "strings", group)
            continue
        for name, text in values.items():
            if not isinstance(text, str):
                fail(f"strings.{group}.{name} must be a text (quote it)", "strings", group, name)
    markdown = data.get("markdown", {}) or {}
    if not isinstance(markdown, dict) or set(markdown) - {"html"} or \
            not isinstance(markdown.get("html", False), bool):
        fail("'markdown' must be a mapping like {html: false}", "markdown")
        markdown = {}
    feed, feed_entries = _feed(data.get("feed", True), fail)
    menu = _entries(data.get("menu", []), doc, ("menu",), shown, problems)
    footer = _entries(data.get("footer", []), doc, ("footer",), shown, problems)
    if problems:
        raise ErrorList(problems)
    assert isinstance(title, str)
    return SiteConfig(
        path=path,
        title=title,
        base_url=base_url,
        language=str(data.get("language", "en")),
        description=str(data.get("description", "")),
        menu=menu,
        footer=footer,
        copyright=str(data.get("copyright") or ""),
        strings=merged_strings(themes, {str(g): {str(k): str(v) for k, v in vals.items()}
                                        for g, vals in strings.items()}),
        markdown_html=bool(markdown.get("html", False)),
        theme=theme,
        themes=themes,
        base_url_line=doc.line_of(("base_url",)) if "base_url" in data else None,
        author=str(data.get("author") or ""),
        feed=feed,
        feed_entries=feed_entries,
    )


def _feed(value: object, fail: Any) -> tuple[bool, int]:
    """``feed:`` as (write it, how many entries): true (the default), false, or a
    mapping ``{entries: N}``."""
    from .feed import DEFAULT_ENTRIES

    if isinstance(value, bool):
        return value, DEFAULT_ENTRIES
    if isinstance(value, dict) and set(value) <= {"entries"}:
        entries = value.get("entries", DEFAULT_ENTRIES)
        if isinstance(entries, int) and not isinstance(entries, bool) and entries > 0:
            return True, entries
        fail("'feed.entries' must be a number of pages above 0, e.g. feed: {entries: 20}",
             "feed", "entries")
        return True, DEFAULT_ENTRIES
    fail("'feed' must be true, false or a mapping like {entries: 20}", "feed")
    return True, DEFAULT_ENTRIES


def normalize_base_url(value: object) -> str | None:
    """``value`` as a ``base_url`` (ending in ``/``), or None when it is neither an
    http(s) URL nor a path."""
    if not isinstance(value, str) or not _BASE_URL.match(value):
        return None
    return value if value.endswith("/") else value + "/"


#: base_url: an absolute http(s) URL or a path (never javascript: or data:)
_BASE_URL = re.compile(r"(https?://[^\s/]+)?/[^\s]*\Z|https?://[^\s/]+\Z", re.IGNORECASE)
#: a menu url: http(s), mailto, or a relative or root path
_MENU_URL = re.compile(r"(https?://|mailto:|/|\./|\.\./|#)[^\s]*\Z|[\w.-]+(/[^\s]*)?\Z",
                       re.IGNORECASE)
_ENTRY_KEYS = ("title", "page", "url", "description", "children")


def _entries(
    raw: Any, doc: YamlDocument, keypath: tuple[str | int, ...], shown: str,
    problems: list[BuildError],
) -> tuple[MenuEntry, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(ConfigError("must be a list of entries", shown, doc.line_of(keypath)))
        return ()
    out = []
    for i, item in enumerate(raw):
        here = (*keypath, i)
        line = doc.line_of(here)

        def bad(message: str, *key: str, here: tuple[str | int, ...] = here) -> None:
            problems.append(ConfigError(message, shown, doc.line_of((*here, *key))))

        if not isinstance(item, dict):
            bad("a menu entry must be a mapping with 'page:' or 'url:'")
            continue
        for key in item:
            if key not in _ENTRY_KEYS:
                close = difflib.get_close_matches(str(key), _ENTRY_KEYS, n=1)
                bad(f"unknown key '{key}' in a menu entry; known keys: "
                    f"{', '.join(_ENTRY_KEYS)}" + (f"; did you mean '{close[0]}'?" if close
                                                   else ""), str(key))
        for key in ("title", "page", "url", "description"):
            if item.get(key) is not None and not isinstance(item[key], str):
                bad(f"'{key}' of a menu entry must be a string", key)
                item = {k: v for k, v in item.items() if k != key}
        children = _entries(item.get("children", []), doc, (*here, "children"), shown, problems)
        page, url = item.get("page"), item.get("url")
        if url is not None and not _MENU_URL.match(url):
            bad("a menu url must be http(s)://, mailto: or a path", "url")
            continue
        if (page is None) == (url is None) and not children:
            bad("a menu entry needs exactly one of 'page:' or 'url:'")
            continue
        title = item.get("title")
        if title is None and page is None:
            bad("an entry without 'page:' needs a 'title:'")
            continue
        out.append(
            MenuEntry(
                title=None if title is None else str(title),
                page=None if page is None else str(page),
                url=None if url is None else str(url),
                description=None if item.get("description") is None else str(item["description"]),
                children=children,
                line=line,
            )
        )
    return tuple(out)


"""feed.xml: an Atom feed (RFC 4287) of the site's lessons and articles, by date.

Written beside index.html when ``site.yaml`` gives an absolute ``base_url`` (a feed
names its entries by full URLs) and does not say ``feed: false``. Every page of layout
``lesson``, ``article`` or ``lab`` that has a ``date:`` is an entry: the newest
``feed.entries`` of them (default :data:`DEFAULT_ENTRIES`), most recently updated first.
An entry's ``updated`` is the page's ``updated:`` (else its ``date:``), ``published``
its ``date:``; its ``id`` is its URL, its summary the page's ``description:`` (else its
lead), its categories its tags. The feed's own ``updated`` is its newest entry's, so the
file changes only when its entries do; a feed with no entry yet says 1970-01-01.
Every page links it in its ``<head>`` (``<link rel="alternate"
type="application/atom+xml">``), so readers find it from any page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import unescape
from typing import TYPE_CHECKING

from .nav import page_tags

if TYPE_CHECKING:
    from .config import SiteConfig
    from .content import Page

FEED_PATH = "feed.xml"
MEDIA_TYPE = "application/atom+xml"
DEFAULT_ENTRIES = 50
#: ``updated`` of a feed that has no entry yet (Atom requires one)
NEVER = "1970-01-01T00:00:00Z"
_TAG = re.compile(r"<[^>]+>")
# characters XML 1.0 does not allow, even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    from xml.sax.saxutils import escape  # here: it imports urllib and http (15 ms)

    return escape(_NOT_XML.sub("", value))


def _attr(value: str) -> str:
    from xml.sax.saxutils import quoteattr

    return quoteattr(_NOT_XML.sub("", value))


def entries(pages: Iterable[Page], limit: int) -> list[Page]:
    """The pages the feed lists: those with a date, most recently updated first (then
    by URL), at most ``limit``."""
    dated = [p for p in pages if p.lastmod is not None]
    dated.sort(key=lambda p: (-p.lastmod.instant.timestamp(), p.url))  # type: ignore[union-attr]
    return dated[:limit]


def summary(page: Page) -> str:
    """The text an entry summarises its page with: its description, else its lead."""
    return page.description or " ".join(unescape(_TAG.sub("", page.lead_html)).split())


def render_feed(config: SiteConfig, pages: Iterable[Page], base: str) -> bytes:
    """The Atom document of ``pages`` (the published lessons, articles and labs;
    ``base``: the site's absolute ``base_url``)."""
    listed = entries(pages, config.feed_entries)
    updated = listed[0].lastmod.rfc3339 if listed else NEVER  # type: ignore[union-attr]
    author = config.author or config.title
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={_attr(config.language)}>',
             f"  <id>{_text(base + FEED_PATH)}</id>",
             f"  <title>{_text(config.title)}</title>"]
    if config.description:
        lines.append(f"  <subtitle>{_text(config.description)}</subtitle>")
    lines += [f"  <updated>{updated}</updated>",
              f"  <author><name>{_text(author)}</name></author>",
              f'  <link rel="self" type="{MEDIA_TYPE}" href={_attr(base + FEED_PATH)}/>',
              f'  <link rel="alternate" type="text/html" href={_attr(base)}/>',
              "  <generator>stepwise</generator>"]
    if config.copyright:
        lines.append(f"  <rights>{_text(config.copyright)}</rights>")
    for page in listed:
        url = base + page.url.lstrip("/")
        assert page.lastmod is not None
        lines += ["  <entry>",
                  f"    <id>{_text(url)}</id>",
                  f"    <title>{_text(page.title)}</title>",
                  f'    <link rel="alternate" type="text/html" href={_attr(url)}/>']
        if page.date is not None:
            lines.append(f"    <published>{page.date.rfc3339}</published>")
        lines.append(f"    <updated>{page.lastmod.rfc3339}</updated>")
        text = summary(page)
        if text:
            lines.append(f"    <summary>{_text(text)}</summary>")
        lines += [f"    <category term={_attr(tag)}/>" for tag in page_tags(page)]
        lines.append("  </entry>")
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode("utf-8")

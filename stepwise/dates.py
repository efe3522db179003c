"""Dates of pages: ``date`` (published) and ``updated`` in frontmatter.

YAML reads ``date: 2026-03-01`` as a date and ``date: 2026-03-01T09:30:00+01:00`` (or
with a space for the ``T``) as a date-time; a quoted value is a string, read here with
the same two forms. A date-time without an offset is taken as UTC. Each value becomes a
:class:`PageDate`, which keeps what was written (a day, or an instant with its offset)
and sorts with any other: a date counts as its midnight UTC, so a date and a date-time
compare without Python's ``TypeError``.

Where they show: ``<time datetime>`` on the page and in listings (:func:`format_date`,
in the site's words: ``strings: dates:``), ``lastmod`` in the sitemap and ``updated``
in the Atom feed (:mod:`stepwise.feed`), the order of a section listed with ``sort:
date`` (:mod:`stepwise.nav`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

#: The frontmatter keys that hold dates.
DATE_KEYS = ("date", "updated")
#: How to write one, for error messages.
EXAMPLE = ("write YYYY-MM-DD, e.g. '{key}: 2026-03-01', or a date-time with its offset, "
           "e.g. '{key}: 2026-03-01T09:30:00+01:00'")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
#: what the default strings show: 1 March 2026
DEFAULT_FORMAT = "{day} {month} {year}"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


@dataclass(frozen=True)
class PageDate:
    """A page's date, as written: ``value`` is a :class:`datetime.date` (a day) or an
    aware :class:`datetime.datetime` (an instant, with the offset it was written in)."""

    value: dt.date

    @property
    def has_time(self) -> bool:
        return isinstance(self.value, dt.datetime)

    @property
    def instant(self) -> dt.datetime:
        """The moment it stands for, in UTC (a day: its midnight UTC); what sorts."""
        if isinstance(self.value, dt.datetime):
            return self.value.astimezone(dt.UTC)
        return dt.datetime(self.value.year, self.value.month, self.value.day, tzinfo=dt.UTC)

    @property
    def day(self) -> dt.date:
        """The calendar day, in the offset it was written in."""
        return self.value.date() if isinstance(self.value, dt.datetime) else self.value

    @property
    def iso(self) -> str:
        """For ``<time datetime>`` and the sitemap's ``lastmod`` (W3C datetime):
        ``2026-03-01`` or ``2026-03-01T09:30:00+01:00`` (``Z`` for UTC)."""
        if isinstance(self.value, dt.datetime):
            return _offset_z(self.value.isoformat())
        return self.value.isoformat()

    @property
    def rfc3339(self) -> str:
        """Always a date-time, as Atom wants it: a day is its midnight UTC,
        ``2026-03-01T00:00:00Z``."""
        value = self.value if isinstance(self.value, dt.datetime) else self.instant
        return _offset_z(value.isoformat())

    def __lt__(self, other: PageDate) -> bool:
        return self.instant < other.instant


def _offset_z(text: str) -> str:
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_date(value: object, key: str = "date") -> PageDate:
    """``value`` (what YAML made of the frontmatter) as a :class:`PageDate`.

    Raises:
        ValueError: the message says what is wrong and how to write it (without the
            key's location, which the caller adds).
    """
    how = EXAMPLE.format(key=key)
    if isinstance(value, dt.datetime):
        return PageDate(value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC))
    if isinstance(value, dt.date):
        return PageDate(value)
    if isinstance(value, bool) or not isinstance(value, str):
        got = "empty" if value is None else type(value).__name__
        raise ValueError(f"'{key}' must be a date (got {got}); {how}")
    text = value.strip()
    try:
        if _DAY.match(text):
            return PageDate(dt.date.fromisoformat(text))
        if len(text) >= 16 and text[:4].isdigit() and text[10:11] in ("T", "t", " "):
            parsed = dt.datetime.fromisoformat(text[:10] + "T" + text[11:].replace("z", "Z"))
            return parse_date(parsed, key)
    except ValueError as err:
        raise ValueError(f"'{key}' is not a date: '{text}' ({err}); {how}") from None
    raise ValueError(f"'{key}' is not a date: '{text}'; {how}")


def format_date(date: PageDate, strings: Mapping[str, str] | None = None) -> str:
    """The day of ``date`` in the site's words: ``strings`` is the ``dates`` group
    (``format``, with ``{day}``, ``{month}``, ``{year}``, ``{mm}``, ``{dd}``, and
    ``month_1`` ... ``month_12``); English without it: ``1 March 2026``."""
    strings = strings or {}
    day = date.day
    month = strings.get(f"month_{day.month}", MONTHS[day.month - 1])
    out = strings.get("format", DEFAULT_FORMAT)
    for name, text in (("{day}", str(day.day)), ("{month}", month), ("{year}", str(day.year)),
                       ("{mm}", f"{day.month:02d}"), ("{dd}", f"{day.day:02d}")):
        out = out.replace(name, text)
    return out

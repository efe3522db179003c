"""Social cards: the picture a link to a page shows when it is shared.

Each lesson gets a JPEG of 1200x630 pixels (what Open Graph and X/Twitter's
``summary_large_image`` show), drawn at build time with Pillow: the site's title, the
lesson's title, and the scene of its last step as the lesson's player draws it (the
participants with their states, the segments of that step, the timers running), with
the step's number and title. Every other page shares one card of the site's title and
description. The layout (``base.html`` through ``partials/social.html``) names them in
``og:image``; without an absolute ``base_url`` there is nowhere to point, so no card is
drawn.

The same inputs give the same bytes: the font ships with the theme (Inter, SIL Open
Font License, ``themes/default/fonts/``), text is laid out by FreeType alone (no
system shaping library that one machine has and another lacks), and the JPEG carries no
time stamp or metadata, at a fixed quality. A card's file name is a hash of
everything it is drawn from (texts, scene, the font files, this module's code and
Pillow's version), so it is known before it is drawn, changes whenever the
picture can, and may be cached forever: ``static/cards/linux/how/tcp-handshake.1a2b3c4d.jpg``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import __version__ as PILLOW_VERSION

if TYPE_CHECKING:  # imported where a card is drawn: a build that draws none skips them
    from PIL import ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
#: Where cards go in the output.
FOLDER = "static/cards/"
FONTS = Path(__file__).resolve().parent / "themes" / "default" / "fonts"
REGULAR, BOLD = FONTS / "Inter-Regular.otf", FONTS / "Inter-Bold.otf"
#: JPEG quality, fixed so the bytes are, with full colour resolution (4:4:4) so
#: coloured text stays sharp. JPEG rather than PNG for speed: encoding a card takes
#: 2.6 ms instead of 10 (PNG at zlib level 1; most of that is PNG's row filters, which
#: Pillow does not let us turn off), for files of about 80 KB instead of 53; at 4x
#: zoom the two are hard to tell apart. Every platform reading og:image takes JPEG.
JPEG_QUALITY = 90

BG = "#fbfbf8"
FG = "#1d2126"
MUTED = "#5b6470"
ACCENT = "#0b6e4f"
BORDER = "#dfe2e6"
#: the player's colours (static/css/player.css), darkened where white text sits on them
STATE_COLOURS = {"q": "#66707d", "l": "#17707e", "o": "#946400", "e": "#1b7d46",
                 "c": "#6d46c9"}
C2S, S2C, LOST = "#2f6fdb", "#c2501a", "#d1242f"

MARGIN = 64


@functools.cache
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(BOLD if bold else REGULAR), size,
                              layout_engine=ImageFont.Layout.BASIC)


@functools.cache
def _drawing_digest() -> str:
    """A hash of what draws every card: the fonts and this module's code."""
    digest = hashlib.sha256()
    for path in (REGULAR, BOLD, Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Card:
    """What one card shows.

    Attributes:
        site: the site's title; ``title``: the page's (a lesson's) or the site's
            description (the site card); ``scene``: for a lesson, what the player
            draws (``lanes``, ``layers``, ``categories``) with only the last frame in
            ``frames``; ``caption``: the line under it (``step 8/8 · ...``);
            ``words``: the player's strings (role names, ``lost``, timer labels).
        slug: the file's name before the hash (``linux/how/tcp-handshake``, ``site``).
    """

    site: str
    title: str
    slug: str
    scene: Mapping[str, Any] | None = None
    caption: str = ""
    words: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def key(self) -> str:
        """A hash of everything the card is drawn from (see the module)."""
        data = json.dumps([PILLOW_VERSION, _drawing_digest(), self.site, self.title,
                           self.scene, self.caption, dict(self.words)],
                          sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(data.encode("utf-8")).hexdigest()[:8]

    @property
    def path(self) -> str:
        """The card's path in the output."""
        return f"{FOLDER}{self.slug}.{self.key}.jpg"


def lesson_card(site: str, title: str, slug: str, trace: Mapping[str, Any],
                scene: Mapping[str, Any], words: Mapping[str, str]) -> Card:
    """The card of a lesson: its last step's scene (``scene`` as
    :func:`stepwise.trace.scene_of` makes it) and the step's number and title."""
    steps = trace.get("steps") or []
    frames = scene.get("frames") or []
    last = {k: v for k, v in scene.items() if k != "frames"}
    last["frames"] = frames[-1:]
    counter = str(words.get("step_counter", "step {n}/{total}"))
    caption = counter.replace("{n}", str(len(steps))).replace("{total}", str(len(steps)))
    if steps:
        caption += f" · {steps[-1].get('title', '')}"
    used = {k: str(v) for k, v in words.items()
            if k in ("lost", "timer_seconds") or k.startswith("timer_")
            or k in {str(lane.get("role")) for lane in scene.get("lanes", [])}}
    return Card(site, title, slug, last, caption, used)


class CardMaker:
    """Draws cards, keeping between rebuilds the JPEG of each card and the card of each
    lesson's trace (finding a card's name means computing the lesson's scene)."""

    def __init__(self) -> None:
        self._made: dict[str, bytes] = {}
        self._lessons: dict[int, tuple[Mapping[str, Any], tuple[object, ...], Card]] = {}
        #: the JPEG of a card a previous build drew, by its path, or None: an
        #: incremental build reads it from the output folder instead of drawing it
        self.previous: Callable[[str], bytes | None] = lambda path: None

    def image(self, card: Card) -> bytes:
        """The JPEG bytes of ``card``: drawn once, or read from the previous build."""
        data = self._made.get(card.path)
        if data is None:
            if len(self._made) > 4096:  # a long session of edits: start again
                self._made.clear()
            data = self.previous(card.path)
            if data is None:
                data = draw(card)
            self._made[card.path] = data
        return data

    def lesson(self, site: str, title: str, slug: str, trace: Mapping[str, Any],
               words: Mapping[str, str]) -> Card:
        """:func:`lesson_card` of a compiled trace (its scene by its model), the same
        card as long as the page keeps the same trace object (a recompiled page gets a
        new one)."""
        key = (site, title, slug, tuple(sorted((str(k), str(v)) for k, v in words.items())))
        known = self._lessons.get(id(trace))
        if known is not None and known[0] is trace and known[1] == key:
            return known[2]
        from .trace import scene_of

        card = lesson_card(site, title, slug, trace, scene_of(trace), words)
        if len(self._lessons) > 4096:
            self._lessons.clear()
        self._lessons[id(trace)] = (trace, key, card)
        return card


def draw(card: Card) -> bytes:
    """The card as JPEG bytes (RGB, 4:4:4, no metadata, quality fixed)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), BG)
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, 0, 12, HEIGHT), fill=ACCENT)
    site_font = _font(True, 30)
    pen.text((MARGIN, 48), _fit(card.site, site_font, WIDTH - 2 * MARGIN), font=site_font,
             fill=ACCENT)
    if card.scene is None:
        _site_card(pen, card)
    else:
        bottom = _title(pen, card.title, 100, max_lines=2, sizes=(56, 48, 42))
        _scene(pen, card.scene, card.words, max(bottom + 36, 230))
        caption = _font(False, 26)
        pen.line((MARGIN, HEIGHT - 74, WIDTH - MARGIN, HEIGHT - 74), fill=BORDER, width=2)
        pen.text((MARGIN, HEIGHT - 58), _fit(card.caption, caption, WIDTH - 2 * MARGIN),
                 font=caption, fill=MUTED)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    return out.getvalue()


def _site_card(pen: ImageDraw.ImageDraw, card: Card) -> None:
    """The site's card: its description, large."""
    _title(pen, card.title or card.site, 200, max_lines=4, sizes=(64, 56, 48))


def _title(pen: ImageDraw.ImageDraw, text: str, top: int, *, max_lines: int,
           sizes: tuple[int, ...]) -> int:
    """``text`` wrapped in the largest of ``sizes`` that fits in ``max_lines`` (the
    smallest, cut with an ellipsis, when none does); returns the y below it."""
    width = WIDTH - 2 * MARGIN
    for size in sizes:
        font = _font(True, size)
        lines = _wrap(text, font, width)
        if len(lines) <= max_lines:
            break
    lines = lines[:max_lines - 1] + [_fit(" ".join(lines[max_lines - 1:]), font, width)] \
        if len(lines) > max_lines else lines
    step = int(size * 1.18)
    for i, line in enumerate(lines):
        pen.text((MARGIN, top + i * step), line, font=font, fill=FG)
    return top + len(lines) * step


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _fit(text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """``text``, cut with an ellipsis to ``width`` pixels."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _centred(pen: ImageDraw.ImageDraw, x: float, y: float, text: str,
             font: ImageFont.FreeTypeFont, fill: str) -> None:
    pen.text((x - font.getlength(text) / 2, y), text, font=font, fill=fill)


def _scene(pen: ImageDraw.ImageDraw, scene: Mapping[str, Any], words: Mapping[str, str],
           top: int) -> None:
    """The last frame: a column per lane (role, name, address, a state badge per
    layer), its lifeline, the segments of the step as arrows between the lifelines
    (a lost one dashed, ending half-way in a cross), the timers under the lanes."""
    lanes = list(scene.get("lanes") or [])
    layers = list(scene.get("layers") or [])
    frame = (scene.get("frames") or [{}])[-1]
    if not lanes:
        return
    inset = 230
    span = WIDTH - 2 * inset
    xs = {lane["id"]: inset + (span * i / (len(lanes) - 1) if len(lanes) > 1 else span / 2)
          for i, lane in enumerate(lanes)}
    role_font, name_font, addr_font = _font(True, 17), _font(True, 28), _font(False, 19)
    badge_font, label_font = _font(True, 20), _font(False, 21)
    head_font, timer_font = _font(True, 21), _font(False, 18)
    life_end = HEIGHT - 124
    badge_top = top + 80
    for lane in lanes:
        x = xs[lane["id"]]
        role = str(words.get(str(lane.get("role")), lane.get("role", ""))).upper()
        _centred(pen, x, top, role, role_font, MUTED)
        _centred(pen, x, top + 22, _fit(str(lane.get("name", "")), name_font, 330), name_font,
                 FG)
        _centred(pen, x, top + 56, _fit(str(lane.get("address", "")), addr_font, 330),
                 addr_font, MUTED)
        states = (frame.get("states") or {}).get(lane["id"], {})
        for i, layer in enumerate(layers):
            state = str(states.get(layer, ""))
            kind = (scene.get("categories") or {}).get(layer, {}).get(state, "c")
            w = badge_font.getlength(state) + 36
            y = badge_top + i * 44
            pen.rounded_rectangle((x - w / 2, y, x + w / 2, y + 36), radius=18,
                                  fill=STATE_COLOURS.get(kind, STATE_COLOURS["c"]))
            _centred(pen, x, y + 6, state, badge_font, "#ffffff")
        pen.line((x, badge_top + len(layers) * 44 + 4, x, life_end), fill=BORDER, width=3)
    if len(layers) > 1:
        for i, layer in enumerate(layers):
            _centred(pen, WIDTH / 2, badge_top + i * 44 + 8, str(layer).upper(), role_font, MUTED)
    messages = list(frame.get("messages") or [])
    first_row = badge_top + len(layers) * 44 + 44
    row = 62
    rows = max(1, (life_end - 20 - first_row) // row + 1)
    for i, message in enumerate(messages[-rows:]):
        _message(pen, message, xs, first_row + i * row, words, (head_font, label_font))
    timers = list(frame.get("timers") or [])
    for lane in lanes:
        texts = []
        for timer in timers:
            if timer.get("lane") != lane["id"]:
                continue
            name = str(timer.get("name", ""))
            label = words.get("timer_" + name.lower().replace("-", "_").replace(" ", "_"), name)
            seconds = str(words.get("timer_seconds", "{n} s")).replace(
                "{n}", str(timer.get("seconds", "")))
            texts.append(f"{label} {seconds}")
        if texts:
            _centred(pen, xs[lane["id"]], life_end + 8, _fit(" · ".join(texts), timer_font, 330),
                     timer_font, MUTED)


def _message(pen: ImageDraw.ImageDraw, message: Mapping[str, Any], xs: Mapping[str, float],
             y: int, words: Mapping[str, str],
             fonts: tuple[ImageFont.FreeTypeFont, ImageFont.FreeTypeFont]) -> None:
    head_font, label_font = fonts
    x0, x1 = xs.get(str(message.get("from"))), xs.get(str(message.get("to")))
    if x0 is None or x1 is None:
        return
    lost = message.get("fate") == "lost"
    colour = LOST if lost else (C2S if x1 > x0 else S2C)
    end_x = (x0 + x1) / 2 if message.get("fate") != "delivered" else x1
    drop = 18
    end_y = y + (drop / 2 if end_x != x1 else drop)
    if lost:
        _dashed(pen, (x0, y), (end_x, end_y), colour)
        for dx in (-1, 1):  # a cross where it was lost (Inter has no ✕)
            pen.line((end_x - 10, end_y - 10 * dx, end_x + 10, end_y + 10 * dx), fill=colour,
                     width=5)
    else:
        pen.line((x0, y, end_x, end_y), fill=colour, width=4)
        direction = 1 if end_x > x0 else -1
        pen.polygon([(end_x, end_y), (end_x - direction * 16, end_y - 9),
                     (end_x - direction * 14, end_y + 7)], fill=colour)
    labels = list(message.get("labels") or [])[-1:]
    for label in labels:
        head = str(label.get("head", ""))
        rest = "".join(str(t) for t in label.get("text") or [])
        if lost:
            rest += f" × {words.get('lost', 'lost')}"
        total = head_font.getlength(head) + label_font.getlength(rest)
        max_width = abs(x1 - x0) - 40
        if total > max_width:
            rest = _fit(rest, label_font, max(0.0, max_width - head_font.getlength(head)))
            total = head_font.getlength(head) + label_font.getlength(rest)
        left = (x0 + x1) / 2 - total / 2
        top = y - 30
        pen.text((left, top), head, font=head_font, fill=colour)
        pen.text((left + head_font.getlength(head), top), rest, font=label_font, fill=FG)


def _dashed(pen: ImageDraw.ImageDraw, start: tuple[float, float], end: tuple[float, float],
            colour: str) -> None:
    (ax, ay), (bx, by) = start, end
    length = max(1.0, ((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5)
    dash = 14.0
    n = int(length // dash)
    for i in range(0, n, 2):
        t0, t1 = i * dash / length, min(1.0, (i + 1) * dash / length)
        pen.line((ax + (bx - ax) * t0, ay + (by - ay) * t0, ax + (bx - ax) * t1,
                  ay + (by - ay) * t1), fill=colour, width=4)

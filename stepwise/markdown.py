"""Markdown to HTML: markdown-it-py (CommonMark + tables) with our rules.

- headings get stable ids (mdit-py-plugins' anchors, GitHub-style slugs);
- fenced code is highlighted by Pygments with CSS classes (no inline styles, so a
  strict Content-Security-Policy holds);
- ``[[wiki-links]]`` (:mod:`stepwise.wikilinks`);
- ``::name`` on a line of its own is a directive (``::player`` places a lesson's
  player); it renders as a marker comment that the page layout replaces.

Raw HTML in Markdown is off unless ``site.yaml`` sets ``markdown: {html: true}``:
content may come from strangers. markdown-it's link validation refuses
``javascript:``, ``vbscript:`` and ``data:`` (but images) URLs.

Parsing and rendering are separate so that a build can parse every page (and learn
every heading id) before it resolves the first link.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Protocol

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin

from .extensions import extensions_plugin
from .wikilinks import record_line, wikilinks_plugin

DIRECTIVES = ("player",)
_DIRECTIVE = re.compile(r"^::([A-Za-z][\w-]*)\s*$")


def directive_marker(name: str) -> str:
    """The HTML comment a ``::name`` directive renders to."""
    return f"<!--stepwise:{name}-->"


@dataclass
class Problems:
    """What rendering one text found: ``(line, message)`` pairs."""

    errors: list[tuple[int | None, str]] = field(default_factory=list)
    warnings: list[tuple[int | None, str]] = field(default_factory=list)


@functools.cache
def _formatter() -> Any:
    """Pygments' HTML formatter, made once (making one computes its whole stylesheet),
    and Pygments imported only when a page has code to highlight."""
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True)


def _highlight(code: str, lang: str, _attrs: str) -> str:
    if not lang:
        return ""
    if _USED is not None:
        _USED.append((code, lang))
    return _highlighted(code, lang)


#: Fenced blocks as highlighted, by (code, language): sites repeat their snippets (the
#: same command on many pages), ``serve`` compiles a page again on every save, and a
#: build after an edit is given the blocks of the pages it compiles again
#: (:func:`remember`), so that it need not load Pygments at all (9 ms).
_HIGHLIGHTED: dict[tuple[str, str], str] = {}
_MAX_HIGHLIGHTED = 4096
#: the blocks :func:`highlighted_blocks` is collecting, or None
_USED: list[tuple[str, str]] | None = None


def _highlighted(code: str, lang: str) -> str:
    """A fenced block highlighted by Pygments, or "" for a language Pygments does not
    know."""
    html = _HIGHLIGHTED.get((code, lang))
    if html is None:
        lexer = _lexer(lang)
        if lexer is None:
            html = ""
        else:
            from pygments import highlight as pygments_highlight

            body = pygments_highlight(code, lexer, _formatter())
            html = (f'<pre class="highlight"><code class="language-{escape(lang)}">'
                    f"{body}</code></pre>\n")
        if len(_HIGHLIGHTED) >= _MAX_HIGHLIGHTED:  # a long session of edits: start again
            _HIGHLIGHTED.clear()
        _HIGHLIGHTED[(code, lang)] = html
    return html


@contextlib.contextmanager
def highlighted_blocks() -> Iterator[list[tuple[str, str, str]]]:
    """Collect the ``(code, language, html)`` of each fenced block highlighted while
    the ``with`` block runs (rendering one page's tokens), for :func:`remember`."""
    global _USED
    used: list[tuple[str, str]] = []
    blocks: list[tuple[str, str, str]] = []
    outer, _USED = _USED, used
    try:
        yield blocks
    finally:
        _USED = outer
        blocks += [(code, lang, html) for code, lang in used
                   if (html := _HIGHLIGHTED.get((code, lang)))]


def remember(blocks: Iterable[tuple[str, str, str]]) -> None:
    """Take up blocks highlighted by an earlier build (:func:`highlighted_blocks`):
    made from the same code by the same Pygments (the build state is dropped when
    any library's version changes), they are what highlighting would make."""
    for code, lang, html in blocks:
        if len(_HIGHLIGHTED) >= _MAX_HIGHLIGHTED:
            return
        _HIGHLIGHTED.setdefault((code, lang), html)


@functools.cache
def _lexer(lang: str) -> Any:
    """Pygments' lexer for ``lang``, or None; a lexer keeps no state between texts."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(lang)
    except ClassNotFound:
        return None


def _directive_rule(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    pos = state.bMarks[start] + state.tShift[start]
    line = state.src[pos : state.eMarks[start]]
    match = _DIRECTIVE.match(line)
    # top level only: inside a list or quote the player would split that element
    if not match or state.sCount[start] - state.blkIndent >= 4 or state.level != 0 \
            or state.blkIndent != 0:
        return False
    if silent:
        return True
    token = state.push("directive", "", 0)
    token.info = match.group(1)
    token.map = [start, start + 1]
    state.line = start + 1
    return True


def _render_directive(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    name = token.info
    if name not in DIRECTIVES:
        line = int(env.get("first_line", 1)) + (token.map[0] if token.map else 0)
        known = ", ".join(f"::{d}" for d in DIRECTIVES)
        env["problems"].errors.append((line, f"unknown directive ::{name}; known: {known}"))
        return ""
    env.setdefault("directives", []).append(name)
    return directive_marker(name) + "\n"


#: Element ids the templates and scripts use; a heading never takes one of them
#: ("## Lesson trace" would otherwise hide the player's data from it).
RESERVED_IDS = re.compile(
    r"(main|player|lesson-trace|lesson-scene|step-\d+|pl-.*|sw-.*|sim|sim-.*"
    r"|fn(ref)?\d+(-\d+)?|fn-.*|fnref-.*)")


#: The id of a heading whose text has no letter or digit ("## –", "## 🚀").
EMPTY_HEADING_ID = "section"


def heading_key(text: str) -> str:
    """GitHub's slug of a heading's text: NFC, lowercase, spaces become ``-``, every
    character but letters (with their accents), digits, ``_`` and ``-`` dropped
    (``## Ports 0-1023: well known`` -> ``ports-0-1023-well-known``, ``## TCP/UDP`` ->
    ``tcpudp``, ``## Сокеты`` -> ``сокеты``). Empty when the text has no letter or digit.
    """
    text = unicodedata.normalize("NFC", text).strip().lower().replace(" ", "-")
    slug = "".join(c for c in text if c.isalnum() or c in "_-"
                   or unicodedata.category(c)[0] == "M")
    return slug if any(c.isalnum() for c in slug) else ""


def heading_slug(text: str) -> str:
    """A heading's id: :func:`heading_key` of its text (``section`` when that is
    empty), kept clear of :data:`RESERVED_IDS`."""
    slug = heading_key(text) or EMPTY_HEADING_ID
    return f"{slug}-heading" if RESERVED_IDS.fullmatch(slug) else slug


def create_markdown(*, html: bool = False) -> MarkdownIt:
    """Build the markdown-it-py parser used for page bodies and step texts.

    Args:
        html: allow raw HTML blocks and inline HTML (off by default).
    """
    md = MarkdownIt("commonmark", {"html": html, "highlight": _highlight}).enable("table")
    md.block.ruler.before("paragraph", "directive", _directive_rule)
    md.add_render_rule("directive", _render_directive)
    anchors_plugin(md, min_level=1, max_level=6, slug_func=heading_slug)
    wikilinks_plugin(md)
    for name in ("link", "image"):  # their tokens learn their line, as wiki-links do
        md.inline.ruler.at(name, record_line(md.inline.ruler.__rules__[
            md.inline.ruler.__find__(name)].fn))
    extensions_plugin(md)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("image", _render_image)
    return md


def heading_ids(tokens: list[Token]) -> list[tuple[int, str, str]]:
    """The ``(level, id, text)`` of every heading in parsed ``tokens``, in order."""
    out = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            hid = tok.attrGet("id")
            inline = tokens[i + 1]
            text = "".join(c.content for c in inline.children or []
                           if c.type in ("text", "code_inline"))
            if hid:
                out.append((int(tok.tag[1]), str(hid), text))
    return out


class Resolver(Protocol):
    """What rendering asks of the page being built (see :class:`stepwise.compile.PageCompiler`)."""

    def resolve(self, meta: dict[str, Any], problems: Problems) -> str:
        """The HTML of one ``[[...]]`` (``meta`` of its ``wikilink`` token)."""
        ...

    def rewrite(self, url: str, line: int | None, kind: str, problems: Problems) -> str:
        """The URL to write for a Markdown link (``kind`` ``link``) or image
        (``image``) written as ``url`` at ``line``."""
        ...


def _render_link_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return _with_url(tokens[idx], "href", "link", env,
                     lambda: self.renderToken(tokens, idx, options, env))


def _render_image(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return _with_url(tokens[idx], "src", "image", env,
                     lambda: RendererHTML.image(self, tokens, idx, options, env))


def _with_url(token: Token, attr: str, kind: str, env: Any, render: Callable[[], str]) -> str:
    """Render ``token`` with its URL as the page's resolver rewrites it; the token
    itself is left as parsed (a page's tokens are rendered again on rebuilds)."""
    resolver = env.get("resolver")
    url = token.attrGet(attr)
    if resolver is None or not isinstance(url, str):
        return render()
    line = (token.meta or {}).get("line")
    token.attrSet(attr, resolver.rewrite(url, line, kind, env["problems"]))
    try:
        return render()
    finally:
        token.attrSet(attr, url)


def render_tokens(
    md: MarkdownIt, tokens: list[Token], resolver: Resolver, problems: Problems,
    first_line: int, callout_titles: dict[str, str] | None = None,
) -> tuple[str, list[str]]:
    """Render parsed tokens to HTML.

    Args:
        resolver: resolves each ``[[...]]`` and rewrites each Markdown link and image.
        problems: collects errors and warnings with file lines.
        first_line: 1-based file line of the text's first line.
        callout_titles: the title of a callout without one, by kind (``strings:
            callouts:`` of ``site.yaml`` and the page).

    Returns:
        ``(html, directives)``: the HTML and the names of the directives it used.
    """
    env: dict[str, Any] = {
        "callout_titles": callout_titles or {},
        "wikilink": lambda meta: resolver.resolve(meta, problems),
        "resolver": resolver,
        "problems": problems,
        "first_line": first_line,
    }
    if len(tokens) == 1 and tokens[0].type == "inline":
        renderer = md.renderer
        assert isinstance(renderer, RendererHTML)
        html = renderer.renderInline(tokens[0].children or [], md.options, env)
    else:
        html = md.renderer.render(tokens, md.options, env)
    return html, list(env.get("directives", []))


def parse(md: MarkdownIt, text: str, first_line: int, *, inline: bool = False,
          exact_lines: bool = True) -> list[Token]:
    """Parse ``text`` whose first line is line ``first_line`` of its file.

    With ``inline``, ``text`` is one paragraph's worth of inline Markdown (a ``lead:``),
    rendered without the ``<p>``. Without ``exact_lines`` (text from a folded or
    quoted YAML value), every position is reported at ``first_line``.
    """
    env = {"first_line": first_line, "exact_lines": exact_lines}
    return md.parseInline(text, env) if inline else md.parse(text, env)


def highlight_css(cache: Path | None = None) -> str:
    """Pygments CSS for the ``.highlight`` class: a light theme, and a dark one under
    ``prefers-color-scheme: dark``.

    Args:
        cache: a folder to keep it in between builds (the build cache): making it
            imports Pygments' formatter and styles, 6 ms that a build after a one-page
            edit need not spend. The file is named after the Pygments version, the
            only input; None: made in memory (once per process).
    """
    if cache is None:
        return _highlight_css()
    from pygments import __version__ as pygments_version

    path = cache / f"highlight-{pygments_version}.css"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    css = _highlight_css()
    with contextlib.suppress(OSError):  # best effort, as the rest of the build cache
        cache.mkdir(exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(css, encoding="utf-8")
        os.replace(tmp, path)  # whole or not at all: another build may read it
    return css


@functools.cache
def _highlight_css() -> str:
    from pygments.formatters import HtmlFormatter

    light = HtmlFormatter(style="default").get_style_defs(".highlight")
    dark = HtmlFormatter(style="monokai").get_style_defs(".highlight")
    skip = ("pre", "td.", "span.linenos", ".highlight .hll", ".highlight  {")
    light = "\n".join(line for line in light.splitlines() if not line.startswith(skip))
    dark = "\n".join(
        line for line in dark.splitlines()
        if line.startswith(".highlight .") and not line.startswith(".highlight .hll")
    )
    return (
        "/* generated by stepwise from Pygments' default and monokai styles */\n"
        f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
    )

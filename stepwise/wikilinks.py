"""The wiki-link syntax as a markdown-it-py inline rule.

``[[slug]]``, ``[[slug|label]]``, ``[[slug#heading-id|label]]`` and
``[[section/slug]]`` become ``wikilink`` tokens at parse time; they are resolved at
render time by the callable in ``env["wikilink"]`` (see :mod:`stepwise.markdown`), once
every page and heading of the build is known. Inside code spans and code blocks the
syntax stays literal, because those rules consume their text before this one runs.

Each token records its line in the source file (``token.meta["line"]``), so an unknown
link is reported where the author wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererProtocol
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

OPEN = "[["


def wikilinks_plugin(md: MarkdownIt) -> None:
    """Add the ``[[...]]`` rule before markdown-it's own ``link`` rule."""
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.core.ruler.after("inline", "wikilink_lines", _attach_lines)
    md.add_render_rule("wikilink", _render_wikilink)


# the inner text may not hold [ ] or a newline, so a match never scans past the next
# bracket: an unclosed "[[" costs a few characters, not the rest of the paragraph
_LINK = re.compile(r"\[\[([^\[\]\n]*)\]\]")


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    start = state.pos
    if not state.src.startswith(OPEN, start):
        return False
    match = _LINK.match(state.src, start)
    if match is None or not match.group(1).strip():
        return False
    inner = match.group(1)
    if not silent:
        target, _, label = inner.partition("|")
        token = state.push("wikilink", "a", 0)
        token.meta = {
            "target": target.strip(),
            "label": label.strip() or None,
            "raw": inner,
            "newlines": _newlines_before(state, start),
        }
        token.markup = f"[[{inner}]]"
    state.pos = match.end()
    return True


def _newlines_before(state: StateInline, pos: int) -> int:
    """Newlines in the inline text before ``pos``, counted on from the previous link
    of the same text (counting from the start each time is quadratic)."""
    cache = state.env.get("_wikilink_lines")
    if cache is None or cache[0] is not state.src or cache[1] > pos:
        cache = (state.src, 0, 0)
    src, last, count = cache
    count += src.count("\n", last, pos)
    state.env["_wikilink_lines"] = (src, pos, count)
    return count


def _attach_lines(state: StateCore) -> None:
    first = int(state.env.get("first_line", 1))
    exact = state.env.get("exact_lines", True)  # False: a folded or quoted YAML text
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        base = block.map[0] if block.map else 0
        for child in block.children:
            if child.type == "wikilink":
                child.meta["line"] = first + base + child.meta["newlines"] if exact else first


def _render_wikilink(
    self: RendererProtocol,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: dict[str, Any],
) -> str:
    resolve = env.get("wikilink")
    if resolve is None:
        raise RuntimeError("env['wikilink'] resolver missing: render through stepwise.markdown")
    html: str = resolve(tokens[idx].meta)
    return html

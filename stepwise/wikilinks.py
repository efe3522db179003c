"""The wiki-link syntax as a markdown-it-py inline rule.

``[[name]]``, ``[[name|label]]``, ``[[name#heading|label]]`` and ``[[folder/name]]``
become ``wikilink`` tokens at parse time; they are resolved at render time by the
callable in ``env["wikilink"]`` (see :mod:`stepwise.markdown`), once every page and
heading of the build is known. A label may hold balanced brackets (``[[port|ports
[IANA]]]``); the name may not. Inside code spans and code blocks the syntax stays
literal, because those rules consume their text before this one runs; ``\\[[`` is
literal too.

Each token records its line in the source file (``token.meta["line"]``), so an unknown
link is reported where the author wrote it. A ``[[`` that does not become a link (an
unclosed or unbalanced one, one split by a table cell's ``|``, one across lines) gets a
``wikilink_warning`` token instead: rendered as nothing, it reports a warning with the
line and the way to write it, so no link is ever dropped without a word.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererProtocol
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

OPEN = "[["
#: the longest text between ``[[`` and ``]]`` looked at (a stray ``[[`` costs this much)
MAX_INNER = 500


def wikilinks_plugin(md: MarkdownIt) -> None:
    """Add the ``[[...]]`` rule before markdown-it's own ``link`` rule, and the
    warnings for a ``[[`` that did not become a link."""
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.core.ruler.after("inline", "wikilink_lines", _attach_lines)
    md.add_render_rule("wikilink", _render_wikilink)
    md.add_render_rule("wikilink_warning", _render_warning)


def _closing(src: str, pos: int, end: int) -> tuple[int | None, str, int]:
    """Where the ``]]`` that closes a ``[[`` whose text starts at ``pos`` is:
    ``(index, "", index)``, or ``(None, reason, where it went wrong)``."""
    depth = 0
    limit = min(end, pos + MAX_INNER)
    i = pos
    while i < limit:
        char = src[i]
        if char == "\n":
            return None, "newline", i
        if char == "\\":
            i += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            if depth == 0:
                return (i, "", i) if src.startswith("]]", i) else (None, "unbalanced", i + 1)
            depth -= 1
        i += 1
    return None, "unclosed", min(limit, pos + 22)


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    start = state.pos
    if not state.src.startswith(OPEN, start):
        return False
    end, reason, stop = _closing(state.src, start + 2, state.posMax)
    inner = state.src[start + 2:end] if end is not None else ""
    target, _, label = inner.partition("|")
    if end is not None and not inner.strip():
        reason = "empty"
    elif end is not None and ("[" in target or "]" in target):
        reason = "brackets"
    if reason:
        if not silent:
            shown = state.src[start:stop + 2 if end is not None else stop]
            _note_failure(state, start, reason, shown.split("\n", 1)[0].rstrip())
        return False
    if not silent:
        token = state.push("wikilink", "a", 0)
        token.meta = {
            "target": target.strip(),
            "label": label.strip() or None,
            "raw": inner,
            "newlines": _newlines_before(state, start),
            "embed": start > 0 and state.src[start - 1] == "!",
        }
        token.markup = f"[[{inner}]]"
    assert end is not None
    state.pos = end + 2
    return True


def _note_failure(state: StateInline, pos: int, reason: str, shown: str) -> None:
    failures = state.env.setdefault("_wikilink_failures", {})
    failures[(id(state.src), pos)] = (reason, _newlines_before(state, pos), shown)


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


def record_line(rule: Any) -> Any:
    """Wrap an inline rule (markdown-it's ``link``, ``image``) so that the first token
    it pushes records its newlines, like a wiki-link: its line is then known."""

    def wrapped(state: StateInline, silent: bool) -> bool:
        start, count = state.pos, len(state.tokens)
        newlines = _newlines_before(state, start) if not silent else 0
        if not rule(state, silent):
            return False
        if not silent:
            # the first token it pushed may be the text pending before it
            for token in state.tokens[count:]:
                if token.type != "text":
                    token.meta = {**(token.meta or {}), "newlines": newlines}
                    break
        return True

    return wrapped


#: what each reason for a ``[[`` not to be a link tells the author
_REASONS = {
    "newline": "a wiki-link must be on one line: join the lines of [[...]]",
    "unbalanced": "its brackets do not pair up: a label may hold balanced brackets "
                  "([[port|ports [IANA]]]); write \\[ for a lone bracket",
    "unclosed": "it is never closed: end it with ]]",
    "empty": "it names no page: write [[page name]]",
    "brackets": "a page name cannot hold [ or ]: put them in the label "
                "([[port|ports [IANA]]])",
    "table": "a | inside a table cell ends the cell: write the label's pipe as \\| "
             "([[port\\|ports]])",
}


def _attach_lines(state: StateCore) -> None:
    first = int(state.env.get("first_line", 1))
    exact = state.env.get("exact_lines", True)  # False: a folded or quoted YAML text
    failures = state.env.pop("_wikilink_failures", {})
    for i, block in enumerate(state.tokens):
        if block.type != "inline" or block.children is None:
            continue
        base = block.map[0] if block.map else 0
        for child in block.children:
            if child.meta and "newlines" in child.meta:
                child.meta["line"] = first + base + child.meta["newlines"] if exact else first
        if not failures:
            continue
        in_cell = i > 0 and state.tokens[i - 1].type in ("td_open", "th_open")
        for (src_id, _pos), (reason, newlines, text) in sorted(failures.items()):
            if src_id != id(block.content):
                continue
            if in_cell and reason == "unclosed":
                reason = "table"
            warning = Token("wikilink_warning", "", 0)
            warning.meta = {
                "line": first + base + newlines if exact else first,
                "message": f"{text} is not a wiki-link: {_REASONS[reason]}; to show "
                           "[[ as text, write \\[[ or put it in `code`",
            }
            block.children.append(warning)


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


def _render_warning(
    self: RendererProtocol,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: dict[str, Any],
) -> str:
    problems = env.get("problems")
    if problems is not None:
        meta = tokens[idx].meta
        problems.warnings.append((meta["line"], meta["message"]))
    return ""

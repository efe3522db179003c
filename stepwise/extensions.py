"""The Markdown authors of technical tutorials expect, beyond CommonMark and tables.

Each is a rule of mdit-py-plugins (or of markdown-it-py itself) where one exists:

- footnotes ``[^1]`` and ``^[inline]`` (``footnote``), task lists ``- [x]``
  (markdown-it-py's ``tasklists``), definition lists (``deflist``);
- callouts, in the spellings authors bring: GitHub's and Obsidian's ``> [!NOTE]`` (with
  an optional title, and ``-``/``+`` to fold it), MkDocs' ``!!! note "Title"`` and
  ``??? note`` (``admon``), and ``::: warning Title`` containers (``container``). All
  three become one HTML shape, ``<aside class="callout callout-KIND">`` (``<details>``
  when folded), styled by the theme; a callout without a title shows its kind's name
  from ``site.yaml``'s ``strings: {callouts: ...}``. Obsidian's blockquote spelling
  is our own small rule: markdown-it-py's ``alerts`` knows only GitHub's five kinds
  and no titles;
- attributes on images, ``![](x.png){width=300}`` (``attrs``, on images only; width,
  height and class are kept, anything else dropped with a warning);
- math, ``$...$`` and ``$$...$$`` (``dollarmath``), rendered to MathML at build time by
  latex2mathml: no JavaScript, no CDN. A ``$`` followed by a space or a digit is not
  math, so prices stay prices.

Whatever looks like one of these but did not parse (a footnote with no definition, a
``:::`` with no kind, an unknown callout kind, ``{width=300}`` after a space, unknown
LaTeX) warns with ``path:line`` instead of showing its syntax as text without a word.
Warnings are tokens (``syntax_warning``) reported when the page renders, like the
wiki-links' (:mod:`stepwise.wikilinks`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin

from .wikilinks import record_line

#: Callout kinds and the kind each alias stands for (Obsidian's list; GitHub's five are
#: among them). The theme colours them by family.
CALLOUT_KINDS = {
    "note": "note", "abstract": "abstract", "summary": "abstract", "tldr": "abstract",
    "info": "info", "todo": "todo", "tip": "tip", "hint": "tip", "important": "important",
    "success": "success", "check": "success", "done": "success", "question": "question",
    "help": "question", "faq": "question", "warning": "warning", "caution": "caution",
    "attention": "warning", "failure": "failure", "fail": "failure", "missing": "failure",
    "danger": "danger", "error": "danger", "bug": "bug", "example": "example",
    "quote": "quote", "cite": "quote",
}
#: the kinds' names where ``site.yaml`` gives none
DEFAULT_TITLES = {kind: kind.capitalize() for kind in set(CALLOUT_KINDS.values())}
#: attributes an image may take from ``{...}``
IMAGE_ATTRS = ("width", "height", "class")

_QUOTE_CALLOUT = re.compile(r"^\[!([A-Za-z][\w-]*)\]([+-]?)[ \t]*(.*)$")
_KIND = re.compile(r"^\s*([A-Za-z][\w-]*)\s*(.*)$")


def extensions_plugin(md: MarkdownIt) -> None:
    """Add footnotes, task lists, definition lists, callouts, image attributes and
    math to ``md`` (see the module's docstring), and the warnings for look-alikes."""
    md.options["tasklists"] = True
    md.use(footnote_plugin)
    md.use(deflist_plugin)
    md.use(admon_plugin)
    md.use(container_plugin, name="callout", validate=lambda params, *_: bool(
        _KIND.match(params)))
    md.use(attrs_plugin, after=("image",))
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, allow_labels=False,
           allow_blank_lines=False)
    md.inline.ruler.at("math_inline", record_line(md.inline.ruler.__rules__[
        md.inline.ruler.__find__("math_inline")].fn))
    md.core.ruler.after("block", "callouts", _callouts)
    md.core.ruler.after("inline", "syntax_checks", _syntax_checks)
    for name in ("callout_open", "callout_close", "callout_title_open", "callout_title_close"):
        md.add_render_rule(name, _RENDER[name])
    md.add_render_rule("math_inline", _render_math)
    md.add_render_rule("math_block", _render_math)
    md.add_render_rule("syntax_warning", _render_warning)


# -- callouts --------------------------------------------------------------------------

def _callouts(state: StateCore) -> None:
    """Turn the three callout spellings into ``callout_open`` / ``callout_close``
    tokens, with ``callout_title_*`` tokens around an inline title when one is given."""
    tokens = state.tokens
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type == "blockquote_open":
            _quote_callout(state, i)
        elif token.type == "admonition_open":
            _rename(tokens, i, "admonition")
            params = token.info.strip()
            kind, _, title = params.partition(" ")
            token.meta = {"kind": kind.lower(), "fold": {"???": "-", "???+": "+"}.get(
                token.markup, ""), "row": token.map[0] if token.map else 0}
            if not title.strip() and tokens[i + 1].type == "admonition_title_open":
                del tokens[i + 1:i + 4]  # the plugin's English default: ours is in strings
            else:
                for j in (i + 1, i + 3):
                    tokens[j].type = tokens[j].type.replace("admonition", "callout")
        elif token.type == "container_callout_open":
            _rename(tokens, i, "container_callout")
            match = _KIND.match(token.info)
            assert match is not None  # the container's validate checked it
            token.meta = {"kind": match.group(1).lower(), "fold": "",
                          "row": token.map[0] if token.map else 0}
            if match.group(2).strip():
                tokens[i + 1:i + 1] = _title_tokens(match.group(2).strip(), token.map)
        i += 1


def _rename(tokens: list[Token], i: int, prefix: str) -> None:
    """``PREFIX_open`` at ``i`` and its ``PREFIX_close`` become ``callout_*``."""
    level = tokens[i].level
    tokens[i].type = "callout_open"
    for j in range(i + 1, len(tokens)):
        if tokens[j].type == f"{prefix}_close" and tokens[j].level == level:
            tokens[j].type = "callout_close"
            return


def _title_tokens(title: str, where: list[int] | None) -> list[Token]:
    opening = Token("callout_title_open", "p", 1)
    inline = Token("inline", "", 0)
    inline.content, inline.children = title, []
    inline.map = [where[0], where[0] + 1] if where else None
    return [opening, inline, Token("callout_title_close", "p", -1)]


def _quote_callout(state: StateCore, i: int) -> None:
    tokens = state.tokens
    if i + 2 >= len(tokens) or tokens[i + 1].type != "paragraph_open":
        return
    inline = tokens[i + 2]
    first, _, rest = inline.content.partition("\n")
    match = _QUOTE_CALLOUT.match(first.strip())
    if match is None:
        return
    kind, fold, title = match.groups()
    opening = tokens[i]
    _rename(tokens, i, "blockquote")
    opening.meta = {"kind": kind.lower(), "fold": fold,
                    "row": opening.map[0] if opening.map else 0}
    if rest.strip():
        inline.content = rest
        if inline.map:
            inline.map = [inline.map[0] + 1, inline.map[1]]
    else:
        del tokens[i + 1:i + 4]  # the marker was the whole paragraph
    if title.strip():
        tokens[i + 1:i + 1] = _title_tokens(title.strip(), opening.map)


def _kind_of(token: Token, env: dict[str, Any]) -> tuple[str, str]:
    """``(css kind, default title)`` of a callout; an unknown kind warns (once) and is
    shown as a note."""
    kind = token.meta["kind"]
    known = CALLOUT_KINDS.get(kind)
    if known is None:
        close = difflib.get_close_matches(kind, sorted(CALLOUT_KINDS), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        line = int(env.get("first_line", 1)) + token.meta["row"]
        _warn(env, line, f"unknown callout kind '{kind}', shown as a note; "
              f"{hint}known kinds: {', '.join(sorted(set(CALLOUT_KINDS.values())))}")
        known = "note"
    titles = env.get("callout_titles") or {}
    return known, str(titles.get(known, DEFAULT_TITLES[known]))


def _render_callout_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                         env: Any) -> str:
    token = tokens[idx]
    kind, default = _kind_of(token, env)
    titled = idx + 1 < len(tokens) and tokens[idx + 1].type == "callout_title_open"
    fold = token.meta["fold"]
    if fold:
        opened = " open" if fold == "+" else ""
        head = f'<details class="callout callout-{kind}"{opened}>\n'
        title = f'<summary class="callout-title">{escape(default)}</summary>\n'
        return head if titled else head + title
    head = f'<aside class="callout callout-{kind}">\n'
    return head if titled else head + f'<p class="callout-title">{escape(default)}</p>\n'


def _folded(tokens: Sequence[Token], idx: int, step: int) -> bool:
    """Whether the callout around the title token at ``idx`` is folded."""
    j = idx
    while 0 <= j < len(tokens) and tokens[j].type != "callout_open":
        j += step
    return 0 <= j < len(tokens) and bool(tokens[j].meta.get("fold"))


def _render_callout_title_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                               env: Any) -> str:
    tag = "summary" if _folded(tokens, idx, -1) else "p"
    return f'<{tag} class="callout-title">'


def _render_callout_title_close(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                                env: Any) -> str:
    return "</summary>\n" if _folded(tokens, idx, -1) else "</p>\n"


def _render_callout_close(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                          env: Any) -> str:
    level = tokens[idx].level
    for j in range(idx - 1, -1, -1):
        if tokens[j].type == "callout_open" and tokens[j].level == level:
            return "</details>\n" if tokens[j].meta.get("fold") else "</aside>\n"
    return "</aside>\n"


_RENDER = {
    "callout_open": _render_callout_open,
    "callout_close": _render_callout_close,
    "callout_title_open": _render_callout_title_open,
    "callout_title_close": _render_callout_title_close,
}


# -- math ------------------------------------------------------------------------------

def _render_math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    block = token.type == "math_block"
    latex = token.content.strip()
    problem = _latex_problem(latex)
    if problem is None:
        # imported here: a site without math does not pay its 20 ms import
        from latex2mathml.converter import convert as latex_to_mathml

        try:
            mathml = latex_to_mathml(latex, display="block" if block else "inline")
        except Exception as err:  # noqa: BLE001 - latex2mathml raises many kinds, all a warning
            mathml = ""
            problem = f"latex2mathml cannot read it ({type(err).__name__}{_said(err)})"
        unknown = re.search(r"<m[io][^>]*>(\\[A-Za-z]+)</m[io]>", mathml)
        if problem is not None:
            pass
        elif unknown:
            problem = f"unknown LaTeX command {unknown.group(1)}"
        else:
            return f'<div class="math">{mathml}</div>\n' if block else mathml
    line = _line(token, env)
    _warn(env, line, f"math not rendered: {problem}; fix the LaTeX (latex2mathml renders "
          "it), or write \\$ for a dollar sign")
    shown = escape(f"$${latex}$$" if block else f"${latex}$")
    return f'<pre class="math-error">{shown}</pre>\n' if block else \
        f'<code class="math-error">{shown}</code>'


def _said(err: Exception) -> str:
    text = str(err).strip()
    return f": {text}" if text else ""


def _latex_problem(latex: str) -> str | None:
    """What is wrong with ``latex`` that latex2mathml would render wrong without a word
    (it is lenient): unbalanced braces, or nothing at all."""
    if not latex:
        return "it is empty"
    depth = 0
    for match in re.finditer(r"\\.|[{}]", latex):
        if match.group() == "{":
            depth += 1
        elif match.group() == "}":
            depth -= 1
            if depth < 0:
                return "a '}' closes no '{'"
    return "a '{' is never closed" if depth else None


# -- look-alikes -----------------------------------------------------------------------

_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]+)\]")
_BLOCK_MARKERS = re.compile(r"^(:{3,}|!!!|\?\?\?\+?)(\s|$)")


def _syntax_checks(state: StateCore) -> None:
    """Warn where the source looks like an extension's syntax that did not parse, and
    keep only the allowed attributes on images."""
    first = int(state.env.get("first_line", 1))
    exact = state.env.get("exact_lines", True)
    tokens = state.tokens
    for i, block in enumerate(list(tokens)):
        if block.type != "inline" or block.children is None:
            continue
        base = (block.map[0] if block.map else 0) if exact else 0
        in_paragraph = i > 0 and tokens[i - 1].type == "paragraph_open"
        if in_paragraph and _BLOCK_MARKERS.match(block.content):
            marker = _BLOCK_MARKERS.match(block.content).group(1)  # type: ignore[union-attr]
            _push(block, first + base, f"'{marker}' here is text, not a callout: write "
                  f"'{marker[:3]} note' (or tip, warning, ...) on a line of its own, the "
                  "callout's text below it" + (", and close it with a ':::' line"
                                                if marker.startswith(":") else
                                                " indented by 4 spaces"))
        newlines = 0
        previous: Token | None = None
        for child in list(block.children):
            if child.type in ("softbreak", "hardbreak"):
                newlines += 1
            line = first + base + (newlines if exact else 0)
            if child.type == "text":
                for match in _FOOTNOTE_REF.finditer(child.content):
                    label = match.group(1)
                    _push(block, line, f"footnote [^{label}] has no definition: add a line "
                          f"'[^{label}]: the note' to the page (or write \\[^{label}] for "
                          "the text)")
                if "$$" in child.content:
                    _push(block, line, "$$ inside a paragraph is not math: put $$ on lines "
                          "of their own, before and after the formula")
                if previous is not None and previous.type == "image" and \
                        re.match(r"\s*\{[^}]*[=.#]", child.content):
                    _push(block, line, "these image attributes did not parse: write them "
                          "right after the image, with no space, as {width=300 .class} "
                          '(quote a value with spaces: title="a b")')
            if child.type == "image":
                _check_image_attrs(block, child, line)
            previous = child


def _check_image_attrs(block: Token, image: Token, line: int) -> None:
    for key, value in list(image.attrs.items()):
        if key in ("src", "alt", "title"):
            continue
        if key not in IMAGE_ATTRS:
            del image.attrs[key]
            _push(block, line, f"image attribute '{key}' is not allowed (allowed: "
                  f"{', '.join(IMAGE_ATTRS)}); it was dropped")
        elif key in ("width", "height") and not re.fullmatch(r"\d{1,5}", str(value)):
            del image.attrs[key]
            _push(block, line, f"image {key}={value} must be a number of pixels, e.g. "
                  f"{{{key}=300}}; it was dropped")


def _push(block: Token, line: int, message: str) -> None:
    token = Token("syntax_warning", "", 0)
    token.meta = {"line": line, "message": message}
    assert block.children is not None
    block.children.append(token)


def _warn(env: Any, line: int | None, message: str) -> None:
    problems = env.get("problems")
    if problems is not None:
        problems.warnings.append((line, message))


def _line(token: Token, env: Any) -> int:
    first = int(env.get("first_line", 1))
    if token.meta and "line" in token.meta:
        return int(token.meta["line"])
    return first + (token.map[0] if token.map else 0)


def _render_warning(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                    env: Any) -> str:
    meta = tokens[idx].meta
    _warn(env, meta["line"], meta["message"])
    return ""

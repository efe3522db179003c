"""YAML that remembers where each value came from.

PyYAML's composer keeps a start mark on every node; we keep the node tree beside the
plain Python data so that an error about any value (``steps[2].do[1]``) can name the line
of the file it was written on. Used for page frontmatter and for ``site.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import yaml


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """A YAML timestamp, or its text when it is no real date (``2026-02-30``): PyYAML
    would raise a ValueError without a line; as text, the key that wants a date says
    what is wrong at its line (:mod:`stepwise.dates`), and a title stays a title."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with :func:`_timestamp`."""


_SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_Loader: type[yaml.SafeLoader] = _SafeLoader
if hasattr(yaml, "CSafeLoader"):
    # libyaml's parser when PyYAML was built with it (its wheels are): same nodes and
    # marks, several times faster
    class _CSafeLoader(yaml.CSafeLoader):
        """libyaml's safe loader, with :func:`_timestamp`."""

    _CSafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
    _Loader = cast(type[yaml.SafeLoader], _CSafeLoader)


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML data plus its node tree.

    Attributes:
        data: the constructed Python value (mapping, list, scalar or None when empty).
        node: the composed root node, or None for an empty document.
        first_line: the 1-based file line on which the YAML text starts.
    """

    data: Any
    node: yaml.Node | None
    first_line: int

    def line_of(self, keypath: tuple[str | int, ...]) -> int | None:
        """Return the 1-based file line of the value at ``keypath``.

        ``keypath`` is a tuple of mapping keys and list indexes, e.g.
        ``("steps", 2, "do", 1)``. Where the path leads nowhere (the key is missing), the
        line of the deepest value that exists is returned; None for an empty document.
        """
        node = self.node
        if node is None:
            return None
        line = node.start_mark.line
        for key in keypath:
            child = _child(node, key)
            if child is None:
                break
            node, line = child
        return self.first_line + line

    def scalar_text(self, keypath: tuple[str | int, ...]) -> str | None:
        """The text of the scalar at ``keypath`` as written (``No`` for a ``title: No``
        that YAML read as false), or None where there is no scalar."""
        node = self.node
        for key in keypath:
            found = _child(node, key) if node is not None else None
            node = found[0] if found else None
        return node.value if isinstance(node, yaml.ScalarNode) else None

    def key_line(self, key: str) -> int | None:
        """Return the 1-based file line of the top-level ``key:`` itself, or None."""
        if isinstance(self.node, yaml.MappingNode):
            for k, _v in self.node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    return self.first_line + k.start_mark.line
        return None

    def text_start_line(self, keypath: tuple[str | int, ...]) -> int | None:
        """Return the file line where the text of a string value starts.

        For block scalars (``|`` or ``>``) the text starts on the line after the
        indicator; for other scalars it is the value's own line.
        """
        return self.text_lines(keypath)[0]

    def text_lines(self, keypath: tuple[str | int, ...]) -> tuple[int | None, bool]:
        """``(first line, exact)``: where a string value's text starts, and whether its
        lines are the file's lines one for one. Only a literal block (``|``) keeps
        them; folding (``>``), plain and quoted scalars join lines, so a position in
        their text can be placed only at the value's first line."""
        line = self.line_of(keypath)
        node = self.node
        for key in keypath:
            found = _child(node, key) if node is not None else None
            node = found[0] if found else None
        style = node.style if isinstance(node, yaml.ScalarNode) else None
        if line is not None and style in ("|", ">"):
            return line + 1, style == "|"
        return line, False


def _child(node: yaml.Node, key: str | int) -> tuple[yaml.Node, int] | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v, v.start_mark.line
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        v = node.value[key]
        return v, v.start_mark.line
    return None


def parse_yaml(text: str, first_line: int = 1) -> YamlDocument:
    """Parse one YAML document with PyYAML's safe loader, keeping node positions.

    Args:
        text: the YAML source.
        first_line: the 1-based line of the file on which ``text`` starts, so that
            reported lines are lines of the file, not of the snippet.

    Raises:
        yaml.YAMLError: malformed YAML; callers turn it into a located error with
            :func:`yaml_error_line` and :func:`yaml_error_message`.
    """
    try:
        return _parse(_Loader, text, first_line)
    except yaml.YAMLError:
        if _Loader is _SafeLoader:
            raise
    # the pure-Python parser words errors better and marks them more precisely
    return _parse(_SafeLoader, text, first_line)


def _parse(loader_class: type[yaml.SafeLoader], text: str, first_line: int) -> YamlDocument:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return YamlDocument(data=data, node=node, first_line=first_line)


def yaml_error_line(err: yaml.YAMLError, first_line: int, text: str = "") -> int | None:
    """The 1-based file line a PyYAML error points at, or None.

    An unclosed quote or bracket is only noticed at the end of the text; the line
    where it was opened (the error's context mark) is where the author must look.
    """
    if isinstance(err, yaml.reader.ReaderError):  # a control character: no mark, a position
        return first_line + text.count("\n", 0, err.position)
    problem = getattr(err, "problem_mark", None)
    context = getattr(err, "context_mark", None)
    mark = problem or context
    if context is not None and (_at_end(err) or _unclosed(err)):
        mark = context
    if mark is None:
        return None
    return first_line + int(mark.line)


_QUOTED_START = re.compile(r"""^\s*(?:-\s+)?(?:[^\s:#'"][^:#]*:\s+)?(["'])(.*)$""")


def unclosed_quote(text: str) -> int | None:
    """The 0-based line of a value that opens a quote and does not close it on its line.

    A quote left open swallows the lines after it, so PyYAML fails somewhere later
    (or at the next quote) with words that do not say "quote"; this finds the likely
    cause. Multi-line quoted values are rare in frontmatter and valid, so this is only
    asked once PyYAML has failed.
    """
    for number, line in enumerate(text.split("\n")):
        match = _QUOTED_START.match(line)
        if not match:
            continue
        quote, rest = match.groups()
        if quote == '"':
            rest = rest.replace("\\\\", "").replace('\\"', "")
        else:
            rest = rest.replace("''", "")
        if quote not in rest:
            return number
    return None


def duplicate_keys(node: yaml.Node | None) -> list[tuple[str, int, int]]:
    """Keys given twice in one mapping, anywhere in the tree: ``(key, first_line,
    second_line)`` with 0-based lines. PyYAML silently keeps the last value."""
    found: list[tuple[str, int, int]] = []
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        found.append((key.value, seen[key.value], key.start_mark.line))
                    seen.setdefault(key.value, key.start_mark.line)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return sorted(found, key=lambda f: f[2])


def _at_end(err: yaml.YAMLError) -> bool:
    problem = str(getattr(err, "problem", "") or "")
    return "end of stream" in problem or "<stream end>" in problem


def _unclosed(err: yaml.YAMLError) -> bool:
    """A quote, ``[`` or ``{`` left open: PyYAML notices it later (at a ``:`` on the next
    line, or at the end); the author must look where it was opened."""
    return str(getattr(err, "context", "") or "") in _UNCLOSED and \
        getattr(err, "context_mark", None) is not None


#: Plain words for the errors authors make most, by PyYAML's context.
_UNCLOSED = {
    "while scanning a quoted scalar": "a quoted string is not closed: add the closing quote",
    "while parsing a flow sequence": "a '[' list is not closed: add the ']'",
    "while parsing a flow mapping": "a '{' mapping is not closed: add the '}'",
}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _key(line: str) -> str:
    return line.strip().removeprefix("- ").split(":", 1)[0].strip()


def _under_indented(err: yaml.YAMLError, text: str) -> str | None:
    """PyYAML's ``expected <block end>, but found ...`` for a key indented less than the
    keys above it (and more than their parent's), in words: the key, its indent, and
    the indents that would be right."""
    mark = getattr(err, "problem_mark", None)
    lines = text.split("\n")
    if mark is None or mark.line >= len(lines):
        return None
    here = lines[mark.line]
    indent = _indent(here)
    above = [ln for ln in lines[:mark.line] if ln.strip() and not ln.strip().startswith("#")]
    sibling = next((ln for ln in reversed(above) if _indent(ln) > indent), None)
    if sibling is None or ":" not in here:
        return None
    expected = _indent(sibling) + (2 if sibling.lstrip().startswith("- ") else 0)
    parent = next((ln for ln in reversed(above) if _indent(ln) < expected), None)
    spaces = "space" if indent == 1 else "spaces"
    message = (f"the key '{_key(here)}' is indented {indent} {spaces}, less than "
               f"'{_key(sibling)}' above it ({expected})")
    if parent is None or parent.lstrip().startswith("- "):
        return f"{message}: indent it by {expected} spaces like '{_key(sibling)}'"
    return (f"{message}: indent it by {expected} spaces to keep it in '{_key(parent)}', "
            f"or by {_indent(parent)} to end '{_key(parent)}'")


def quote_hint(written: str | None, key: str) -> str:
    """``; YAML reads an unquoted No as false: quote it, title: "No"`` when ``written``
    is one of the words YAML turns into true or false (``no``, ``yes``, ``on``, ``off``,
    in any case), else ``""``."""
    if written is None or written.lower() not in ("yes", "no", "on", "off", "y", "n",
                                                   "true", "false"):
        return ""
    value = "false" if written.lower() in ("no", "off", "n", "false") else "true"
    example = f'{key}: "{written}"' if key else f'"{written}"'
    return f"; YAML reads an unquoted {written} as {value}: quote it, {example}"


def yaml_error_message(err: yaml.YAMLError, text: str = "") -> str:
    """A one-line description of a PyYAML error, without its position dump, with the
    likely fix for the mistakes authors make most (``text``: the YAML source, to tell
    an indented key from a value holding ``": "``)."""
    if _unclosed(err):
        return _UNCLOSED[str(err.context)]  # type: ignore[attr-defined]
    problem = getattr(err, "problem", None)
    context = getattr(err, "context", None)
    if not problem:
        return str(err).splitlines()[0]
    message = f"{context} {problem}" if context else str(problem)
    if "'\\t'" in str(problem):
        return f"{message}: indent with spaces, not tabs"
    if str(problem).startswith("expected <block end>"):
        under = _under_indented(err, text)
        if under is not None:
            return under
    if problem == "mapping values are not allowed here":
        mark = getattr(err, "problem_mark", None)
        lines = text.split("\n")
        if mark is not None and mark.line < len(lines):
            line = lines[mark.line]
            # the first ':' of an indented line: a key PyYAML read as a continued value
            if line[:1] in (" ", "\t") and ":" not in line[:mark.column]:
                return f"{message}: this key is indented more than the one above it"
        return (f"{message}: a value holding ': ' must be quoted, e.g. "
                "description: \"TCP: the handshake\"")
    return message

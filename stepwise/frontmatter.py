"""Split a page's source into YAML frontmatter and Markdown body.

A page starts with a line ``---``, holds YAML up to the next ``---`` line, then the
body. Lines are counted in the file as the author sees it, so errors in either part
name the real line. A file without frontmatter is an error: every page needs a title.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import FrontmatterError
from .yamlsource import (
    YamlDocument,
    duplicate_keys,
    parse_yaml,
    unclosed_quote,
    yaml_error_line,
    yaml_error_message,
)

FENCE = "---"


@dataclass(frozen=True)
class SourceFile:
    """A page source split in two.

    Attributes:
        meta: the frontmatter mapping (keys are strings).
        yaml: the frontmatter document, for :meth:`YamlDocument.line_of` lookups.
        body: the Markdown body.
        body_line: the 1-based file line on which ``body`` starts.
    """

    meta: dict[str, object]
    yaml: YamlDocument
    body: str
    body_line: int


class UnreadSource(SourceFile):
    """The source of a page restored from the build state (:mod:`stepwise.state`),
    read from ``path`` the first time any of its fields is asked for.

    Raises (on that first use):
        OSError, FrontmatterError: as reading the page would.
    """

    def __init__(self, path: Path, shown: str):  # noqa: D107 - the fields come later
        object.__setattr__(self, "_origin", (path, shown))

    def __getattr__(self, name: str) -> Any:
        # only for the attributes not set yet: the dataclass fields
        if name.startswith("_"):
            raise AttributeError(name)
        path, shown = self._origin
        source = split_source(decode_source(path.read_bytes(), shown), shown)
        for field in ("meta", "yaml", "body", "body_line"):
            object.__setattr__(self, field, getattr(source, field))
        return getattr(source, name)


def decode_source(data: bytes, path: str) -> str:
    """Decode a page's bytes as UTF-8 (a BOM is dropped, CRLF becomes LF).

    Raises:
        FrontmatterError: the bytes are not UTF-8; the message names the byte offset.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise FrontmatterError(
            f"not valid UTF-8: byte 0x{data[err.start]:02x} at offset {err.start}; "
            "save the file as UTF-8",
            path,
            line,
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_source(text: str, path: str) -> SourceFile:
    """Split ``text`` (already decoded, LF line endings) into frontmatter and body.

    Raises:
        FrontmatterError: no frontmatter, frontmatter not closed, malformed YAML (at
            the YAML error's line in the file), or frontmatter that is not a mapping.
    """
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != FENCE:
        raise FrontmatterError(
            "missing frontmatter: start the file with a '---' line, then 'title: ...', "
            "then '---'",
            path,
            1,
        )
    for end in range(1, len(lines)):
        if lines[end].rstrip() == FENCE:
            break
    else:
        raise FrontmatterError(
            "frontmatter is not closed: add a '---' line after the YAML", path, 1
        )
    yaml_text = "\n".join(lines[1:end])
    try:
        doc = parse_yaml(yaml_text, first_line=2)
    except yaml.YAMLError as err:
        message, line = yaml_error_message(err, yaml_text), yaml_error_line(err, 2, yaml_text)
        opened = unclosed_quote(yaml_text)
        if opened is not None and (line is None or opened + 2 <= line):
            message, line = "a quoted string is not closed: add the closing quote", opened + 2
        raise FrontmatterError(f"malformed YAML frontmatter: {message}", path, line) from None
    for key, first, second in duplicate_keys(doc.node):
        raise FrontmatterError(
            f"duplicate key '{key}' (first on line {first + 2}); keep one of them",
            path, second + 2)
    if doc.data is None:
        meta: dict[str, object] = {}
    elif isinstance(doc.data, dict):
        meta = {str(k): v for k, v in doc.data.items()}
    else:
        kind = "a list" if isinstance(doc.data, list) else f"a {type(doc.data).__name__}"
        raise FrontmatterError(
            f"frontmatter must be a mapping of keys (title: ...), not {kind}", path, 2
        )
    body = "\n".join(lines[end + 1 :])
    return SourceFile(meta=meta, yaml=doc, body=body, body_line=end + 2)

"""Frontmatter parsing: the split, YAML errors at file lines, types of known keys."""

from __future__ import annotations

import pytest

from stepwise.errors import FrontmatterError
from stepwise.frontmatter import decode_source, split_source


def test_split_gives_meta_body_and_the_body_start_line():
    src = split_source("---\ntitle: T\norder: 2\n---\n# Head\n\ntext\n", "x.md")
    assert src.meta == {"title": "T", "order": 2}
    assert src.body == "# Head\n\ntext\n"
    assert src.body_line == 5


def test_line_of_a_nested_value_is_its_line_in_the_file():
    text = "---\ntitle: T\nsteps:\n  - title: a\n    do: [server listen]\n  - title: b\n    do:\n      - client connect\n---\n"
    src = split_source(text, "x.md")
    assert src.yaml.line_of(("steps",)) == 4
    assert src.yaml.line_of(("steps", 1, "title")) == 6
    assert src.yaml.line_of(("steps", 1, "do", 0)) == 8
    # a missing key points at the deepest value that exists
    assert src.yaml.line_of(("steps", 1, "text")) == 6


def test_block_scalar_text_starts_on_the_next_line():
    text = "---\ntitle: T\nsteps:\n  - title: a\n    text: |\n      hello\n---\n"
    src = split_source(text, "x.md")
    assert src.yaml.text_start_line(("steps", 0, "text")) == 6


@pytest.mark.parametrize(("text", "message", "line"), [
    ("no frontmatter\n", "missing frontmatter: start the file with a '---' line", 1),
    ("---\ntitle: T\n", "frontmatter is not closed: add a '---' line after the YAML", 1),
    ("---\ntitle: T\nbad: [1, 2\n---\n", "malformed YAML frontmatter: a '[' list is not closed: add the ']'", 3),
    ("---\ntitle: T\nlead: \"open\nmore\n\nx: 1\n---\n", "malformed YAML frontmatter: a quoted string is not closed", 3),
    ("---\ntitle: a\ntitle: b\n---\n", "duplicate key 'title' (first on line 2); keep one of them", 3),
    ("---\nsteps:\n  - title: a\n    title: b\n---\n", "duplicate key 'title' (first on line 3)", 4),
    ("---\ntitle: a: b\n---\n", "malformed YAML frontmatter: mapping values are not allowed here", 2),
    ("---\n- a\n- b\n---\n", "frontmatter must be a mapping of keys (title: ...), not a list", 2),
    ("---\njust text\n---\n", "frontmatter must be a mapping of keys (title: ...), not a str", 2),
])
def test_malformed_frontmatter_is_located(text, message, line):
    with pytest.raises(FrontmatterError) as info:
        split_source(text, "content/x.md")
    assert info.value.message.startswith(message)
    assert info.value.line == line
    assert str(info.value).startswith(f"content/x.md:{line}: ")


def test_bom_and_crlf_are_accepted():
    text = decode_source("\ufeff---\r\ntitle: T\r\n---\r\nbody\r\n".encode(), "x.md")
    src = split_source(text, "x.md")
    assert src.meta == {"title": "T"}
    assert src.body == "body\n"


def test_non_utf8_names_the_byte_offset():
    with pytest.raises(FrontmatterError) as info:
        decode_source(b"---\ntitle: caf\xe9\n---\n", "content/x.md")
    assert str(info.value) == (
        "content/x.md:2: not valid UTF-8: byte 0xe9 at offset 14; save the file as UTF-8"
    )

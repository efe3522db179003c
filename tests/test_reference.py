"""The generated parts of docs/ are what the models' code says (stepwise.reference)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepwise.cli import main
from stepwise.models.tcp.actions import ENDPOINT_VERBS, NETWORK_VERBS
from stepwise.reference import ReferenceError, regenerate, update_docs

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_docs_hold_the_current_reference() -> None:
    assert update_docs(DOCS, check=True) == [], "run: python build.py docs"


def test_every_tcp_verb_is_in_the_reference() -> None:
    text = (DOCS / "actions.md").read_text(encoding="utf-8")
    table = text.split("<!-- generated: tcp actions -->", 1)[1].split("<!-- end", 1)[0]
    for verb in [*ENDPOINT_VERBS, *NETWORK_VERBS]:
        assert f" {verb}" in table or f"`{verb}" in table, verb


def test_a_stale_section_is_rewritten_and_checked(tmp_path: Path, capsys) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("Before.\n<!-- generated: tcp refusals -->\nold\n<!-- end generated -->\n"
                   "After.\n")
    assert main(["docs", str(tmp_path), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["docs", str(tmp_path)]) == 0
    text = doc.read_text()
    assert text.startswith("Before.\n<!-- generated: tcp refusals -->\n| action | refused in")
    assert text.endswith("<!-- end generated -->\nAfter.\n") and "old" not in text
    assert main(["docs", str(tmp_path), "--check"]) == 0


@pytest.mark.parametrize(("marker", "message"), [
    ("<!-- generated: udp actions -->", "unknown model 'udp' in a generated section; known "
     "models: "),
    ("<!-- generated: tcp verbs -->", "the tcp model has no reference section 'verbs'; it "
     "has actions, refusals"),
])
def test_a_section_naming_nothing_is_an_error(marker: str, message: str) -> None:
    with pytest.raises(ReferenceError, match=message):
        regenerate(f"{marker}\n<!-- end generated -->\n", "docs/x.md")

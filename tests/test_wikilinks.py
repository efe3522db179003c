"""The wiki-link rule, from golden fixtures (title / input / expected HTML), and the
errors it reports with file and line."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from stepwise.errors import ErrorList

FIXTURES = Path(__file__).parent / "fixtures"
LESSON = "linux/how/tcp-handshake.md"
HEAD = "---\ntitle: The life cycle\nlayout: lesson\n---\n"
NFD = unicodedata.normalize("NFD", "Conexión rechazada")
#: pages the fixtures link to, besides tests/conftest.py's BASE_CONTENT: names as
#: authors coming from Obsidian write them (spaces, parentheses, Cyrillic, an accent
#: stored decomposed on disk, as macOS does)
LINKED = {
    "linux/kb/port.md": (
        "---\ntitle: Port\nlayout: article\ndescription: which ports take part\n---\n"
        "## Port ranges\n\n## Ports 0-1023: well known\n\n## TCP/UDP\n\n"
        "## Well-known ports\n\n## Сокеты\n\nEphemeral ports.\n"
    ),
    "linux/kb/Port numbers (well-known).md": "---\ntitle: Port numbers\n---\nIANA.\n",
    f"linux/kb/{NFD}.md": "---\ntitle: Conexión rechazada\n---\n## Qué pasa\n",
    "linux/kb/Сокеты и порты.md": "---\ntitle: Сокеты и порты\n---\n## Порты\n",
    "linux/how/diagram.png": "",
    "linux/how/img/Схема сети.svg": "",
}


def read_fixtures(path: Path) -> list[tuple[str, int, str, str, str]]:
    """Parse markdown-it style fixtures: a title line, then three blocks each closed
    by a line '.': the Markdown, the HTML it renders to (empty when the build fails),
    and the problems the build reports, one a line (``warning 5: message``, ``error
    5: message``; the line in the lesson file, whose body starts on line 5)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    cases, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        title, start = lines[i], i + 1
        assert lines[i + 1] == ".", f"{path}:{i + 2}: expected '.'"
        j = i + 2
        block: list[list[str]] = [[], [], []]
        for part in (0, 1, 2):
            while lines[j] != ".":
                block[part].append(lines[j])
                j += 1
            j += 1
        cases.append((title, start, "\n".join(block[0]) + "\n",
                      "\n".join(block[1]) + "\n" if block[1] else "",
                      "\n".join(block[2]) + "\n" if block[2] else ""))
        i = j
    return cases


def write_fixtures(path: Path, cases: list[tuple[str, str, str, str]]) -> None:
    """Write ``(title, markdown, html, problems)`` cases in the fixture format."""
    out = []
    for title, source, html, problems in cases:
        out += [title, ".", source.rstrip("\n"), "."]
        out += [html.rstrip("\n"), "."] if html else ["."]
        out += [problems.rstrip("\n"), "."] if problems else ["."]
        out.append("")
    path.write_text("\n".join(out), encoding="utf-8")


def prose(html: str) -> str:
    """The page's Markdown as rendered: the inside of its ``<div class="prose">``
    elements (a lesson splits its body around the player), joined."""
    out = []
    for part in html.split('<div class="prose">')[1:]:
        depth, pos = 1, 0
        for match in re.finditer(r"<div[ >]|</div>", part):
            depth += -1 if match.group() == "</div>" else 1
            if depth == 0:
                pos = match.start()
                break
        out.append(part[:pos])
    return "".join(out)


def render_case(make_project, source: str) -> tuple[str, str]:
    """Build the lesson with ``source`` as its body: ``(body html, problems)``."""
    project = make_project({**LINKED, LESSON: HEAD + source})
    shown = f"content/{LESSON}:"
    try:
        result = project.build(search=False, cache=False)
    except ErrorList as errors:
        lines = [f"warning {str(w).removeprefix(shown)}" for w in errors.warnings
                 if "a lesson without 'simulation:'" not in str(w)]
        lines += [f"error {str(e).removeprefix(shown)}" for e in errors]
        return "", "".join(line + "\n" for line in lines)
    html = project.page("linux/how/tcp-handshake")
    body = prose(html)
    problems = "".join(f"warning {w.removeprefix(shown)}\n" for w in result.warnings
                       if "a lesson without 'simulation:'" not in w)
    return body, problems


def fixture_cases(name: str) -> list[Any]:
    cases = read_fixtures(FIXTURES / name)
    return [pytest.param(name, *case, id=f"{name}:{case[1]}") for case in cases]


@pytest.mark.parametrize(("name", "title", "line", "source", "expected", "problems"),
                         fixture_cases("links.txt") + fixture_cases("markdown.txt"))
def test_fixture(make_project, name, title, line, source, expected, problems):
    got = render_case(make_project, source)
    if os.environ.get("STEPWISE_GOLDEN") == "write":
        record_fixture(name, title, source, got)
    assert got == (expected, problems), f"{name}:{line}: {title}"


def record_fixture(name: str, title: str, source: str, got: tuple[str, str]) -> None:
    """``STEPWISE_GOLDEN=write``: rewrite the fixture's case with what the build gives
    (review the diff before committing it)."""
    cases = read_fixtures(FIXTURES / name)
    write_fixtures(FIXTURES / name, [
        (t, s, *(got if (t, s) == (title, source) else (html, problems)))
        for t, _start, s, html, problems in cases])


def build_errors(project) -> list[str]:
    with pytest.raises(ErrorList) as info:
        project.build()
    return [str(e) for e in info.value]


def test_unknown_link_names_file_line_and_closest_slug(make_project):
    project = make_project({LESSON: HEAD + "Intro.\n\nSee the [[tcp-stats]] article.\n"})
    assert build_errors(project) == [
        "content/linux/how/tcp-handshake.md:7: unknown wiki-link [[tcp-stats]]; "
        "did you mean [[tcp-states]]?"
    ]


def test_ambiguous_slug_lists_the_pages_and_the_qualified_forms(make_project):
    project = make_project({LESSON: HEAD + "[[tcp-handshake]]\n"})
    assert build_errors(project) == [
        "content/linux/how/tcp-handshake.md:5: ambiguous wiki-link [[tcp-handshake]]: "
        "2 pages match (content/linux/how/tcp-handshake.md, "
        "content/linux/kb/tcp-handshake.md); write [[how/tcp-handshake]] or "
        "[[kb/tcp-handshake]]"
    ]


def test_missing_heading_suggests_the_closest(make_project):
    project = make_project({LESSON: HEAD + "one\ntwo [[tcp-states#the-11-state]]\n"})
    assert build_errors(project) == [
        "content/linux/how/tcp-handshake.md:6: [[tcp-states#the-11-state]]: "
        "content/linux/kb/tcp-states.md has no heading #the-11-state; "
        "did you mean #the-11-states?"
    ]


def test_every_problem_is_reported_not_only_the_first(make_project):
    project = make_project({
        LESSON: HEAD + "[[nope-one]]\n\n[[nope-two]]\n",
        "linux/kb/port.md": "---\ntitle: Port\n---\n[[nope-three]]\n",
    })
    errors = build_errors(project)
    assert [e.split(": ", 1)[0] for e in errors] == [
        "content/linux/how/tcp-handshake.md:5",
        "content/linux/how/tcp-handshake.md:7",
        "content/linux/kb/port.md:4",
    ]


@pytest.mark.parametrize("ref", ["../../etc/passwd", "/etc/passwd", "./port", "kb//port",
                                 "kb\\port"])
def test_path_tricks_resolve_only_to_pages(make_project, ref):
    project = make_project({LESSON: HEAD + f"[[{ref}]]\n"})
    (error,) = build_errors(project)
    assert error.startswith("content/linux/how/tcp-handshake.md:5: ")
    assert "wiki-link" in error


def test_link_to_a_draft_is_an_error_unless_drafts_are_published(make_project):
    project = make_project({
        LESSON: HEAD + "[[secret]]\n",
        "linux/kb/secret.md": "---\ntitle: Secret\ndraft: true\n---\nwip\n",
    })
    (error,) = build_errors(project)
    assert "links to a draft (content/linux/kb/secret.md)" in error
    project.build(drafts=True)
    assert "Secret" in project.page("linux/how/tcp-handshake")


def test_wiki_link_line_inside_a_list_item(make_project):
    project = make_project({LESSON: HEAD + "- a\n- b\n  continued [[prot]]\n"})
    (error,) = build_errors(project)
    assert error.startswith("content/linux/how/tcp-handshake.md:7: unknown wiki-link [[prot]]")

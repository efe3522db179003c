"""The wiki-link rule, from golden fixtures (title / input / expected HTML), and the
errors it reports with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepwise.errors import ErrorList

FIXTURES = Path(__file__).parent / "fixtures" / "wikilinks.txt"
LESSON = "linux/how/tcp-handshake.md"
HEAD = "---\ntitle: The life cycle\nlayout: lesson\n---\n"


def read_fixtures(path: Path) -> list[tuple[str, int, str, str]]:
    """Parse markdown-it style fixtures: title, '.', input, '.', expected, '.'."""
    lines = path.read_text(encoding="utf-8").split("\n")
    cases, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        title, start = lines[i], i + 1
        assert lines[i + 1] == ".", f"{path}:{i + 2}: expected '.'"
        j = i + 2
        block: list[list[str]] = [[], []]
        for part in (0, 1):
            while lines[j] != ".":
                block[part].append(lines[j])
                j += 1
            j += 1
        cases.append((title, start, "\n".join(block[0]) + "\n", "\n".join(block[1]) + "\n"))
        i = j
    return cases


CASES = read_fixtures(FIXTURES)


@pytest.mark.parametrize(("title", "line", "source", "expected"), CASES,
                         ids=[f"{FIXTURES.name}:{c[1]}" for c in CASES])
def test_fixture(make_project, title, line, source, expected):
    project = make_project({LESSON: HEAD + source})
    project.build()
    html = project.page("linux/how/tcp-handshake")
    # a lesson splits its body around the player: join the parts again
    body = "".join(part.split("</div>", 1)[0] for part in html.split('<div class="prose">')[1:])
    assert body == expected, title


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

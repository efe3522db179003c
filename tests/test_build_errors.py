"""Each kind of build error: the exact message with path and line, a non-zero exit, and
the previous output left as it was."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from stepwise.errors import ErrorList

REPO = Path(__file__).resolve().parent.parent


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def broken_build(project, files: dict[str, str]) -> list[str]:
    """Build once cleanly, break the project, build again: return the error lines and
    check that the first build's output is untouched."""
    project.build()
    before = tree_digest(project.out)
    for rel, text in files.items():
        path = project.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ErrorList) as info:
        project.build()
    assert tree_digest(project.out) == before, "a failed build changed the output"
    assert not list(project.root.glob(".site.*")), "a temporary folder was left behind"
    return [str(e) for e in info.value]


def test_malformed_yaml_names_the_yaml_line_in_the_file(make_project):
    errors = broken_build(make_project(), {
        "content/linux/kb/new.md": "---\ntitle: New\ndescription: a: b\n---\ntext\n"})
    assert errors == ["content/linux/kb/new.md:3: malformed YAML frontmatter: "
                      "mapping values are not allowed here: a value holding ': ' must be "
                      "quoted, e.g. description: \"TCP: the handshake\""]


def test_missing_title(make_project):
    errors = broken_build(make_project(), {
        "content/linux/kb/port.md": "---\nlayout: article\n---\ntext\n"})
    assert errors == ["content/linux/kb/port.md:2: missing 'title' in frontmatter; add 'title: ...'"]


def test_unknown_layout_lists_the_known_ones(make_project):
    errors = broken_build(make_project(), {
        "content/linux/kb/port.md": "---\ntitle: Port\n\nlayout: blog\n---\ntext\n"})
    assert errors == ["content/linux/kb/port.md:4: unknown layout 'blog'; known layouts: "
                      "article, home, lab, lesson, page, section, simulator (templates in templates/layouts/)"]


def port_errors(project, frontmatter: str) -> list[str]:
    """:func:`broken_build` with the frontmatter of port.md replaced, then port.md put
    back, so that one project serves several cases."""
    port = project.content / "linux" / "kb" / "port.md"
    original = port.read_text()
    try:
        return broken_build(project, {"content/linux/kb/port.md":
                                      f"---\n{frontmatter}---\ntext\n"})
    finally:
        port.write_text(original)


def test_a_misspelled_layout_gets_a_suggestion(make_project):
    project = make_project()
    for written in ("artcle", "Article"):
        assert port_errors(project, f"title: Port\nlayout: {written}\n") == [
            f"content/linux/kb/port.md:3: unknown layout '{written}'; did you mean 'article'? "
            "Known layouts: article, home, lab, lesson, page, section, simulator (templates in "
            "templates/layouts/)"]


def test_yaml_mistakes_say_how_to_fix_them(make_project):
    cases = {
        "title: Port\ndescription: What UDP: gives\n":
            "content/linux/kb/port.md:3: malformed YAML frontmatter: mapping values are not "
            "allowed here: a value holding ': ' must be quoted, e.g. description: \"TCP: the "
            "handshake\"",
        "title: Port\n  layout: article\n":
            "content/linux/kb/port.md:3: malformed YAML frontmatter: mapping values are not "
            "allowed here: this key is indented more than the one above it",
        "title: Port\n\tlayout: article\n":
            "content/linux/kb/port.md:3: malformed YAML frontmatter: while scanning for the "
            "next token found character '\\t' that cannot start any token: indent with "
            "spaces, not tabs",
        # PyYAML says "expected <block end>, but found '<block mapping start>'"
        "title: Port\nsimulation:\n  model: tcp\n  client: {name: c}\n server: {name: s}\n":
            "content/linux/kb/port.md:6: malformed YAML frontmatter: the key 'server' is "
            "indented 1 space, less than 'client' above it (2): indent it by 2 spaces to keep "
            "it in 'simulation', or by 0 to end 'simulation'",
        "title: Port\nsteps:\n  - title: a\n    do: [server listen]\n   text: b\n":
            "content/linux/kb/port.md:6: malformed YAML frontmatter: the key 'text' is "
            "indented 3 spaces, less than 'do' above it (4): indent it by 4 spaces like 'do'",
    }
    project = make_project()
    for frontmatter, expected in cases.items():
        assert port_errors(project, frontmatter) == [expected]


def test_an_unquoted_no_read_as_false_says_to_quote_it(make_project):
    project = make_project()
    assert port_errors(project, "title: No\ntags: [tcp, off]\n") == [
        "content/linux/kb/port.md:2: 'title' must be a string (got bool), e.g. 'title: The "
        "life cycle of a TCP connection'; YAML reads an unquoted No as false: quote it, "
        'title: "No"',
        "content/linux/kb/port.md:3: 'tags' must be a list of strings; item 2 is bool; YAML "
        'reads an unquoted off as false: quote it, "off"',
    ]


def test_unknown_wiki_link(make_project):
    errors = broken_build(make_project(), {
        "content/linux/kb/port.md": "---\ntitle: Port\n---\n\nSee [[tcp-stats]].\n"})
    assert errors == ["content/linux/kb/port.md:5: unknown wiki-link [[tcp-stats]]; "
                      "did you mean [[tcp-states]]?"]


def test_unknown_related_entry_names_its_line(make_project):
    errors = broken_build(make_project(), {
        "content/linux/kb/port.md": "---\ntitle: Port\nrelated:\n  - tcp-states\n  - tls\n---\n"})
    assert errors == ["content/linux/kb/port.md:5: unknown related: entry [[tls]]"]


def test_missing_heading_anchor(make_project):
    errors = broken_build(make_project(), {
        "content/linux/kb/port.md": "---\ntitle: Port\n---\n[[tcp-states#states]]\n"})
    assert errors == ["content/linux/kb/port.md:4: [[tcp-states#states]]: "
                      "content/linux/kb/tcp-states.md has no heading #states; "
                      "did you mean #the-11-states?"]


def test_jinja_syntax_error_names_the_template_and_line(make_project):
    project = make_project()
    text = (project.root / "templates/layouts/page.html").read_text().replace(
        "{% block main %}", "{% block main %}\n{% if page.title %}")
    errors = broken_build(project, {"templates/layouts/page.html": text})
    line = text.split("\n").index("{% endblock %}") + 1
    assert errors == [
        f"templates/layouts/page.html:{line}: template syntax error: Encountered unknown tag "
        "'endblock'. You probably made a nesting mistake. Jinja is expecting this tag, but "
        "currently looking for 'elif' or 'else' or 'endif'. The innermost block that needs to "
        "be closed is 'if'."]


def test_undefined_variable_in_a_template_is_an_error_not_empty_text(make_project):
    project = make_project()
    text = (project.root / "templates/layouts/page.html").read_text().replace(
        "<h1>{{ page.title }}</h1>", "<h1>{{ page.titel }}</h1>")
    errors = broken_build(project, {"templates/layouts/page.html": text})
    line = text.split("\n").index("  <h1>{{ page.titel }}</h1>") + 1
    assert errors[0] == (f"templates/layouts/page.html:{line}: UndefinedError: 'stepwise.content."
                         "Page object' has no attribute 'titel' (rendering content/about.md)")


def test_all_problems_of_one_build_are_reported_together(make_project):
    errors = broken_build(make_project(), {
        "content/linux/kb/port.md": "---\ntitle: Port\nlayout: nope\n---\n[[nope]]\n",
        "content/linux/kb/new.md": "---\ntitle: [new\n---\n",
    })
    assert [e.split(": ")[0] for e in errors] == [
        "content/linux/kb/new.md:2", "content/linux/kb/port.md:3", "content/linux/kb/port.md:5"]


def test_menu_entry_to_a_missing_page(make_project):
    project = make_project({"pricing.md": None})
    with pytest.raises(ErrorList) as info:
        project.build()
    lines = [i + 1 for i, text in enumerate((project.root / "site.yaml").read_text().split("\n"))
             if text == "  - page: pricing"]
    assert len(lines) == 2  # the menu and the footer
    assert [str(e) for e in info.value] == [
        f"site.yaml:{n}: unknown menu entry [[pricing]]" for n in lines]


def test_a_menu_entry_may_link_a_heading_and_the_heading_must_exist(make_project):
    project = make_project({"pricing.md": "---\ntitle: Pricing\n---\n## Plans\n\nFree.\n"})
    config = project.root / "site.yaml"
    config.write_text(config.read_text().replace("  - page: pricing\n",
                                                 "  - page: pricing#plans\n", 1))
    project.build(search=False)
    menu = project.page("linux/kb/port").split('class="menu"', 1)[1].split("</nav>", 1)[0]
    assert 'href="../../../pricing/index.html#plans"' in menu
    assert 'href="#plans" aria-current="page"' in project.page("pricing")
    config.write_text(config.read_text().replace("pricing#plans", "pricing#plan", 1))
    with pytest.raises(ErrorList) as info:
        project.build(search=False)
    line = config.read_text().split("\n").index("  - page: pricing#plan") + 1
    assert [str(e) for e in info.value] == [
        f"site.yaml:{line}: [[pricing#plan]]: content/pricing.md has no heading #plan; "
        "did you mean #plans?"]


def test_output_folder_not_made_by_stepwise_is_never_replaced(make_project):
    project = make_project()
    project.out.mkdir()
    (project.out / "precious.txt").write_text("keep me")
    with pytest.raises(ErrorList) as info:
        project.build()
    assert [str(e) for e in info.value] == [
        "site: output folder exists and was not made by stepwise; choose another --out "
        "or empty it first"]
    assert (project.out / "precious.txt").read_text() == "keep me"


def test_output_folder_may_not_be_the_project(make_project):
    project = make_project()
    from stepwise.build import build_site

    with pytest.raises(ErrorList) as info:
        build_site(project.root, project.root)
    assert "output folder would replace" in str(info.value)


def test_cli_prints_errors_one_per_line_and_exits_non_zero(make_project):
    project = make_project({"linux/kb/port.md": "---\ntitle: Port\n---\n[[nope]] [[prot]]\n"})
    run = subprocess.run([sys.executable, str(REPO / "build.py"), "build"], cwd=project.root,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        "content/linux/kb/port.md:4: unknown wiki-link [[nope]]",
        "content/linux/kb/port.md:4: unknown wiki-link [[prot]]; did you mean [[port]]?",
        "build failed: 2 errors; the previous output was kept",
    ]


def test_an_impossible_step_names_the_lesson_line_and_the_rfc(make_project):
    lesson = ("---\ntitle: Eager\nlayout: lesson\nsimulation:\n  model: tcp\n"
              "  client: {name: curl, ip: 10.0.0.5}\n  server: {name: nginx, ip: 10.0.0.80, port: 443}\n"
              "steps:\n  - title: listen\n    do: [server listen]\n  - title: too early\n"
              "    do:\n      - client send 120\n---\nText.\n")
    errors = broken_build(make_project(), {"content/linux/how/eager.md": lesson})
    assert errors == ["content/linux/how/eager.md:13: step 2 ('client send 120'): client: "
                      "cannot SEND in state CLOSED: connection does not exist; connect first "
                      "('client connect', or 'listen' on a server) (RFC 9293 §3.10.2)"]


def test_site_yaml_missing(make_project):
    project = make_project()
    project.build()
    (project.root / "site.yaml").unlink()
    with pytest.raises(ErrorList) as info:
        project.build()
    (error,) = [str(e) for e in info.value]
    assert error.startswith("site.yaml: site.yaml not found in ")
    assert error.endswith("; run from the site's folder, pass --root, or start a site with "
                          "`stepwise new DIR`")


@pytest.mark.parametrize(("text", "message"), [
    ("title: [x\n", "site.yaml:1: malformed YAML: a '[' list is not closed: add the ']'"),
    ("- a\n", "site.yaml:1: must be a YAML mapping (key: value lines)"),
    ("title: x\ntitel: y\n", "site.yaml:2: unknown key 'titel'; known keys: author, base_url, "
     "copyright, description, feed, footer, language, markdown, menu, strings, theme, title; "
     "did you mean 'title'?"),
    ("title: x\ntitle: y\n", "site.yaml:2: duplicate key 'title' (first on line 1); keep one of them"),
])
def test_site_yaml_malformed(make_project, text, message):
    errors = broken_build(make_project(), {"site.yaml": text})
    assert errors == [message]


def test_every_wrong_value_of_site_yaml_is_reported(make_project):
    config = (
        "title: Site\nlanguag: en\nbase_url: 'javascript:alert(1)//'\ncopyright: [c]\n"
        "menu:\n  - title: X\n    url: 'javascript:alert(1)'\n  - page: about\n    titel: A\n"
        "strings:\n  ui:\n    home: [a, b]\n"
    )
    errors = broken_build(make_project(), {"site.yaml": config})
    assert errors == [
        "site.yaml:2: unknown key 'languag'; known keys: author, base_url, copyright, "
        "description, feed, footer, language, markdown, menu, strings, theme, title; did you "
        "mean 'language'?",
        "site.yaml:3: 'base_url' must be an http(s) URL or a path, e.g. https://example.org/docs/",
        "site.yaml:4: 'copyright' must be a string",
        "site.yaml:7: a menu url must be http(s)://, mailto: or a path",
        "site.yaml:9: unknown key 'titel' in a menu entry; known keys: title, page, url, "
        "description, children; did you mean 'title'?",
        "site.yaml:12: strings.ui.home must be a text (quote it)",
    ]


def test_a_static_file_may_not_overwrite_a_generated_file(make_project):
    errors = broken_build(make_project(), {"static/css/highlight.css": "x{}"})
    assert errors == ["static/css/highlight.css: static file would overwrite the generated "
                      "file static/css/highlight.css; rename it"]


def test_a_symlink_out_of_content_is_refused(make_project, tmp_path):
    project = make_project()
    project.build()
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: Secret\n---\nshh\n")
    (project.content / "linux/kb/link.md").symlink_to(secret)
    with pytest.raises(ErrorList) as info:
        project.build()
    assert [str(e) for e in info.value] == [
        "content/linux/kb/link.md: symlink points outside the content folder; copy the file "
        "in instead"]


def test_player_directive_needs_a_simulation(make_project):
    errors = broken_build(make_project(), {"content/linux/kb/port.md":
                                           "---\ntitle: Port\n---\nIntro.\n\n::player\n"})
    assert errors == ["content/linux/kb/port.md:6: ::player needs a simulation: add "
                      "'simulation:' and 'steps:' to the frontmatter, or remove the ::player line"]


def test_an_empty_file(make_project):
    errors = broken_build(make_project(), {"content/linux/kb/empty.md": ""})
    assert errors == ["content/linux/kb/empty.md:1: missing frontmatter: start the file with a "
                      "'---' line, then 'title: ...', then '---'"]


def test_warnings_are_shown_when_the_build_fails(make_project):
    project = make_project({"linux/kb/port.md": "---\ntitle: Port\ntitel: x\n---\n[[nope]]\n"})
    run = subprocess.run([sys.executable, str(REPO / "build.py"), "build", "--no-search"],
                         cwd=project.root, capture_output=True, text=True, check=False)
    assert run.stderr.splitlines() == [
        "warning: content/linux/kb/port.md:3: unknown frontmatter key 'titel'; did you mean 'title'?",
        "content/linux/kb/port.md:5: unknown wiki-link [[nope]]",
        "build failed: 1 error; the previous output was kept",
    ]


def test_a_lesson_without_a_simulation_is_a_warning(make_project):
    project = make_project({"linux/how/draft-lesson.md":
                            "---\ntitle: Soon\nlayout: lesson\n---\nSteps to come.\n"})
    expected = ("content/linux/how/draft-lesson.md:3: a lesson without 'simulation:' and "
                "'steps:' shows no player; add them, or use another layout (article)")
    result = project.build(search=False)
    assert result.warnings == [expected]
    assert "Steps to come." in project.page("linux/how/draft-lesson")
    with pytest.raises(ErrorList) as info:
        project.build(search=False, strict=True)
    assert [str(e) for e in info.value] == [expected]


def test_page_strings_must_be_texts(make_project):
    errors = broken_build(make_project(), {"content/linux/kb/port.md":
                                           "---\ntitle: Port\nstrings:\n  ui:\n    skip:\n    home: [a]\n---\n"})
    assert errors == ["content/linux/kb/port.md:5: strings.ui.skip must be a text (quote it)",
                      "content/linux/kb/port.md:6: strings.ui.home must be a text (quote it)"]


def test_a_shared_partial_that_reads_the_page_says_what_it_sees(make_project):
    project = make_project()
    header = project.root / "templates/partials/header.html"
    text = header.read_text().replace('<header class="site-header">',
                                      '<header class="site-header" title="{{ page.title }}">')
    errors = broken_build(project, {"templates/partials/header.html": text})
    assert errors[0].startswith("templates/partials/header.html:1: UndefinedError: 'page' is "
                                "undefined; a partial included with shared() is rendered once "
                                "for the pages of a folder and sees only site, i18n, ui,")


def test_pages_of_one_folder_share_the_header_and_a_menu_target_marks_itself(make_project):
    project = make_project()
    project.build(search=False)

    def header(path: str) -> str:
        page = project.page(path)
        return page[page.index("<header"):page.index("</header>")]

    assert header("linux/kb/port") == header("linux/kb/tcp-states")
    assert 'aria-current="page"' not in header("linux/kb/port")
    assert 'aria-current="page"' in header("pricing")  # a menu target: not shared

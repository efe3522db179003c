"""What a tester broke, kept fixed: odd files, colliding paths, odd output folders,
interrupted and concurrent builds, reserved ids, terminal control characters."""

from __future__ import annotations

import fcntl
import os

import pytest

from stepwise.build import build_site
from stepwise.errors import BuildError, ErrorList
from stepwise.output import OutputStage


def errors_of(project, **kw) -> list[str]:
    with pytest.raises(ErrorList) as info:
        project.build(search=False, **kw)
    return [str(e) for e in info.value]


def test_broken_symlink_pipe_and_symlinked_folder_are_located_errors(make_project, tmp_path):
    project = make_project()
    (project.content / "broken.md").symlink_to(project.content / "nowhere.md")
    os.mkfifo(project.content / "pipe.md")
    (tmp_path / "elsewhere").mkdir()
    (project.content / "ext").symlink_to(tmp_path / "elsewhere")
    assert errors_of(project) == [
        "content/broken.md: not a regular file (a broken symlink, a folder or a pipe named "
        "like a page); remove or rename it",
        "content/ext: symlinked folder: the content folder's symlinks to folders are not "
        "followed; move or copy the folder in",
        "content/pipe.md: not a regular file (a broken symlink, a folder or a pipe named like "
        "a page); remove or rename it",
    ]


def test_markdown_suffixes_in_any_case_are_pages(make_project):
    project = make_project({"Upper.MD": "---\ntitle: Upper\n---\n",
                            "long.markdown": "---\ntitle: Long\n---\n"})
    project.build(search=False)
    assert "Upper" in project.page("upper") and "Long" in project.page("long")


@pytest.mark.parametrize(("rel", "clash"), [("sitemap.xml.md", "sitemap.xml"),
                                            ("404.html.md", "404.html"),
                                            ("feed.xml.md", "feed.xml")])
def test_a_page_on_a_generated_or_static_file_is_an_error(make_project, rel, clash):
    project = make_project({rel: "---\ntitle: Clash\n---\n"})
    assert errors_of(project) == [
        f"/{clash}: {clash} is written as a file and is also the folder of {clash}/index.html; "
        "rename the page or file that makes one of them"]


def test_output_inside_an_input_folder_is_refused(make_project):
    project = make_project()
    from stepwise.build import build_site

    for folder in ("static/x", "content/sub", "templates/out"):
        with pytest.raises(ErrorList) as info:
            build_site(project.root, project.root / folder, search=False)
        assert str(info.value) == (f"{folder}: output folder is inside {folder.split('/')[0]}, "
                                   "an input of the build; choose another --out")


def test_output_symlink_is_kept_and_its_target_updated(make_project, tmp_path):
    project = make_project()
    target = tmp_path / "www"
    project.out.symlink_to(target, target_is_directory=True)
    project.build(search=False)
    assert project.out.is_symlink() and (target / "index.html").is_file()
    project.build(search=False, strict=True)
    assert project.out.is_symlink()
    assert not list(tmp_path.glob(".www.*")) and not list(project.root.glob(".site.*"))


def test_static_symlink_outside_static_is_refused(make_project, tmp_path):
    project = make_project()
    (tmp_path / "passwd").write_text("root:x:0:0")
    (project.root / "static/passwd.txt").symlink_to(tmp_path / "passwd")
    assert errors_of(project) == [
        "static/passwd.txt: symlink points outside the static folder; copy the file in instead"]


def test_a_huge_byte_count_is_an_error_not_a_crash(make_project):
    lesson = ("---\ntitle: L\nlayout: lesson\nsimulation:\n  model: tcp\n"
              "  client: {name: c, ip: 10.0.0.5}\n  server: {name: s, ip: 10.0.0.80, port: 443}\n"
              f"steps:\n  - title: x\n    do: [client send {'9' * 5000}]\n---\n")
    (error,) = errors_of(make_project({"linux/how/l.md": lesson}))
    assert error.startswith("content/linux/how/l.md:10: step 1: 'client send' needs a byte count")


def test_a_template_that_is_not_utf8(make_project):
    project = make_project()
    (project.root / "templates/layouts/page.html").write_bytes(b"\xff{{ x }}")
    assert errors_of(project) == ["templates/layouts/page.html: not valid UTF-8: byte 0xff at "
                                  "offset 0; save the template as UTF-8"]


def test_headings_never_take_the_ids_of_the_player_or_the_page(make_project):
    body = "## Lesson trace\n\n## Step 2\n\n## Main\n\n## Player\n"
    project = make_project({"linux/kb/port.md": f"---\ntitle: Port\n---\n{body}"})
    project.build(search=False)
    html = project.page("linux/kb/port")
    for reserved in ("lesson-trace", "step-2", "main", "player"):
        assert f'<h2 id="{reserved}-heading">' in html
    assert html.count('id="main"') == 1


def test_player_inside_a_quote_or_list_stays_text_and_on_a_page_layout_is_an_error(make_project):
    lesson = ("---\ntitle: L\nlayout: page\nsimulation:\n  model: tcp\n"
              "  client: {name: c, ip: 10.0.0.5}\n  server: {name: s, ip: 10.0.0.80, port: 443}\n"
              "steps:\n  - title: x\n    do: [server listen]\n    text: |\n      ::player\n---\n"
              "> ::player\n\n- ::player\n\n::player\n")
    assert errors_of(make_project({"linux/how/l.md": lesson})) == [
        "content/linux/how/l.md:12: ::player belongs in the page's body, not in its frontmatter",
        "content/linux/how/l.md:18: ::player is shown only by layout: lesson (this page has "
        "layout: page)",
    ]


def test_control_characters_in_messages_are_shown_escaped():
    err = BuildError("unknown wiki-link [[\x1b[2Kbuilt\x07]]", "content/a\nb.md", 3)
    assert str(err) == "content/a\\nb.md:3: unknown wiki-link [[\\x1b[2Kbuilt\\x07]]"


def test_a_running_build_keeps_its_folder_and_a_dead_one_is_cleaned(make_project):
    project = make_project()
    project.build(search=False)
    # a build writing its folder holds a lock on it; process ids do not tell (another
    # container's build has its own: "1" here is alive but is not that build)
    running = project.root / ".site.build-999999999"
    running.mkdir()
    dead = project.root / ".site.build-1"
    dead.mkdir()
    (dead / "leftover.html").write_text("x")
    lock = os.open(running, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        project.build(search=False, strict=True)
        assert running.is_dir() and not dead.exists()
    finally:
        os.close(lock)
    project.build(search=False)  # the lock is gone: so is the folder
    assert not running.exists()


def test_a_build_killed_between_its_renames_gets_the_previous_site_back(make_project):
    project = make_project()
    project.build(search=False)
    before = (project.out / "index.html").read_bytes()
    project.out.rename(project.root / ".site.old-999999999")  # as if killed right there
    (project.content / "linux/kb/port.md").write_text("---\ntitle: Port\n---\n[[nope]]\n")
    errors_of(project)  # a failing build: the previous site must come back
    assert (project.out / "index.html").read_bytes() == before


def test_every_page_can_be_linked_even_where_suffixes_are_ambiguous(make_project):
    project = make_project({
        "linux/kb/arp.md": "---\ntitle: ARP\n---\n",
        "kb/arp.md": "---\ntitle: Top ARP\n---\n",
        "home.md": "---\ntitle: A page called home\n---\n",
        "pricing.md": "---\ntitle: Pricing\n---\n[[kb/arp]]\n",
    })
    errors = errors_of(project)  # [[home]] in the menu and [[kb/arp]] are ambiguous now
    assert any(e.endswith("write [[/]] or [[/home]]") for e in errors), errors
    assert any(e.endswith("write [[/kb/arp]] or [[linux/kb/arp]]") for e in errors), errors
    (project.content / "pricing.md").write_text(
        "---\ntitle: Pricing\n---\n[[/kb/arp]] [[/linux/kb/arp]] [[/]] [[/home]]\n")
    config = project.root / "site.yaml"
    config.write_text(config.read_text().replace("page: home", "page: /"))
    project.build(search=False)
    html = project.page("pricing")
    for href in ("../kb/arp/index.html", "../linux/kb/arp/index.html", "../index.html",
                 "../home/index.html"):
        assert f'href="{href}"' in html


def test_links_in_step_texts_are_reported_at_their_own_lines(make_project):
    lesson = ("---\ntitle: L\nlayout: lesson\nsimulation:\n  model: tcp\n"
              "  client: {name: c, ip: 10.0.0.5}\n  server: {name: s, ip: 10.0.0.80, port: 443}\n"
              "steps:\n"
              "  - title: a\n    do: [server listen]\n    text: see [[nope2]]\n"
              "  - title: b\n    text: see [[nope2]]\n"
              "  - title: c\n    text: |\n      one\n      two [[nope3]]\n"
              "  - title: d\n    text: >\n      folded\n      [[nope4]]\n"
              "---\n")
    assert errors_of(make_project({"linux/how/l.md": lesson})) == [
        "content/linux/how/l.md:11: unknown wiki-link [[nope2]]",
        "content/linux/how/l.md:13: unknown wiki-link [[nope2]]",
        "content/linux/how/l.md:17: unknown wiki-link [[nope3]]",
        "content/linux/how/l.md:20: unknown wiki-link [[nope4]]",  # folded: where it starts
    ]


def test_a_control_character_in_yaml_is_located(make_project):
    project = make_project({"linux/kb/zz.md": "---\ntitle: Z\ntags: [a\x01]\n---\n"})
    (error,) = errors_of(project)
    assert error.startswith("content/linux/kb/zz.md:3: malformed YAML frontmatter")


def test_a_5_mb_page_builds(make_project):
    # ~5 MB of ordinary text, lists, code and links: it builds (time is in bench/, not here)
    paragraph = "A paragraph about sockets and [[port]] numbers, with `code` and *emphasis*. "
    block = ("## Part {n}\n\n" + paragraph * 20 + "\n\n- item one\n- item [[tcp-states]]\n\n"
             "```shell\nss -tan\n```\n\n")
    parts = 3200
    body = "".join(block.replace("{n}", str(n)) for n in range(parts))
    assert len(body.encode()) > 5_000_000
    project = make_project({"linux/kb/huge.md": f"---\ntitle: Huge\n---\n{body}"})
    project.build(search=False)
    html = project.page("linux/kb/huge")
    prose = html.split('<div class="prose">', 1)[1].split("</div>", 1)[0]
    assert prose.count('class="wikilink" href="../port/index.html"') == 20 * parts
    assert f'id="part-{parts - 1}"' in html


@pytest.mark.parametrize(("meta", "message"), [
    ("steps: server listen\nsimulation: {model: tcp}",
     "content/linux/how/l.md:3: 'steps' must be a list (got str), e.g. 'steps: [{title: ..., do: [...]}]'"),
    ("simulation: tcp", "content/linux/how/l.md:3: 'simulation' must be a mapping (got str), "
     "e.g. 'simulation: {model: tcp, ...}'"),
    ("related: [port, 1]", "content/linux/how/l.md:3: 'related' must be a list of strings; "
     "item 2 is int"),
])
def test_one_mistake_one_message(make_project, meta, message):
    player = "::player\n" if "simulation" in meta else ""
    page = f"---\ntitle: L\n{meta}\nlayout: lesson\n---\nText.\n\n{player}"
    assert errors_of(make_project({"linux/how/l.md": page})) == [message]


def test_a_page_that_cannot_be_read_is_one_error_not_one_per_link_to_it(make_project):
    # tcp-states links [[port]]; a broken port.md must not make that an unknown link
    project = make_project({"linux/kb/port.md": '---\ntitle: "Port\nlayout: article\n---\nx\n'})
    assert errors_of(project) == ["content/linux/kb/port.md:2: malformed YAML frontmatter: a "
                                  "quoted string is not closed: add the closing quote"]


def test_an_unclosed_quote_is_found_where_it_opens(make_project):
    page = '---\ntitle: T\ntopic: "net\nsteps:\n  - title: "x"\n---\n'
    assert errors_of(make_project({"linux/kb/q.md": page})) == [
        "content/linux/kb/q.md:3: malformed YAML frontmatter: a quoted string is not closed: "
        "add the closing quote"]


def test_an_output_path_in_a_symlink_loop_is_a_clear_error(make_project):
    project = make_project()
    (project.root / "loop1").symlink_to("loop2")
    (project.root / "loop2").symlink_to("loop1")
    for out in ("loop1", "loop1/site"):
        with pytest.raises(ErrorList) as failed:
            build_site(project.root, project.root / out, search=False)
        assert [str(e) for e in failed.value] == [
            f"{out}: the output path runs into a symlink loop; fix the links or choose "
            "another --out"]


def test_a_page_where_the_search_index_goes_is_refused_with_search_only(make_project):
    project = make_project({"pagefind.md": "---\ntitle: Pagefind\n---\nOur search engine.\n"})
    with pytest.raises(ErrorList) as failed:
        project.build(search=True)
    assert [str(e) for e in failed.value] == [
        "content/pagefind.md: /pagefind/ is where the search index goes; rename this page "
        "(or build with --no-search)"]
    assert not project.out.exists()
    project.build(search=False)
    assert "Our search engine." in project.page("pagefind")


def test_the_build_cache_folder_cannot_be_the_output(make_project):
    project = make_project()
    for out, problem in ((".stepwise-cache", "would replace"),
                         (".stepwise-cache/site", "is inside")):
        with pytest.raises(ErrorList) as failed:
            build_site(project.root, project.root / out, search=False)
        assert str(failed.value.errors[0]).startswith(
            f"{out}: output folder {problem} .stepwise-cache")


def test_two_builds_with_one_process_id_keep_their_own_temporary_folders(tmp_path):
    # two containers: each build may be process 1, writing into one shared folder
    out = tmp_path / "site"
    first = OutputStage(out)
    second = OutputStage(out)  # must not take the first's folder for a dead build's
    assert first.tmp != second.tmp and first.tmp.is_dir() and second.tmp.is_dir()
    first.write("a/index.html", b"first")
    second.write("a/index.html", b"second")
    first.commit({"a/index.html": b"first"}, None)
    assert (out / "a" / "index.html").read_bytes() == b"first"
    second.commit({"a/index.html": b"second"}, None)
    assert (out / "a" / "index.html").read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]

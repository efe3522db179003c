"""``build`` after edits, in a new process each time: it restores the previous build's
state (stepwise/state.py), re-renders only what the edits affect, changes only those
files in place (stepwise/journal.py), and the folder is byte for byte what a full
build writes (or both fail with the same errors); whatever invalidates the state makes
it a full build; a failed or killed build leaves the previous site."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stepwise.cache
import stepwise.state
from stepwise import journal
from stepwise.build import build_site
from stepwise.errors import ErrorList
from tests.conftest import REPO
from tests.test_incremental import edit, ops


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def built(root: Path, out: Path, **options: object) -> dict[str, bytes] | list[str]:
    """The output folder after a build (or its errors)."""
    try:
        build_site(root, out, **options)  # type: ignore[arg-type]
    except ErrorList as errors:
        return [str(e) for e in errors]
    return tree(out)


def full(root: Path, out: Path, **options: object) -> dict[str, bytes] | list[str]:
    """What a full build writes into a fresh folder (the cache neither read nor written)."""
    shutil.rmtree(out, ignore_errors=True)
    return built(root, out, cache=False, **options)


# -- the property: any edits, then build, give what a full build gives ------------------

site_ops = st.one_of(
    ops,
    st.tuples(st.just("config"), st.sampled_from(["Site A", "Site B"])),
    st.tuples(st.just("break"), st.sampled_from(["linux/kb/port.md", "pricing.md"])),
    # a stylesheet every page names (its published name changes) or only lessons do
    st.tuples(st.just("css"), st.sampled_from(["css/site.css", "css/player.css"])),
    st.tuples(st.just("meta"), st.sampled_from(["linux/kb/port.md", "linux/how/tcp-handshake.md"]),
              st.just("date"), st.sampled_from(["2024-05-01", "2025-01-31"])),
    st.tuples(st.just("lesson"), st.sampled_from(["client connect", "server listen"])),
)


def edit_site(root: Path, op: tuple) -> None:
    kind, *args = op
    if kind == "config":
        path = root / "site.yaml"
        path.write_text(path.read_text().replace(
            path.read_text().split("\n")[0], f"title: {args[0]}", 1))
    elif kind == "break":  # a link to no page: the build fails until a later edit fixes it
        path = root / "content" / args[0]
        path.write_text(path.read_text().replace("[[nope]]", "") + "\nSee [[nope]].\n")
    elif kind == "css":
        with open(root / "static" / args[0], "a") as f:
            f.write("\n/* edited */\n")
    elif kind == "lesson":  # another step: another trace, another card
        path = root / "content/linux/how/tcp-handshake.md"
        path.write_text(path.read_text().replace(
            "steps:\n", f"steps:\n  - {{title: first, do: [{args[0]}]}}\n", 1))
    else:
        edit(root, op)
    if kind != "break":  # any other edit fixes a broken page
        for path in (root / "content").rglob("*.md"):
            text = path.read_text()
            if "[[nope]]" in text:
                path.write_text(text.replace("\nSee [[nope]].\n", ""))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(site_ops, min_size=1, max_size=5), st.booleans())
def test_a_build_after_any_edits_writes_what_a_full_build_writes(make_project_once, sequence,
                                                                  strict):
    project = make_project_once()
    out, fresh = project.root / "site", project.root.parent / f"{project.root.name}-full"
    assert built(project.root, out, search=False, strict=strict) == full(
        project.root, fresh, search=False, strict=strict)
    for op in sequence:
        edit_site(project.root, op)
        assert built(project.root, out, search=False, strict=strict) == full(
            project.root, fresh, search=False, strict=strict), op


@pytest.fixture
def make_project_once(make_project, tmp_path_factory, monkeypatch):
    """A new project per hypothesis example."""
    from tests.conftest import BASE_CONTENT, THEME
    from tests.conftest import Project as TestProject

    def make():
        root = tmp_path_factory.mktemp("prop") / "project"
        root.mkdir()
        shutil.copy(REPO / "site.yaml", root / "site.yaml")
        shutil.copytree(THEME / "templates", root / "templates")
        shutil.copytree(THEME / "static", root / "static")
        project = TestProject(root)
        # a date, a lead and no description: the feed shows the lead (a page's heavy results
        # are restored only for the pages rendered again; the feed reads every lead)
        for rel, text in {**BASE_CONTENT, "linux/kb/tls.md":
                          "---\ntitle: TLS\nlayout: article\nlead: Records *over* TCP.\n"
                          "date: 2024-01-02\n---\n## Records\n"}.items():
            project.write(rel, text)
        monkeypatch.chdir(root)
        return project

    return make


def test_separate_processes_write_what_a_full_build_writes(make_project, tmp_path):
    """The same, each build a new `stepwise build` process (nothing shared in memory)."""
    project = make_project()
    env = dict(os.environ, STEPWISE_JOBS="1")

    def build() -> str:
        done = subprocess.run([sys.executable, str(REPO / "build.py"), "build", "--no-search"],
                              cwd=project.root, env=env, capture_output=True, text=True,
                              check=True)
        return done.stdout

    assert "rendered again" not in build()
    for op in [("body", "linux/kb/port.md", "tcp-states"),
               ("meta", "linux/kb/tcp-states.md", "title", "Alpha"),
               ("add", "linux/kb", "Alpha"), ("heading", "linux/kb/port.md", "New"),
               ("template", "partials/footer.html"), ("static", "a"), ("remove",),
               ("css", "css/player.css"), ("lesson", "client connect")]:
        edit_site(project.root, op)
        assert "rendered again, the others as they were" in build(), op
        assert tree(project.out) == full(project.root, tmp_path / "full", search=False), op


def test_with_search_the_index_is_what_a_full_build_writes(make_project, tmp_path):
    project = make_project()
    project.build()
    edit(project.root, ("body", "linux/kb/port.md", "tcp-states"))
    result = project.build()
    assert result.rendered is not None and result.search.startswith("search index: ")
    assert tree(project.out) == full(project.root, tmp_path / "full")


# -- what it re-renders, and what makes it a full build ----------------------------------

def test_a_body_edit_renders_one_page_and_writes_its_file(make_project):
    project = make_project()
    project.build(search=False)
    stamps = {p: p.stat().st_mtime_ns for p in project.out.rglob("*.html")}
    with open(project.content / "linux/kb/port.md", "a") as f:
        f.write("\nOne more sentence.\n")
    result = project.build(search=False)
    assert result.rendered == 1
    assert "1 rendered again" in result.summary()
    written = {p for p, t in stamps.items() if p.stat().st_mtime_ns != t}
    assert written == {project.out / "linux/kb/port/index.html"}


def test_a_body_edit_writes_again_only_the_chunk_of_records_it_changed(make_project,
                                                                       monkeypatch, tmp_path):
    import sqlite3

    monkeypatch.setattr(stepwise.state, "CHUNK", 2)

    def chunks() -> dict[int, bytes]:
        [db_path] = (project.root / ".stepwise-cache").glob("*.db")
        with contextlib.closing(sqlite3.connect(db_path)) as db:
            return dict(db.execute("SELECT chunk, value FROM pages"))

    project = make_project({"linux/kb/extra.md": "---\ntitle: Extra\n---\nNothing links here.\n"})
    project.build(search=False)
    before = chunks()
    records = sum(len(pickle.loads(v)) for v in before.values())
    assert len(before) == -(-records // 2) > 3
    # a sentence more changes no record (the text is in the page's body row)
    port = project.content / "linux/kb/port.md"
    with open(port, "a") as f:
        f.write("\nOne more sentence.\n")
    assert project.build(search=False).rendered == 1
    assert chunks() == before
    # a new title changes the page's record: its chunk alone is written again
    port.write_text(port.read_text().replace("title: Port", "title: Ports"))
    assert project.build(search=False).rendered >= 1
    after = chunks()
    assert sorted(after) == sorted(before)
    assert len([n for n in after if after[n] != before[n]]) == 1
    # a removed page shifts the records after it into other chunks; the next build
    # restores every page from them and writes what a full build writes
    (project.content / "linux/kb/extra.md").unlink()
    project.build(search=False)
    assert len(chunks()) == -(-(records - 1) // 2)
    with open(project.content / "pricing.md", "a") as f:
        f.write("\nMore.\n")
    assert project.build(search=False).rendered >= 1
    assert tree(project.out) == full(project.root, tmp_path / "full", search=False)


def test_an_edit_next_to_a_code_block_does_not_highlight_it_again(make_project, monkeypatch,
                                                                   tmp_path):
    import stepwise.markdown

    code = "\n```shell\nss -tan state time-wait\n```\n"
    project = make_project({"linux/kb/ss.md": "---\ntitle: ss\n---\nLook:\n" + code})
    project.build(search=False)
    page = project.out / "linux/kb/ss/index.html"
    block = page.read_text().split('<pre class="highlight">', 1)[1].split("</pre>")[0]
    # a new build process: nothing highlighted in memory, and Pygments is not asked
    monkeypatch.setattr(stepwise.markdown, "_HIGHLIGHTED", {})
    monkeypatch.setattr(stepwise.markdown, "_lexer", lambda lang: pytest.fail(lang))
    with open(project.content / "linux/kb/ss.md", "a") as f:
        f.write("\nOne more sentence.\n")
    assert project.build(search=False).rendered == 1
    assert block in page.read_text() and "One more sentence." in page.read_text()
    assert tree(project.out) == full(project.root, tmp_path / "full", search=False)


@pytest.mark.parametrize("change", ["site.yaml", "theme.yaml", "code", "library",
                                    "template added", "marker", "deleted output",
                                    "state file", "cwd", "options"])
def test_what_invalidates_the_state_builds_in_full(make_project, monkeypatch, tmp_path,
                                                   change):
    project = make_project()
    project.build(search=False)
    edit(project.root, ("body", "linux/kb/port.md", "tcp-states"))
    if change == "site.yaml":
        with open(project.root / "site.yaml", "a") as f:
            f.write("\n# a comment\n")
    elif change == "theme.yaml":
        theme = project.root / "theme"
        shutil.copytree(REPO / "stepwise/themes/default", theme)
        monkeypatch.setattr("stepwise.theme.BUILTIN", theme)
        project.build(search=False)
        with open(theme / "theme.yaml", "a") as f:
            f.write("\n# a comment\n")
    elif change == "code":  # any change to stepwise's code, its models included
        monkeypatch.setattr(stepwise.state, "code_version", lambda: "another")
    elif change == "library":
        monkeypatch.setattr(stepwise.state, "library_versions", lambda: "jinja2=9")
    elif change == "template added":
        (project.root / "templates/partials/extra.html").write_text("x")
    elif change == "marker":
        (project.out / ".stepwise-output").write_text("made by stepwise\nbuild: other\n")
    elif change == "deleted output":
        (project.out / "about/index.html").unlink()
    elif change == "state file":
        for db in (project.root / ".stepwise-cache").glob("*.db"):
            db.write_bytes(b"not a database" * 100)
    elif change == "cwd":
        monkeypatch.chdir(tmp_path)
    result = project.build(search=False, strict=change == "options")
    assert result.rendered is None, "a full build"
    assert tree(project.out) == full(project.root, tmp_path / "full", search=False,
                                     strict=change == "options")
    assert project.build(search=False).unchanged or change == "options"


@pytest.mark.parametrize("damage", [b"\x00", pickle.dumps(None), pickle.dumps(("a", 1))])
def test_damaged_page_results_in_the_state_never_break_a_build(make_project, tmp_path,
                                                               damage):
    import sqlite3

    project = make_project()
    project.build(search=False)
    [db_path] = (project.root / ".stepwise-cache").glob("*.db")

    def damage_rows(where: str) -> None:
        with contextlib.closing(sqlite3.connect(db_path)) as db, db:
            db.execute(f"UPDATE body SET value = ? WHERE {where}", (damage,))

    # the edited page's own row: it is compiled again, so the build stays incremental
    damage_rows("source LIKE '%port.md'")
    edit(project.root, ("meta", "linux/kb/port.md", "title", "Ports"))
    assert project.build(search=False).rendered is not None
    assert tree(project.out) == full(project.root, tmp_path / "full", search=False)
    # pages rendered again without being compiled (a listing shows the new
    # description): their results are needed, and a full build replaces the state
    damage_rows("1")
    edit(project.root, ("meta", "linux/kb/port.md", "description", "other words"))
    assert project.build(search=False).rendered is None, "a full build"
    assert tree(project.out) == full(project.root, tmp_path / "full2", search=False)
    assert project.build(search=False).unchanged


def test_a_journal_being_saved_when_its_build_was_killed_is_removed(make_project):
    project = make_project()
    project.build(search=False)
    unsaved = project.out / f"{journal.JOURNAL}.12345-0a0b0c0d"
    unsaved.write_text('{"token": "12345-0a0b0c0d", "entries": []}')
    edit(project.root, ("body", "linux/kb/port.md", "tcp-states"))
    project.build(search=False)
    assert not unsaved.exists()
    assert not [p for p in project.out.iterdir() if p.name.startswith(".stepwise-journal")]


def test_a_failed_build_reports_what_a_full_build_reports_and_keeps_the_site(make_project,
                                                                             tmp_path):
    project = make_project()
    project.build(search=False)
    before = tree(project.out)
    edit_site(project.root, ("break", "linux/kb/port.md"))
    failed = built(project.root, project.out, search=False)
    assert failed == full(project.root, tmp_path / "full", search=False)
    assert isinstance(failed, list) and "unknown wiki-link [[nope]]" in failed[0]
    assert tree(project.out) == before
    edit_site(project.root, ("body", "linux/kb/port.md", "tcp-states"))  # the fix
    assert project.build(search=False).rendered is not None


# -- the output folder, changed in place as one transaction ------------------------------

def test_a_write_that_fails_rolls_everything_back(tmp_path, monkeypatch):
    out = tmp_path / "site"
    for rel, text in {"a/index.html": "a", "b/index.html": "b", "c/index.html": "c",
                      "gone/index.html": "gone"}.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text)
    before = tree(out)
    real = os.replace

    def full_disk(src, dst, *args, **kwargs):
        if str(dst).endswith("c/index.html"):
            raise OSError(28, "No space left on device", str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(journal.os, "replace", full_disk)
    update = journal.InPlaceUpdate(out)
    with pytest.raises(OSError):
        update.apply({"a/index.html": b"A", "b/index.html": b"B", "c/index.html": b"C",
                      "new/deep/index.html": b"N"}, ["gone/index.html"])
    update.rollback()
    monkeypatch.undo()
    assert tree(out) == before
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "a", "a/index.html", "b", "b/index.html", "c", "c/index.html", "gone",
        "gone/index.html"]
    update = journal.InPlaceUpdate(out)
    update.apply({"a/index.html": b"A", "new/deep/index.html": b"N"}, ["gone/index.html"])
    update.commit()
    assert tree(out) == {"a/index.html": b"A", "b/index.html": b"b", "c/index.html": b"c",
                         "new/deep/index.html": b"N"}
    assert not (out / "gone").exists()


def test_a_build_whose_update_cannot_be_written_builds_in_full(make_project, monkeypatch,
                                                                tmp_path):
    project = make_project()
    project.build(search=False)
    edit(project.root, ("meta", "linux/kb/port.md", "title", "Ports"))  # many pages
    real = os.replace

    def full_disk(src, dst, *args, **kwargs):
        if ".new-" in str(src) and "tcp-states" in str(dst):
            raise OSError(28, "No space left on device", str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(journal.os, "replace", full_disk)
    assert project.build(search=False).rendered is None  # the update rolled back
    monkeypatch.undo()
    assert tree(project.out) == full(project.root, tmp_path / "full", search=False)
    assert not (project.out / journal.JOURNAL).exists()


def test_search_failing_rolls_the_pages_back(make_project, monkeypatch):
    from stepwise.errors import BuildError

    project = make_project()
    project.build()
    before = tree(project.out)
    edit(project.root, ("body", "linux/kb/port.md", "tcp-states"))

    def broken(*args, **kwargs):
        raise BuildError("search: Pagefind failed (exit status 1): boom")

    monkeypatch.setattr("stepwise.build.make_index", broken)
    monkeypatch.setattr("stepwise.build.index_site", broken)
    with pytest.raises(ErrorList):
        project.build()
    assert tree(project.out) == before


def test_an_update_killed_midway_is_rolled_back_by_the_next_build(make_project, tmp_path):
    project = make_project()
    project.build(search=False)
    before = tree(project.out)
    edit(project.root, ("meta", "linux/kb/port.md", "title", "Ports"))
    # the build stops dead after the third file is in place (as a SIGKILL would)
    code = ("import os, sys; from stepwise import journal; real = os.replace; n = [0]\n"
            "def stop(*a, **k):\n"
            "    n[0] += 1\n"
            "    if n[0] == 3: os._exit(9)\n"
            "    return real(*a, **k)\n"
            "journal.os.replace = stop\n"
            "from stepwise.cli import main; sys.exit(main(['build', '--no-search']))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=project.root,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 9
    assert (project.out / journal.JOURNAL).is_file() and tree(project.out) != before
    assert journal.recover(project.out)
    assert tree(project.out) == before
    assert project.build(search=False).rendered is not None
    assert tree(project.out) == full(project.root, tmp_path / "full", search=False)


def test_a_killed_update_leaves_no_stray_files(make_project, tmp_path):
    project = make_project({f"linux/kb/bulk{n}.md": f"---\ntitle: Bulk {n}\n---\n" + "w " * 3000
                            for n in range(60)})
    project.build(search=False)
    before = tree(project.out)
    edit(project.root, ("meta", "linux/kb/port.md", "title", "Ports"))
    proc = subprocess.Popen([sys.executable, str(REPO / "build.py"), "build", "--no-search"],
                            cwd=project.root, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not (project.out / journal.JOURNAL).exists() and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    build_site(project.root, project.out, search=False)  # rolls back, then updates
    assert tree(project.out) == full(project.root, tmp_path / "full", search=False)
    assert tree(project.out) != before
    assert not [p for p in project.out.rglob("*") if ".new-" in p.name or ".old-" in p.name]

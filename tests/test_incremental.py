"""Incremental rebuilds: which pages each kind of edit re-renders, and the property
that matters: after any sequence of edits the output is byte-identical to a clean
full build of the same inputs (or both fail with the same errors)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepwise.errors import ErrorList
from stepwise.project import Project
from stepwise.site import SiteBuild


def fresh_outputs(root: Path) -> dict[str, bytes] | list[str]:
    build = SiteBuild(Project.at(root))
    try:
        build.full()
    except ErrorList as errors:
        return [str(e) for e in errors]
    return build.outputs


def incremental(build: SiteBuild) -> dict[str, bytes] | list[str]:
    try:
        build.update()
    except ErrorList as errors:
        return [str(e) for e in errors]
    return build.outputs


@pytest.fixture
def built(make_project):
    project = make_project({
        "linux/kb/tls.md": "---\ntitle: TLS\nlayout: article\norder: 5\n---\n## Records\n\nOn [[port]].\n",
    })
    build = SiteBuild(Project.at(project.root))
    build.full()
    return project, build


def rendered_after(build: SiteBuild, project, rel: str, old: str, new: str) -> list[str]:
    path = project.content / rel
    path.write_text(path.read_text().replace(old, new, 1))
    result = build.update()
    assert build.outputs == fresh_outputs(project.root)
    return result.rendered


def test_body_edit_re_renders_only_that_page(built):
    project, build = built
    assert rendered_after(build, project, "linux/kb/tls.md", "On [[port]]", "Over [[port]]") == [
        "/linux/kb/tls/"]


def test_body_edit_that_drops_a_link_re_renders_the_old_target_for_its_backlinks(built):
    project, build = built
    assert rendered_after(build, project, "linux/kb/tls.md", "On [[port]]", "On ports") == [
        "/linux/kb/port/", "/linux/kb/tls/"]


def test_title_edit_re_renders_linkers_and_the_tutorial_sidebar(built):
    project, build = built
    rendered = rendered_after(build, project, "linux/kb/port.md", "title: Port", "title: Ports")
    # every page of the tutorial shows the sidebar; tcp-states links [[port]] by title
    assert set(rendered) >= {"/linux/kb/port/", "/linux/kb/tcp-states/", "/linux/", "/linux/kb/"}
    assert "/pricing/" not in rendered and "/terraform/" not in rendered


def test_template_edit_re_renders_the_pages_that_use_it(built):
    project, build = built
    path = project.root / "templates/layouts/article.html"
    path.write_text(path.read_text().replace('<article class="article">', '<article class="article kb">'))
    result = build.update()
    assert result.rendered == ["/linux/kb/port/", "/linux/kb/tcp-handshake/", "/linux/kb/tcp-states/",
                               "/linux/kb/tls/"]
    assert build.outputs == fresh_outputs(project.root)


def test_static_edit_renames_the_file_and_re_renders_the_pages_that_name_it(built):
    project, build = built
    old = {p for p in build.outputs if p.startswith("static/")}
    (project.root / "static/css/player.css").write_text("figure{}")
    result = build.update()
    assert result.static_changed == ["css/player.css"]
    # the stylesheet under its new name, the old one gone; only the lessons link it
    new = {p for p in build.outputs if p.startswith("static/")}
    [gone], [added] = sorted(old - new), sorted(new - old)
    assert gone.startswith("static/css/player.") and added.startswith("static/css/player.")
    assert added in result.changed and gone in result.removed
    assert result.rendered == ["/linux/how/tcp-handshake/"]
    assert build.outputs == fresh_outputs(project.root)
    (project.root / "static/css/site.css").write_text("body{}")
    assert len(build.update().rendered) == len(build.pages)  # every page links site.css
    assert build.outputs == fresh_outputs(project.root)


def test_nothing_changed_renders_nothing(built):
    _project, build = built
    result = build.update()
    assert (result.rendered, result.changed) == ([], [])


def test_an_error_keeps_the_last_good_outputs_and_the_fix_recovers(built):
    project, build = built
    good = dict(build.outputs)
    path = project.content / "linux/kb/tls.md"
    text = path.read_text()
    path.write_text(text.replace("[[port]]", "[[prot]]"))
    with pytest.raises(ErrorList):
        build.update()
    assert build.outputs == good
    path.write_text(text.replace("Records", "Record layer"))
    build.update()
    assert build.outputs == fresh_outputs(project.root)


def test_quick_saves_of_the_same_size_are_all_seen(built):
    # file times are coarse: two same-size saves can share an mtime
    project, build = built
    path = project.content / "linux/kb/tls.md"
    previous = "Records"
    for word in ("Aaaa", "Bbbb", "Cccc"):
        path.write_text(path.read_text().replace(previous, word))
        build.update()
        assert word.encode() in build.outputs["linux/kb/tls/index.html"]
        previous = word


# -- the property ----------------------------------------------------------------------

PAGES = ["linux/kb/port.md", "linux/kb/tcp-states.md", "linux/kb/tls.md",
         "linux/how/tcp-handshake.md", "pricing.md", "linux/how/_index.md"]
SLUGS = ["port", "tcp-states", "tls", "kb/tcp-handshake", "how/tcp-handshake", "pricing", "kb",
         "extra", "tls#records", "port#port-ranges",
         # names as titles and headings as text: a title or heading edit changes them
         "TCP states", "Alpha", "Zeta zeta", "Extra", "kb/TCP Handshake", "port#Port ranges",
         "tls#New", "Pricing#Records"]


def edit(root: Path, op: tuple) -> None:
    kind, *args = op
    content = root / "content"
    if kind == "body":
        page, slug = args
        path = content / page
        path.write_text(path.read_text() + f"\nMore about [[{slug}]].\n")
    elif kind == "meta":
        page, key, value = args
        path = content / page
        head, sep, body = path.read_text().partition("\n---\n")
        lines = [ln for ln in head.split("\n") if not ln.startswith(f"{key}:")]
        path.write_text("\n".join(lines + [f"{key}: {value}"]) + sep + body)
    elif kind == "heading":
        path = content / args[0]
        path.write_text(path.read_text() + f"\n## {args[1]}\n")
    elif kind == "add":
        folder, slug = args
        path = content / folder / "extra.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\ntitle: Extra\nlayout: article\n---\nSee [[{slug}]].\n")
    elif kind == "remove":
        for path in content.rglob("extra.md"):
            path.unlink()
    elif kind == "template":
        path = root / "templates" / args[0]
        path.write_text(path.read_text() + "\n")
    elif kind == "static":
        (root / "static" / "extra.txt").write_text(args[0])


ops = st.one_of(
    st.tuples(st.just("body"), st.sampled_from(PAGES), st.sampled_from(SLUGS)),
    st.tuples(st.just("meta"), st.sampled_from(PAGES),
              st.sampled_from(["title", "description", "order"]),
              st.sampled_from(["Alpha", "2", "Zeta zeta", "7"])),
    st.tuples(st.just("heading"), st.sampled_from(PAGES), st.sampled_from(["Records", "Port ranges", "New"])),
    st.tuples(st.just("add"), st.sampled_from(["linux/kb", "linux/how", "linux/labs", "."]),
              st.sampled_from(SLUGS)),
    st.tuples(st.just("remove")),
    st.tuples(st.just("template"), st.sampled_from(["layouts/article.html", "partials/footer.html"])),
    st.tuples(st.just("static"), st.sampled_from(["a", "b"])),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ops, min_size=1, max_size=6))
def test_incremental_equals_full_after_any_edits(make_project_once, sequence):
    project = make_project_once()
    build = SiteBuild(Project.at(project.root))
    build.full()
    for op in sequence:
        edit(project.root, op)
        assert incremental(build) == fresh_outputs(project.root), op


@pytest.fixture
def make_project_once(make_project, tmp_path_factory, monkeypatch):
    """A new project per hypothesis example (make_project allows one per test)."""
    import shutil

    from tests.conftest import BASE_CONTENT, REPO, THEME
    from tests.conftest import Project as TestProject

    def make():
        root = tmp_path_factory.mktemp("prop")
        shutil.copy(REPO / "site.yaml", root / "site.yaml")
        shutil.copytree(THEME / "templates", root / "templates")
        shutil.copytree(THEME / "static", root / "static")
        project = TestProject(root)
        for rel, text in {**BASE_CONTENT,
                          "linux/kb/tls.md": "---\ntitle: TLS\nlayout: article\n---\n## Records\n"}.items():
            project.write(rel, text)
        monkeypatch.chdir(root)
        return project

    return make


def test_a_changed_capture_rebuilds_the_lesson_that_plays_it(make_project):
    from tests.conftest import REPO

    captures = REPO / "content/linux/how/captures"
    project = make_project({"linux/how/replay.md": (
        "---\ntitle: Replay\nlayout: lesson\nsimulation:\n  model: tcp\n  capture: c.pcap\n"
        "  client: {name: c, ip: 10.0.0.5}\n  server: {name: s, ip: 10.0.0.80}\n---\nText.\n")})
    capture = project.content / "linux/how/c.pcap"
    capture.write_bytes((captures / "connect-refused.pcap").read_bytes())
    build = SiteBuild(Project.at(project.root))
    build.full()
    assert build.outputs["linux/how/replay/index.html"].count(b'"frame":') == 4  # 2 steps
    capture.write_bytes((captures / "server-closes-first.pcap").read_bytes())
    result = build.update()
    # the step count changed too, so the listings that show it are re-rendered
    assert "/linux/how/replay/" in result.rendered
    assert build.outputs == fresh_outputs(project.root)
    assert build.outputs["linux/how/replay/index.html"].count(b'"frame":') > 4


def test_links_by_title_and_heading_text_follow_edits_of_the_target(make_project):
    project = make_project({
        "linux/kb/tls.md": "---\ntitle: Transport security\n---\n## Records\n",
        "linux/kb/notes.md": "---\ntitle: Notes\n---\n[[Transport Security#Records]]\n",
    })
    build = SiteBuild(Project.at(project.root))
    build.full()
    assert b'href="../tls/index.html#records"' in build.outputs["linux/kb/notes/index.html"]
    tls = project.content / "linux/kb/tls.md"
    tls.write_text("---\ntitle: Transport security\n---\n## Record layer\n")
    assert incremental(build) == fresh_outputs(project.root) == [
        "content/linux/kb/notes.md:4: [[Transport Security#Records]]: content/linux/kb/tls.md "
        "has no heading #Records; did you mean #Record layer?"]
    tls.write_text("---\ntitle: TLS\n---\n## Records\n")
    assert incremental(build) == fresh_outputs(project.root) == [
        "content/linux/kb/notes.md:4: unknown wiki-link [[Transport Security]]"]


def test_an_image_beside_a_page_is_published_and_its_edits_rebuild_the_page(make_project):
    project = make_project({
        "linux/kb/tls.md": "---\ntitle: TLS\n---\n![A record](record.svg)\n",
    })
    image = project.content / "linux/kb/record.svg"
    image.write_text("<svg/>")
    build = SiteBuild(Project.at(project.root))
    build.full()
    assert build.outputs["linux/kb/record.svg"] == b"<svg/>"
    assert b'<img src="../record.svg" alt="A record"' in build.outputs["linux/kb/tls/index.html"]
    image.write_text("<svg></svg>")
    result = build.update()
    assert result.rendered == ["/linux/kb/tls/"] and "linux/kb/record.svg" in result.changed
    assert build.outputs == fresh_outputs(project.root)
    image.unlink()
    assert incremental(build) == fresh_outputs(project.root) == [
        "content/linux/kb/tls.md:4: image record.svg: no file content/linux/kb/record.svg"]

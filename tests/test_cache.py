"""The build cache: a build with nothing changed does nothing; any change builds."""

from __future__ import annotations

import pytest

import stepwise.cache


def test_nothing_changed_is_reported_and_the_output_left_alone(make_project):
    project = make_project()
    first = project.build(search=False)
    page = project.out / "linux/kb/port/index.html"
    stamp = page.stat().st_mtime_ns
    second = project.build(search=False)
    assert second.unchanged and not first.unchanged
    assert second.summary().startswith(f"site/ is up to date: {first.pages} pages, nothing changed")
    assert page.stat().st_mtime_ns == stamp


@pytest.mark.parametrize("change", ["content", "template", "static", "config", "capture"])
def test_any_input_change_builds(make_project, change):
    project = make_project()
    project.build(search=False)
    root = project.root
    target = {"content": root / "content/linux/kb/port.md",
              "template": root / "templates/partials/footer.html",
              "static": root / "static/css/site.css",
              "config": root / "site.yaml",
              "capture": root / "content/linux/kb/some.pcap"}[change]
    with open(target, "a", encoding="utf-8") as f:
        f.write("\n")
    assert not project.build(search=False).unchanged


def test_other_options_or_output_build(make_project, tmp_path):
    project = make_project()
    project.build(search=False)
    assert not project.build(search=False, strict=True).unchanged
    assert not project.build(search=False, drafts=True).unchanged
    from stepwise.build import build_site

    assert not build_site(project.root, tmp_path / "elsewhere", search=False).unchanged


def test_a_touched_output_folder_builds(make_project):
    project = make_project()
    project.build(search=False)
    (project.out / ".stepwise-output").write_text("made by stepwise\nbuild: other\n")
    assert not project.build(search=False).unchanged


def test_a_new_version_of_the_code_builds(make_project, monkeypatch):
    project = make_project()
    project.build(search=False)
    monkeypatch.setattr(stepwise.cache, "code_version", lambda: "another")
    assert not project.build(search=False).unchanged


def test_warnings_are_repeated_by_an_unchanged_build(make_project):
    project = make_project({"pricing.md": "---\ntitle: Pricing\ncolour: blue\n---\nFree.\n"})
    first = project.build(search=False)
    second = project.build(search=False)
    assert second.unchanged
    assert second.warnings == first.warnings == [
        "content/pricing.md:3: unknown frontmatter key 'colour'; known keys: date, "
        "description, draft, labs, layout, lead, order, related, simulation, sort, steps, "
        "strings, tags, title, topic, updated"]


def test_a_build_with_search_after_one_without_writes_the_index(make_project):
    project = make_project()
    project.build(search=True)
    project.build(search=False)
    assert not (project.out / "pagefind").exists()
    assert not project.build(search=True).unchanged
    assert (project.out / "pagefind/pagefind.js").is_file()


def test_files_deleted_from_the_output_are_written_again(make_project):
    project = make_project()
    project.build(search=False)
    (project.out / "about/index.html").unlink()
    assert not project.build(search=False).unchanged
    assert (project.out / "about/index.html").is_file()


def test_the_highlight_stylesheet_is_kept_in_the_build_cache(make_project):
    import pygments

    from stepwise.markdown import _highlight_css

    project = make_project()
    project.build(search=False)
    kept = project.root / ".stepwise-cache" / f"highlight-{pygments.__version__}.css"
    assert kept.read_text(encoding="utf-8") == _highlight_css()
    [published] = (project.out / "static/css").glob("highlight.*.css")
    assert published.read_text(encoding="utf-8") == _highlight_css()
    # the next build takes it from there (Pygments is not asked again)
    kept.write_text(_highlight_css() + "/* kept */\n", encoding="utf-8")
    (project.root / "content/linux/kb/port.md").open("a").write("\nOne more line.\n")
    project.build(search=False)
    [published] = (project.out / "static/css").glob("highlight.*.css")
    assert published.read_text(encoding="utf-8").endswith("/* kept */\n")
    # without the build cache nothing is kept or read
    project.build(search=False, cache=False)
    [published] = (project.out / "static/css").glob("highlight.*.css")
    assert published.read_text(encoding="utf-8") == _highlight_css()


def test_the_code_version_changes_when_a_module_of_the_package_changes():
    import os

    module = stepwise.cache.PACKAGE / "models" / "tcp" / "endpoint.py"
    before = module.stat()
    stepwise.cache.code_version.cache_clear()
    version = stepwise.cache.code_version()
    try:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
        stepwise.cache.code_version.cache_clear()
        assert stepwise.cache.code_version() != version
    finally:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
        stepwise.cache.code_version.cache_clear()
    assert stepwise.cache.code_version() == version


def test_damaged_compiled_templates_are_compiled_again(make_project, tmp_path):
    project = make_project()
    project.build(search=False)
    cached = list((project.root / ".stepwise-cache" / "templates").glob("*.cache"))
    assert cached
    import jinja2.bccache

    magic = len(jinja2.bccache.bc_magic)
    for path in cached:  # Jinja's header kept, what it unpickles next broken
        data = path.read_bytes()
        path.write_bytes(data[:magic] + b"\xff" * (len(data) - magic))
    (project.root / "content/linux/kb/port.md").open("a").write("\nOne more line.\n")
    project.build(search=False)
    from stepwise.build import build_site

    expected = tmp_path / "expected"
    build_site(project.root, expected, search=False, cache=False)
    assert (project.out / "linux/kb/port/index.html").read_bytes() == \
        (expected / "linux/kb/port/index.html").read_bytes()
    # those it loaded are written anew
    assert any(b"\xff" * 8 not in path.read_bytes() for path in cached)

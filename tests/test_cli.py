"""The command line as a user meets it: --version, each subcommand's usage on its own
error, --quiet and --verbose, `stepwise new` (a starter site that builds with no
warning), `stepwise clean`, `serve --drafts`, and a README that documents every flag."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from stepwise.cli import _parser, main, version
from stepwise.scaffold import PLACEHOLDER_URL, requirements_text, starter_files
from stepwise.serve import serve

from .conftest import REPO


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stepwise", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"stepwise {version()}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", version())


@pytest.mark.parametrize("argv, usage", [
    (["build", "--bogus"], "usage: stepwise build "),
    (["build", "--base-url", "javascript:x"], "usage: stepwise build "),
    (["serve", "--port", "eighty"], "usage: stepwise serve "),
    (["serve", "extra"], "usage: stepwise serve "),
    (["new"], "usage: stepwise new "),
    (["clean", "--all"], "usage: stepwise clean "),
    (["trace"], "usage: stepwise trace "),
    (["frobnicate"], "usage: stepwise "),
])
def test_a_wrong_option_prints_its_own_subcommands_usage(argv, usage, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage), err
    assert "error:" in err


def test_new_then_build_strict_prints_no_warning(tmp_path):
    made = run("new", "my site", "--title", "Notes: mine", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stderr == ""
    assert "  cd 'my site'\n" in made.stdout
    root = tmp_path / "my site"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == \
        sorted([*starter_files(), "requirements.txt"])
    assert (root / ".gitignore").is_file() and (root / ".github/workflows/pages.yml").is_file()
    assert 'title: "Notes: mine"' in (root / "site.yaml").read_text()
    assert f"base_url: {PLACEHOLDER_URL}" in (root / "site.yaml").read_text()
    assert (root / "README.md").read_text().startswith("# Notes: mine\n")
    built = run("build", "--strict", cwd=root)
    assert built.returncode == 0, built.stderr
    assert built.stderr == ""
    assert re.fullmatch(r"built 5 pages in \d+\.\d\d s -> site/ \(search index: 7 pages, "
                        r"\d+ KB\)\n", built.stdout), built.stdout
    lesson = (root / "site/lessons/first-connection/index.html").read_text()
    article = (root / "site/kb/three-way-handshake/index.html").read_text()
    assert 'id="lesson-trace"' in lesson
    assert 'href="../../kb/three-way-handshake/index.html"' in lesson     # related:, and a wiki-link
    assert 'href="../../lessons/first-connection/index.html"' in article  # and back
    # the new site's .gitignore keeps what the build made out of git
    ignored = (root / ".gitignore").read_text().split()
    assert {"site/", ".serve-site/", ".stepwise-cache/"} <= set(ignored)


def test_new_never_overwrites(tmp_path, capsys):
    (tmp_path / "s").mkdir()
    (tmp_path / "s/site.yaml").write_text("title: mine\n")
    assert main(["new", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path}/s/site.yaml: already exists; `stepwise new` writes "
                          "only into a folder without its files (1 of them are there)")
    assert (tmp_path / "s/site.yaml").read_text() == "title: mine\n"
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["site.yaml"]


def test_new_into_an_existing_empty_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["new", "empty", "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert 'title: "empty"' in (tmp_path / "empty/site.yaml").read_text()


def test_requirements_say_where_ci_installs_stepwise_from():
    assert requirements_text("stepwise @ git+https://host/o/stepwise@abc").splitlines()[-1] == \
        "stepwise @ git+https://host/o/stepwise@abc"
    local = requirements_text(None)
    # nothing to install: the Pages workflow stops with a message naming the file
    assert all(line.startswith("#") for line in local.splitlines())


def test_quiet_and_verbose(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "s", "-q"]) == 0
    monkeypatch.chdir(tmp_path / "s")
    (tmp_path / "s/templates/partials").mkdir(parents=True)
    (tmp_path / "s/templates/partials/footer.html").write_text("<footer></footer>\n")
    assert main(["-q", "build", "--no-search"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["build", "--no-search", "--verbose", "--no-cache"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("theme default: ")
    assert out[1] == "templates/partials/footer.html overrides the theme's " \
        "templates/partials/footer.html"
    assert re.fullmatch(r"built 5 pages in .* -> site/, \d+ files", out[2])
    with pytest.raises(SystemExit):
        main(["build", "-q", "-v"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_clean_removes_what_builds_leave_and_nothing_else(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    main(["new", "s", "-q"])
    monkeypatch.chdir(tmp_path / "s")
    assert main(["build", "--no-search", "-q"]) == 0
    (tmp_path / "s/.site.build-1-dead").mkdir()  # left by a killed build
    assert main(["clean"]) == 0
    assert capsys.readouterr().out == "removed site/, .site.build-1-dead/, .stepwise-cache/\n"
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        ".github", ".gitignore", "README.md", "content", "requirements.txt", "site.yaml"]
    assert main(["clean"]) == 0
    assert capsys.readouterr().out == "nothing to remove\n"
    (tmp_path / "s/site").mkdir()
    (tmp_path / "s/site/notes.txt").write_text("mine")
    assert main(["clean"]) == 1
    assert capsys.readouterr().err == ("site: not removed: this folder was not made by "
                                       "stepwise (it has no marker file); remove it yourself\n")
    assert (tmp_path / "s/site/notes.txt").is_file()


def test_serve_drafts_publishes_a_draft_to_read_while_writing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main(["new", "s", "-q"])
    (tmp_path / "s/content/wip.md").write_text("---\ntitle: Work in progress\ndraft: true\n"
                                               "---\nNot done.\n")
    started = threading.Event()
    box: dict = {}

    def ready(url, stop):
        box.update(url=url, stop=stop)
        started.set()

    thread = threading.Thread(target=serve, args=(tmp_path / "s",), daemon=True,
                              kwargs={"port": 0, "ready": ready, "drafts": True,
                                      "search": False, "quiet": True})
    thread.start()
    assert started.wait(30)
    try:
        with urllib.request.urlopen(box["url"] + "wip/", timeout=5) as resp:
            assert "Work in progress" in resp.read().decode()
        # the 404 page links back to the served address (serve's base_url)
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(box["url"] + "nowhere/", timeout=5)
        assert re.search(f'href="{re.escape(box["url"])}static/css/site\\.[0-9a-f]{{8}}\\.css"',
                         missing.value.read().decode())
    finally:
        box["stop"]()
        thread.join(5)


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {opt for action in parser._actions for opt in action.option_strings
            if opt.startswith("--") and opt != "--help"}


def test_the_readme_documents_every_command_and_flag():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    parser, commands = _parser()
    missing = []
    for flag in _flags(parser):
        if flag not in readme:
            missing.append(flag)
    for name, sub in commands.items():
        if f"stepwise {name}" not in readme:
            missing.append(f"stepwise {name}")
        for flag in _flags(sub) - _flags(parser):  # -q, -v: any command, said once
            # each flag on the line of its command's usage in the README
            lines = [ln for ln in readme.splitlines() if f"stepwise {name}" in ln]
            if not any(flag in ln for ln in lines):
                missing.append(f"stepwise {name} {flag}")
    assert missing == []


def test_the_starter_names_the_pyodide_version_this_repository_pins(tmp_path):
    """A new site that wants the simulator installs the runtime its README names: the
    version package.json pins (and the simulator's tests run with)."""
    import json

    from stepwise.scaffold import create_site

    pinned = json.loads((REPO / "package.json").read_text())["dependencies"]["pyodide"]
    create_site(tmp_path / "s")
    assert f"npm install pyodide@{pinned}" in (tmp_path / "s/README.md").read_text()
    # and its GitHub Pages workflow installs it when the site has a simulator page
    workflow = (tmp_path / "s/.github/workflows/pages.yml").read_text()
    assert f"npm install --no-save pyodide@{pinned}" in workflow
    assert "${{ steps.pages.outputs.base_url }}" in workflow  # GitHub's own, left alone

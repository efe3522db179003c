"""Loading pages: permalinks, slugs, frontmatter checks, collisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from stepwise.content import load_pages, slugify
from stepwise.links import relative_asset, relative_url


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def test_permalinks_slugs_and_output_paths(tmp_path):
    write(tmp_path, {
        "_index.md": "---\ntitle: Home\n---\n",
        "linux/_index.md": "---\ntitle: Linux\n---\n",
        "linux/how/tcp-handshake.md": "---\ntitle: L\n---\n",
        "pricing.md": "---\ntitle: P\n---\n",
    })
    pages = {p.rel.as_posix(): p for p in load_pages(tmp_path).pages}
    lesson = pages["linux/how/tcp-handshake.md"]
    assert (lesson.url, lesson.slug, lesson.output_path) == (
        "/linux/how/tcp-handshake/", "tcp-handshake", "linux/how/tcp-handshake/index.html")
    assert lesson.section_url == "/linux/how/"
    linux = pages["linux/_index.md"]
    assert (linux.url, linux.slug, linux.is_index, linux.layout) == ("/linux/", "linux", True, "section")
    home = pages["_index.md"]
    assert (home.url, home.slug, home.output_path, home.layout) == ("/", "home", "index.html", "home")
    assert pages["pricing.md"].layout == "page"


@pytest.mark.parametrize(("name", "slug"), [
    ("tcp-handshake", "tcp-handshake"),
    ("TCP States (Linux)", "tcp-states-linux"),
    ("my  page", "my-page"),
    ("Übersicht", "übersicht"),
    ("état_des_lieux", "état_des_lieux"),
])
def test_slugify(name, slug):
    assert slugify(name) == slug


def test_file_names_with_spaces_and_non_ascii_letters_get_sensible_urls(tmp_path):
    write(tmp_path, {"My Notes/Ça va.md": "---\ntitle: X\n---\n"})
    (page,) = load_pages(tmp_path).pages
    assert page.url == "/my-notes/ça-va/"


def test_hidden_files_are_skipped(tmp_path):
    write(tmp_path, {".drafts/x.md": "---\ntitle: X\n---\n", "y.md": "---\ntitle: Y\n---\n"})
    assert [p.slug for p in load_pages(tmp_path).pages] == ["y"]


def test_missing_title_and_wrong_types_are_errors_with_lines(tmp_path):
    write(tmp_path, {"a.md": "---\norder: first\ndraft: yes please\n---\n"})
    result = load_pages(tmp_path)
    assert [str(e) for e in result.errors] == [
        "a.md:2: missing 'title' in frontmatter; add 'title: ...'",
        "a.md:2: 'order' must be an integer (got str), e.g. 'order: 3'",
        "a.md:3: 'draft' must be true or false (got str), e.g. 'draft: true'",
    ] or sorted(str(e) for e in result.errors)


def test_unknown_key_is_a_warning_naming_the_closest_known_key(tmp_path):
    write(tmp_path, {"a.md": "---\ntitle: A\ndescripton: typo\n---\n"})
    result = load_pages(tmp_path)
    assert result.errors == []
    assert [str(w) for w in result.warnings] == [
        "a.md:3: unknown frontmatter key 'descripton'; did you mean 'description'?"
    ]


def test_two_files_with_one_permalink_are_an_error(tmp_path):
    write(tmp_path, {"a/b.md": "---\ntitle: 1\n---\n", "a/b/_index.md": "---\ntitle: 2\n---\n"})
    (error,) = load_pages(tmp_path).errors
    assert error.message == "the same permalink /a/b/ as a/b.md; rename one of them"


def test_permalinks_differing_only_by_case_are_an_error(tmp_path):
    write(tmp_path, {"Port.md": "---\ntitle: 1\n---\n", "port.md": "---\ntitle: 2\n---\n"})
    # slugify lowercases, so these collide exactly; a case-insensitive disk would merge them
    (error,) = load_pages(tmp_path).errors
    assert "permalink /port/" in error.message


@pytest.mark.parametrize(("src", "dst", "expected"), [
    ("/linux/how/tcp-handshake/", "/linux/kb/port/", "../../kb/port/index.html"),
    ("/linux/how/tcp-handshake/", "/", "../../../index.html"),
    ("/", "/linux/", "linux/index.html"),
    ("/linux/", "/linux/", "index.html"),
])
def test_relative_urls_work_at_any_base_and_from_disk(src, dst, expected):
    assert relative_url(src, dst) == expected


def test_relative_asset():
    assert relative_asset("/linux/how/x/", "static/css/site.css") == "../../../static/css/site.css"
    assert relative_asset("/", "static/css/site.css") == "static/css/site.css"

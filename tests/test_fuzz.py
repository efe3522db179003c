"""Fuzz: random pages (frontmatter, Markdown with wiki-links, steps) either build or
fail with the project's own errors, each naming its file; never a bare traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepwise.errors import ErrorList
from stepwise.project import Project
from stepwise.site import SiteBuild
from tests.conftest import BASE_CONTENT, REPO, THEME

words = st.sampled_from(["port", "tcp-states", "kb/port", "nope", "../x", "#the-11-states",
                         "port#port-ranges", "kb", "", " ", "a|b", "tcp-handshake"])
inline = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    words.map(lambda w: f"[[{w}]]"),
    st.tuples(words, st.text(max_size=8)).map(lambda t: f"[[{t[0]}|{t[1]}]]"),
    st.sampled_from(["`[[port]]`", "**b**", "<script>x</script>", "[l](javascript:x)",
                     "\n```\n[[x]]\n```\n", "\n## Head\n", "\n- item\n", "\n| a |\n|---|\n| b |\n",
                     "\n::player\n", "\n::nope\n", "\\[[port]]", "[[", "]]", "\r\n", "\ufeff"]),
)
actions = st.sampled_from(["server listen", "client connect", "deliver", "drop", "client send 10",
                           "server close", "client close", "client abort", "client timeout",
                           "server timeout", "client fly", "", "deliver deliver"])
steps = st.lists(st.one_of(
    st.fixed_dictionaries({"title": st.text(max_size=10), "do": st.lists(actions, max_size=4)},
                          optional={"text": st.text(max_size=20)}),
    st.fixed_dictionaries({"do": st.just("server listen")}),
    st.integers(), st.none()), max_size=5)
frontmatter = st.fixed_dictionaries(
    {"title": st.one_of(st.text(max_size=15), st.integers(), st.none(), st.lists(st.text()))},
    optional={
        "layout": st.sampled_from(["page", "lesson", "article", "nope", ""]),
        "order": st.one_of(st.integers(), st.text(max_size=3)),
        "related": st.one_of(st.lists(words, max_size=3), st.text(max_size=5)),
        "draft": st.booleans(),
        "simulation": st.one_of(
            st.just({"model": "tcp", "client": {"name": "c", "ip": "10.0.0.5"},
                     "server": {"name": "s", "ip": "10.0.0.80", "port": 443}}),
            st.just({"model": "udp"}), st.text(max_size=5),
            st.fixed_dictionaries({"model": st.just("tcp"), "isn": st.dictionaries(
                st.sampled_from(["client", "server"]), st.integers(-5, 2**33))})),
        "steps": steps,
        "descripton": st.text(max_size=5),
    })


def page_source(meta: dict, body: list[str], raw_head: str | None) -> str:
    head = raw_head if raw_head is not None else yaml.safe_dump(meta, allow_unicode=True)
    return f"---\n{head}---\n" + "".join(body)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(meta=frontmatter, body=st.lists(inline, max_size=12),
       raw_head=st.one_of(st.none(), st.text(max_size=30)))
def test_random_pages_build_or_fail_with_located_errors(fuzz_project, meta, body, raw_head):
    root = fuzz_project
    (root / "content/linux/kb/fuzz.md").write_text(page_source(meta, body, raw_head),
                                                   encoding="utf-8")
    try:
        SiteBuild(Project.at(root)).full()
    except ErrorList as errors:
        assert len(errors) > 0
        for err in errors:
            assert err.path, str(err)
            assert str(err).startswith(err.path)


def test_random_bytes_are_a_located_error(fuzz_project):
    (fuzz_project / "content/linux/kb/fuzz.md").write_bytes(b"---\ntitle: \xff\xfe\x00\n---\n")
    try:
        SiteBuild(Project.at(fuzz_project)).full()
    except ErrorList as errors:
        assert [str(e) for e in errors] == [
            "content/linux/kb/fuzz.md:2: not valid UTF-8: byte 0xff at offset 11; save the "
            "file as UTF-8"]


@pytest.fixture(scope="module")
def fuzz_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copy(REPO / "site.yaml", root / "site.yaml")
    shutil.copytree(THEME / "templates", root / "templates")
    shutil.copytree(THEME / "static", root / "static")
    for rel, text in BASE_CONTENT.items():
        (root / "content" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "content" / rel).write_text(text, encoding="utf-8")
    old = os.getcwd()
    os.chdir(root)
    yield root
    os.chdir(old)

"""A build on several processes gives byte-for-byte the output of a serial build, and
the same errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.corpus import generate
from stepwise.errors import ErrorList
from stepwise.project import Project
from stepwise.site import SiteBuild

REPO = Path(__file__).resolve().parent.parent


def outputs(root: Path, jobs: int) -> dict[str, bytes] | list[str]:
    build = SiteBuild(Project.at(root), jobs=jobs)
    try:
        build.full()
    except ErrorList as errors:
        return [str(e) for e in errors]
    return build.outputs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("corpus") / "project", pages=120, seed=3)


def test_parallel_equals_serial_on_the_real_site(monkeypatch):
    monkeypatch.chdir(REPO)
    serial = outputs(REPO, 1)
    assert isinstance(serial, dict)
    assert outputs(REPO, 2) == serial
    assert outputs(REPO, 3) == serial


def test_parallel_equals_serial_on_a_generated_site(corpus, monkeypatch):
    monkeypatch.chdir(corpus)
    serial = outputs(corpus, 1)
    assert isinstance(serial, dict) and len(serial) > 120
    assert outputs(corpus, 2) == serial


def test_errors_found_by_workers_are_reported_as_a_serial_build_reports_them(corpus, monkeypatch):
    monkeypatch.chdir(corpus)
    pages = sorted((corpus / "content").rglob("p*.md"))
    for n, page in enumerate(pages[:6]):  # spread over every shard
        page.write_text(page.read_text() + f"\nSee [[missing-{n}]] and [[p00001#nope]].\n")
    serial = outputs(corpus, 1)
    assert isinstance(serial, list) and len(serial) == 12
    assert outputs(corpus, 2) == serial


def test_rebuilds_after_a_parallel_build_equal_a_serial_build(tmp_path, monkeypatch):
    corpus = generate(tmp_path / "project", pages=120, seed=5)
    monkeypatch.chdir(corpus)
    build = SiteBuild(Project.at(corpus), jobs=2)
    build.full()
    pages = sorted((corpus / "content").rglob("p*.md"))
    pages[5].write_text(pages[5].read_text() + "\nOne more line.\n")
    text = pages[7].read_text()
    pages[7].write_text(text.replace("title: Page 7", "title: Page seven", 1))
    result = build.update()
    assert len(result.rendered) < len(build.pages)  # not a full rebuild
    assert build.outputs == outputs(corpus, 1)

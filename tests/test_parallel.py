"""A build on several processes gives byte-for-byte the output of a serial build, and
the same errors."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.corpus import generate
from stepwise import output
from stepwise.build import build_site
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


@pytest.fixture(scope="module")
def site_project(tmp_path_factory) -> Path:
    """A generated site no test edits."""
    return generate(tmp_path_factory.mktemp("site") / "project", pages=240, seed=4)


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_pages_written_by_the_workers_make_the_folder_a_serial_build_writes(
        site_project, tmp_path, monkeypatch):
    corpus = site_project
    monkeypatch.chdir(corpus)
    monkeypatch.setenv("STEPWISE_JOBS", "1")
    build_site(corpus, tmp_path / "serial", search=False, cache=False)
    monkeypatch.setenv("STEPWISE_JOBS", "2")
    build_site(corpus, tmp_path / "parallel", search=False, cache=False)
    serial = tree(tmp_path / "serial")
    assert len(serial) > 240
    assert tree(tmp_path / "parallel") == serial
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parallel", "serial"]  # no temp


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_failed_page_write_fails_the_build_and_keeps_the_previous_site(
        site_project, tmp_path, monkeypatch, jobs):
    corpus = site_project
    monkeypatch.chdir(corpus)
    out = tmp_path / "site"
    build_site(corpus, out, search=False, cache=False)
    before = tree(out)
    built = SiteBuild(Project.at(corpus), jobs=1)
    built.full()
    # shards are runs of pages by URL: the last page is the last worker's
    victim = sorted(built.pages, key=lambda p: p.url)[-1].output_path
    real_write = output._write_file

    def full_disk(tmp: str, rel: str, data: bytes) -> None:
        if rel == victim:
            raise OSError(errno.ENOSPC, "No space left on device", f"{tmp}/{rel}")
        real_write(tmp, rel, data)

    monkeypatch.setattr(output, "_write_file", full_disk)
    monkeypatch.setenv("STEPWISE_JOBS", jobs)
    with pytest.raises(ErrorList) as failed:
        build_site(corpus, out, search=False, cache=False)
    message = str(failed.value.errors[0])
    assert "cannot write the output: No space left on device" in message
    assert message.startswith(f"{out / victim}: ")  # the output's file, not the temp one
    assert tree(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # the temp folder is gone


def test_a_site_without_a_front_page_fails_in_parallel_as_it_does_serially(tmp_path, monkeypatch):
    corpus = generate(tmp_path / "project", pages=240, seed=6)
    monkeypatch.chdir(corpus)
    (corpus / "content" / "_index.md").unlink()
    serial = outputs(corpus, 1)
    assert isinstance(serial, list)
    assert any("the site needs a front page" in e for e in serial)
    assert outputs(corpus, 2) == serial


def test_files_gone_from_the_temporary_folder_are_never_published(
        site_project, tmp_path, monkeypatch):
    monkeypatch.chdir(site_project)
    out = tmp_path / "site"
    build_site(site_project, out, search=False, cache=False)
    before = tree(out)
    real_commit = output.OutputStage.commit

    def cleaned_up(stage, *args, **kwargs):  # another program removes a written page
        (stage.tmp / sorted(stage.staged)[3]).unlink()
        return real_commit(stage, *args, **kwargs)

    monkeypatch.setattr(output.OutputStage, "commit", cleaned_up)
    with pytest.raises(ErrorList) as failed:
        build_site(site_project, out, search=False, cache=False)
    assert "written files vanished from the temporary folder" in str(failed.value)
    assert tree(out) == before


def _worker_of(build: subprocess.Popen) -> int:
    """The pid of the build's worker, once it has forked one."""
    children = Path(f"/proc/{build.pid}/task/{build.pid}/children")
    for _ in range(1000):
        found = children.read_text().split() if children.exists() else []
        if found:
            return int(found[0])
        time.sleep(0.01)
    raise AssertionError("the build forked no worker")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _start_build(project: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO / "build.py"), "build", "--no-search", "--no-cache",
         "--root", str(project), "--out", str(out)],
        env={**os.environ, "STEPWISE_JOBS": "2"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def test_a_killed_worker_fails_the_build_in_one_line(site_project, tmp_path):
    out = tmp_path / "site"
    build = _start_build(site_project, out)
    worker = _worker_of(build)
    os.kill(worker, signal.SIGKILL)
    _, stderr = build.communicate(timeout=60)
    assert build.returncode == 1
    assert stderr == (f"build failed: build worker {worker} was killed by signal 9; "
                      "nothing was published\n")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_workers_stop_when_the_build_process_is_killed(site_project, tmp_path):
    build = _start_build(site_project, tmp_path / "site")
    worker = _worker_of(build)
    build.kill()
    build.wait()
    deadline = time.monotonic() + 20
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker), "the worker outlived its build process"
    build.stdout.close()
    build.stderr.close()


def test_shards_deal_pages_out_by_cost_each_with_a_like_mix(site_project, monkeypatch):
    from stepwise.parallel import page_cost, shard

    monkeypatch.chdir(site_project)
    build = SiteBuild(Project.at(site_project), jobs=1)
    build.full()
    pages = build.pages
    cost = {p.url: page_cost(p, cards=True) for p in pages}
    for jobs, handicap in ((2, 0), (3, 0), (2, 50_000)):
        shards = shard(pages, jobs, handicap, cards=True)
        assert sorted(u for s in shards for u in s) == sorted(p.url for p in pages)
        assert all(s == sorted(s) for s in shards)  # in URL order
        loads = [sum(cost[u] for u in s) + (handicap if i == 0 else 0)
                 for i, s in enumerate(shards)]
        assert max(loads) - min(loads) <= max(cost.values())
        lessons = [sum(1 for u in s if cost[u] > 10_000) for s in shards]
        assert min(lessons) >= 0.6 * sum(lessons) / jobs  # lessons spread out
    lessons = [p for p in pages if p.meta.get("steps")]
    articles = [p for p in pages if not p.meta.get("steps") and not p.is_index]
    assert page_cost(lessons[0]) > page_cost(articles[0])
    assert sorted(map(len, shard(pages[:1], 3))) == [0, 0, 1]  # a worker may get none


def test_the_feed_of_a_parallel_build_shows_the_leads_of_every_worker(tmp_path, monkeypatch):
    corpus = generate(tmp_path / "project", pages=240, seed=8)
    monkeypatch.chdir(corpus)
    for n, page in enumerate(sorted((corpus / "content").rglob("p*.md"))[::20]):
        head, sep, body = page.read_text().partition("\n---\n")
        head = "\n".join(ln for ln in head.split("\n") if not ln.startswith("description:"))
        page.write_text(f"{head}\ndate: 2024-03-{n + 1:02d}\nlead: The *lead* of {n}.{sep}{body}")
    serial = outputs(corpus, 1)
    assert isinstance(serial, dict)
    assert serial["feed.xml"].count(b"<summary>The lead of") == 12
    assert outputs(corpus, 2) == serial

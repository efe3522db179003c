"""Untrusted input: hostile strings land in the output only as inert text, raw HTML is
off unless the site turns it on, every page carries a strict CSP, and a killed build
leaves the previous site intact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = "</script><script>alert(1)</script>"
ATTR = '" onmouseover="x'
HOSTILE = f"{SCRIPT}{ATTR}<img src=x onerror=alert(2)>"


class Elements(HTMLParser):
    """Every start tag with its attributes; the text of script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def parse(path: Path) -> Elements:
    parser = Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def assert_inert(path: Path) -> Elements:
    doc = parse(path)
    for tag, attrs in doc.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert tag != "img" or attrs.get("src") != "x", attrs
        for name in ("href", "src"):
            assert not str(attrs.get(name) or "").lower().startswith("javascript:"), attrs
        if tag == "script":
            # only our own external scripts and the JSON data island
            assert attrs.get("src") or attrs.get("type") == "application/json", attrs
    return doc


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


LESSON = f"""---
title: {q(HOSTILE)}
description: {q(HOSTILE)}
lead: "[click](javascript:alert(3)) and <b>bold</b>"
layout: lesson
tags: [{q(SCRIPT)}]
simulation:
  model: tcp
  client: {{name: {q(HOSTILE)}, ip: 10.0.0.5}}
  server: {{name: {q(SCRIPT)}, ip: 10.0.0.80, port: 443}}
steps:
  - title: {q(HOSTILE)}
    do: [server listen]
    text: |
      {HOSTILE} [x](javascript:alert(4)) ![i](javascript:alert(5)) <script>alert(6)</script>
  - title: connect
    do: [client connect, deliver]
---
Body {HOSTILE} [y](javascript:alert(7)) <div onclick="alert(8)">raw</div>

[[port|{SCRIPT}]]
"""


@pytest.fixture
def hostile(make_project):
    project = make_project({"linux/how/evil.md": LESSON})
    menu = (project.root / "site.yaml").read_text().replace(
        "  - page: pricing\n  - page: about\n\nfooter",
        f"  - page: pricing\n    title: '{SCRIPT}'\n  - page: about\n\nfooter", 1)
    (project.root / "site.yaml").write_text(menu)
    project.build(search=False)
    return project


def test_hostile_strings_are_inert_text_everywhere(hostile):
    for page in sorted(hostile.out.rglob("*.html")):
        assert_inert(page)
    html = hostile.page("linux/how/evil")
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    # markdown-it refuses javascript: links: they stay as the text the author wrote
    assert "[y](javascript:alert(7))" in html


def test_the_trace_cannot_close_its_script_element(hostile):
    doc = parse(hostile.out / "linux/how/evil/index.html")
    trace_data, scene_data = [
        s for s, (tag, attrs) in zip(doc.scripts, [t for t in doc.tags if t[0] == "script"],
                                     strict=True) if attrs.get("type") == "application/json"]
    for data in (trace_data, scene_data):
        assert "</script" not in data.lower() and "<!--" not in data
    trace, scene = json.loads(trace_data), json.loads(scene_data)
    assert trace["endpoints"]["client"]["name"] == HOSTILE  # the same string, intact
    assert trace["steps"][0]["title"] == HOSTILE
    assert scene["lanes"][0]["name"] == HOSTILE


def test_raw_html_is_text_by_default_and_markup_when_the_site_allows_it(make_project):
    body = '---\ntitle: Raw\n---\n<div class="box">hi</div>\n\n<em>x</em>\n'
    project = make_project({"raw.md": body})
    project.build(search=False)
    assert "&lt;div class=&quot;box&quot;&gt;hi&lt;/div&gt;" in project.page("raw")
    config = project.root / "site.yaml"
    config.write_text(config.read_text().replace("  html: false", "  html: true"))
    project.build(search=False)
    assert '<div class="box">hi</div>' in project.page("raw")


def test_every_page_forbids_inline_scripts(hostile):
    for page in sorted(hostile.out.rglob("*.html")):
        metas = [a for t, a in parse(page).tags if t == "meta"
                 and a.get("http-equiv") == "Content-Security-Policy"]
        assert len(metas) == 1, page
        policy = dict(part.strip().split(" ", 1) for part in str(metas[0]["content"]).split(";"))
        assert "'unsafe-inline'" not in policy["script-src"]
        assert policy["script-src"].startswith("'self'")
        assert policy["object-src"] == "'none'"


def test_a_killed_build_leaves_the_previous_site_and_no_temporary_folder(make_project):
    project = make_project({f"linux/kb/bulk{n}.md": f"---\ntitle: Bulk {n}\n---\n" + "text " * 3000
                            for n in range(150)})
    project.build(search=False)
    before = {p: p.read_bytes() for p in project.out.rglob("*") if p.is_file()}
    (project.content / "linux/kb/port.md").write_text("---\ntitle: Port v2\n---\nNew.\n")
    env = dict(os.environ, STEPWISE_JOBS="1")
    # a full build (an incremental one writes no new folder: tests/test_incremental.py)
    proc = subprocess.Popen([sys.executable, str(REPO / "build.py"), "build", "--no-search",
                             "--no-cache"],
                            cwd=project.root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not list(project.root.glob(".site.build-*")) and time.monotonic() < deadline:
        time.sleep(0.005)  # wait until it writes the new folder, then kill it
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert {p: p.read_bytes() for p in project.out.rglob("*") if p.is_file()} == before
    result = project.build(search=False)  # the next build cleans up and succeeds
    assert not result.unchanged
    assert not list(project.root.glob(".site.*"))
    assert "Port v2" in project.page("linux/kb/port")

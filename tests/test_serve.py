"""The authoring server: live rebuilds, the error overlay, loopback only, the reload
socket's origin check, and no file outside the output folder."""

from __future__ import annotations

import asyncio
import html
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from stepwise.project import Project
from stepwise.serve import serve


class Running:
    def __init__(self, url: str, stop, thread: threading.Thread, project):
        self.url, self.stop, self.thread, self.project = url, stop, thread, project

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def wait_for(self, path: str, predicate, seconds: float = 8.0) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            _status, body = self.get(path)
            if predicate(body):
                return body
            time.sleep(0.05)
        raise AssertionError(f"{path} did not change as expected within {seconds} s")


@pytest.fixture
def server(make_project, capsys) -> Iterator[Running]:
    project = make_project()
    started = threading.Event()
    box: dict = {}

    def ready(url, stop):
        box.update(url=url, stop=stop)
        started.set()

    thread = threading.Thread(target=serve, args=(project.root,),
                              kwargs={"port": 0, "ready": ready}, daemon=True)
    thread.start()
    assert started.wait(20), "server did not start"
    running = Running(box["url"], box["stop"], thread, project)
    yield running
    running.stop()
    thread.join(5)


def test_serves_the_built_site_with_the_reload_script(server):
    status, body = server.get("linux/how/tcp-handshake/")
    assert status == 200
    assert "<h1>The life cycle</h1>" in body
    assert '<script src="/livereload.js?port=' in body
    assert (server.project.root / ".serve-site/linux/how/tcp-handshake/index.html").is_file()
    assert not (server.project.root / "site").exists(), "serve must not touch site/"


def test_an_edit_shows_up_and_quick_saves_all_land(server):
    path = server.project.content / "linux/kb/port.md"
    text = path.read_text()
    for word in ("first", "second", "third"):  # saves in quick succession
        path.write_text(text.replace("Ephemeral ports.", f"Ephemeral ports {word}."))
        time.sleep(0.02)
    server.wait_for("linux/kb/port/", lambda b: "Ephemeral ports third." in b)


def test_broken_frontmatter_shows_the_overlay_and_keeps_the_old_page(server):
    path = server.project.content / "linux/kb/port.md"
    good = path.read_text()
    path.write_text(good.replace("title: Port", "title: [Port"))
    body = server.wait_for("linux/kb/port/", lambda b: "stepwise-overlay" in b)
    assert ("content/linux/kb/port.md:2: malformed YAML frontmatter: a '[' list is not "
            "closed: add the ']'") in html.unescape(body)
    assert "Ephemeral ports." in body  # the last good page is still served
    path.write_text(good.replace("Ephemeral", "Short-lived"))
    body = server.wait_for("linux/kb/port/", lambda b: "Short-lived" in b)
    assert "stepwise-overlay" not in body


def test_listens_on_loopback_only(server):
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    listening = []
    with open("/proc/net/tcp") as table:
        lines = table.read().splitlines()[1:]
    for line in lines:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            listening.append(local.split(":")[0])
    assert listening == ["0100007F"]  # 127.0.0.1, not 0.0.0.0


@pytest.mark.parametrize("path", ["../etc/passwd", "%2e%2e/%2e%2e/etc/passwd",
                                  "static/..%2f..%2fsite.yaml", "%2e%2e%2fsite.yaml"])
def test_refuses_paths_outside_the_output_folder(server, path):
    status, body = server.get(path)
    assert status in (403, 404)
    assert "root:" not in body and "base_url" not in body


async def reload_socket(url: str, origin: str):
    """Open the reload WebSocket as livereload.js does; returns (connection, hello)."""
    request = HTTPRequest(url.replace("http", "ws") + "livereload", headers={"Origin": origin})
    conn = await websocket_connect(request)
    conn.write_message(json.dumps({"command": "hello", "protocols": [
        "http://livereload.com/protocols/official-7"]}))
    return conn, await conn.read_message()


def run_async(coro):
    """Run a coroutine on a loop of its own thread: the session's Playwright browser may
    already run an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_reload_socket_accepts_only_the_served_origin(server):
    with pytest.raises(HTTPClientError) as info:
        run_async(reload_socket(server.url, "http://evil.example"))
    assert info.value.code == 403

    async def served_origin():
        conn, hello = await reload_socket(server.url, server.url.rstrip("/"))
        conn.close()
        return json.loads(hello)

    assert run_async(served_origin())["command"] == "hello"


def test_a_rebuild_tells_the_browser_to_reload(server):
    async def run():
        conn, _hello = await reload_socket(server.url, server.url.rstrip("/"))
        conn.write_message(json.dumps({"command": "info", "url": server.url}))
        await asyncio.sleep(0.2)
        path = server.project.content / "linux/kb/port.md"
        path.write_text(path.read_text() + "\nmore\n")
        message = await asyncio.wait_for(conn.read_message(), 8)
        conn.close()
        return json.loads(message)

    assert run_async(run())["command"] == "reload"


def test_port_in_use_gives_a_clear_message(make_project, capsys):
    project = make_project()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve(project.root, port=port) == 1
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use; choose another with --port" in err


def test_ctrl_c_stops_cleanly(make_project):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    project = make_project()
    build_py = Path(__file__).resolve().parent.parent / "build.py"
    proc = subprocess.Popen([sys.executable, str(build_py), "serve", "--port", "0", "--no-search"],
                            cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("serving http://127.0.0.1:"):
                break
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "stopped" in proc.stdout.read()  # type: ignore[union-attr]
        assert "Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
    finally:
        proc.kill()


def test_after_a_refused_page_is_fixed_the_served_site_has_every_edit(make_project, monkeypatch):
    from stepwise.serve import BuildState

    project = make_project()
    state = BuildState(Project.at(project.root), project.root / ".serve-site", search=True)
    monkeypatch.setattr(state, "_index", lambda folder: None)  # the index is not the point
    assert state.rebuild(full=True) is not None
    pricing = project.content / "pricing.md"
    pricing.write_text(pricing.read_text() + "\nNow with a free tier.\n")
    project.write("pagefind/x.md", "---\ntitle: X\n---\nA page where the index goes.\n")
    assert state.rebuild() is None  # refused: /pagefind/ is the search index's
    assert any("/pagefind/ is where the search index goes" in e for e in state.errors)
    (project.content / "pagefind" / "x.md").unlink()
    assert state.rebuild() is not None
    served = (project.root / ".serve-site" / "pricing" / "index.html").read_text()
    assert "Now with a free tier." in served

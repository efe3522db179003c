"""External links: left alone by a build, checked on request with a bounded number of
requests at a time and a cache of the answers that worked."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stepwise.cli import main
from stepwise.linkcheck import check_urls


class Server:
    """A server on 127.0.0.1: /ok answers 200, /head-refused 405 to HEAD and 200 to
    GET, anything else 404; every request waits 50 ms and is counted."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.active = self.most_active = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                with lock:
                    outer.requests.append(f"{self.command} {self.path}")
                    outer.active += 1
                    outer.most_active = max(outer.most_active, outer.active)
                time.sleep(0.05)
                with lock:
                    outer.active -= 1
                if self.path.startswith("/ok") or (self.path == "/head-refused"
                                                   and self.command == "GET"):
                    code = 200
                else:
                    code = 405 if self.path == "/head-refused" else 404
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET = answer

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """The test server is on this machine: no proxy of the environment in between."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    found = Server()
    yield found
    found.httpd.shutdown()
    found.httpd.server_close()


def test_requests_are_bounded_and_working_answers_cached(server, tmp_path):
    urls = [f"{server.base}/ok/{i}" for i in range(12)] + [f"{server.base}/gone"]
    results = check_urls(urls, tmp_path, workers=3, timeout=5)
    assert results[f"{server.base}/gone"] == "404 Not Found"
    assert all(results[u] is None for u in urls[:-1])
    assert 1 < server.most_active <= 3
    server.requests.clear()
    check_urls(urls, tmp_path, workers=3, timeout=5)
    assert server.requests == ["HEAD /gone"]  # only the broken one is asked again


def test_a_server_refusing_head_is_asked_with_get(server, tmp_path):
    assert check_urls([f"{server.base}/head-refused"], None) == {
        f"{server.base}/head-refused": None}
    assert server.requests == ["HEAD /head-refused", "GET /head-refused"]


def test_check_links_names_the_file_and_line_of_a_broken_link(make_project, server, capsys):
    project = make_project({"linux/kb/port.md": (
        "---\ntitle: Port\n---\nSee [IANA](" + server.base + "/ok) and\n"
        "[the RFC](" + server.base + "/rfc).\n")})
    project.build(search=False)
    assert not server.requests  # a build asks nobody
    assert main(["check-links", "--root", str(project.root)]) == 1
    err = capsys.readouterr()
    assert err.err == (f"content/linux/kb/port.md:5: external link {server.base}/rfc: "
                       "404 Not Found\n")
    assert err.out == "checked 2 external links: 1 broken\n"

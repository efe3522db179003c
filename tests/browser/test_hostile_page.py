"""A lesson full of hostile strings, in Chromium: no dialog opens, no inline script
runs, and the player still plays it under the page's Content-Security-Policy."""

from __future__ import annotations

import functools
import threading
from http.server import ThreadingHTTPServer

import pytest

from tests.browser.conftest import _Quiet
from tests.test_hostile import HOSTILE, LESSON

pytestmark = pytest.mark.browser


@pytest.fixture
def served(make_project):
    project = make_project({"linux/how/evil.md": LESSON})
    project.build(search=False)
    handler = functools.partial(_Quiet, directory=str(project.out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_no_dialog_and_the_player_works(served, new_page):
    page, watch = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{served}/linux/how/evil/index.html")
    page.wait_for_selector("#player[data-step='1']")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#player[data-step='2']")
    page.hover("h1")
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator("h1").inner_text() == HOSTILE  # shown as the text it is
    assert page.locator("[data-endpoint='client']").first.get_attribute("data-state") == "SYN-SENT"
    assert watch.foreign == []
    assert watch.errors == []  # not even a CSP refusal: nothing inline was emitted

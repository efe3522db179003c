"""The simulator in a real browser: our Python model under Pyodide, driven by a reader.

The oracle: scenarios built in Python from the actions the model accepts, opened in the
page by URL; the trace the page computes must be, byte for byte, what ``python build.py
trace`` prints for the same scenario written as a lesson. Screenshots land in
test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import shutil
from pathlib import Path

import pytest

from stepwise.models.tcp.playground import Scenario, export_yaml, format_fragment, parse_steps, run
from stepwise.models.tcp.scenario import EndpointSettings, Settings
from stepwise.simulator import find_runtime
from tests.browser.conftest import BROWSER_MISSING
from tests.conftest import BASE_CONTENT, THEME
from tests.test_playground import random_scenario

REPO = Path(__file__).resolve().parents[2]
SIM = "linux/simulator/tcp-playground/index.html"
LESSON = "linux/how/tcp-handshake/index.html"

pytestmark = pytest.mark.browser

if BROWSER_MISSING:
    pytest.skip(BROWSER_MISSING, allow_module_level=True)
if find_runtime(REPO)[0] is None:
    pytest.skip("no Pyodide runtime: run `npm ci` (make test does)", allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.test_player import clean  # noqa: E402

LOAD = 60_000  # ms: Pyodide starting on a slow machine
#: the simulator page's settings (content/linux/simulator/tcp-playground.md)
DEFAULTS = Settings(EndpointSettings("curl", "10.0.0.5", 41000),
                    EndpointSettings("nginx", "10.0.0.80", 443),
                    {"client": 1000, "server": 5000})


def open_sim(page: Page, site, fragment: str = "") -> None:
    """Open the simulator (with a scenario: it starts by itself; else press Start)."""
    page.goto(site.url(SIM) + fragment)
    if not fragment:
        page.locator(".sim-start-btn").click()
    expect(page.locator(".sim-main")).to_be_visible(timeout=LOAD)


def expect_at(page: Page, scenario: Scenario) -> None:
    """The page shows the last step of ``scenario``, as the model computes it, and its
    URL is the scenario's."""
    result = run(scenario)
    n = len(scenario.steps)
    last = result.trace["steps"][-1] if n else result.start
    fig = page.locator("figure.player")
    expect(fig).to_have_attribute("data-step", str(n), timeout=LOAD)
    expect(fig.locator(".pl-count")).to_have_text(f"step {n}/{n}")
    for who in ("client", "server"):
        expect(fig.locator(f'[data-endpoint="{who}"][data-state]')).to_have_attribute(
            "data-state", last["states"][who], timeout=8_000)
        for var, value in last["tcb"][who].items():
            expect(page.locator(f'tr[data-var="{var}"] td[data-role="{who}"]')).to_have_text(
                "–" if value is None else str(value))
    assert page.evaluate("location.hash") == "#" + format_fragment(scenario)


def cli_trace(root: Path, lesson: Path) -> str:
    """What ``python build.py trace LESSON --root ROOT`` prints."""
    from stepwise.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["trace", str(lesson), "--root", str(root)]) == 0
    return out.getvalue()


def project_with_lessons(tmp_path: Path, lessons: dict[str, str]) -> Path:
    """A project of the repository's site.yaml, templates, static and the test content,
    plus ``lessons`` (name -> exported simulation and steps)."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "site.yaml", root / "site.yaml")
    shutil.copytree(THEME / "templates", root / "templates")
    shutil.copytree(THEME / "static", root / "static")
    for rel, text in BASE_CONTENT.items():
        (root / "content" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "content" / rel).write_text(text)
    for name, front in lessons.items():
        (root / "content" / "linux" / "how" / f"{name}.md").write_text(
            f"---\ntitle: {name}\nlayout: lesson\n{front}---\nA scenario.\n")
    return root


def test_the_page_computes_what_the_build_computes(site, new_page, tmp_path: Path) -> None:
    """30 seeded random scenarios (5 to 40 actions the model accepts, ISNs and delayed
    ACKs varied): the page's trace equals `python build.py trace` of the lesson."""
    scenarios = []
    for seed in range(30):
        rng = random.Random(1000 + seed)
        scenarios.append(random_scenario(rng, rng.randint(5, 40)))
    root = project_with_lessons(tmp_path, {f"s{i}": export_yaml(s)
                                           for i, s in enumerate(scenarios)})
    page, watch = new_page()
    open_sim(page, site)
    page.locator(".sim-export summary").click()
    for i, scenario in enumerate(scenarios):
        fragment = format_fragment(scenario)
        page.evaluate("f => { location.hash = f }", "#" + fragment)
        expect_at(page, scenario)
        expect(page.locator(".sim-export")).to_have_attribute("data-fragment", fragment)
        in_page = page.locator(".sim-json").input_value()
        expected = cli_trace(root, root / "content" / "linux" / "how" / f"s{i}.md")
        assert in_page == expected, f"scenario {i}: {fragment}"
    clean(watch)


def test_nothing_heavy_loads_before_start(site, new_page) -> None:
    page, watch = new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(site.url(SIM))
    expect(page.locator(".sim-start-btn")).to_be_visible()
    expect(page.locator(".sim-nojs")).to_be_hidden()
    page.wait_for_timeout(500)
    assert not [u for u in requested if "pyodide" in u or "/sim/" in u or "simworker" in u]
    page.locator(".sim-start-btn").click()
    expect(page.locator(".sim-main")).to_be_visible(timeout=LOAD)
    assert any(u.endswith("pyodide.asm.wasm") for u in requested)
    expect_at(page, Scenario(DEFAULTS))
    expect(page.locator(".sim-status")).to_have_text("Ready. Choose what happens next.")
    clean(watch)


def test_the_reader_drives_the_model(site, new_page) -> None:
    page, watch = new_page()
    open_sim(page, site)
    steps: list[list[str]] = []
    for endpoint, verb in (("server", "listen"), ("client", "connect"), (None, "deliver"),
                           (None, "drop"), ("server", "timeout"), (None, "deliver")):
        sel = (f'.sim-do[data-endpoint="{endpoint}"][data-verb="{verb}"]' if endpoint
               else f'.sim-do[data-verb="{verb}"]')
        page.locator(sel).click()
        steps.append([f"{endpoint} {verb}" if endpoint else verb])
        expect_at(page, Scenario(DEFAULTS, parse_steps(steps)))
    # the live region by the buttons says what happened, in words
    expect(page.locator(".sim-feedback")).to_have_text(
        "Step 6: deliver. curl: ESTABLISHED; nginx: SYN-RECEIVED.")
    page.locator('input[data-bytes="client"]').fill("300")
    page.locator('.sim-do[data-endpoint="client"][data-verb="send"]').click()
    steps.append(["client send 300"])
    expect_at(page, Scenario(DEFAULTS, parse_steps(steps)))
    # back through the steps with the player, then on from step 3
    page.locator('[data-act="prev"]').click()
    expect(page.locator("figure.player")).to_have_attribute("data-step", "6")
    expect(page.locator(".sim-earlier")).to_be_visible()
    page.locator('.sim-do[data-endpoint="client"][data-verb="close"]').click(force=True)
    expect(page.locator(".sim-why")).to_have_text(
        "Not possible now: Actions apply at the last step: go to step 7, or continue from "
        "step 6.")
    page.locator(".sim-to-last").click()
    expect(page.locator("figure.player")).to_have_attribute("data-step", "7")
    expect(page.locator(".sim-earlier")).to_be_hidden()
    page.locator(".sim-steps .sim-step[data-frame='3']").click()
    expect(page.locator("figure.player")).to_have_attribute("data-step", "3")
    page.locator(".sim-branch").click()
    expect_at(page, Scenario(DEFAULTS, parse_steps(steps[:3])))
    page.locator(".sim-undo").click()
    expect_at(page, Scenario(DEFAULTS, parse_steps(steps[:2])))
    page.locator(".sim-reset").click()
    expect_at(page, Scenario(DEFAULTS))
    expect(page.locator(".sim-feedback")).to_have_text(
        "Step 0: before the first action. curl: CLOSED; nginx: CLOSED.")
    clean(watch)


def test_a_do_url_opens_at_its_last_step(site, new_page) -> None:
    page, watch = new_page()
    open_sim(page, site, "#do=server%20listen;client%20connect;deliver;deliver;deliver")
    expect_at(page, Scenario(DEFAULTS, parse_steps(
        [["server listen"], ["client connect"], ["deliver"], ["deliver"], ["deliver"]])))
    expect(page.locator('[data-endpoint="client"][data-state]')).to_have_attribute(
        "data-state", "ESTABLISHED")
    clean(watch)


def test_a_refused_action_says_why_and_changes_nothing(site, new_page) -> None:
    page, watch = new_page()
    fragment = "#do=server%20listen;client%20connect"
    open_sim(page, site, fragment)
    before = page.evaluate("location.hash")
    listen = page.locator('.sim-do[data-endpoint="client"][data-verb="listen"]')
    expect(listen).to_have_attribute("aria-disabled", "true")
    listen.click(force=True)  # a reader may press it anyway
    # said by the buttons, where the reader looks, and in view
    expect(page.locator(".sim-why")).to_be_in_viewport()
    expect(page.locator(".sim-why")).to_have_text(
        "Not possible now: client: cannot passive OPEN in state SYN-SENT: connection already "
        "exists; an endpoint opens once ('abort' to start over) (RFC 9293 §3.10.1)")
    assert page.evaluate("location.hash") == before
    expect(page.locator("figure.player")).to_have_attribute("data-step", "2")
    clean(watch)


@pytest.mark.parametrize(("fragment", "message"), [
    ("#do=client%20conect", "step 1: unknown action 'client conect'"),
    ("#do=" + ";".join(["server%20listen"] * 501), "the scenario has 501 actions; the "
     "simulator runs at most 500"),
    ("#server_port=70000&do=server%20listen", "server_port must be an integer from 1 to 65535, "
     "got 70000"),
    ("#client_isn=99999999999", "client_isn must be an integer from 0 to 4294967295"),
    ("#do=deliver", "step 1 ('deliver'): nothing in flight to deliver"),
])
def test_a_bad_url_says_what_is_wrong_and_opens_nothing(site, new_page, fragment: str,
                                                        message: str) -> None:
    page, watch = new_page()
    open_sim(page, site, fragment)
    expect(page.locator(".sim-alert")).to_contain_text("This scenario cannot be opened: "
                                                       + message)
    expect_at(page, Scenario(DEFAULTS))  # the page's own settings, no step
    clean(watch)


def test_a_bad_hash_later_keeps_the_scenario(site, new_page) -> None:
    page, watch = new_page()
    open_sim(page, site, "#do=server%20listen")
    page.evaluate("location.hash = '#do=server%20lisen'")
    expect(page.locator(".sim-alert")).to_contain_text("unknown action 'server lisen'")
    expect_at(page, Scenario(DEFAULTS, parse_steps([["server listen"]])))
    # the skip link jumps to #main: a place of the page, not a scenario
    page.locator(".skip-link").focus()
    page.keyboard.press("Enter")
    expect_at(page, Scenario(DEFAULTS, parse_steps([["server listen"]])))
    clean(watch)


def apply_port_70000(page: Page):  # noqa: ANN201 - a Playwright Locator
    """Open the Settings, apply server port 70000: refused in the form, URL unchanged."""
    page.locator(".sim-settings summary").click()
    form = page.locator(".sim-form")
    form.locator('input[name="server_port"]').fill("70000")
    form.locator('button[type="submit"]').click()
    expect(form.locator(".sim-form-error")).to_have_text(
        "the server's port must be an integer from 1 to 65535, got 70000")
    assert "server_port=443" in page.evaluate("location.hash")
    return form


def test_the_settings_change_the_scenario(site, new_page) -> None:
    page, watch = new_page()
    open_sim(page, site, "#do=server%20listen;client%20connect;deliver")
    form = apply_port_70000(page)
    form.locator('input[name="server_port"]').fill("8080")
    form.locator('input[name="client_isn"]').fill("4294967295")
    form.locator('input[name="server_delayed_ack"]').check()
    form.locator('button[type="submit"]').click()
    changed = Settings(DEFAULTS.client, EndpointSettings("nginx", "10.0.0.80", 8080, True),
                       {"client": 4294967295, "server": 5000})
    expect_at(page, Scenario(changed, parse_steps([["server listen"], ["client connect"],
                                                   ["deliver"]])))
    expect(form.locator(".sim-form-error")).to_be_hidden()
    clean(watch)


def test_back_and_forward_move_between_scenarios(site, new_page) -> None:
    page, watch = new_page()
    first = Scenario(DEFAULTS, parse_steps([["server listen"], ["client connect"]]))
    second = Scenario(DEFAULTS, parse_steps([["client connect"], ["deliver"]]))
    open_sim(page, site, "#" + format_fragment(first))
    expect_at(page, first)
    page.evaluate("f => { location.hash = f }", "#" + format_fragment(second))
    expect_at(page, second)
    # an action, then Back at once: Back wins, and the action's answer never lands on
    # the first scenario's history entry (it may land on the second's, if it came
    # before the navigation did: the click was made there)
    page.evaluate("""() => {
        document.querySelector('.sim-do[data-verb="deliver"]').click();
        history.back();
    }""")
    expect_at(page, first)
    page.go_forward()
    delivered = Scenario(DEFAULTS, parse_steps([["client connect"], ["deliver"], ["deliver"]]))
    expect(page.locator("figure.player")).to_have_attribute("data-step", re.compile("^[23]$"),
                                                            timeout=LOAD)
    shown = page.locator("figure.player").get_attribute("data-step")
    expect_at(page, second if shown == "2" else delivered)
    page.go_back()
    expect_at(page, first)
    clean(watch)


def test_unapplied_settings_stay_in_the_form(site, new_page) -> None:
    page, watch = new_page()
    open_sim(page, site, "#do=server%20listen")
    form = apply_port_70000(page)
    form.locator('input[name="client"]').fill("typed, not applied")
    page.locator('.sim-do[data-endpoint="client"][data-verb="connect"]').click()
    expect(page.locator("figure.player")).to_have_attribute("data-step", "2")
    # the action ran with the applied settings; the form still shows what was typed
    expect(form.locator('input[name="server_port"]')).to_have_value("70000")
    expect(form.locator('input[name="client"]')).to_have_value("typed, not applied")
    expect(form.locator(".sim-form-error")).to_contain_text("the server's port")
    assert "server_port=443" in page.evaluate("location.hash")
    clean(watch)


def test_explore_from_here_opens_the_lessons_step(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url(LESSON))
    trace = json.loads(page.locator("#lesson-trace").text_content() or "")
    explore = page.locator("figure.player .pl-explore")
    expect(explore).to_have_attribute("aria-label", "Explore step 1 in the simulator")
    page.keyboard.press("ArrowRight")
    expect(explore).to_have_attribute("aria-label", "Explore step 2 in the simulator")
    page.locator("#step-5 .pl-step-explore").click()
    expect(page.locator(".sim-main")).to_be_visible(timeout=LOAD)
    fig = page.locator("figure.player")
    expect(fig).to_have_attribute("data-step", "5", timeout=LOAD)
    expect(fig.locator(".pl-count")).to_have_text("step 5/5")
    for who in ("client", "server"):
        expect(fig.locator(f'[data-endpoint="{who}"][data-state]')).to_have_attribute(
            "data-state", trace["steps"][4]["states"][who], timeout=8_000)
    # the lesson's own names and ports come along
    expect(page.locator(".sim-client .sim-name")).to_have_text(
        f"curl 10.0.0.5:{trace['endpoints']['client']['port']}")
    clean(watch)


def test_explore_from_a_capture_lesson(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url("linux/how/tcp-close-states/index.html"))
    trace = json.loads(page.locator("#lesson-trace").text_content() or "")
    n = len(trace["steps"])
    page.locator(f"#step-{n} .pl-step-explore").click()
    fig = page.locator("figure.player")
    expect(fig).to_have_attribute("data-step", str(n), timeout=LOAD)
    for who in ("client", "server"):
        expect(fig.locator(f'[data-endpoint="{who}"][data-state]')).to_have_attribute(
            "data-state", trace["steps"][-1]["states"][who], timeout=8_000)
    clean(watch)


def test_the_export_builds_the_same_lesson(site, new_page, tmp_path: Path) -> None:
    page, watch = new_page()
    open_sim(page, site, "#delayed_ack=server&do=server%20listen;"
                         "client%20connect,deliver;deliver;deliver;client%20send%2050,deliver;"
                         "client%20close,deliver")
    page.locator(".sim-export summary").click()
    expect(page.locator(".sim-export")).to_have_attribute(
        "data-fragment", page.evaluate("location.hash.slice(1)"))
    yaml_text = page.locator(".sim-yaml").input_value()
    root = project_with_lessons(tmp_path, {"exported": yaml_text})
    expected = cli_trace(root, root / "content" / "linux" / "how" / "exported.md")
    assert page.locator(".sim-json").input_value() == expected
    clean(watch)


def test_keyboard_alone(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url(SIM))
    page.locator(".sim-start-btn").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".sim-main")).to_be_visible(timeout=LOAD)
    page.locator('.sim-do[data-endpoint="server"][data-verb="listen"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("figure.player")).to_have_attribute("data-step", "1")
    page.locator('.sim-do[data-endpoint="client"][data-verb="connect"]').focus()
    page.keyboard.press("Space")
    expect(page.locator("figure.player")).to_have_attribute("data-step", "2")
    page.locator("body").focus()
    page.keyboard.press("ArrowLeft")  # the player's keys step back through the steps
    expect(page.locator("figure.player")).to_have_attribute("data-step", "1")
    clean(watch)


def test_without_javascript_the_page_explains(site, new_page) -> None:
    page, _ = new_page(js=False)
    page.goto(site.url(SIM))
    expect(page.locator(".sim-nojs")).to_be_visible()
    expect(page.locator(".sim-nojs")).to_contain_text("needs JavaScript and WebAssembly")
    expect(page.locator(".sim-app")).to_be_hidden()
    expect(page.locator(".prose a[href*='tcp-handshake']").first).to_be_visible()


@pytest.mark.parametrize("dark", [False, True])
def test_accessibility(site, new_page, dark: bool) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page, watch = new_page(dark=dark)
    open_sim(page, site, "#do=server%20listen;client%20connect;deliver")
    expect(page.locator("figure.player")).to_have_attribute("data-step", "3")
    page.locator(".sim-settings summary").click()
    page.locator(".sim-export summary").click()
    results = Axe().run(page).response
    bad = [f"{v['id']} ({v['impact']}): {' '.join(map(str, n.get('target', [])))}"
           for v in results["violations"] if v.get("impact") in ("serious", "critical")
           for n in v["nodes"]]
    assert bad == []
    clean(watch)


@pytest.mark.parametrize(("width", "dark"), [(1100, False), (390, False), (1100, True)])
def test_screenshots(site, new_page, artifacts: Path, width: int, dark: bool) -> None:
    page, watch = new_page(width=width, height=1000, dark=dark, reduced=True)
    open_sim(page, site, "#do=server%20listen;client%20connect;deliver;drop;server%20timeout")
    expect(page.locator("figure.player")).to_have_attribute("data-step", "5")
    name = f"simulator-{width}{'-dark' if dark else ''}.png"
    page.screenshot(path=str(artifacts / name), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scroll"
    clean(watch)

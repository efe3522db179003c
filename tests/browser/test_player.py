"""The lesson player in a real browser: stepping, playing, deep links, no-JS, a11y.

Every expected value is read from the page's own embedded trace (#lesson-trace).
Screenshots land in test-artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.browser.conftest import BROWSER_MISSING

LESSON = "linux/how/tcp-handshake/index.html"
BGP_LESSON = "linux/how/bgp-peering/index.html"

pytestmark = pytest.mark.browser

if BROWSER_MISSING:
    pytest.skip(BROWSER_MISSING, allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

ENDPOINTS = ("client", "server")
SETTLED = "() => document.getAnimations().every(a => a.playState !== 'running')"
SLOW = 8_000  # ms: room for a step's animation to reach its badge change


def trace_of(page: Page) -> dict:
    return json.loads(page.locator("#lesson-trace").text_content() or "")


def badge(page: Page, who: str):
    return page.locator(f'figure.player [data-endpoint="{who}"][data-state]')


def expect_step(page: Page, trace: dict, n: int, timeout: float = SLOW) -> None:
    """The player shows step n (1-based): data-step, and every badge as the trace says
    (a TCP trace: one state per endpoint; a BGP trace: one per speaker and layer)."""
    expect(page.locator("figure.player")).to_have_attribute("data-step", str(n), timeout=timeout)
    for who, state in trace["steps"][n - 1]["states"].items():
        layers = state if isinstance(state, dict) else {"tcp": state}
        for layer, value in layers.items():
            shown = page.locator(f'figure.player [data-endpoint="{who}"][data-layer="{layer}"]')
            expect(shown).to_have_attribute("data-state", value, timeout=timeout)


def clean(watch) -> None:
    # Chromium asks for /favicon.ico by itself when a page names no icon: not the page's fault.
    errors = [e for e in watch.errors if "favicon.ico" not in e]
    assert errors == [], f"console errors: {errors}"
    assert watch.foreign == [], f"requests to other hosts: {watch.foreign}"


def test_the_site_has_the_lesson(site) -> None:
    assert LESSON in site.lessons, f"no trace on {LESSON}; lessons with one: {site.lessons}"
    assert BGP_LESSON in site.lessons


def test_a_bgp_lesson_shows_both_layers(site, new_page, artifacts: Path) -> None:
    page, watch = new_page(reduced=True)
    page.goto(site.url(BGP_LESSON))
    trace = trace_of(page)
    assert trace["model"] == "bgp"
    # two badges per router: BGP above TCP
    expect(page.locator("figure.player .pl-badge")).to_have_count(4)
    expect(page.locator("figure.player .pl-role").first).to_have_text("router")
    for n in range(2, len(trace["steps"]) + 1):
        page.keyboard.press("ArrowRight")
        expect_step(page, trace, n)
        if n == 3:  # the OPEN rides in a TCP segment: both labels, BGP's first
            labels = page.locator("figure.player .pl-seg").last.locator(".pl-lbl")
            expect(labels).to_have_count(2)
            expect(labels.first).to_contain_text("OPEN AS 65001, hold 90 s")
            expect(labels.last).to_contain_text("PSH,ACK seq=")
            page.locator("figure.player").screenshot(path=str(artifacts / "player-bgp-step3.png"))
    clean(watch)


def test_opens_at_step_one(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url())
    trace = trace_of(page)
    expect_step(page, trace, 1, timeout=2_000)
    expect(page.locator(".pl-bar")).to_be_visible()
    expect(page.locator("figure.player .pl-text")).to_have_attribute("aria-live", "polite")
    clean(watch)


def test_arrow_keys_step_forward_and_back(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url())
    trace = trace_of(page)
    n = len(trace["steps"])
    for _ in range(n - 1):
        page.keyboard.press("ArrowRight")
    expect_step(page, trace, n)
    page.keyboard.press("ArrowRight")  # past the end: stays
    expect_step(page, trace, n)
    page.keyboard.press("ArrowLeft")
    expect_step(page, trace, n - 1)
    assert page.evaluate("location.hash") == f"#step-{n - 1}"
    page.keyboard.press("Home")
    expect_step(page, trace, 1)
    page.keyboard.press("End")
    expect_step(page, trace, n)
    clean(watch)


def test_buttons(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url())
    trace = trace_of(page)
    buttons = page.locator("figure.player button")
    assert buttons.count() == 4
    for i in range(buttons.count()):
        assert buttons.nth(i).get_attribute("aria-label"), "every button has an aria-label"
    page.locator('[data-act="next"]').click()
    page.locator('[data-act="next"]').click()
    expect_step(page, trace, 3)
    page.locator('[data-act="prev"]').click()
    expect_step(page, trace, 2)
    page.locator('[data-act="restart"]').click()
    expect_step(page, trace, 1)
    clean(watch)


def test_play_reaches_the_end_by_itself(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url() + "?interval=40")
    trace = trace_of(page)
    n = len(trace["steps"])
    play = page.locator('[data-act="play"]')
    label = play.get_attribute("aria-label")
    play.click()
    expect(play).not_to_have_attribute("aria-label", label or "")  # now "pause"
    expect_step(page, trace, n, timeout=n * 4_000)
    expect(play).to_have_attribute("aria-label", label or "")  # stopped at the end
    clean(watch)


def test_space_toggles_play(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url() + "?interval=60000")
    trace = trace_of(page)
    page.keyboard.press("Space")
    expect_step(page, trace, 2)
    playing = re.compile(r"\bpl-playing\b")
    expect(page.locator("figure.player")).to_have_class(playing)
    page.keyboard.press("Space")
    expect(page.locator("figure.player")).not_to_have_class(playing)
    clean(watch)


def test_keys_are_left_alone_in_inputs(site, new_page) -> None:
    page, _ = new_page()
    page.goto(site.url())
    page.evaluate(
        "() => { const i = document.createElement('input'); i.id = 'probe';"
        " document.body.append(i); i.focus(); }"
    )
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    assert page.locator("figure.player").get_attribute("data-step") == "1"


def test_hash_opens_a_step_and_follows_the_reader(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url() + "#step-5")
    trace = trace_of(page)
    expect_step(page, trace, 5)
    page.keyboard.press("ArrowRight")
    expect_step(page, trace, 6)
    assert page.evaluate("location.hash") == "#step-6"
    page.evaluate("location.hash = '#step-2'")  # a link elsewhere in the page
    expect_step(page, trace, 2)
    clean(watch)


def test_clicking_a_step_in_the_list_jumps_there(site, new_page) -> None:
    page, watch = new_page()
    page.goto(site.url())
    trace = trace_of(page)
    n = len(trace["steps"])
    items = page.locator("li[id^='step-']")
    expect(items).to_have_count(n)
    page.locator("#step-3 a[data-goto]").click()
    expect_step(page, trace, 3)
    expect(page.locator("#step-3")).to_have_attribute("aria-current", "step")
    assert page.evaluate("location.hash") == "#step-3"
    clean(watch)


def test_every_step_of_every_lesson(site, new_page) -> None:
    assert site.lessons, "the built site has no page with a #lesson-trace"
    for path in site.lessons:
        page, watch = new_page()
        page.goto(site.url(path))
        trace = trace_of(page)
        assert trace["version"] == 1
        expect_step(page, trace, 1)
        for n in range(2, len(trace["steps"]) + 1):
            page.keyboard.press("ArrowRight")
            expect_step(page, trace, n)
            header = page.locator("figure.player .pl-title")
            expect(header).to_have_text(trace["steps"][n - 1]["title"])
        clean(watch)


def test_reduced_motion_steps_without_motion(site, new_page) -> None:
    page, watch = new_page(reduced=True)
    page.emulate_media(reduced_motion="reduce")
    page.goto(site.url())
    trace = trace_of(page)
    for n in range(2, len(trace["steps"]) + 1):
        page.keyboard.press("ArrowRight")
        # No animation to wait for: the badges are final at once.
        assert page.locator("figure.player").get_attribute("data-step") == str(n)
        states = trace["steps"][n - 1]["states"]
        for who in ENDPOINTS:
            assert badge(page, who).get_attribute("data-state") == states[who]
        assert page.evaluate("document.getAnimations().length") == 0
    clean(watch)


def test_without_javascript_the_page_still_reads(site, new_page) -> None:
    page, watch = new_page(js=False)
    page.goto(site.url())
    trace = trace_of(page)
    n = len(trace["steps"])
    for i, step in enumerate(trace["steps"], 1):
        expect(page.locator(f"li#step-{i}")).to_contain_text(step["title"])
    scene = page.locator("figure.player svg.pl-svg")
    for who in ENDPOINTS:
        expect(badge(page, who)).to_have_attribute("data-state", trace["steps"][0]["states"][who])
        expect(scene).to_contain_text(trace["endpoints"][who]["name"])
    expect(scene).to_be_visible()
    expect(page.locator(".pl-bar")).to_be_hidden()  # controls need the script
    assert page.locator("figure.player").get_attribute("data-steps") == str(n)
    clean(watch)


@pytest.mark.parametrize("width", [1000, 375, 360])
def test_screenshots(site, new_page, artifacts: Path, width: int) -> None:
    page, watch = new_page(width=width, height=900)
    page.goto(site.url())
    trace = trace_of(page)
    n = len(trace["steps"])
    for step in sorted({1, min(4, n), n}):
        page.goto(site.url() + f"#step-{step}")
        expect_step(page, trace, step)
        page.wait_for_function(SETTLED)
        shot = artifacts / f"player-{width}-step{step}.png"
        page.locator("figure.player").screenshot(path=str(shot))
        box = page.locator("figure.player svg.pl-svg").bounding_box()
        assert box and box["width"] <= width, "the scene fits the viewport"
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scroll"
    clean(watch)


def test_dark_scheme_screenshot(site, new_page, artifacts: Path) -> None:
    page, watch = new_page(dark=True)
    page.goto(site.url() + "#step-7")
    trace = trace_of(page)
    expect_step(page, trace, 7)
    page.wait_for_function(SETTLED)
    page.locator("figure.player").screenshot(path=str(artifacts / "player-1000-step7-dark.png"))
    clean(watch)


@pytest.mark.parametrize("dark", [False, True])
def test_accessibility(site, new_page, dark: bool) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page, _ = new_page(dark=dark)
    page.goto(site.url() + "#step-4")
    expect(page.locator("figure.player")).to_have_attribute("data-step", "4")
    page.wait_for_function(SETTLED)
    results = Axe().run(page).response
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    ours, theirs = [], []
    for v in bad:
        for node in v["nodes"]:
            where = " ".join(map(str, node.get("target", [])))
            html = node.get("html", "")
            mine = any(k in where or k in html for k in ("player", "pl-", "lesson-trace", "step-"))
            (ours if mine else theirs).append(f"{v['id']} ({v['impact']}): {where}")
    if theirs:
        print("axe, outside the player:", *theirs, sep="\n  ")
    assert ours == [], "\n".join(ours)

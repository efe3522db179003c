"""The simulator in Chromium: bytes a reader loads, and how long until the first step.

    python bench/simulator.py [--site site] [--runs 5]

Serves the built site (build it first: make build) on 127.0.0.1 and drives Debian's
chromium through Playwright, each run in a fresh browser context (an empty cache):

* page before Start: the simulator page's HTML, CSS and JS, raw and gzipped (level 6,
  one file at a time, as a server compresses them); budget 30 KB gzipped;
* bytes on Start: every response after the Start button is pressed (the worker, the
  Pyodide runtime, our packed Python), raw and gzipped;
* Start -> first step: from the click to the simulator showing the model's start
  state (marks ``sim-start`` and ``sim-first-step`` of static/js/simulator.js);
* baseline, Pyodide alone: a page of this benchmark whose worker only runs
  ``loadPyodide()`` from the same files; the ratio above it is what our code costs;
* a URL of 40 actions: navigation to the page showing step 40/40 (load included);
* one action: a click on an action button to the page showing the new step (the
  worker computing the whole scenario again, and the player drawing it).

Times are medians over the runs. Results go to bench/results/simulator-*.json.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import statistics
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIM = "linux/simulator/tcp-playground/index.html"
CHROMIUM = "/usr/bin/chromium"
BUDGET_KB = 30.0
KB = 1024
#: a scenario of 40 actions, one a step: handshake, four exchanges, a lost segment sent
#: again, the close
SCENARIO = ";".join(a.replace(" ", "%20") for a in (
    ["server listen", "client connect", "deliver", "deliver", "deliver"]
    + ["client send 100", "deliver", "deliver", "server send 200", "deliver", "deliver"] * 4
    + ["client send 100", "drop", "client timeout", "deliver", "deliver"]
    + ["client close", "deliver", "deliver", "server close", "deliver", "deliver"]))
BASELINE_PAGE = b"""<!doctype html><meta charset=utf-8><title>Pyodide alone</title>
<script type=module>
performance.mark('base-start');
const w = new Worker('/__bench__/worker.js', {type: 'module'});
w.onmessage = () => { performance.mark('base-ready'); document.title = 'ready'; };
w.postMessage(new URL(document.querySelector('meta[name=runtime]').content, location).href);
</script>"""
BASELINE_WORKER = b"""self.onmessage = async (e) => {
  const { loadPyodide } = await import(new URL('pyodide.mjs', e.data).href);
  await loadPyodide({ indexURL: e.data, stdout: () => {}, stderr: () => {} });
  self.postMessage('ready');
};"""


def _actions(fragment: str) -> int:
    return len([a for step in fragment.split(";") for a in step.split(",") if a])


class _Handler(SimpleHTTPRequestHandler):
    runtime = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        extra = {"/__bench__/baseline.html": (BASELINE_PAGE.replace(
                     b"<script", f'<meta name=runtime content="{self.runtime}"><script'.encode(),
                     1), "text/html"),
                 "/__bench__/worker.js": (BASELINE_WORKER, "text/javascript")}
        if self.path in extra:
            body, kind = extra[self.path]
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


def _weigh(bodies: list[bytes]) -> tuple[int, int]:
    return (sum(map(len, bodies)),
            sum(len(gzip.compress(b, compresslevel=6, mtime=0)) for b in bodies))


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def run(site: Path, runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from stepwise.models.tcp.playground import Scenario, parse_steps
    from stepwise.models.tcp.playground import run as run_scenario
    from stepwise.models.tcp.scenario import EndpointSettings, Settings

    # the scenario must be one the model accepts, or the page never reaches its end
    run_scenario(Scenario(Settings(EndpointSettings("c", "10.0.0.1", 1000),
                                   EndpointSettings("s", "10.0.0.2", 80),
                                   {"client": 1, "server": 2}),
                          parse_steps([[a.replace("%20", " ")] for a in SCENARIO.split(";")])))

    runtime = sorted((site / "static" / "pyodide").iterdir())[-1]
    _Handler.runtime = "/" + runtime.relative_to(site).as_posix() + "/"
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    samples: dict[str, list[float]] = {"first_step_ms": [], "baseline_ms": [],
                                       "url_40_ms": [], "action_ms": []}
    weights: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        for _ in range(runs):
            # the simulator page, then Start
            ctx = browser.new_context()
            page = ctx.new_page()
            bodies: list[tuple[str, bytes]] = []
            page.on("response", lambda r, into=bodies: into.append((r.url, r.body())))
            page.goto(f"{base}/{SIM}")
            page.wait_for_load_state("load")
            page.wait_for_timeout(300)
            before = list(bodies)
            page.locator(".sim-start-btn").click()
            page.locator(".sim-main").wait_for(state="visible", timeout=120_000)
            ms = page.evaluate("performance.measure('s', 'sim-start', 'sim-first-step').duration")
            samples["first_step_ms"].append(ms)
            after = bodies[len(before):]
            weights = {
                "page_before_start": _weigh([b for _, b in before]),
                "on_start": _weigh([b for _, b in after]),
                "on_start_files": {u.replace(base, ""): len(b) for u, b in after},
            }
            # one action at a time, on the scenario's own URL
            for verb in ["server listen", "client connect", "deliver", "deliver", "deliver"] \
                    + ["client send", "deliver", "deliver"] * 5:
                endpoint, _, name = verb.rpartition(" ")
                sel = (f'.sim-do[data-endpoint="{endpoint}"][data-verb="{name}"]' if endpoint
                       else f'.sim-do[data-verb="{name}"]')
                samples["action_ms"].append(page.evaluate("""sel => new Promise((done) => {
                    const fig = document.querySelector('figure.player');
                    const was = fig.dataset.step, t0 = performance.now();
                    new MutationObserver((_, obs) => {
                      if (fig.dataset.step === was) return;
                      obs.disconnect();
                      done(performance.now() - t0);
                    }).observe(fig, { attributes: true });
                    document.querySelector(sel).click();
                  })""", sel))
            ctx.close()

            # a URL of 40 actions, from navigation to the last step
            ctx = browser.new_context()
            page = ctx.new_page()
            n = _actions(SCENARIO)
            t0 = time.perf_counter()
            page.goto(f"{base}/{SIM}#do={SCENARIO}")
            page.locator(f'figure.player[data-step="{n}"]').wait_for(timeout=120_000)
            samples["url_40_ms"].append((time.perf_counter() - t0) * 1000)
            ctx.close()

            # Pyodide alone, from the same files
            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(f"{base}/__bench__/baseline.html")
            page.wait_for_function("document.title === 'ready'", timeout=120_000)
            samples["baseline_ms"].append(page.evaluate(
                "performance.measure('b', 'base-start', 'base-ready').duration"))
            ctx.close()
        browser.close()
    server.shutdown()
    medians = {k: statistics.median(v) for k, v in samples.items()}
    return {"runs": runs, "actions_in_url": _actions(SCENARIO), "medians_ms": medians,
            "samples_ms": samples, "weights": weights,
            "ratio_first_step_to_baseline": medians["first_step_ms"] / medians["baseline_ms"]}


def report(result: dict[str, Any]) -> bool:
    w, m = result["weights"], result["medians_ms"]
    raw, gz = w["page_before_start"]
    ok = gz <= BUDGET_KB * KB
    print(f"simulator page before Start   {raw / KB:7.1f} KB raw  {gz / KB:7.1f} KB gzipped"
          f"   ({'under' if ok else 'OVER'} the {BUDGET_KB:g} KB budget)")
    raw, gz = w["on_start"]
    print(f"bytes on Start                {_mb(raw):>10} raw  {_mb(gz):>10} gzipped")
    for url, size in sorted(w["on_start_files"].items(), key=lambda x: -x[1]):
        print(f"    {size / KB:9.1f} KB  {url}")
    runs = result["runs"]
    print(f"Start -> first step           {m['first_step_ms']:7.0f} ms   (median of {runs})")
    print(f"baseline: Pyodide alone       {m['baseline_ms']:7.0f} ms   -> first step is "
          f"{result['ratio_first_step_to_baseline']:.2f}x Pyodide's own start")
    print(f"URL of {result['actions_in_url']} actions -> last step {m['url_40_ms']:7.0f} ms   "
          "(navigation included)")
    print(f"one action -> its step shown  {m['action_ms']:7.0f} ms   "
          f"(median of {len(result['samples_ms']['action_ms'])})")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if not (args.site / SIM).is_file() or not (args.site / "static" / "pyodide").is_dir():
        print(f"{args.site}: no simulator with its runtime; build the site first (make build, "
              "with npm on the machine)", file=sys.stderr)
        return 2
    result = run(args.site, args.runs)
    ok = report(result)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"simulator-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results: {path.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

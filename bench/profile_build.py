"""Where a cold build's time goes, per process and per stage.

    python bench/profile_build.py [--pages 1000] [--reps 3] [--jobs 1,2] [--root DIR]

Runs ``build.py build --no-search`` cold (no output, no cache) as a subprocess with
``STEPWISE_TIMINGS`` set (:mod:`stepwise.timings`), once per ``--jobs`` value per
round (alternating, as bench/compare.py does), and prints, per process, the median
wall and CPU seconds of each stage, exclusive of the stages nested in it, with
``wait:`` (blocked on the other process), ``pickle:``/``unpickle:``/``pipe:`` (the
messages, with their size) and ``startup`` (interpreter start and imports, before the
first span) and ``exit`` (after the last). ``jobs 1`` runs under ``taskset -c 0``
(one core). The totals are the processes' whole wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from bench.compare import memory_folder  # noqa: E402
from bench.corpus import generate  # noqa: E402

Spans = list[dict[str, object]]


def run(root: Path, out: Path, jobs: int, log: Path) -> tuple[float, float, Spans]:
    """One cold build: (start, end) on the monotonic clock and its spans."""
    shutil.rmtree(out.parent, ignore_errors=True)
    shutil.rmtree(root / ".stepwise-cache", ignore_errors=True)
    log.unlink(missing_ok=True)
    python = REPO / ".venv" / "bin" / "python"
    cmd = [str(python if python.exists() else sys.executable), str(REPO / "build.py"),
           "build", "--no-search", "--root", str(root), "--out", str(out)]
    if jobs == 1 and shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    env = dict(os.environ, STEPWISE_TIMINGS=str(log), STEPWISE_JOBS=str(jobs))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # Python's own bytecode cache, as users have it
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    end = time.perf_counter()
    spans = [json.loads(line) for line in log.read_text().splitlines()]
    return start, end, spans


def exclusive(spans: Spans) -> dict[int, dict[str, list[float]]]:
    """Per process (0: the build process, 1...: workers by pid order), per stage:
    [wall, cpu, bytes] with nested spans' time subtracted from their parent's."""
    by_pid: dict[int, Spans] = defaultdict(list)
    for s in spans:
        by_pid[int(s["pid"])].append(s)  # type: ignore[call-overload]
    out: dict[int, dict[str, list[float]]] = {}
    for rank, pid in enumerate(sorted(by_pid)):
        items = sorted(by_pid[pid], key=lambda s: (s["start"], -s["wall"]))  # type: ignore[operator]
        table: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        stack: list[dict[str, object]] = []
        for s in items:
            end = float(s["start"]) + float(s["wall"])  # type: ignore[arg-type]
            while stack and float(stack[-1]["start"]) + float(stack[-1]["wall"]) < end - 1e-6:  # type: ignore[arg-type]
                stack.pop()
            if stack:  # nested: its time is not its parent's
                parent = table[str(stack[-1]["stage"])]
                parent[0] -= float(s["wall"])  # type: ignore[arg-type]
                parent[1] -= float(s["cpu"])  # type: ignore[arg-type]
            row = table[str(s["stage"])]
            row[0] += float(s["wall"])  # type: ignore[arg-type]
            row[1] += float(s["cpu"])  # type: ignore[arg-type]
            row[2] += float(s["bytes"])  # type: ignore[arg-type]
            stack.append(s)
        out[rank] = table
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--jobs", default="1,2", help="process counts to profile (default 1,2)")
    parser.add_argument("--root", type=Path, help="an existing project (default: generated)")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    with tempfile.TemporaryDirectory(prefix="stepwise-profile-",
                                     dir=memory_folder(disk=False)) as tmp:
        work = Path(tmp)
        root = args.root or generate(work / "project", args.pages, args.seed)
        results: dict[int, list[tuple[float, float, Spans]]] = {j: [] for j in jobs}
        for rnd in range(args.reps):
            order = jobs[rnd % len(jobs):] + jobs[:rnd % len(jobs)]
            for j in order:
                results[j].append(run(root, work / "out" / "site", j, work / f"t{j}.jsonl"))
    print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for j in jobs:
        report(j, results[j])


def report(jobs: int, runs: list[tuple[float, float, Spans]]) -> None:
    per_run = []
    for start, end, spans in runs:
        table = exclusive(spans)
        main_spans = [s for s in spans if int(s["pid"]) == min(int(x["pid"]) for x in spans)]  # type: ignore[call-overload]
        first = min(float(s["start"]) for s in main_spans)  # type: ignore[arg-type]
        last = max(float(s["start"]) + float(s["wall"]) for s in main_spans)  # type: ignore[arg-type]
        table[0]["startup"] = [first - start, 0.0, 0.0]
        table[0]["exit"] = [end - last, 0.0, 0.0]
        per_run.append((end - start, table))
    totals = [t for t, _ in per_run]
    print(f"\n== {jobs} process{'es' if jobs > 1 else ''}"
          f"{' (taskset -c 0)' if jobs == 1 else ''}: whole build median "
          f"{statistics.median(totals):.3f} s (min {min(totals):.3f}, max {max(totals):.3f}, "
          f"n={len(totals)})")
    ranks = sorted({r for _, t in per_run for r in t})
    stages: list[str] = []
    for _, table in per_run:
        for rank in ranks:
            for stage in table.get(rank, {}):
                if stage not in stages:
                    stages.append(stage)
    header = f"{'stage':<22}" + "".join(
        f"{'build proc' if r == 0 else f'worker {r}':>26}" for r in ranks)
    print(header)
    print(f"{'':<22}" + "".join(f"{'wall s':>10}{'cpu s':>8}{'KB':>8}" for _ in ranks))
    sums = {r: [0.0, 0.0] for r in ranks}
    for stage in stages:
        cells = ""
        for rank in ranks:
            values = [t[rank][stage] for _, t in per_run if rank in t and stage in t[rank]]
            if not values:
                cells += f"{'':>26}"
                continue
            wall = statistics.median(v[0] for v in values)
            cpu = statistics.median(v[1] for v in values)
            kb = statistics.median(v[2] for v in values) / 1024
            sums[rank][0] += wall
            sums[rank][1] += cpu
            cells += f"{wall:>10.3f}{cpu:>8.3f}{(f'{kb:.0f}' if kb else ''):>8}"
        print(f"{stage:<22}{cells}")
    print(f"{'sum of medians':<22}" + "".join(
        f"{sums[r][0]:>10.3f}{sums[r][1]:>8.3f}{'':>8}" for r in ranks))


if __name__ == "__main__":
    main()

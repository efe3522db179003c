"""Two versions of stepwise, cold builds in alternating rounds: what a change gained.

    python bench/ab.py [--pages 1000] [--reps 7] [--jobs 1,2] [--search] BASE [NEW]

BASE and NEW are git revisions (NEW defaults to the working tree). Each is checked
out into a temporary worktree (the working tree is used as it is); both run with this
repository's virtual environment, ``build.py`` of each checkout importing its own
``stepwise/``. Every round builds the generated site cold once per version and per
``--jobs`` value (``1`` under ``taskset -c 0``), the order alternating from round to
round, so that a slow spell on a shared machine falls on both. Prints the medians,
min-max and the ratio NEW/BASE of the medians, and of each round's pair (the spread
of those ratios says how far to trust the median).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from bench.corpus import generate  # noqa: E402


def checkout(rev: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(into), rev],
                   check=True)
    return into


def cold(code: Path, root: Path, out: Path, jobs: int, search: bool) -> float:
    shutil.rmtree(out.parent, ignore_errors=True)
    shutil.rmtree(root / ".stepwise-cache", ignore_errors=True)
    python = REPO / ".venv" / "bin" / "python"
    cmd = [str(python), str(code / "build.py"), "build", "--root", str(root), "--out", str(out)]
    if not search:
        cmd.append("--no-search")
    if jobs == 1:
        cmd = ["taskset", "-c", "0", *cmd]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, STEPWISE_JOBS=str(jobs)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base")
    parser.add_argument("new", nargs="?", default="")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--search", action="store_true", help="build the search index too")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    with tempfile.TemporaryDirectory(prefix="stepwise-ab-") as tmp:
        work = Path(tmp)
        trees = {"base": checkout(args.base, work / "base")}
        trees["new"] = checkout(args.new, work / "new") if args.new else REPO
        try:
            root = generate(work / "project", args.pages, args.seed)
            times: dict[tuple[str, int], list[float]] = {(v, j): [] for v in trees for j in jobs}
            load = os.getloadavg()
            for rnd in range(args.reps):
                order = [(v, j) for j in jobs for v in (("base", "new") if rnd % 2 == 0
                                                        else ("new", "base"))]
                for version, j in order:
                    times[version, j].append(cold(trees[version], root, work / "out" / "site",
                                                  j, args.search))
                print(f"  round {rnd + 1}/{args.reps}: " + ", ".join(
                    f"{v} {j}p {times[v, j][-1]:.2f}" for v, j in order), flush=True)
        finally:
            for tree in trees.values():
                if tree != REPO:
                    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                                    str(tree)], check=False)
    after = os.getloadavg()
    print(f"\n{args.pages} pages, {args.reps} rounds; load average {load[0]:.1f} before, "
          f"{after[0]:.1f} after; base {args.base}, new {args.new or 'working tree'}")
    for j in jobs:
        base, new = times["base", j], times["new", j]
        pairs = sorted(n / b for n, b in zip(new, base, strict=True))
        print(f"{j} process{'es' if j > 1 else ' (taskset -c 0)'}: base median "
              f"{statistics.median(base):.3f} s ({min(base):.2f}-{max(base):.2f}), new "
              f"{statistics.median(new):.3f} s ({min(new):.2f}-{max(new):.2f}); new/base "
              f"{statistics.median(new) / statistics.median(base):.3f} (per round "
              f"{pairs[0]:.2f}-{pairs[-1]:.2f}, median {statistics.median(pairs):.3f})")
    if len(jobs) == 2:
        for version in trees:
            one, two = (statistics.median(times[version, j]) for j in jobs)
            print(f"{version}: {jobs[0]} -> {jobs[1]} processes: {one / two:.2f}x faster")


if __name__ == "__main__":
    main()

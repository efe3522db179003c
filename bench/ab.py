"""Versions of stepwise, cold builds in alternating rounds: what each change gained.

    python bench/ab.py [--pages 1000] [--reps 7] [--jobs 1,2] [--search] BASE [REV ...]

BASE and each REV are git revisions (``.`` or none: the working tree). Each is checked
out into a temporary worktree (the working tree is used as it is); all run with this
repository's virtual environment, ``build.py`` of each checkout importing its own
``stepwise/``. Every round builds the generated site cold once per version and per
``--jobs`` value (``1`` under ``taskset -c 0``), the order of the versions turning from
round to round, so that a slow spell on a shared machine falls on all. Prints, per
version, the medians, min-max and the ratio to BASE of the medians and of each round's
pair (the spread of those ratios says how far to trust the median), and to the version
before it.
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

from bench.compare import memory_folder  # noqa: E402


def checkout(rev: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(into), rev],
                   check=True)
    return into


def cold(code: Path, root: Path, out: Path, jobs: int, search: bool) -> tuple[float, float]:
    """One cold build: its wall time and the CPU time of its processes (user and
    system, the workers it waited for included: what a busy machine inflates least)."""
    shutil.rmtree(out.parent, ignore_errors=True)
    shutil.rmtree(root / ".stepwise-cache", ignore_errors=True)
    python = REPO / ".venv" / "bin" / "python"
    cmd = [str(python), str(code / "build.py"), "build", "--root", str(root), "--out", str(out)]
    if not search:
        cmd.append("--no-search")
    if jobs == 1:
        cmd = ["taskset", "-c", "0", *cmd]
    started = time.perf_counter()
    env = dict(os.environ, STEPWISE_JOBS=str(jobs))
    # each version's bytecode cached as users have it: a checkout without it would
    # compile every module on every build, and lose to the working tree for that
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base")
    parser.add_argument("revs", nargs="*", default=["."])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--search", action="store_true", help="build the search index too")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    names = [args.base, *(args.revs or ["."])]
    with tempfile.TemporaryDirectory(prefix="stepwise-ab-", dir=memory_folder(disk=False)) as tmp:
        work = Path(tmp)
        trees = [REPO if rev == "." else checkout(rev, work / f"v{i}")
                 for i, rev in enumerate(names)]
        try:
            # each version's own corpus generator: it copies that version's theme
            python = str(REPO / ".venv" / "bin" / "python")
            roots = []
            for i, tree in enumerate(trees):
                roots.append(work / f"project-{i}")
                subprocess.run([python, str(tree / "bench" / "corpus.py"), str(roots[-1]),
                                "--pages", str(args.pages), "--seed", str(args.seed)],
                               check=True, stdout=subprocess.DEVNULL)
            times: dict[tuple[int, int], list[float]] = {
                (v, j): [] for v in range(len(trees)) for j in jobs}
            cpu: dict[tuple[int, int], list[float]] = {key: [] for key in times}
            load = os.getloadavg()
            for rnd in range(args.reps):
                turn = rnd % len(trees)
                versions = list(range(len(trees)))[turn:] + list(range(len(trees)))[:turn]
                order = [(v, j) for j in jobs for v in versions]
                for version, j in order:
                    wall, used = cold(trees[version], roots[version], work / "out" / "site", j,
                                      args.search)
                    times[version, j].append(wall)
                    cpu[version, j].append(used)
                print(f"  round {rnd + 1}/{args.reps}: " + ", ".join(
                    f"{names[v]} {j}p {times[v, j][-1]:.2f}" for v, j in order), flush=True)
        finally:
            for tree in trees:
                if tree != REPO:
                    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                                    str(tree)], check=False)
    after = os.getloadavg()
    print(f"\n{args.pages} pages, {args.reps} rounds, cold builds"
          f"{' with search' if args.search else ''}; load average {load[0]:.1f} before, "
          f"{after[0]:.1f} after")
    for j in jobs:
        print(f"\n{j} process{'es' if j > 1 else ' (taskset -c 0)'}:")
        for v, name in enumerate(names):
            runs = times[v, j]
            line = (f"  {name:<12} median {statistics.median(runs):.3f} s "
                    f"({min(runs):.2f}-{max(runs):.2f})")
            for other, label in ((0, "base"), (v - 1, "previous")):
                if v == 0 or (label == "previous" and v == 1):
                    continue
                theirs = times[other, j]
                pairs = sorted(n / b for n, b in zip(runs, theirs, strict=True))
                gained = statistics.median(runs) / statistics.median(theirs)
                line += f"; /{label} {gained:.3f} (rounds {pairs[0]:.2f}-{pairs[-1]:.2f})"
            print(line)
            used = cpu[v, j]
            line = (f"  {'':<12} CPU    {statistics.median(used):.3f} s "
                    f"({min(used):.2f}-{max(used):.2f})")
            if v > 0:
                line += f"; /base {statistics.median(used) / statistics.median(cpu[0, j]):.3f}"
            if v > 1:
                line += (f"; /previous "
                         f"{statistics.median(used) / statistics.median(cpu[v - 1, j]):.3f}")
            print(line)
    if len(jobs) == 2:
        for v, name in enumerate(names):
            one, two = (statistics.median(times[v, j]) for j in jobs)
            print(f"{name}: {jobs[0]} -> {jobs[1]} processes: {one / two:.2f}x faster")


if __name__ == "__main__":
    main()

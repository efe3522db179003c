"""stepwise against MkDocs, Hugo and the floor, on the same generated site.

    python bench/compare.py [--pages 1000] [--reps 5] [--scaling] [--only ROWS] [--check]

Generates the benchmark site (bench/corpus.py) in a temporary folder, converts it for
MkDocs and Hugo (bench/convert.py), then runs every build as a fresh subprocess,
round-robin (each round runs every row once, starting one row further on than the
last), ``--reps`` rounds. Prints each row's median, min and max wall time, peak RSS
and output size, the ratios against the issue's targets, and writes it all to
``bench/results/latest.json`` (with the git commit, nproc and page count), plus a
copy named by date and commit. See bench/README.md for what each row measures.

MkDocs and Hugo come from the bench virtual environment (``bench/.venv``, made by
``make bench``), stepwise from the project's (``.venv``).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from bench.convert import to_hugo, to_mkdocs  # noqa: E402
from bench.corpus import generate  # noqa: E402

RESULTS = BENCH / "results"
CACHE_DIRS = (".stepwise-cache",)  # stepwise's build cache, beside site.yaml
EDITS_PER_ROUND = 4
SCALING = (1000, 5000)
MB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_TREE = os.path.exists("/proc/self/statm")


# -- one measured run -----------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    rss_mb: float
    ok: bool
    log: str = ""
    tree_rss_mb: float = 0.0


def tree_rss(pid: int) -> int:
    """The resident bytes of ``pid`` and its descendants (pages shared after a fork
    count once per process: an upper bound)."""
    total, todo = 0, [pid]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
            with open(f"/proc/{pid}/task/{pid}/children", "rb") as f:
                todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError, IndexError):
            pass
    return total


def measure(cmd: list[str], log: Path, *, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` to completion: its wall time, its peak RSS (``ru_maxrss`` from
    wait4: the largest single process among it and the descendants it waited for) and
    the peak sum over its process tree, sampled every 50 ms from /proc."""
    peak = [0]
    done = threading.Event()

    def sample(pid: int) -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], tree_rss(pid))

    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = threading.Thread(target=sample, args=(proc.pid,), daemon=True)
        if SAMPLE_TREE:
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
    if SAMPLE_TREE:
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss = usage.ru_maxrss / 1024
    return Run(seconds, rss, proc.returncode == 0,
               log.read_text(encoding="utf-8", errors="replace"), max(rss, peak[0] / MB))


def folder_size(path: Path) -> tuple[float, int]:
    """(apparent size in MB, number of files) of everything under ``path``."""
    total = files = 0
    for folder, _, names in os.walk(path):
        for name in names:
            total += os.lstat(os.path.join(folder, name)).st_size
            files += 1
    return total / MB, files


def remove(*paths: Path) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


# -- rows -----------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: how to prepare and run it, and what it measured."""

    name: str
    key: str
    prepare: Callable[[], None]
    command: list[str]
    out: Path | None = None  # output folder, for its size
    cwd: Path | None = None
    runs: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    tree_rss: list[float] = field(default_factory=list)
    output_mb: float | None = None
    files: int | None = None
    failed: str = ""
    extra: dict[str, object] = field(default_factory=dict)
    parse: Callable[[Run], list[float]] | None = None  # times reported by the run itself
    #: runs a round, each after ``prepare`` and followed by ``after`` (untimed)
    repeat: int = 1
    after: Callable[[], None] | None = None

    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None

    def summary(self) -> dict[str, object]:
        data: dict[str, object] = {"name": self.name, "runs_s": [round(t, 4) for t in self.runs]}
        if self.runs:
            data.update(median_s=round(statistics.median(self.runs), 4),
                        min_s=round(min(self.runs), 4), max_s=round(max(self.runs), 4))
            if len(self.runs) >= 2:
                q1, _, q3 = statistics.quantiles(self.runs, n=4)
                data.update(q1_s=round(q1, 4), q3_s=round(q3, 4))
        if self.rss:
            data["peak_rss_mb"] = round(max(self.rss), 1)
        if self.tree_rss:
            data["peak_tree_rss_mb"] = round(max(self.tree_rss), 1)
        if self.output_mb is not None:
            data.update(output_mb=round(self.output_mb, 2), output_files=self.files)
        if self.failed:
            data["failed"] = self.failed
        data.update(self.extra)
        return data


def run_row(row: Row, log: Path, env: dict[str, str]) -> None:
    for _ in range(row.repeat):
        _run_once(row, log, env)
        if row.after is not None and not row.failed:
            row.after()


def _run_once(row: Row, log: Path, env: dict[str, str]) -> None:
    if row.failed:
        return
    row.prepare()
    result = measure(row.command, log, cwd=row.cwd, env=env)
    if not result.ok:
        row.failed = result.log[-2000:] or "failed with no output"
        print(f"\n{row.name}: FAILED ({' '.join(row.command)})\n{row.failed}", file=sys.stderr)
        return
    row.rss.append(result.rss_mb)
    if SAMPLE_TREE:
        row.tree_rss.append(result.tree_rss_mb)
    if row.parse:
        row.runs += row.parse(result)
    else:
        row.runs.append(result.seconds)
    if row.out is not None:
        row.output_mb, row.files = folder_size(row.out)


# -- the one-page edit, in a worker process -------------------------------------------


def edit_worker(root: Path, out: Path, edits: int, offset: int) -> None:
    """Full build in-process, then ``edits`` one-page edits, each timed as
    ``SiteBuild.update()`` plus writing the changed files (what ``make serve`` does);
    each page is put back afterwards (untimed). Prints the times as JSON."""
    from bench.rebuild import time_edits
    from stepwise.output import write_site
    from stepwise.project import Project
    from stepwise.site import SiteBuild

    os.chdir(root)
    project = Project.at(root)
    build = SiteBuild(project)
    build.full()
    write_site(out, build.outputs, build.project.static_dirs)
    times, rendered = time_edits(build, root, out, edits, offset, restore=True)
    print(json.dumps({"times": times, "rendered": rendered}))


def edit_build_row(search: bool, root: Path, out: Path, command: list[str],
                   env: dict[str, str]) -> Row:
    """One-page edits through ``build``, each a new process: before each, a page (a
    different one each time, lessons included) gets a sentence more; after it, the page
    is put back and built again (untimed), so every edit starts from the same site.
    The first run of the row builds the site (untimed). Each run's summary line must
    say it rendered pages again (an incremental build), or the row fails."""
    pages = sorted((root / "content").rglob("p*.md"))
    state = {"n": 0, "original": "", "built": False}
    name = "stepwise one-page edit, build" + (" with search" if search else "")
    row = Row(name, "edit-build-search" if search else "edit-build", lambda: None, command,
              repeat=EDITS_PER_ROUND)

    def rebuild() -> None:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            row.failed = done.stderr[-2000:] or "failed"

    def prepare() -> None:
        if not state["built"]:
            remove(out.parent)
            rebuild()
            state["built"] = True
        path = pages[(int(state["n"]) * 97) % len(pages)]
        state["original"] = path.read_text(encoding="utf-8")
        path.write_text(str(state["original"]) + f"\nOne more sentence, edit {state['n']}.\n",
                        encoding="utf-8")

    def after() -> None:
        path = pages[(int(state["n"]) * 97) % len(pages)]
        path.write_text(str(state["original"]), encoding="utf-8")
        state["n"] = int(state["n"]) + 1
        rebuild()

    def parse(result: Run) -> list[float]:
        found = re.search(r"\((\d+) rendered again", result.log)
        if found is None:
            row.failed = f"not an incremental build: {result.log[-500:]}"
            return []
        row.extra.setdefault("pages_rendered_per_edit", []).append(  # type: ignore[union-attr]
            int(found.group(1)))
        return [result.seconds]

    row.prepare, row.after, row.parse = prepare, after, parse
    return row


def pagefind_binary() -> str:
    """The Pagefind binary stepwise runs (the project's ``pagefind_bin``)."""
    try:
        import pagefind_bin  # type: ignore[import-not-found]
    except ImportError:
        return "pagefind"
    return str(pagefind_bin.get_executable())


def parse_edits(row: Row) -> Callable[[Run], list[float]]:
    def parse(result: Run) -> list[float]:
        data = json.loads(result.log.strip().splitlines()[-1])
        row.extra.setdefault("pages_rendered_per_edit", []).extend(  # type: ignore[union-attr]
            data["rendered"])
        return [float(t) for t in data["times"]]
    return parse


# -- checking the outputs are real ----------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def resolve_href(out: Path, page_dir: Path, href: str) -> Path | None:
    """The file an internal link points at, or None for an external one."""
    if re.match(r"^[a-z]+:", href) or href.startswith("//"):
        return None
    href = href.split("#")[0].split("?")[0]
    target = out / href.lstrip("/") if href.startswith("/") else page_dir / href
    return target / "index.html" if href == "" or href.endswith("/") or target.is_dir() \
        else target


def check_output(tool: str, out: Path, sample: Path, content: Path, pages: int) -> list[str]:
    """Problems with ``tool``'s output: too few pages, or the sample page (a path
    under content/) without its wiki-links' targets, the menu or its section's
    sidebar as working links."""
    problems = []
    html_files = sum(1 for _ in out.rglob("index.html"))
    if html_files < pages:
        problems.append(f"{tool}: only {html_files} index.html files for {pages} pages")
    rel = sample.relative_to(content).with_suffix("")
    page = out / rel / "index.html"
    if not page.is_file():
        return [*problems, f"{tool}: {page} not written"]
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    resolved = {}
    for href in parser.hrefs:
        target = resolve_href(out, page.parent, href)
        if target is not None:
            resolved[href] = target
    broken = sorted(h for h, t in resolved.items() if not t.is_file())
    if broken:
        problems.append(f"{tool}: {len(broken)} broken links in {page}: {broken[:5]}")
    reached = {t.resolve().relative_to(out.resolve()).parent.as_posix()
               for t in resolved.values() if t.is_file()}
    wanted = set(re.findall(r"\[\[([^\]|#]+)", sample.read_text(encoding="utf-8")))
    paths = {p.stem: p.relative_to(content).with_suffix("").as_posix()
             for p in content.rglob("p*.md")}
    missing = sorted(w for w in wanted if paths.get(w) not in reached)
    if missing:
        problems.append(f"{tool}: wiki-link targets not linked from {page}: {missing}")
    menu = {"linux", "terraform", "git", "pricing", "about"}
    if not menu <= reached:
        problems.append(f"{tool}: menu entries not linked from {page}: {sorted(menu - reached)}")
    siblings = {paths[p.stem] for p in sample.parent.glob("p*.md")}
    section = sample.parent.relative_to(content).as_posix()
    # stepwise lists a window of 25 pages around the current one and links the section
    # for the rest (a sidebar of hundreds of links helps nobody); the others list all
    windowed = len(siblings & reached) >= min(len(siblings), 25) and section in reached
    if len(siblings & reached) < len(siblings) * 0.9 and not windowed:
        problems.append(f"{tool}: the sidebar of {page} links {len(siblings & reached)} of "
                        f"the section's {len(siblings)} pages")
    return problems


# -- the report -----------------------------------------------------------------------


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", "--no-optional-locks", *args], cwd=REPO, check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def tool_version(cmd: list[str]) -> str:
    try:
        text = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    found = re.search(r"v?(\d+\.\d+\.\d+)", text)
    return found.group(1) if found else text.strip()[:80]


def code_stamp() -> str:
    """A hash of what our build runs: stepwise/ (the theme included), site.yaml."""
    digest = hashlib.blake2b(digest_size=12)
    paths = [REPO / "site.yaml", REPO / "build.py"]
    for folder in ("stepwise",):
        paths += sorted(p for p in (REPO / folder).rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts)
    for path in paths:
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ratio(num: float | None, den: float | None) -> float | None:
    return num / den if num is not None and den else None


def fmt(value: float | None, spec: str = "8.2f") -> str:
    return format(value, spec) if value is not None else format("-", ">" + spec.split(".")[0])


def print_table(rows: list[Row]) -> None:
    print(f"{'row':<42} {'median s':>9} {'min s':>8} {'max s':>8} {'n':>3} "
          f"{'peak RSS MB':>12} {'all procs':>10} {'output MB':>10}")
    for row in rows:
        if row.failed:
            print(f"{row.name:<42} FAILED")
            continue
        if not row.runs:
            continue
        digits = 3 if (row.median() or 1) < 10 else 2
        print(f"{row.name:<42} {fmt(row.median(), f'9.{digits}f')} "
              f"{fmt(min(row.runs), f'8.{digits}f')} {fmt(max(row.runs), f'8.{digits}f')} "
              f"{len(row.runs):>3} "
              f"{fmt(max(row.rss) if row.rss else None, '12.0f')} "
              f"{fmt(max(row.tree_rss) if row.tree_rss else None, '10.0f')} "
              f"{fmt(row.output_mb, '10.1f')}")


def targets(by: dict[str, Row], scaling: dict[int, Row]) -> list[dict[str, object]]:
    def med(key: str) -> float | None:
        row = by.get(key)
        return row.median() if row and not row.failed else None

    items = [
        ("ours/MkDocs", "cold build vs mkdocs build", ratio(med("cold"), med("mkdocs")), 0.25,
         "<= 0.25 (4x faster)"),
        ("ours/Hugo", "cold build vs hugo", ratio(med("cold"), med("hugo")), 1.0,
         "<= 1.0 (no slower)"),
        ("ours/floor", "cold build vs floor", ratio(med("cold"), med("floor")), None, ""),
        ("ours/floor, 1 core", "both on one core (taskset -c 0)",
         ratio(med("cold1"), med("floor1")), 1.8, "<= 1.8"),
        ("1 -> 2 processes", "cold on 1 core / cold on 2 (speed-up, >= means faster)",
         ratio(med("cold1"), med("cold")), None, ">= 1.7"),
        ("warm/cold", "nothing changed vs cold", ratio(med("warm"), med("cold")), 0.10,
         "< 0.10"),
        ("one-page edit (s)", "SiteBuild.update() + writes", med("edit"), 0.100, "< 0.100 s"),
        ("edit through build/cold", "one-page edit, a new build process, vs cold",
         ratio(med("edit-build"), med("cold")), 0.10, "< 0.10"),
        ("edit, search/cold, search", "the same, both with the search index",
         ratio(med("edit-build-search"), med("cold-search")), None, ""),
        ("search index/cold", "Pagefind alone vs our cold build",
         ratio(med("search"), med("cold")), None, ""),
    ]
    if len(scaling) == 2:
        small, large = (scaling[n].median() for n in SCALING)
        items.append((f"{SCALING[1]}/{SCALING[0]} pages", "cold build, ours",
                      ratio(large, small), 5.5, "<= 5.5"))
    out = []
    for name, what, value, goal, text in items:
        met = None if value is None or goal is None else value <= goal
        if name == "1 -> 2 processes" and value is not None:
            met = value >= 1.7
        out.append({"name": name, "what": what, "value": value and round(value, 4),
                    "target": goal, "target_text": text, "met": met})
    return out


def print_targets(items: list[dict[str, object]]) -> None:
    print(f"\n{'ratio':<26} {'value':>8}   {'target':<22} {'':<5} measures")
    for item in items:
        met = {True: "ok", False: "MISS", None: ""}[item["met"]]  # type: ignore[index]
        value = item["value"]
        print(f"{item['name']:<26} {fmt(value if isinstance(value, float) else None, '8.3f')}"
              f"   {item['target_text']!s:<22} {met:<5} {item['what']}")


def print_previous(previous: dict[str, object], rows: list[Row]) -> None:
    old_rows = {r.get("key"): r for r in previous.get("rows", [])  # type: ignore[union-attr]
                if isinstance(r, dict)}
    lines = []
    for row in rows:
        old = old_rows.get(row.key)
        if old and row.median() and old.get("median_s"):
            change = row.median() / old["median_s"] - 1  # type: ignore[operator]
            lines.append(f"  {row.name:<42} {old['median_s']:>8.3f} -> {row.median():8.3f} s "
                         f"({change:+.0%})")
    if lines:
        commit = str(previous.get("commit", "?"))[:10]
        print(f"\nagainst the previous run (commit {commit}, {previous.get('date', '?')}):")
        print("\n".join(lines))


# -- main -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="generated pages (default 1000)")
    parser.add_argument("--reps", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scaling", action="store_true",
                        help=f"also time our cold build at {SCALING[0]} and {SCALING[1]} pages")
    parser.add_argument("--only", default="",
                        help="comma-separated rows: cold,warm,cold1,edit,edit-build,"
                        "edit-build-search,cold-search,search,mkdocs,hugo,floor,floor1")
    parser.add_argument("--bench-venv", type=Path, default=BENCH / ".venv",
                        help="virtual environment with mkdocs and hugo (default bench/.venv)")
    parser.add_argument("--workdir", type=Path,
                        help="keep the generated projects and outputs here (default: a "
                        "temporary folder in memory, removed)")
    parser.add_argument("--disk", action="store_true",
                        help="put the temporary folder on disk (the system's temp folder) "
                        "instead of in memory (/dev/shm)")
    parser.add_argument("--cache", action="append", default=[],
                        help="another build-cache path (relative to the project) to remove "
                        "before a cold build")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--no-save", action="store_true",
                        help="do not write bench/results/")
    parser.add_argument("--edit-worker", nargs=4, metavar=("ROOT", "OUT", "EDITS", "OFFSET"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.edit_worker:
        root, out, edits, offset = args.edit_worker
        edit_worker(Path(root), Path(out), int(edits), int(offset))
        return 0

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return bench(args, args.workdir.resolve())
    with tempfile.TemporaryDirectory(prefix="stepwise-bench-", dir=memory_folder(args.disk)
                                     ) as tmp:
        return bench(args, Path(tmp))


def memory_folder(disk: bool) -> str | None:
    """Where the temporary folder goes: /dev/shm (a tmpfs) unless ``disk`` or there is
    none; None, the system's temp folder, otherwise. In memory because what the rows
    compare is the tools' work, and every tool writes its ~1,000 files to the same
    place: on a virtual machine's disk creating 1,000 small files took 0.05 s one
    minute and 1.4 s the next (tmpfs: 0.02 s, steadily), which swamped the
    differences the rows are there to show."""
    shm = Path("/dev/shm")
    if disk or not shm.is_dir() or not os.access(shm, os.W_OK):
        return None
    return str(shm)


def bench(args: argparse.Namespace, work: Path) -> int:
    venv_python = REPO / ".venv" / "bin" / "python"
    python = str(venv_python) if venv_python.exists() else sys.executable
    mkdocs = args.bench_venv / "bin" / "mkdocs"
    hugo = next(iter(sorted(args.bench_venv.glob("lib/python*/site-packages/hugo/binaries/hugo"))),
                args.bench_venv / "bin" / "hugo")  # the binary itself: no Python wrapper
    only = {k for k in args.only.split(",") if k}
    taskset = shutil.which("taskset")
    want = lambda key: not only or key in only  # noqa: E731
    for key, tool in (("mkdocs", mkdocs), ("hugo", hugo)):
        if want(key) and not tool.exists():
            print(f"{tool} not found: `make bench` installs MkDocs and Hugo into "
                  f"{args.bench_venv}", file=sys.stderr)
            return 2

    nproc = os.cpu_count() or 1
    stamp_before, commit_before = code_stamp(), git("rev-parse", "HEAD")
    load_before = os.getloadavg()
    print(f"generating {args.pages} pages (seed {args.seed}) in {work} ...", flush=True)
    started = time.perf_counter()
    corpora = {args.pages: generate(work / f"stepwise-{args.pages}", args.pages, args.seed)}
    if args.scaling:
        for n in SCALING:
            if n not in corpora:
                corpora[n] = generate(work / f"stepwise-{n}", n, args.seed)
    root = corpora[args.pages]
    content = root / "content"
    pristine = {p.name for p in root.iterdir()}
    edit_root = work / "stepwise-edit"
    if want("edit"):
        remove(edit_root)
        shutil.copytree(root, edit_root)
    build_root = work / "stepwise-edit-build"
    if want("edit-build") or want("edit-build-search"):
        remove(build_root)
        shutil.copytree(root, build_root)
    mk_root = to_mkdocs(root, work / "mkdocs") if want("mkdocs") else work / "mkdocs"
    hugo_root = to_hugo(root, work / "hugo") if want("hugo") else work / "hugo"
    print(f"  ... and converted for MkDocs and Hugo in {time.perf_counter() - started:.1f} s",
          flush=True)

    outs = work / "out"
    xdg = work / "xdg-cache"
    env = dict(os.environ, XDG_CACHE_HOME=str(xdg), HUGO_CACHEDIR=str(work / "hugo-cache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)

    def cold(project: Path, out: Path) -> Callable[[], None]:
        def prepare() -> None:
            # no output, no cache of any earlier build: whatever a build added beside
            # site.yaml goes, and the folder holding the output with it
            remove(out.parent, xdg)
            for name in os.listdir(project):
                if name not in pristine:
                    remove(project / name)
            for extra in [*CACHE_DIRS, *args.cache]:
                remove(project / extra)
        return prepare

    def ours(project: Path, out: Path, one_core: bool = False, search: bool = False
             ) -> list[str]:
        cmd = [python, str(REPO / "build.py"), "build", "--root", str(project), "--out",
               str(out), *([] if search else ["--no-search"])]
        return ["taskset", "-c", "0", *cmd] if one_core else cmd

    ours_out = outs / "stepwise" / "site"
    rows = [
        Row("stepwise cold", "cold", cold(root, ours_out), ours(root, ours_out), ours_out),
        Row("stepwise warm (nothing changed)", "warm", lambda: None, ours(root, ours_out),
            ours_out),
    ]
    if taskset:
        out1 = outs / "stepwise-1core" / "site"
        rows.append(Row("stepwise cold, 1 core", "cold1", cold(root, out1),
                        ours(root, out1, one_core=True), out1))
    edit = Row("stepwise one-page edit", "edit", lambda: remove(outs / "edit"), [])
    edit.parse = parse_edits(edit)
    rows.append(edit)
    for search in (False, True):
        out_e = outs / f"edit-build{'-search' if search else ''}" / "site"
        rows.append(edit_build_row(search, build_root, out_e, ours(build_root, out_e,
                                                                    search=search), env))
    out_s = outs / "stepwise-search" / "site"
    rows.append(Row("stepwise cold, with search", "cold-search", cold(root, out_s),
                    ours(root, out_s, search=True), out_s))
    index_dir = outs / "search-alone"
    rows.append(Row("search index alone (Pagefind)", "search",
                    lambda: (remove(index_dir), shutil.copytree(ours_out, index_dir)),
                    [pagefind_binary(), "--site", str(index_dir), "--output-subdir",
                     "pagefind", "--keep-index-url", "--quiet"]))
    mk_out = outs / "mkdocs"
    rows.append(Row("mkdocs build", "mkdocs", lambda: remove(mk_out),
                    [str(mkdocs), "build", "-q", "-f", str(mk_root / "mkdocs.yml"), "-d",
                     str(mk_out)], mk_out))
    hugo_out = outs / "hugo"
    rows.append(Row("hugo", "hugo",
                    lambda: remove(hugo_out, work / "hugo-cache", hugo_root / "resources",
                                   hugo_root / ".hugo_build.lock"),
                    [str(hugo), "--quiet", "--source", str(hugo_root), "--destination",
                     str(hugo_out), "--cacheDir", str(work / "hugo-cache")], hugo_out))
    floor_cmd = [python, str(BENCH / "floor.py"), str(content)]
    floor_out = outs / "floor"
    rows.append(Row("floor (markdown-it + Jinja)", "floor", lambda: remove(floor_out),
                    [*floor_cmd, str(floor_out)], floor_out))
    if taskset:
        floor1_out = outs / "floor-1core"
        rows.append(Row("floor, 1 core", "floor1", lambda: remove(floor1_out),
                        ["taskset", "-c", "0", *floor_cmd, str(floor1_out)], floor1_out))
    scaling: dict[int, Row] = {}
    if args.scaling:
        for n in SCALING:
            if n == args.pages:
                continue
            out_n = outs / f"stepwise-{n}" / "site"
            scaling[n] = Row(f"stepwise cold, {n} pages", f"cold-{n}",
                             cold(corpora[n], out_n), ours(corpora[n], out_n), out_n)
            rows.append(scaling[n])
    rows = [r for r in rows if want(r.key) or r.key.startswith("cold-")]
    by = {r.key: r for r in rows}
    if args.scaling and "cold" in by:
        scaling[args.pages] = by["cold"]

    # a round: every row once; "warm" right after "cold" (it is the same command again),
    # then the search index alone (of cold's output)
    units: list[list[Row]] = []
    for row in rows:
        if row.key in ("warm", "search") and units and units[-1][0].key == "cold":
            units[-1].append(row)
        else:
            units.append([row])
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    print(f"{len(rows)} rows x {args.reps} rounds, round-robin; nproc {nproc}", flush=True)
    for rnd in range(args.reps):
        shift = rnd % len(units)
        for unit in units[shift:] + units[:shift]:
            for row in unit:
                if row.key == "edit":
                    row.command = [python, str(Path(__file__).resolve()), "--edit-worker",
                                   str(edit_root), str(outs / "edit" / "site"),
                                   str(EDITS_PER_ROUND), str(rnd * EDITS_PER_ROUND)]
                run_row(row, logs / f"{row.key}-{rnd}.log", env)
        done = ", ".join(f"{r.key} {r.runs[-1]:.2f}" for r in rows if r.runs and not r.failed)
        print(f"  round {rnd + 1}/{args.reps}: {done}", flush=True)
        if rnd == 0:
            problems = verify(by, content, mk_out, hugo_out, ours_out, args.pages)
            if problems:
                print("\n".join(["outputs are not real:", *problems]), file=sys.stderr)
                return 1

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    changed = code_stamp() != stamp_before
    if changed or commit != commit_before:
        print(f"\nWARNING: stepwise's code changed during the run (commit {commit_before[:10]} "
              f"-> {commit[:10]}): the rounds measured different code", file=sys.stderr)
    published = by["cold"].files if "cold" in by else None
    load = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    print(f"\nstepwise benchmark: {args.pages} generated pages, {args.reps} rounds, nproc {nproc}, "
          f"commit {commit[:10]}{' + uncommitted changes' if dirty else ''}; load average "
          f"{load[0]:.1f} before, {load[3]:.1f} after (other work on the machine adds noise)")
    print_table(rows)
    items = targets(by, scaling)
    print_targets(items)
    if "edit" in by and by["edit"].extra.get("pages_rendered_per_edit"):
        rendered = by["edit"].extra["pages_rendered_per_edit"]
        print(f"\n(one-page edit: {statistics.median(rendered):.0f} pages re-rendered per "  # type: ignore[arg-type]
              "edit, median)")

    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": commit, "uncommitted_changes": dirty, "code_stamp": stamp_before,
        "code_changed_during_run": changed or commit != commit_before,
        "pages": args.pages, "seed": args.seed, "reps": args.reps, "nproc": nproc,
        "output_files": published,
        "loadavg_before_after": load, "workdir": str(work),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine()},
        "versions": {
            "mkdocs": tool_version([str(mkdocs), "--version"]) if want("mkdocs") else None,
            "hugo": tool_version([str(hugo), "version"]) if want("hugo") else None,
        },
        "rows": [{"key": r.key, **r.summary()} for r in rows],
        "ratios": items,
    }
    previous_path = RESULTS / "latest.json"
    if previous_path.is_file():
        try:
            previous = json.loads(previous_path.read_text(encoding="utf-8"))
            if previous.get("pages") == args.pages:
                print_previous(previous, rows)
        except (OSError, ValueError):
            pass
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        text = json.dumps(report, indent=2) + "\n"
        previous_path.write_text(text, encoding="utf-8")
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"{stamp}-{commit[:10] or 'nogit'}-{args.pages}.json").write_text(
            text, encoding="utf-8")
        print(f"\nwrote {previous_path.relative_to(REPO)}")
    failed = [r.name for r in rows if r.failed]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    if args.check and any(item["met"] is False for item in items):
        return 1
    return 0


def verify(by: dict[str, Row], content: Path, mk_out: Path, hugo_out: Path, ours_out: Path,
           pages: int) -> list[str]:
    """Check, after the first round, that each tool's output has every page and that
    one article links its wiki-link targets, the menu and its section's pages."""
    sample = next(p for p in sorted(content.rglob("p*.md")) if "layout: article" in
                  p.read_text(encoding="utf-8"))
    problems = []
    for key, out in (("cold", ours_out), ("mkdocs", mk_out), ("hugo", hugo_out)):
        row = by.get(key)
        if row and not row.failed and row.runs:
            problems += check_output(row.name, out, sample, content, pages)
    floor = by.get("floor")
    if floor and floor.runs and floor.files is not None and floor.files < pages:
        problems.append(f"floor: only {floor.files} files for {pages} pages")
    return problems


if __name__ == "__main__":
    raise SystemExit(main())

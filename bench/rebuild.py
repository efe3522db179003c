"""One-page edits on a generated site: incremental rebuild against a full build.

    python bench/rebuild.py [--pages 1000] [--edits 20]

Generates the benchmark site (bench/corpus.py) in a temporary folder, measures a full
build (SiteBuild.full and writing every file) a few times, then edits one page's
text at a time and measures SiteBuild.update plus writing the changed files, as
`make serve` does. Prints both medians and their ratio. Goal (issue 6): the edit under
100 ms and at least 20x faster than the full build.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import generate  # noqa: E402
from stepwise.output import write_site  # noqa: E402
from stepwise.project import Project  # noqa: E402
from stepwise.site import SiteBuild  # noqa: E402


def time_edits(build: SiteBuild, root: Path, out: Path, edits: int, offset: int = 0,
               restore: bool = False) -> tuple[list[float], list[int]]:
    """Edit one page's text at a time and time ``build.update()`` plus writing the
    changed files, as ``make serve`` does. Returns the times (s) and how many pages each
    edit re-rendered. With ``restore``, each page is put back afterwards (untimed)."""
    pages = sorted((root / "content").rglob("p*.md"))
    times, rendered = [], []
    for i in range(offset, offset + edits):
        path = pages[(i * 97) % len(pages)]
        original = path.read_text(encoding="utf-8")
        path.write_text(original + f"\nOne more sentence, edit {i}.\n", encoding="utf-8")
        started = time.perf_counter()
        result = build.update()
        for rel in result.changed:
            (out / rel).write_bytes(build.outputs[rel])
        times.append(time.perf_counter() - started)
        rendered.append(len(result.rendered))
        if restore:
            path.write_text(original, encoding="utf-8")
            for rel in build.update().changed:
                (out / rel).write_bytes(build.outputs[rel])
    return times, rendered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--full-runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "project", args.pages)
        os.chdir(root)
        project, out = Project.at(root), root / "site"
        full_times = []
        for _ in range(args.full_runs):
            build = SiteBuild(project)
            started = time.perf_counter()
            build.full()
            write_site(out, build.outputs, build.project.static_dirs)
            full_times.append(time.perf_counter() - started)
        edit_times, rendered = time_edits(build, root, out, args.edits)
    full, edit = statistics.median(full_times), statistics.median(edit_times)
    print(f"site: {args.pages} generated pages (+ sections), {len(build.pages)} published")
    print(f"full build        median {full * 1000:8.0f} ms  (min {min(full_times) * 1000:.0f}, "
          f"max {max(full_times) * 1000:.0f}, n={len(full_times)})")
    print(f"one-page edit     median {edit * 1000:8.1f} ms  (min {min(edit_times) * 1000:.1f}, "
          f"max {max(edit_times) * 1000:.1f}, n={len(edit_times)}, "
          f"pages re-rendered per edit: {statistics.median(rendered):.0f})")
    print(f"ratio full/edit   {full / edit:8.1f}x   (goal: edit < 100 ms and >= 20x)")


if __name__ == "__main__":
    main()

"""`make test` on a machine without Chromium passes: every browser test is skipped, with
the reason printed (.ci/run installs Chromium, so CI runs them all)."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import REPO


def test_every_browser_test_skips_with_the_reason_when_chromium_is_missing(tmp_path):
    env = {**os.environ, "STEPWISE_CHROMIUM": str(tmp_path / "no-chromium")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/browser", "-q", "-p", "no:cacheprovider",
         "-o", "addopts=-rs"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()
    assert summary[-1].endswith(" skipped in " + summary[-1].split(" skipped in ")[-1])
    assert " passed" not in summary[-1] and "error" not in summary[-1]
    reason = f"{tmp_path / 'no-chromium'} is missing: apt-get install chromium (.ci/run does)"
    skipped = [line for line in summary if line.startswith("SKIPPED")]
    assert skipped and all(line.endswith(reason) for line in skipped)
    # each module of tests/browser/ is accounted for, test_hostile_page.py included
    modules = sorted(p.name for p in (REPO / "tests/browser").glob("test_*.py"))
    assert sorted({line.split()[2].split(":")[0].rsplit("/", 1)[-1] for line in skipped}) \
        == modules

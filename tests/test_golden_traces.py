"""Every TCP trace as committed: lessons of content/ and the scenarios of test_trace.py.

The golden files under tests/golden/traces/ were written before the simulation became a
model plug-in (stepwise/models/): whatever moves inside the generator, a lesson's trace
(what ``python build.py trace`` prints, and what the page plays) must stay byte for byte
the same. A deliberate change of the trace format regenerates them:
``STEPWISE_GOLDEN=write .venv/bin/python -m pytest tests/test_golden_traces.py``, and the
diff of the golden files shows in review what changed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stepwise.models.base import trace_text
from stepwise.project import Project
from stepwise.site import SiteBuild
from tests.test_trace import SCENARIOS, compile_yaml

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden" / "traces"
WRITE = os.environ.get("STEPWISE_GOLDEN") == "write"


def lesson_traces() -> dict[str, str]:
    build = SiteBuild(Project.at(REPO), drafts=True)
    build.full()
    return {f"content/{page.rel.with_suffix('')}.json": trace_text(page.trace)
            for page in build.pages if page.trace is not None}


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if WRITE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden trace {path}; STEPWISE_GOLDEN=write to make it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden trace"


def test_every_lesson_plays_its_golden_trace() -> None:
    traces = lesson_traces()
    assert len(traces) >= 3
    for name, text in traces.items():
        check(name, text)
    kept = {p.relative_to(GOLDEN).as_posix() for p in (GOLDEN / "content").rglob("*.json")}
    assert kept == set(traces), "a lesson was added or removed: regenerate the golden files"


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_compiles_to_its_golden_trace(name: str) -> None:
    check(f"scenarios/{name}.json", trace_text(compile_yaml(SCENARIOS[name][0])))

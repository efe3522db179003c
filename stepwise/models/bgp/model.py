"""The BGP model as the site sees it: :class:`BgpModel`, registered as ``bgp``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..base import Model


class BgpModel(Model):
    """Two BGP speakers (RFC 4271) over a TCP connection of our TCP model."""

    name = "bgp"
    title = "BGP (RFC 4271) over TCP"

    def compile(self, simulation: Mapping[str, Any], steps: Any, *, seed: str,
                render_text: Callable[[str], str], base_dir: Path | None = None,
                content_dir: Path | None = None,
                reads: set[Path] | None = None) -> dict[str, Any]:
        from .lesson import compile_lesson

        return compile_lesson(simulation, steps, seed=seed, render_text=render_text)

    def scene(self, trace: Mapping[str, Any]) -> dict[str, Any]:
        from .scene import scene

        return scene(trace)

    def reference(self) -> dict[str, str]:
        from .reference import actions_reference, transitions_reference

        return {"actions": actions_reference(), "transitions": transitions_reference()}

    def summary(self, trace: Mapping[str, Any]) -> str:
        from .reference import summary

        return summary(trace)


#: What the ``stepwise.models`` entry point ``bgp`` names.
MODEL = BgpModel()

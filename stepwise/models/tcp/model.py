"""The TCP model as the site sees it: :class:`TcpModel`, registered as ``tcp``.

Everything here delegates to the modules beside it: :mod:`.lesson` compiles lessons
(actions or a packet capture), :mod:`.playground` is what the simulator page runs,
:mod:`.scene` is what the player draws, :mod:`.reference` documents the actions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..base import Model


class TcpModel(Model):
    """Two TCP endpoints, a client and a server, per RFC 9293 (see docs/actions.md)."""

    name = "tcp"
    title = "TCP (RFC 9293)"
    playground = "stepwise.models.tcp.playground"

    def compile(self, simulation: Mapping[str, Any], steps: Any, *, seed: str,
                render_text: Callable[[str], str], base_dir: Path | None = None,
                content_dir: Path | None = None,
                reads: set[Path] | None = None) -> dict[str, Any]:
        from .lesson import compile_lesson

        return compile_lesson(simulation, steps, seed=seed, render_text=render_text,
                              base_dir=base_dir, content_dir=content_dir, reads=reads)

    def scene(self, trace: Mapping[str, Any]) -> dict[str, Any]:
        from .scene import scene

        return scene(trace)

    def reference(self) -> dict[str, str]:
        from .reference import actions_reference, refusals_reference

        return {"actions": actions_reference(), "refusals": refusals_reference()}

    def summary(self, trace: Mapping[str, Any]) -> str:
        from .lesson import format_trace

        return format_trace(trace)

    def simulator_settings(self, simulation: Any, *, seed: str) -> dict[str, Any]:
        from .lesson import simulator_settings
        from .playground import settings_json

        return settings_json(simulator_settings(simulation, seed=seed))

    def explore(self, simulation: Mapping[str, Any], trace: Mapping[str, Any], *,
                seed: str) -> list[str | None]:
        from .lesson import lesson_scenario
        from .playground import lesson_fragments

        settings, actions = lesson_scenario(simulation, trace, seed=seed)
        return lesson_fragments(settings, actions, trace["steps"])

    def check_scenario(self, settings: Mapping[str, Any], fragment: str) -> str:
        from urllib.parse import quote

        from .playground import parse_fragment, run, settings_from_json

        run(parse_fragment(fragment, settings_from_json(settings)))
        return quote(fragment, safe="=&;,:%+@/")


#: What the ``stepwise.models`` entry point ``tcp`` names.
MODEL = TcpModel()

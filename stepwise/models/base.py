"""The model interface: what a simulation model gives the site, and the helpers models share.

A *model* simulates one protocol (TCP, BGP over TCP, ...). The site pipeline knows
nothing about any protocol: it finds the model a lesson names in ``simulation.model``
(:mod:`stepwise.models` reads the entry point group ``stepwise.models``) and calls the
methods of :class:`Model` below, which is the whole contract. docs/models.md walks
through adding one.

This module imports only the standard library: a model's browser code (its playground,
packed for the simulator page) may import it.
"""

from __future__ import annotations

import difflib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

KeyPath = tuple[str | int, ...]


class ScenarioError(ValueError):
    """A setting or step that cannot be run; the message says how to fix it.

    Attributes:
        keypath: the frontmatter value at fault, with 0-based list indices, e.g.
            ``("steps", 2, "do", 0)``; the build turns it into a line of the lesson.
    """

    def __init__(self, message: str, keypath: KeyPath = ()):
        super().__init__(message)
        self.message = message
        self.keypath = keypath


def fail(message: str, *keypath: str | int) -> ScenarioError:
    """A :class:`ScenarioError` naming ``keypath``."""
    return ScenarioError(message, tuple(keypath))


def is_int(value: Any) -> bool:
    """An ``int`` that is not a ``bool`` (YAML's ``true`` is not a port)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_keys(value: Mapping[Any, Any], known: tuple[str, ...], where: str,
               keypath: KeyPath) -> None:
    """Refuse a key of ``value`` not in ``known``, suggesting the closest known one.

    Raises:
        ScenarioError: ``unknown key 'prot' in simulation.server; known keys: ...``.
    """
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            if value[key] is None and not close:
                # {title: the SYN, ACK is lost} reads as a key 'ACK is lost'
                hint = ("; a comma inside { } ends a value: quote a value that holds one, "
                        "e.g. {title: \"the SYN, ACK is lost\"}")
            raise fail(f"unknown key '{key}' in {where}; known keys: {', '.join(known)}{hint}",
                       *keypath, key)


def vocabulary_table(rfc: str, verbs: list[str],
                     docs: Mapping[str, tuple[str, str, str]]) -> str:
    """A model's action vocabulary as a Markdown table: for each verb an example, the
    RFC's name for it (``rfc`` heads the column) and what happens."""
    rows = [f"| action | {rfc} | what happens |", "| --- | --- | --- |"]
    for verb in verbs:
        example, where, what = docs[verb]
        rows.append(f"| `{example}` | {where} | {what} |")
    return "\n".join(rows) + "\n"


def trace_text(trace: Mapping[str, Any]) -> str:
    """A trace as ``python build.py trace`` prints it: JSON indented by 2, not ASCII-escaped,
    with a final newline."""
    return json.dumps(trace, indent=2, ensure_ascii=False) + "\n"


class Model(ABC):
    """A simulation model, as the site pipeline uses it.

    Attributes:
        name: what ``simulation.model`` says (``"tcp"``), also its entry point's name.
        title: how pages and docs name it (``"TCP (RFC 9293)"``).
        playground: the module the simulator page runs in the browser (its ``handle``
            function answers the page's JSON requests), or None when the model has no
            simulator yet. It must import only the standard library and ``stepwise``
            modules that do too: stepwise.simulator packs it and refuses anything else.

    Every method that reads an author's frontmatter raises
    :class:`ScenarioError` with the key path of the value at fault; the build turns it
    into ``path:line: message``.
    """

    name: str = ""
    title: str = ""
    playground: str | None = None

    @abstractmethod
    def compile(self, simulation: Mapping[str, Any], steps: Any, *, seed: str,
                render_text: Callable[[str], str], base_dir: Path | None = None,
                content_dir: Path | None = None,
                reads: set[Path] | None = None) -> dict[str, Any]:
        """A lesson's trace (JSON-serialisable) from its ``simulation`` and ``steps``.

        Args:
            simulation, steps: the frontmatter values, as written.
            seed: a string unique to the page; what the author leaves out (ISNs,
                ports) is derived from it, so a page builds to the same trace.
            render_text: renders a step's Markdown ``text`` to HTML.
            base_dir, content_dir: where files the simulation names are looked up.
            reads: every file read is added to it (rebuilds watch them).

        Raises:
            ScenarioError: the frontmatter is malformed or the model refuses a step.
        """

    def schema(self) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of this model's traces: by default the file
        ``trace-schema.json`` of the package that defines the model's class."""
        package = type(self).__module__.rpartition(".")[0]
        text = resources.files(package).joinpath("trace-schema.json").read_text("utf-8")
        schema: dict[str, Any] = json.loads(text)
        return schema

    @abstractmethod
    def scene(self, trace: Mapping[str, Any]) -> dict[str, Any]:
        """What the player draws of ``trace``: ``{"lanes", "layers", "categories",
        "frames"}``, one frame per step (docs/models.md describes each field). The player
        knows no protocol: everything it shows comes from here."""

    @abstractmethod
    def reference(self) -> dict[str, str]:
        """The Markdown reference of this model's action vocabulary, generated from the
        code, by section name (``{"actions": "| action | ... |", ...}``). docs/ hold
        each section between ``<!-- generated: MODEL SECTION -->`` and ``<!-- end
        generated -->``; ``python build.py docs`` rewrites them, a test keeps them equal."""

    def summary(self, trace: Mapping[str, Any]) -> str:
        """A plain-text summary of ``trace``, one block per step (docs and tests)."""
        return trace_text(trace)

    # -- the simulator (models with a playground) -------------------------------------

    def simulator_settings(self, simulation: Any, *, seed: str) -> dict[str, Any]:
        """The settings a simulator page opens with, in the JSON form its playground
        reads, from the page's ``simulation``.

        Raises:
            ScenarioError: as :meth:`compile` for the same value; or the model has no
                simulator.
        """
        raise fail(f"the {self.name} model has no simulator yet", "simulation", "model")

    def explore(self, simulation: Mapping[str, Any], trace: Mapping[str, Any], *,
                seed: str) -> list[str | None]:
        """For each step of a compiled lesson, the simulator URL fragment that opens it
        ("explore from here"), None where the simulator cannot replay it; [] when the
        model has no simulator."""
        return []

    def check_scenario(self, settings: Mapping[str, Any], fragment: str) -> str:
        """Check that the simulator opens ``fragment`` with the page's ``settings``
        (JSON form); return it as a URL carries it.

        Raises:
            ScenarioError: the simulator would refuse it (its own message).
        """
        raise ScenarioError(f"the {self.name} model has no simulator")


@dataclass
class AuthoredStep:
    """One step of a lesson's ``steps``, checked: its place, title, Markdown text and
    the action strings of its ``do``."""

    index: int
    title: str
    text: str | None
    do: list[str]


def authored_steps(steps: Any, example: str) -> list[AuthoredStep]:
    """A lesson's ``steps`` in their common shape: a non-empty list of ``{title, do,
    text}`` mappings, ``do`` a list of strings (parsed by the model afterwards).

    Args:
        example: an action of the model, for the messages (``r1 start``).

    Raises:
        ScenarioError: the first malformed step, with its key path.
    """
    if not isinstance(steps, list) or not steps:
        raise fail(f"'steps' must be a non-empty list, e.g. steps: [{{title: the first "
                   f"step, do: [{example}]}}]", "steps")
    out = []
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping):
            raise fail(f"step {i + 1} must be a mapping with a title, e.g. "
                       f"{{title: the first step, do: [{example}]}}", "steps", i)
        check_keys(step, ("title", "do", "text"), f"step {i + 1}", ("steps", i))
        title = step.get("title")
        if not isinstance(title, str) or not title.strip():
            where: KeyPath = ("steps", i, "title") if "title" in step else ("steps", i)
            raise fail(f"step {i + 1} needs a title (a non-empty string)", *where)
        text = step.get("text")
        if text is not None and not isinstance(text, str):
            raise fail(f"step {i + 1}: 'text' must be a string of Markdown", "steps", i, "text")
        do = step.get("do", [])
        if not isinstance(do, list):
            raise fail(f"'do' must be a list of actions, e.g. do: [{example}]"
                       + ("" if isinstance(do, str) else f"; got {do!r}"), "steps", i, "do")
        for j, action in enumerate(do):
            if not isinstance(action, str):
                raise fail(f"step {i + 1}: action {j + 1} must be a string such as "
                           f"'{example}', got {action!r}", "steps", i, "do", j)
        out.append(AuthoredStep(i, title, text, list(do)))
    return out

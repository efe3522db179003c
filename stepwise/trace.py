"""A page's ``simulation``, handed to the model it names: the pipeline's one door to models.

The site pipeline (compile, layout) never imports a model: it calls the functions here,
which find the model :mod:`stepwise.models` registered under ``simulation.model`` and
turn its :class:`~stepwise.models.base.ScenarioError` into a located
:class:`~stepwise.errors.TraceError`. Everything protocol-specific lives in the model's
folder (``stepwise/models/tcp/``, ``stepwise/models/bgp/``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import models
from .errors import TraceError
from .models.base import Model, ScenarioError


@contextmanager
def _located() -> Iterator[None]:
    try:
        yield
    except ScenarioError as err:
        raise TraceError(err.message, keypath=err.keypath) from None


def model_of(simulation: Any) -> Model:
    """The model ``simulation`` names.

    Raises:
        TraceError: ``simulation`` is not a mapping, names no model, or names one that
            is not installed (the message lists those that are).
    """
    if not isinstance(simulation, Mapping):
        raise TraceError("'simulation' must be a mapping, e.g. simulation: {model: tcp, "
                         "client: {...}, server: {...}}", keypath=("simulation",))
    if "model" not in simulation:
        raise TraceError("simulation needs 'model: tcp'", keypath=("simulation",))
    name = simulation["model"]
    try:
        return models.get(str(name)) if isinstance(name, str) else models.get("")
    except KeyError:
        raise TraceError(f"unknown simulation model {str(name)!r}; known models: "
                         f"{', '.join(models.names())}", keypath=("simulation", "model")) \
            from None


def compile_trace(simulation: Any, steps: Any, *, seed: str,
                  render_text: Callable[[str], str], base_dir: Path | None = None,
                  content_dir: Path | None = None,
                  reads: set[Path] | None = None) -> dict[str, Any]:
    """A lesson's trace, compiled by its model (see
    :meth:`stepwise.models.base.Model.compile` for the arguments).

    Raises:
        TraceError: what the model refuses, with the key path of the value at fault
            (``("steps", 2, "do", 0)``), which the build turns into a line.
    """
    model = model_of(simulation)
    with _located():
        return model.compile(simulation, steps, seed=seed, render_text=render_text,
                             base_dir=base_dir, content_dir=content_dir, reads=reads)


def simulator_settings(simulation: Any, *, seed: str) -> dict[str, Any]:
    """The settings a simulator page opens with (JSON form), from its ``simulation``.

    Raises:
        TraceError: as :func:`compile_trace`.
    """
    model = model_of(simulation)
    with _located():
        return model.simulator_settings(simulation, seed=seed)


def explore(simulation: Mapping[str, Any], trace: Mapping[str, Any], *,
            seed: str) -> list[str | None]:
    """A compiled lesson's "explore from here" fragments (see Model.explore)."""
    return model_of(simulation).explore(simulation, trace, seed=seed)


def check_scenario(simulation: Any, settings: Mapping[str, Any], fragment: str) -> str:
    """``fragment`` as a URL carries it, if the simulator page of ``simulation`` (with
    ``settings``, its compiled settings) opens it.

    Raises:
        TraceError: the simulator would refuse it; the message is the simulator's.
    """
    model = model_of(simulation)
    with _located():
        return model.check_scenario(settings, fragment)


def scene_of(trace: Mapping[str, Any]) -> dict[str, Any]:
    """What the player draws of a compiled trace, by its model (Model.scene)."""
    return models.get(str(trace["model"])).scene(trace)


def load_schema(model: str = "tcp") -> dict[str, Any]:
    """The JSON Schema of a model's traces (draft 2020-12)."""
    return models.get(model).schema()


def format_trace(trace: Mapping[str, Any]) -> str:
    """A plain-text summary of a trace, by its model (docs and tests)."""
    return models.get(str(trace["model"])).summary(trace)

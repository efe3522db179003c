"""Simulation models, found by name: ``simulation: {model: tcp}`` names the model ``tcp``.

A model is a Python package that registers an object implementing
:class:`stepwise.models.base.Model` under the entry point group ``stepwise.models``
(pyproject.toml: ``[project.entry-points."stepwise.models"] tcp =
"stepwise.models.tcp.model:MODEL"``). Ours register the same way a third party's do;
the site pipeline asks :func:`get` and knows nothing of any protocol. Each model lives
in a folder of its own here: ``tcp/`` (RFC 9293), ``bgp/`` (RFC 4271 over our TCP).
docs/models.md shows how to add one.

This package's modules import only the standard library (the simulator's browser code
imports them).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Model

#: The entry point group models register in.
GROUP = "stepwise.models"


#: The models this package ships, registered as entry points like any other (so
#: :func:`names` lists them), found here without reading every installed package's
#: metadata: importlib.metadata costs 12 ms, a build that edits one lesson 0.2 s.
BUILT_IN = {"tcp": "stepwise.models.tcp.model:MODEL", "bgp": "stepwise.models.bgp.model:MODEL"}


@functools.cache
def _registered() -> dict[str, object]:
    # imported here (12 ms): a site with no lesson never asks for a model
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=GROUP)}


def names() -> list[str]:
    """The names of the models installed, sorted."""
    return sorted({*BUILT_IN, *_registered()})


@functools.cache
def get(name: str) -> Model:
    """The model registered as ``name``.

    Raises:
        KeyError: no model has that name (see :func:`names`).
        TypeError: what is registered under it is not a Model.
    """
    import importlib

    from .base import Model

    if name in BUILT_IN:
        value = BUILT_IN[name]
        module, _, attribute = value.partition(":")
        model = getattr(importlib.import_module(module), attribute)
    else:
        entry = _registered()[name]
        value = entry.value  # type: ignore[attr-defined]
        model = entry.load()  # type: ignore[attr-defined]
    if not isinstance(model, Model):
        raise TypeError(f"the entry point {GROUP}:{name} ({value}) is not a "
                        f"stepwise.models.base.Model")
    return model

"""A TCP scenario: simulation settings, and authored steps run on the model as trace steps.

This is the part of trace compilation that needs nothing but the standard library and
the TCP model, so that the very same code runs at build time (through
:mod:`~stepwise.models.tcp.lesson`) and in the reader's browser (through
:mod:`~stepwise.models.tcp.playground`, under Pyodide). It must never import the site
pipeline, Jinja, markdown-it or YAML: :mod:`stepwise.simulator` checks that when it
packs these modules for the browser.

Shapes (format v1, docs/trace-format.md):

* settings: :class:`Settings`, read from a lesson's ``simulation`` mapping by
  :func:`parse_settings`;
* a trace step: the dict :func:`step_json` makes from the network's history;
* problems: :class:`~stepwise.models.base.ScenarioError`, whose ``keypath`` names the
  frontmatter value at fault (``("simulation", "client", "port")``, ``("steps", 2, "do",
  0)``).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..base import KeyPath, check_keys, fail, is_int
from .actions import Action
from .errors import ModelError
from .network import Delivered, Dropped, Network, Sent

#: The trace format version written.
TRACE_VERSION = 1
#: The client's derived port is taken from Linux's default ephemeral range.
EPHEMERAL_PORTS = range(32768, 61000)
#: The two participants, in the order the trace lists them.
ROLES: tuple[str, ...] = ("client", "server")
#: The keys of ``simulation.client`` and ``simulation.server``.
ENDPOINT_KEYS = ("name", "ip", "port", "delayed_ack")
EXAMPLES = {
    "client": "client: {name: curl, ip: 10.0.0.5}",
    "server": "server: {name: nginx, ip: 10.0.0.80, port: 443}",
}

def _hash32(*parts: str) -> int:
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def derive_isn(seed: str, role: str) -> int:
    """The ISN of ``role`` (``"client"``/``"server"``) for a page: SHA-256 of the seed, 32 bits."""
    return _hash32(seed, "isn", role)


def derive_port(seed: str) -> int:
    """The client's port for a page: SHA-256 of the seed, in 32768 .. 60999 (Linux's default)."""
    return EPHEMERAL_PORTS[_hash32(seed, "port") % len(EPHEMERAL_PORTS)]


@dataclass(frozen=True)
class EndpointSettings:
    """One participant: ``name`` (a program, e.g. ``curl``), ``ip``, ``port`` (None:
    the captured one, for a capture lesson) and whether it delays its ACKs."""

    name: str
    ip: str
    port: int | None
    delayed_ack: bool = False

    def to_json(self) -> dict[str, Any]:
        """The trace's ``endpoints`` entry: ``{"name", "ip", "port"}``."""
        return {"name": self.name, "ip": self.ip, "port": self.port}


@dataclass(frozen=True)
class Settings:
    """A scenario's settings: both participants and both ISNs (0 .. 2**32-1)."""

    client: EndpointSettings
    server: EndpointSettings
    isn: Mapping[str, int]

    def endpoint(self, role: str) -> EndpointSettings:
        """The participant playing ``role`` (``"client"`` or ``"server"``)."""
        return self.client if role == "client" else self.server

    def network(self) -> Network:
        """A fresh network of two CLOSED endpoints with these ISNs and ACK habits."""
        return Network.create(self.isn["client"], self.isn["server"],
                              client_delayed_ack=self.client.delayed_ack,
                              server_delayed_ack=self.server.delayed_ack)

    def endpoints_json(self) -> dict[str, Any]:
        """The trace's ``endpoints``: ``{"client": {...}, "server": {...}}``."""
        return {role: self.endpoint(role).to_json() for role in ROLES}


def _dotted(keypath: KeyPath) -> str:
    return ".".join(map(str, keypath))


def parse_endpoint(simulation: Mapping[Any, Any], role: str, seed: str, *,
                   captured: bool = False,
                   label: Callable[[KeyPath], str] = _dotted) -> EndpointSettings:
    """Read ``simulation[role]``: ``name`` and ``ip`` required; ``port`` required for
    the server (the client's is derived from ``seed`` when absent, a capture's taken
    from the capture); ``delayed_ack`` optional.

    Args:
        label: how a message names a value, from its key path (default
            ``simulation.client.port``).

    Raises:
        ScenarioError: a missing or malformed value, with an example of a good one.
    """
    top = ("simulation",)
    if role not in simulation:
        raise fail(f"{label(top)} needs '{role}', e.g. {EXAMPLES[role]}", *top)
    value = simulation[role]
    where = (*top, role)
    if not isinstance(value, Mapping):
        raise fail(f"{label(where)} must be a mapping, e.g. {EXAMPLES[role]}", *where)
    check_keys(value, ENDPOINT_KEYS, label(where), where)
    for key in ("name", "ip"):
        if key not in value:
            raise fail(f"{label(where)} needs '{key}', e.g. {EXAMPLES[role]}", *where)
    name = value["name"]
    if not isinstance(name, str) or not name.strip():
        raise fail(f"{label((*where, 'name'))} must be a non-empty string, e.g. name: curl",
                   *where, "name")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from JSON's \ud800 (YAML refuses them)
        raise fail(f"{label((*where, 'name'))} holds a character that is not text (a lone "
                   f"surrogate); remove it", *where, "name") from None
    ip = value["ip"]
    try:
        if not isinstance(ip, str):
            raise ValueError(ip)
        ipaddress.ip_address(ip)
    except ValueError:
        raise fail(f"{label((*where, 'ip'))} must be an IP address written as a string, "
                   f"e.g. ip: 10.0.0.5; got {ip!r}", *where, "ip") from None
    port: int | None
    if "port" in value:
        port = value["port"]
        if not is_int(port) or not 1 <= port <= 65535:
            raise fail(f"{label((*where, 'port'))} must be an integer from 1 to 65535, "
                       f"got {port!r}", *where, "port")
    elif captured:
        port = None
    elif role == "client":
        port = derive_port(seed)
    else:
        raise fail(f"{label(where)} needs a 'port' (the port it listens on), e.g. port: 443",
                   *where)
    delayed = value.get("delayed_ack", False)
    if not isinstance(delayed, bool):
        raise fail(f"{label((*where, 'delayed_ack'))} must be true or false, got {delayed!r}",
                   *where, "delayed_ack")
    return EndpointSettings(name, ip, port, delayed)


def parse_isns(simulation: Mapping[Any, Any], seed: str, *,
               label: Callable[[KeyPath], str] = _dotted) -> dict[str, int]:
    """Read ``simulation.isn`` (``{client, server}``, each optional): an ISN not given
    is derived from ``seed``.

    Raises:
        ScenarioError: not a mapping, an unknown key, or an ISN outside 0 .. 2**32-1.
    """
    isns = {role: derive_isn(seed, role) for role in ROLES}
    if "isn" not in simulation:
        return isns
    value = simulation["isn"]
    where = ("simulation", "isn")
    if not isinstance(value, Mapping):
        raise fail(f"{label(where)} must be a mapping, e.g. isn: {{client: 1000, "
                   f"server: 5000}}", *where)
    check_keys(value, ROLES, label(where), where)
    for role, isn in value.items():
        if not is_int(isn) or not 0 <= isn < 2**32:
            raise fail(f"{label((*where, role))} must be an integer from 0 to 4294967295 "
                       f"(2**32 - 1), got {isn!r}", *where, role)
        isns[role] = isn
    return isns


def parse_settings(simulation: Mapping[Any, Any], seed: str, *,
                   label: Callable[[KeyPath], str] = _dotted) -> Settings:
    """Both participants and both ISNs of a simulation that runs actions (not a
    capture); see :func:`parse_endpoint` and :func:`parse_isns`.

    Raises:
        ScenarioError: the first malformed value.
    """
    return Settings(parse_endpoint(simulation, "client", seed, label=label),
                    parse_endpoint(simulation, "server", seed, label=label),
                    parse_isns(simulation, seed, label=label))


def _seconds(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def step_json(network: Network, start: int, title: str, html: str, actions: list[str],
              extra: Mapping[int, Mapping[str, Any]] | None = None,
              frame: int | None = None) -> dict[str, Any]:
    """One trace step from ``network``'s history since index ``start``.

    Args:
        title, html: the step's caption and its text, rendered.
        actions: the actions as the trace lists them.
        extra: more fields for segments, by id (a capture's ``frame``, ``time_ms``...).
        frame: the capture frame the step shows, if any.

    Returns:
        ``{"title", "html", "actions", "states", "segments", "arrivals", "tcb",
        "timers"}`` (and ``"frame"``), as docs/trace-format.md describes.
    """
    extra = extra or {}
    events = network.history[start:]
    fates = {e.segment.id: ("delivered" if isinstance(e, Delivered) else "lost")
             for e in events if isinstance(e, Delivered | Dropped)}
    sent = [e.segment for e in events if isinstance(e, Sent)]
    sent_ids = {s.id for s in sent}
    arrived = [e.segment for e in events
               if isinstance(e, Delivered | Dropped) and e.segment.id not in sent_ids]
    step: dict[str, Any] = {
        "title": title,
        "html": html,
        "actions": actions,
        "states": {role: state.value for role, state in network.states().items()},
        "segments": [{**s.to_json(), **extra.get(s.id, {}), "fate": fates.get(s.id, "in-flight")}
                     for s in sent],
        "arrivals": [{**s.to_json(), **extra.get(s.id, {}), "fate": fates[s.id]}
                     for s in arrived],
        "tcb": {"client": network.client.variables(), "server": network.server.variables()},
        "timers": [{"endpoint": t.endpoint, "name": t.name, "seconds": _seconds(t.seconds)}
                   for t in network.timers()],
    }
    if frame is not None:
        step["frame"] = frame
    return step


def run_step(network: Network, index: int, title: str, actions: list[Action],
             html: str = "") -> dict[str, Any]:
    """Run one step's actions on ``network`` in order; the step as the trace shows it.

    Args:
        index: the step's 0-based place in ``steps``, for messages and key paths.

    Raises:
        ScenarioError: the model refuses an action (``step 3 ('client send 120'):
            client: cannot SEND in state CLOSED: ... (RFC 9293 §3.10.2)``); the actions
            before it have run.
    """
    start = len(network.history)
    for j, action in enumerate(actions):
        try:
            network.apply(action)
        except ModelError as err:
            # which one, when the step's 'do' holds several: "deliver" may be there 4 times
            which = f", action {j + 1}" if len(actions) > 1 else ""
            raise fail(f"step {index + 1}{which} ('{action}'): {err}",
                       "steps", index, "do", j) from None
    return step_json(network, start, title, html, [str(a) for a in actions])


def trace_json(settings: Settings, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole trace of a scenario run on the model: ``{"version": 1, "model":
    "tcp", "endpoints": ..., "steps": steps}``."""
    return {
        "version": TRACE_VERSION,
        "model": "tcp",
        "endpoints": settings.endpoints_json(),
        "steps": steps,
    }


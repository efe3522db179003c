"""Compile a lesson's ``simulation`` and ``steps`` frontmatter into a trace (format v1).

The trace is what the browser player animates: for each step, the segments sent, the
segments that arrived, both endpoints' states, TCBs and running timers, all computed
here by the TCP model (:mod:`stepwise.tcp`), the source of truth. The format is
described in docs/trace-format.md and by the JSON Schema ``stepwise/trace-schema.json``
(:func:`load_schema`); the action vocabulary for authors in docs/actions.md.

Everything is deterministic: ISNs and the client's port come from the frontmatter or,
when absent, from a SHA-256 hash of the ``seed`` (the page's path), so a page builds to
the same trace every time.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from .errors import TraceError
from .tcp import Delivered, Dropped, ModelError, Network, Sent, parse_action
from .tcp.actions import ActionSyntaxError

#: The trace format version this module writes.
TRACE_VERSION = 1
#: The simulation models known; ``simulation.model`` must be one of these.
KNOWN_MODELS: tuple[str, ...] = ("tcp",)
#: The client's derived port is taken from Linux's default ephemeral range.
EPHEMERAL_PORTS = range(32768, 61000)

_SIMULATION_KEYS = ("model", "client", "server", "isn")
_ENDPOINT_KEYS = ("name", "ip", "port", "delayed_ack")
_STEP_KEYS = ("title", "do", "text")
_ROLES = ("client", "server")
_EXAMPLE = {
    "client": "client: {name: curl, ip: 10.0.0.5}",
    "server": "server: {name: nginx, ip: 10.0.0.80, port: 443}",
}

KeyPath = tuple[str | int, ...]


def load_schema() -> dict[str, Any]:
    """The trace format's JSON Schema (draft 2020-12), read from the package data."""
    text = resources.files("stepwise").joinpath("trace-schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _hash32(*parts: str) -> int:
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def derive_isn(seed: str, role: str) -> int:
    """The ISN of ``role`` (``"client"``/``"server"``) for a page: SHA-256 of the seed, 32 bits."""
    return _hash32(seed, "isn", role)


def derive_port(seed: str) -> int:
    """The client's port for a page: SHA-256 of the seed, in 32768 .. 60999 (Linux's default)."""
    return EPHEMERAL_PORTS[_hash32(seed, "port") % len(EPHEMERAL_PORTS)]


def _fail(message: str, *keypath: str | int) -> TraceError:
    return TraceError(message, keypath=tuple(keypath))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_keys(value: Mapping[Any, Any], known: tuple[str, ...], where: str,
                keypath: KeyPath) -> None:
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise _fail(f"unknown key '{key}' in {where}; known keys: {', '.join(known)}{hint}",
                        *keypath, key)


def _endpoint(simulation: Mapping[Any, Any], role: str, seed: str) -> tuple[dict[str, Any], bool]:
    if role not in simulation:
        raise _fail(f"simulation needs '{role}', e.g. {_EXAMPLE[role]}", "simulation")
    value = simulation[role]
    where = f"simulation.{role}"
    if not isinstance(value, Mapping):
        raise _fail(f"{where} must be a mapping, e.g. {_EXAMPLE[role]}", "simulation", role)
    _check_keys(value, _ENDPOINT_KEYS, where, ("simulation", role))
    for key in ("name", "ip"):
        if key not in value:
            raise _fail(f"{where} needs '{key}', e.g. {_EXAMPLE[role]}", "simulation", role)
    name = value["name"]
    if not isinstance(name, str) or not name.strip():
        raise _fail(f"{where}.name must be a non-empty string, e.g. name: curl",
                    "simulation", role, "name")
    ip = value["ip"]
    try:
        if not isinstance(ip, str):
            raise ValueError(ip)
        ipaddress.ip_address(ip)
    except ValueError:
        raise _fail(f"{where}.ip must be an IP address written as a string, e.g. ip: 10.0.0.5;"
                    f" got {ip!r}", "simulation", role, "ip") from None
    if "port" in value:
        port = value["port"]
        if not _is_int(port) or not 1 <= port <= 65535:
            raise _fail(f"{where}.port must be an integer from 1 to 65535, got {port!r}",
                        "simulation", role, "port")
    elif role == "client":
        port = derive_port(seed)
    else:
        raise _fail(f"{where} needs a 'port' (the port it listens on), e.g. port: 443",
                    "simulation", role)
    delayed = value.get("delayed_ack", False)
    if not isinstance(delayed, bool):
        raise _fail(f"{where}.delayed_ack must be true or false, got {delayed!r}",
                    "simulation", role, "delayed_ack")
    return {"name": name, "ip": ip, "port": port}, delayed


def _isns(simulation: Mapping[Any, Any], seed: str) -> dict[str, int]:
    isns = {role: derive_isn(seed, role) for role in _ROLES}
    if "isn" not in simulation:
        return isns
    value = simulation["isn"]
    if not isinstance(value, Mapping):
        raise _fail("simulation.isn must be a mapping, e.g. isn: {client: 1000, server: 5000}",
                    "simulation", "isn")
    _check_keys(value, _ROLES, "simulation.isn", ("simulation", "isn"))
    for role, isn in value.items():
        if not _is_int(isn) or not 0 <= isn < 2**32:
            raise _fail(f"simulation.isn.{role} must be an integer from 0 to 4294967295 "
                        f"(2**32 - 1), got {isn!r}", "simulation", "isn", role)
        isns[role] = isn
    return isns


def _seconds(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _step_actions(step: Mapping[Any, Any], index: int) -> list[str]:
    if "do" not in step:
        return []
    do = step["do"]
    if isinstance(do, str):
        raise _fail("'do' must be a list of actions, e.g. do: [client connect]",
                    "steps", index, "do")
    if not isinstance(do, list):
        raise _fail(f"'do' must be a list of actions, e.g. do: [client connect]; got {do!r}",
                    "steps", index, "do")
    for j, action in enumerate(do):
        if not isinstance(action, str):
            raise _fail(f"step {index + 1}: action {j + 1} must be a string such as "
                        f"'client connect', got {action!r}", "steps", index, "do", j)
    return list(do)


def compile_trace(
    simulation: Mapping[str, Any],
    steps: Any,
    *,
    seed: str,
    render_text: Callable[[str], str],
) -> dict[str, Any]:
    """Compile a lesson's frontmatter into a trace dict (format v1, JSON-serializable).

    Args:
        simulation: the raw ``simulation`` frontmatter value: ``model: tcp``, ``client``
            and ``server`` (``name``, ``ip``, ``port``; the client's port and
            ``delayed_ack`` are optional), optional ``isn: {client, server}``.
        steps: the raw ``steps`` value: a non-empty list of mappings with ``title``
            (required), ``do`` (a list of actions, optional) and ``text`` (Markdown,
            optional).
        seed: a string unique to the page (its path); ISNs and the client port not
            given are derived from it.
        render_text: turns a step's Markdown ``text`` into HTML; ``""`` without text.

    Returns:
        The trace: ``{"version": 1, "model": "tcp", "endpoints": ..., "steps": [...]}``
        as described in docs/trace-format.md.

    Raises:
        TraceError: the frontmatter is malformed, an action is unknown, or the model
            refuses an action (``step 3 ('client send 120'): client: cannot SEND in
            state CLOSED (RFC 9293 §3.10.2)``). ``keypath`` names the value at fault,
            with 0-based list indices, e.g. ``("steps", 2, "do", 0)``.
    """
    if not isinstance(simulation, Mapping):
        raise _fail("'simulation' must be a mapping, e.g. simulation: {model: tcp, "
                    "client: {...}, server: {...}}", "simulation")
    if "model" not in simulation:
        raise _fail("simulation needs 'model: tcp'", "simulation")
    model = simulation["model"]
    if model not in KNOWN_MODELS:
        raise _fail(f"unknown simulation model {str(model)!r}; known models: "
                    f"{', '.join(KNOWN_MODELS)}", "simulation", "model")
    _check_keys(simulation, _SIMULATION_KEYS, "simulation", ("simulation",))
    client, client_delayed = _endpoint(simulation, "client", seed)
    server, server_delayed = _endpoint(simulation, "server", seed)
    isns = _isns(simulation, seed)

    if not isinstance(steps, list) or not steps:
        raise _fail("'steps' must be a non-empty list, e.g. steps: [{title: the server "
                    "listens, do: [server listen]}]", "steps")
    parsed = []
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping):
            raise _fail(f"step {i + 1} must be a mapping with a title, e.g. "
                        f"{{title: the client sends SYN, do: [client connect]}}", "steps", i)
        _check_keys(step, _STEP_KEYS, f"step {i + 1}", ("steps", i))
        title = step.get("title")
        if not isinstance(title, str) or not title.strip():
            where: KeyPath = ("steps", i, "title") if "title" in step else ("steps", i)
            raise _fail(f"step {i + 1} needs a title (a non-empty string)", *where)
        text = step.get("text")
        if text is not None and not isinstance(text, str):
            raise _fail(f"step {i + 1}: 'text' must be a string of Markdown",
                        "steps", i, "text")
        actions = []
        for j, raw in enumerate(_step_actions(step, i)):
            try:
                actions.append(parse_action(raw))
            except ActionSyntaxError as err:
                raise _fail(f"step {i + 1}: {err}", "steps", i, "do", j) from None
        parsed.append((title, text, actions))

    network = Network.create(isns["client"], isns["server"],
                             client_delayed_ack=client_delayed,
                             server_delayed_ack=server_delayed)
    out_steps = []
    for i, (title, text, actions) in enumerate(parsed):
        start = len(network.history)
        for j, action in enumerate(actions):
            try:
                network.apply(action)
            except ModelError as err:
                raise _fail(f"step {i + 1} ('{action}'): {err}", "steps", i, "do", j) from None
        events = network.history[start:]
        fates = {e.segment.id: ("delivered" if isinstance(e, Delivered) else "lost")
                 for e in events if isinstance(e, Delivered | Dropped)}
        sent = [e.segment for e in events if isinstance(e, Sent)]
        sent_ids = {s.id for s in sent}
        arrived = [e.segment for e in events
                   if isinstance(e, Delivered | Dropped) and e.segment.id not in sent_ids]
        out_steps.append({
            "title": title,
            "html": render_text(text) if text else "",
            "actions": [str(a) for a in actions],
            "states": {role: state.value for role, state in network.states().items()},
            "segments": [{**s.to_json(), "fate": fates.get(s.id, "in-flight")} for s in sent],
            "arrivals": [{**s.to_json(), "fate": fates[s.id]} for s in arrived],
            "tcb": {"client": network.client.variables(),
                    "server": network.server.variables()},
            "timers": [{"endpoint": t.endpoint, "name": t.name, "seconds": _seconds(t.seconds)}
                       for t in network.timers()],
        })
    return {
        "version": TRACE_VERSION,
        "model": "tcp",
        "endpoints": {"client": client, "server": server},
        "steps": out_steps,
    }


def format_trace(trace: Mapping[str, Any]) -> str:
    """A plain-text summary of a trace, one block per step (used in docs and tests).

    Example::

        2. client connect, deliver -> client SYN-SENT, server SYN-RECEIVED
           sent    #1 client>server SYN seq=1000 len=0 (delivered)
           sent    #2 server>client SYN,ACK seq=5000 ack=1001 len=0 (in-flight)
           timers  client retransmission 1 s, server retransmission 1 s
    """

    def seg(s: Mapping[str, Any]) -> str:
        ack = f" ack={s['ack']}" if s["ack"] is not None else ""
        return (f"#{s['id']} {s['src']}>{s['dst']} {','.join(s['flags'])} seq={s['seq']}{ack}"
                f" len={s['len']} ({s['fate']})")

    lines = []
    for n, step in enumerate(trace["steps"], 1):
        states = step["states"]
        lines.append(f"{n}. {', '.join(step['actions']) or '(no action)'} -> "
                     f"client {states['client']}, server {states['server']}")
        lines += [f"   arrived {seg(s)}" for s in step["arrivals"]]
        lines += [f"   sent    {seg(s)}" for s in step["segments"]]
        if step["timers"]:
            lines.append("   timers  " + ", ".join(
                f"{t['endpoint']} {t['name']} {t['seconds']} s" for t in step["timers"]))
    return "\n".join(lines)

"""Compile a BGP lesson's ``simulation`` and ``steps`` into a trace (format v1, model bgp).

The frontmatter::

    simulation:
      model: bgp
      speakers:
        r1: {name: r1, as: 65001, ip: 10.0.0.1}
        r2: {name: r2, as: 65002, ip: 10.0.0.2, passive: true}
      isn: {r1: 1000, r2: 5000}          # optional
    steps:
      - {title: both start, do: [r2 start, r1 start]}

Two speakers, keyed by the names actions use. Each has ``as`` (1 .. 65535), ``ip`` (an
IPv4 address) and optionally ``name`` (default: its key), ``id`` (its BGP Identifier,
default: its ``ip``), ``hold_time`` (default 90 s; 0 or 3 .. 65535), ``passive`` (it
listens on port 179 instead of connecting; by default the second speaker does),
``peer_as`` (the AS it expects its peer to have; default the peer's ``as``: another value
makes the session fail with Bad Peer AS) and, for the connecting one, ``port``. ISNs and
that port not given are derived from the page, as for TCP.

The trace is described in docs/trace-format.md ("BGP") and
``stepwise/models/bgp/trace-schema.json``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from ..base import KeyPath, authored_steps, check_keys, fail, is_int
from ..tcp.errors import ModelError
from ..tcp.scenario import derive_isn, derive_port
from ..tcp.scenario import step_json as tcp_step_json
from .actions import ActionSyntaxError, BgpAction, parse_action
from .session import Session, SpeakerSettings

TRACE_VERSION = 1
BGP_PORT = 179
DEFAULT_HOLD_TIME = 90
_SIMULATION_KEYS = ("model", "speakers", "isn")
_SPEAKER_KEYS = ("name", "as", "id", "ip", "port", "hold_time", "passive", "peer_as")
_EXAMPLE = "speakers: {r1: {as: 65001, ip: 10.0.0.1}, r2: {as: 65002, ip: 10.0.0.2}}"


def _ipv4(value: Any, where: KeyPath, what: str) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        ipaddress.IPv4Address(value)
    except ValueError:
        raise fail(f"{'.'.join(map(str, where))} must be an IPv4 address written as a "
                   f"string ({what}), e.g. 10.0.0.1; got {value!r}", *where) from None
    return value


def _int(value: Any, low: int, high: int, where: KeyPath, extra: str = "") -> int:
    if not is_int(value) or not low <= value <= high:
        raise fail(f"{'.'.join(map(str, where))} must be an integer from {low} to {high}"
                   f"{extra}, got {value!r}", *where)
    return int(value)


def parse_speakers(simulation: Mapping[str, Any], seed: str
                   ) -> tuple[SpeakerSettings, SpeakerSettings, dict[str, int]]:
    """Both speakers, in the order written, and their ISNs.

    Raises:
        ScenarioError: a missing or malformed value, with its key path.
    """
    check_keys(simulation, _SIMULATION_KEYS, "simulation", ("simulation",))
    speakers = simulation.get("speakers")
    if not isinstance(speakers, Mapping) or len(speakers) != 2:
        raise fail(f"simulation needs 'speakers', two of them, e.g. {_EXAMPLE}",
                   "simulation", *(("speakers",) if "speakers" in simulation else ()))
    keys = [str(k) for k in speakers]
    for key in keys:
        if not key.replace("-", "").replace("_", "").isalnum() or not key[0].isalpha() \
                or key in ("deliver", "drop"):
            raise fail(f"simulation.speakers: '{key}' cannot name a speaker: use a word such "
                       f"as r1 (letters, digits, - and _), not deliver or drop",
                       "simulation", "speakers", key)
    raw = []
    for key in keys:
        value = speakers[key]
        where: KeyPath = ("simulation", "speakers", key)
        if not isinstance(value, Mapping):
            raise fail(f"simulation.speakers.{key} must be a mapping, e.g. {{as: 65001, ip: "
                       f"10.0.0.1}}", *where)
        check_keys(value, _SPEAKER_KEYS, f"simulation.speakers.{key}", where)
        for needed in ("as", "ip"):
            if needed not in value:
                raise fail(f"simulation.speakers.{key} needs '{needed}', e.g. {{as: 65001, "
                           f"ip: 10.0.0.1}}", *where)
        raw.append((key, value, where))
    passive = [bool(v.get("passive", False)) for _, v, _ in raw]
    for (key, value, where) in raw:
        if "passive" in value and not isinstance(value["passive"], bool):
            raise fail(f"simulation.speakers.{key}.passive must be true or false, got "
                       f"{value['passive']!r}", *where, "passive")
    if all(passive):
        raise fail("one speaker must open the connection: both are passive; remove "
                   "'passive: true' from one", "simulation", "speakers")
    if not any(passive):
        passive[1] = True  # the second waits for the first's connection
    out = []
    for i, (key, value, where) in enumerate(raw):
        other = raw[1 - i][1]
        asn = _int(value["as"], 1, 65535, (*where, "as"), " (a 2-octet AS)")
        ip = _ipv4(value["ip"], (*where, "ip"), "its address")
        name = value.get("name", key)
        if not isinstance(name, str) or not name.strip():
            raise fail(f"simulation.speakers.{key}.name must be a non-empty string",
                       *where, "name")
        bgp_id = _ipv4(value.get("id", ip), (*where, "id"), "its BGP Identifier")
        hold = _int(value.get("hold_time", DEFAULT_HOLD_TIME), 0, 65535, (*where, "hold_time"))
        if hold in (1, 2):
            raise fail(f"simulation.speakers.{key}.hold_time must be 0 or at least 3 seconds "
                       f"(RFC 4271 §4.2), got {hold}", *where, "hold_time")
        if passive[i]:
            if "port" in value:
                raise fail(f"simulation.speakers.{key}.port: the listening speaker uses BGP's "
                           f"port, {BGP_PORT}; remove 'port'", *where, "port")
            port = BGP_PORT
        else:
            port = _int(value["port"], 1, 65535, (*where, "port")) if "port" in value \
                else derive_port(seed)
        peer_as = _int(value.get("peer_as", other.get("as")), 1, 65535, (*where, "peer_as"))
        out.append(SpeakerSettings(key, name, asn, bgp_id, ip, port, hold, passive[i], peer_as))
    isns = {key: derive_isn(seed, key) for key in keys}
    if "isn" in simulation:
        value = simulation["isn"]
        if not isinstance(value, Mapping):
            raise fail(f"simulation.isn must be a mapping, e.g. isn: {{{keys[0]}: 1000, "
                       f"{keys[1]}: 5000}}", "simulation", "isn")
        check_keys(value, tuple(keys), "simulation.isn", ("simulation", "isn"))
        for key, isn in value.items():
            isns[str(key)] = _int(isn, 0, 2**32 - 1, ("simulation", "isn", key))
    return out[0], out[1], isns


def _message_json(session: Session, segment: dict[str, Any], role_key: dict[str, str]
                  ) -> dict[str, Any]:
    messages = session.messages_in(segment["src"], segment["seq"], segment["len"])
    return {**segment, "src": role_key[segment["src"]], "dst": role_key[segment["dst"]],
            "messages": [m.to_json() for m in messages]}


def step_json(session: Session, start: int, events_start: int, title: str, html: str,
              actions: list[str]) -> dict[str, Any]:
    """One trace step: what happened since history index ``start`` and event index
    ``events_start``, and both speakers as the step leaves them."""
    tcp = _tcp_step(session, start)
    role_key = {sp.role: sp.key for sp in session.speakers.values()}
    step: dict[str, Any] = {
        "title": title, "html": html, "actions": actions,
        "states": {key: {"bgp": session.speakers[key].state.value,
                         "tcp": session.endpoint(key).state.value} for key in session.order},
        "events": [{"speaker": key, "event": event.rfc_name, "number": event.number}
                   for key, event in session.events[events_start:]],
        "segments": [_message_json(session, s, role_key) for s in tcp["segments"]],
        "arrivals": [_message_json(session, s, role_key) for s in tcp["arrivals"]],
        "timers": [{"speaker": key, "layer": layer, "name": name, "seconds": _seconds(secs)}
                   for key, layer, name, secs in session.timers()],
        "variables": {key: {**session.speakers[key].variables(),
                            **session.endpoint(key).variables()} for key in session.order},
        "routes": {key: [{"prefix": prefix, "next_hop": hop, "as_path": list(path)}
                         for prefix, (hop, path) in sorted(session.speakers[key].routes.items())]
                   for key in session.order},
    }
    return step


def _tcp_step(session: Session, start: int) -> dict[str, Any]:
    return tcp_step_json(session.network, start, "", "", [])


def _seconds(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def compile_lesson(simulation: Mapping[str, Any], steps: Any, *, seed: str,
                   render_text: Callable[[str], str]) -> dict[str, Any]:
    """A BGP lesson's trace.

    Raises:
        ScenarioError: malformed settings or steps, an unknown action, or one the model
            refuses: ``step 3 ('r1 announce 10.1.0.0/16'): r1: cannot send UPDATE in state
            OpenSent: routes are exchanged only in Established (RFC 4271 §8.2.2, §9.2)``.
    """
    first, second, isns = parse_speakers(simulation, seed)
    keys = (first.key, second.key)
    session = Session(first, second, isns)
    out = []
    for step in authored_steps(steps, f"{first.key} start"):
        actions: list[BgpAction] = []
        for j, text in enumerate(step.do):
            try:
                actions.append(parse_action(text, keys))
            except ActionSyntaxError as err:
                raise fail(f"step {step.index + 1}: {err}", "steps", step.index, "do", j) \
                    from None
        start, events_start = len(session.network.history), len(session.events)
        for j, action in enumerate(actions):
            try:
                session.apply(action)
            except ModelError as err:
                which = f", action {j + 1}" if len(actions) > 1 else ""
                raise fail(f"step {step.index + 1}{which} ('{action}'): {err}",
                           "steps", step.index, "do", j) from None
        out.append(step_json(session, start, events_start, step.title,
                             render_text(step.text) if step.text else "",
                             [str(a) for a in actions]))
    return {
        "version": TRACE_VERSION,
        "model": "bgp",
        "speakers": {s.key: {"name": s.name, "as": s.asn, "id": s.bgp_id, "ip": s.ip,
                             "port": s.port, "hold_time": s.hold_time, "passive": s.passive}
                     for s in (first, second)},
        "steps": out,
    }

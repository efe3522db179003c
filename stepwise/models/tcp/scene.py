"""What the player draws of a TCP trace: its scene (format in docs/models.md).

The player (static/js/player.js) knows no protocol: it draws lanes, state badges per
layer, labelled messages between lanes and timers, all given here. TCP has one layer
and two lanes, the client on the left and the server on the right; a message is a
segment, labelled with its flags (in bold), ``seq=``, ``ack=`` and ``len=``.

Pure Python, standard library only: the simulator's playground computes scenes in the
browser with this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The badge colour of a state ("q" quiet, "l" listening, "o" opening, "e"
#: established; any other state "c", closing): the classes of static/css/player.css.
CATEGORIES: dict[str, str] = {
    "CLOSED": "q",
    "LISTEN": "l",
    "SYN-SENT": "o",
    "SYN-RECEIVED": "o",
    "ESTABLISHED": "e",
}
LAYER = "tcp"


def _host_port(ip: str, port: Any) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def segment_label(segment: Mapping[str, Any]) -> dict[str, Any]:
    """A segment's label: ``{"head": "SYN,ACK", "text": [" seq=5000", " ack=1001"]}``.

    The player writes ``head`` in bold and the ``text`` parts after it, on one line when
    they fit and from the second part on a line of its own when not. A bare ACK shows
    no ``seq=`` (it uses no sequence number), an empty segment no ``len=``.
    """
    flags = ",".join(segment["flags"])
    first = "" if segment["seq"] is None or (flags == "ACK" and not segment["len"]) \
        else f" seq={segment['seq']}"
    second = (f" ack={segment['ack']}" if segment["ack"] is not None else "") + \
        (f" len={segment['len']}" if segment["len"] > 0 else "")
    return {"head": flags, "text": [first, second]}


def message(segment: Mapping[str, Any], *, arrival: bool) -> dict[str, Any]:
    """A segment as the player draws it: from lane, to lane, fate, its label."""
    return {"id": segment["id"], "from": segment["src"], "to": segment["dst"],
            "fate": segment["fate"], "arrival": arrival,
            "labels": [{"layer": LAYER, **segment_label(segment)}]}


def frame(step: Mapping[str, Any]) -> dict[str, Any]:
    """One step of a trace (or the start, a step without segments) as the player draws
    it: states by lane and layer, messages (those that arrived, then those sent),
    timers, and the TCB variables by lane."""
    return {
        "states": {lane: {LAYER: state} for lane, state in step["states"].items()},
        "messages": [message(s, arrival=True) for s in step.get("arrivals", [])]
        + [message(s, arrival=False) for s in step.get("segments", [])],
        "timers": [{"lane": t["endpoint"], "layer": LAYER, "name": t["name"],
                    "seconds": t["seconds"]} for t in step["timers"]],
        "variables": step["tcb"],
    }


def lanes(trace: Mapping[str, Any]) -> list[dict[str, str]]:
    """The client and the server: role, name, address and port."""
    return [{"id": role, "role": role, "name": ep["name"],
             "address": _host_port(ep["ip"], ep["port"])}
            for role, ep in trace["endpoints"].items()]


def scene(trace: Mapping[str, Any]) -> dict[str, Any]:
    """The whole scene of ``trace``: ``{"lanes", "layers", "categories", "frames"}``,
    one frame per step."""
    return {"lanes": lanes(trace), "layers": [LAYER], "categories": {LAYER: CATEGORIES},
            "frames": [frame(step) for step in trace["steps"]]}

"""What the player draws of a BGP trace: two lanes, two layers (BGP over TCP).

Each speaker's lane shows its BGP state above its TCP state. A TCP segment that carries
a BGP message is labelled with the message (``OPEN AS 65001, hold 90 s, id 10.0.0.1``)
above the segment (``PSH,ACK seq=1001 ack=5001 len=29``); a segment without data only
with its TCP label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..tcp.scene import CATEGORIES as TCP_CATEGORIES
from ..tcp.scene import segment_label
from .messages import Message

CATEGORIES: dict[str, str] = {
    "Idle": "q",
    "Connect": "l",
    "Active": "l",
    "OpenSent": "o",
    "OpenConfirm": "o",
    "Established": "e",
}


def _message_label(message: Mapping[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in message.items() if k not in ("type", "length", "malformed")}
    text = Message(message["type"], fields, message["length"],
                   bool(message.get("malformed"))).label()
    return {"layer": "bgp", "head": message["type"], "text": [" " + text if text else ""]}


def _message(segment: Mapping[str, Any], *, arrival: bool) -> dict[str, Any]:
    return {"id": segment["id"], "from": segment["src"], "to": segment["dst"],
            "fate": segment["fate"], "arrival": arrival,
            "labels": [_message_label(m) for m in segment["messages"]]
            + [{"layer": "tcp", **segment_label(segment)}]}


def frame(step: Mapping[str, Any]) -> dict[str, Any]:
    """One step as the player draws it."""
    return {
        "states": step["states"],
        "messages": [_message(s, arrival=True) for s in step["arrivals"]]
        + [_message(s, arrival=False) for s in step["segments"]],
        "timers": [{"lane": t["speaker"], "layer": t["layer"], "name": t["name"],
                    "seconds": t["seconds"]} for t in step["timers"]],
        "variables": step["variables"],
    }


def scene(trace: Mapping[str, Any]) -> dict[str, Any]:
    """The scene of a BGP trace (docs/models.md)."""
    lanes = [{"id": key, "role": "router", "name": sp["name"],
              "address": f"{sp['ip']}:{sp['port']}"} for key, sp in trace["speakers"].items()]
    return {"lanes": lanes, "layers": ["bgp", "tcp"],
            "categories": {"bgp": CATEGORIES, "tcp": TCP_CATEGORIES},
            "frames": [frame(step) for step in trace["steps"]]}

"""The BGP model's reference, made from its code (docs/actions.md, "BGP"): the actions,
and the transition table of §8.2.2 as :mod:`.fsm` holds it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import vocabulary_table
from .actions import NETWORK_VERBS, SPEAKER_VERBS, VERB_DOCS
from .fsm import DOES, OTHER_EVENT, TRANSITIONS


def actions_reference() -> str:
    """The vocabulary: every action, the event of RFC 4271 it is, what happens."""
    return vocabulary_table("RFC 4271", [*SPEAKER_VERBS, *NETWORK_VERBS], VERB_DOCS)


def transitions_reference() -> str:
    """Every state's events, the next state and what the speaker does (§8.2.2)."""
    rows = ["| state | event | next state | the speaker |", "| --- | --- | --- | --- |"]
    for state, events in TRANSITIONS.items():
        for i, (event, target) in enumerate(events.items()):
            rows.append(f"| {state.value if i == 0 else ''} | {event.rfc_name} ({event.number})"
                        f" | {target.value} | {DOES[state, event]} |")
    rows.append(f"| any but Idle | any other event | Idle | {OTHER_EVENT} |")
    return "\n".join(rows) + "\n"


def summary(trace: Mapping[str, Any]) -> str:
    """A plain-text summary of a BGP trace, one block per step (docs and tests)."""
    lines = []
    for n, step in enumerate(trace["steps"], 1):
        states = ", ".join(f"{k} {v['bgp']}/{v['tcp']}" for k, v in step["states"].items())
        lines.append(f"{n}. {', '.join(step['actions']) or '(no action)'} -> {states}")
        if step["events"]:
            lines.append("   events  " + ", ".join(f"{e['speaker']} {e['event']}"
                                                   for e in step["events"]))
        for s in step["arrivals"] + step["segments"]:
            what = " ".join(m["type"] for m in s["messages"])
            lines.append(f"   #{s['id']} {s['src']}>{s['dst']} {','.join(s['flags'])} "
                         f"len={s['len']} {what} ({s['fate']})".replace("  (", " ("))
    return "\n".join(lines)

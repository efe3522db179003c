"""The TCP model's action reference, made from the code so docs/actions.md cannot drift.

:func:`actions_reference` writes the vocabulary (from :data:`~.actions.VERB_DOCS`),
:func:`refusals_reference` the user calls the model refuses, by state, with the RFC's
answer (from :data:`~.states.REFUSAL_REASON`, the table the model itself refuses by).
docs/actions.md holds them between ``<!-- generated: tcp actions -->`` (and ``tcp
refusals``) and ``<!-- end generated -->``; ``python build.py docs`` rewrites them, and a
test keeps them equal.
"""

from __future__ import annotations

from ..base import vocabulary_table
from .actions import ENDPOINT_VERBS, NETWORK_VERBS, VERB_DOCS
from .states import ALL_STATES, REFUSAL_REASON, USER_CALL_SECTION, Event, State

#: The user call each endpoint verb makes (timeout is no user call: a timer expires).
VERB_CALLS: dict[str, Event] = {
    "listen": Event.PASSIVE_OPEN,
    "connect": Event.ACTIVE_OPEN,
    "send": Event.SEND,
    "close": Event.CLOSE,
    "abort": Event.ABORT,
}


def _states(states: list[State]) -> str:
    names = [s.value for s in ALL_STATES if s in states]
    others = [s.value for s in ALL_STATES if s not in states]
    if len(others) < len(names) and others:
        return "every state but " + " and ".join(others)
    return ", ".join(names)


def actions_reference() -> str:
    """The vocabulary: every action, the RFC 9293 event it is, what happens."""
    return vocabulary_table("RFC 9293", [*ENDPOINT_VERBS, *NETWORK_VERBS], VERB_DOCS)


def refusals_reference() -> str:
    """The user calls refused, by state, with the RFC's answer."""
    rows = ["| action | refused in | the RFC's answer |", "| --- | --- | --- |"]
    for verb, call in VERB_CALLS.items():
        by_reason: dict[str, list[State]] = {}
        for state, reason in REFUSAL_REASON[call].items():
            by_reason.setdefault(reason, []).append(state)
        label = f"`{verb}` ({call.value}, {USER_CALL_SECTION[call]})" if "OPEN" in call.value \
            else f"`{verb}` ({USER_CALL_SECTION[call]})"
        for i, (reason, states) in enumerate(by_reason.items()):
            rows.append(f"| {label if i == 0 else ''} | {_states(states)} | \"{reason}\" |")
    return "\n".join(rows) + "\n"

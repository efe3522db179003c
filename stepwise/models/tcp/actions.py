"""The action vocabulary lessons are written in: ``ENDPOINT VERB [ARG]``, ``deliver``, ``drop``.

Examples: ``server listen``, ``client connect``, ``client send 120``, ``server close``,
``client abort``, ``client timeout``, ``deliver``, ``drop``. See docs/actions.md.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .endpoint import MAX_SEND

#: The two endpoints an action may name.
ENDPOINTS: tuple[str, ...] = ("client", "server")
#: Verbs an endpoint does, and the argument each takes (None: no argument).
ENDPOINT_VERBS: dict[str, str | None] = {
    "listen": None,
    "connect": None,
    "send": "BYTES",
    "close": None,
    "abort": None,
    "timeout": None,
}
#: Verbs of the network, written alone.
NETWORK_VERBS: tuple[str, ...] = ("deliver", "drop")

#: Each verb for the reference (docs/actions.md is generated from it): an example
#: action, the RFC 9293 event it is, and what happens.
VERB_DOCS: dict[str, tuple[str, str, str]] = {
    "listen": ("server listen", "passive OPEN, §3.10.1", "CLOSED -> LISTEN; nothing is sent"),
    "connect": ("client connect", "active OPEN, §3.10.1",
                "sends SYN; -> SYN-SENT (also from LISTEN)"),
    "send": ("client send 120", "SEND, §3.10.2",
             "sends one PSH,ACK segment of 120 bytes (1 to 65535) in ESTABLISHED or "
             "CLOSE-WAIT; in SYN-SENT or SYN-RECEIVED the data waits for ESTABLISHED; in "
             "LISTEN the endpoint sends a SYN first"),
    "close": ("server close", "CLOSE, §3.10.4",
              "sends FIN (FIN,ACK): ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK, "
              "SYN-RECEIVED -> FIN-WAIT-1; in LISTEN or SYN-SENT just -> CLOSED"),
    "abort": ("client abort", "ABORT, §3.10.5",
              "-> CLOSED at once, no TIME-WAIT; sends RST from SYN-RECEIVED, ESTABLISHED, "
              "FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT"),
    "timeout": ("client timeout", "§3.10.8, RFC 6298",
                "fires that endpoint's shortest running timer: a delayed ACK goes out, or the "
                "earliest unacknowledged SYN/data/FIN is sent again (and the RTO doubles), or "
                "TIME-WAIT's 2MSL ends (-> CLOSED)"),
    "deliver": ("deliver", "SEGMENT ARRIVES, §3.10.7",
                "the oldest segment in flight reaches its destination; whatever that endpoint "
                "sends in reply is put in flight, behind the others"),
    "drop": ("drop", "", "the oldest segment in flight is lost"),
}


class ActionSyntaxError(ValueError):
    """An action string that is not in the vocabulary; the message says how to fix it."""


@dataclass(frozen=True)
class Action:
    """One parsed action.

    Attributes:
        endpoint: ``"client"`` or ``"server"``, or None for a network verb.
        verb: one of :data:`ENDPOINT_VERBS` or :data:`NETWORK_VERBS`.
        nbytes: the byte count of ``send`` (1 .. 65535), else None.
    """

    endpoint: str | None
    verb: str
    nbytes: int | None = None

    def __str__(self) -> str:
        words = [self.endpoint, self.verb, None if self.nbytes is None else str(self.nbytes)]
        return " ".join(w for w in words if w is not None)

    def __repr__(self) -> str:
        return f"Action({str(self)!r})"


def _vocabulary(nbytes: str = "120") -> list[str]:
    words = [f"{e} {v}" + (f" {nbytes}" if arg else "") for e in ENDPOINTS
             for v, arg in ENDPOINT_VERBS.items()]
    return words + list(NETWORK_VERBS)


def _is_count(word: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²' (which int() refuses) and '１００'."""
    return word.isascii() and word.isdigit()


_SHOWN = 80


def _shown(text: str) -> str:
    """An author's action as a message quotes it: whole, unless it is very long."""
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _suggest(text: str) -> str:
    # the author's own byte count in the suggestion: 'client sned 100' -> 'client send 100'
    last = text.split()[-1] if text.split() else ""
    count = last if _is_count(last) and len(last) <= 5 and 1 <= int(last) <= MAX_SEND else "120"
    close = difflib.get_close_matches(text[:_SHOWN], _vocabulary(count), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def describe_vocabulary() -> str:
    """One line naming every verb, used in error messages."""
    verbs = ", ".join(v + (f" {a}" if a else "") for v, a in ENDPOINT_VERBS.items())
    return (f"an action is 'client VERB' or 'server VERB' with VERB one of {verbs}; "
            f"or the network's {' or '.join(NETWORK_VERBS)}")


def parse_action(text: str) -> Action:
    """Parse an action string (extra spaces allowed, case sensitive).

    Raises:
        ActionSyntaxError: unknown endpoint or verb (the message lists the verbs and
            suggests the closest action), a missing or bad byte count, or an
            argument where none is taken.
    """
    words = text.split()
    if not words:
        raise ActionSyntaxError(f"empty action: {describe_vocabulary()}")
    shown = _shown(" ".join(words))
    if words[0] in NETWORK_VERBS:
        if len(words) > 1:
            raise ActionSyntaxError(f"'{words[0]}' takes no argument, got '{shown}'")
        return Action(None, words[0])
    if words[0] not in ENDPOINTS or len(words) < 2 or words[1] not in ENDPOINT_VERBS:
        raise ActionSyntaxError(f"unknown action '{shown}': {describe_vocabulary()}"
                                f"{_suggest(shown)}")
    endpoint, verb, args = words[0], words[1], words[2:]
    if ENDPOINT_VERBS[verb] is None:
        if args:
            raise ActionSyntaxError(f"'{endpoint} {verb}' takes no argument, got '{shown}'")
        return Action(endpoint, verb)
    example = f"e.g. '{endpoint} {verb} 120'"
    # the length check first: int() of thousands of digits is refused by Python itself
    if len(args) != 1 or not _is_count(args[0]) or len(args[0]) > len(str(MAX_SEND)) \
            or not 1 <= int(args[0]) <= MAX_SEND:
        raise ActionSyntaxError(
            f"'{endpoint} {verb}' needs a byte count from 1 to {MAX_SEND}, {example}"
            + (f", got '{shown}'" if args else "")
        )
    return Action(endpoint, verb, int(args[0]))

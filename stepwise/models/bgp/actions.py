"""The action vocabulary of BGP lessons: ``SPEAKER VERB [ARG]``, ``deliver``, ``drop``.

Examples: ``r1 start``, ``r2 start``, ``r1 announce 10.1.0.0/16``, ``r1 withdraw
10.1.0.0/16``, ``r2 timeout hold``, ``r1 stop``, ``deliver``. SPEAKER is a key of
``simulation.speakers``. See docs/actions.md, "BGP".
"""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import dataclass

#: Verbs a speaker does, and what argument each takes (None: none).
SPEAKER_VERBS: dict[str, str | None] = {
    "start": None,
    "stop": None,
    "announce": "PREFIX",
    "withdraw": "PREFIX",
    "timeout": "[TIMER]",
    "reset": None,
    "send-malformed": None,
}
#: Verbs of the network (the TCP segments in flight), written alone.
NETWORK_VERBS: tuple[str, ...] = ("deliver", "drop")
#: The timers ``timeout`` may name: BGP's three, then its TCP connection's.
TIMER_WORDS: tuple[str, ...] = ("connect-retry", "hold", "keepalive", "retransmission",
                                "delayed-ack", "time-wait")

#: Each verb for the reference (docs/actions.md is generated from it): an example, the
#: RFC 4271 event it is, and what happens.
VERB_DOCS: dict[str, tuple[str, str, str]] = {
    "start": ("r1 start", "ManualStart (1), §8.1.2; a passive speaker: "
              "ManualStart_with_PassiveTcpEstablishment (4)",
              "Idle -> Connect: opens a TCP connection to the peer (a passive speaker: Idle "
              "-> Active, listens on port 179); starts the ConnectRetryTimer (120 s)"),
    "stop": ("r1 stop", "ManualStop (2), §8.1.2",
             "-> Idle: sends NOTIFICATION Cease (from OpenSent on), closes the TCP "
             "connection, forgets the peer's routes"),
    "announce": ("r1 announce 10.1.0.0/16", "UPDATE, §4.3, §9.2",
                 "in Established: sends UPDATE announcing the prefix, with ORIGIN IGP, "
                 "AS_PATH the speaker's AS, NEXT_HOP its address"),
    "withdraw": ("r1 withdraw 10.1.0.0/16", "UPDATE, §4.3, §9.2",
                 "in Established: sends UPDATE withdrawing a prefix it announced"),
    "timeout": ("r2 timeout hold", "ConnectRetryTimer_Expires (9), HoldTimer_Expires (10), "
                "KeepaliveTimer_Expires (11), §8.1.3",
                "that timer expires: connect-retry, hold or keepalive (BGP's), or "
                "retransmission, delayed-ack or time-wait (its TCP connection's); without a "
                "name, the shortest one running"),
    "reset": ("r1 reset", "ABORT, RFC 9293 §3.10.5",
              "its TCP connection is reset (RST): TcpConnectionFails (18) for both speakers "
              "once the RST arrives"),
    "send-malformed": ("r1 send-malformed", "BGPHeaderErr (21), §6.1",
                       "sends a KEEPALIVE whose marker is broken: the peer answers NOTIFICATION "
                       "Message Header Error / Connection Not Synchronized"),
    "deliver": ("deliver", "RFC 9293 §3.10.7",
                "the oldest TCP segment in flight arrives; a BGP message whose bytes have all "
                "arrived is taken in by its receiver (BGPOpen, KeepAliveMsg, UpdateMsg, "
                "NotifMsg...)"),
    "drop": ("drop", "", "the oldest TCP segment in flight is lost"),
}


class ActionSyntaxError(ValueError):
    """An action string outside the vocabulary; the message says how to fix it."""


@dataclass(frozen=True)
class BgpAction:
    """One parsed action: ``speaker`` (None for the network's), ``verb``, ``arg``."""

    speaker: str | None
    verb: str
    arg: str | None = None

    def __str__(self) -> str:
        return " ".join(w for w in (self.speaker, self.verb, self.arg) if w is not None)


def describe(speakers: tuple[str, ...]) -> str:
    """One line naming the vocabulary, for messages."""
    verbs = ", ".join(v + (f" {a}" if a else "") for v, a in SPEAKER_VERBS.items())
    return (f"an action is 'SPEAKER VERB' with SPEAKER one of {', '.join(speakers)} and VERB "
            f"one of {verbs}; or the network's {' or '.join(NETWORK_VERBS)}")


def parse_action(text: str, speakers: tuple[str, ...]) -> BgpAction:
    """Parse an action of a session between ``speakers`` (their keys).

    Raises:
        ActionSyntaxError: an unknown speaker or verb (with the closest action), a
            missing, extra or malformed argument.
    """
    words = text.split()
    if not words:
        raise ActionSyntaxError(f"empty action: {describe(speakers)}")
    shown = " ".join(words)[:80]
    if words[0] in NETWORK_VERBS:
        if len(words) > 1:
            raise ActionSyntaxError(f"'{words[0]}' takes no argument, got '{shown}'")
        return BgpAction(None, words[0])
    if words[0] not in speakers or len(words) < 2 or words[1] not in SPEAKER_VERBS:
        known = [f"{s} {v}" for s in speakers for v in SPEAKER_VERBS] + list(NETWORK_VERBS)
        close = difflib.get_close_matches(" ".join(words[:2]), known, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ActionSyntaxError(f"unknown action '{shown}': {describe(speakers)}{hint}")
    speaker, verb, args = words[0], words[1], words[2:]
    takes = SPEAKER_VERBS[verb]
    if takes is None:
        if args:
            raise ActionSyntaxError(f"'{speaker} {verb}' takes no argument, got '{shown}'")
        return BgpAction(speaker, verb)
    if verb == "timeout":
        if len(args) > 1 or (args and args[0] not in TIMER_WORDS):
            raise ActionSyntaxError(f"'{speaker} timeout' takes a timer's name or none: "
                                    f"{', '.join(TIMER_WORDS)}; got '{shown}'")
        return BgpAction(speaker, verb, args[0] if args else None)
    if len(args) != 1 or not _prefix(args[0]):
        raise ActionSyntaxError(f"'{speaker} {verb}' needs an IPv4 prefix, e.g. '{speaker} "
                                f"{verb} 10.1.0.0/16'" + (f", got '{shown}'" if args else ""))
    return BgpAction(speaker, verb, args[0])


def _prefix(text: str) -> bool:
    if "/" not in text or not text.isascii():
        return False
    try:
        ipaddress.IPv4Network(text, strict=True)
    except ValueError:
        return False
    return True

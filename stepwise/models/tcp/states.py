"""The eleven TCP states and the state diagram of RFC 9293, as data.

Theory of operation
===================

An endpoint's state changes only on *events*: a user call (OPEN, SEND, CLOSE, ABORT,
RFC 9293 §3.10.1-§3.10.5), a segment arriving (§3.10.7) or a timeout (§3.10.8). This
module holds the state diagram of RFC 9293 §3.3.2 (Figure 5) as a plain dict,
``TRANSITIONS[state][event] -> next state``, one entry per arrow, so the table reads
like the figure::

    CLOSED      --passive OPEN-->                     LISTEN
    CLOSED      --active OPEN / snd SYN-->            SYN-SENT
    LISTEN      --rcv SYN / snd SYN,ACK-->            SYN-RECEIVED
    LISTEN      --SEND / snd SYN-->                   SYN-SENT
    SYN-SENT    --rcv SYN / snd SYN,ACK-->            SYN-RECEIVED   (simultaneous open)
    SYN-SENT    --rcv SYN,ACK / snd ACK-->            ESTABLISHED
    SYN-RECEIVED --rcv ACK of SYN-->                  ESTABLISHED
    SYN-RECEIVED --CLOSE / snd FIN-->                 FIN-WAIT-1
    ESTABLISHED --CLOSE / snd FIN-->                  FIN-WAIT-1
    ESTABLISHED --rcv FIN / snd ACK-->                CLOSE-WAIT
    FIN-WAIT-1  --rcv ACK of FIN-->                   FIN-WAIT-2
    FIN-WAIT-1  --rcv FIN / snd ACK-->                CLOSING
    FIN-WAIT-2  --rcv FIN / snd ACK-->                TIME-WAIT
    CLOSE-WAIT  --CLOSE / snd FIN-->                  LAST-ACK
    CLOSING     --rcv ACK of FIN-->                   TIME-WAIT
    LAST-ACK    --rcv ACK of FIN-->                   CLOSED
    TIME-WAIT   --Timeout=2MSL-->                     CLOSED

The figure leaves out what its caption calls error conditions and resets; the table
adds them from the text of §3.10: CLOSE in LISTEN and SYN-SENT (delete the TCB),
ABORT anywhere a TCB exists, a RST arriving (§3.10.7.3, §3.10.7.4: back to LISTEN for
a passive open in SYN-RECEIVED, else CLOSED), a SYN arriving in SYN-RECEIVED after a
passive open (back to LISTEN, §3.10.7.4 fourth check), and an active OPEN in LISTEN
(§3.10.1).

User calls that do not change the state but are allowed (SEND in ESTABLISHED, SEND
queued in SYN-SENT, ...) are listed as self-loops, so that ``TRANSITIONS[state]`` is
also the list of user calls a state accepts: a user call that is not a key there is
refused with :class:`~stepwise.models.tcp.errors.ModelError` naming the RFC section of the
call (``USER_CALL_SECTION``). Segment arrivals are never refused: whatever arrives is
handled by the rules of §3.10.7, implemented as small functions in
:mod:`stepwise.models.tcp.endpoint` beside this table; most arrivals change no state.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """One of the 11 states of RFC 9293 §3.3.2, valued by its RFC spelling."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    def __repr__(self) -> str:
        return self.value


class Event(StrEnum):
    """An arrow label of the state diagram (user calls, segment kinds, the 2MSL timeout)."""

    PASSIVE_OPEN = "passive OPEN"
    ACTIVE_OPEN = "active OPEN"
    SEND = "SEND"
    CLOSE = "CLOSE"
    ABORT = "ABORT"
    RCV_SYN = "rcv SYN"
    RCV_SYN_ACK = "rcv SYN,ACK"
    RCV_ACK_OF_SYN = "rcv ACK of SYN"
    RCV_FIN = "rcv FIN"
    RCV_ACK_OF_FIN = "rcv ACK of FIN"
    RCV_RST = "rcv RST"
    BACK_TO_LISTEN = "rcv RST or SYN after passive OPEN"
    TIMEOUT_2MSL = "Timeout=2MSL"

    def __repr__(self) -> str:
        return self.value


CLOSED = State.CLOSED
LISTEN = State.LISTEN
SYN_SENT = State.SYN_SENT
SYN_RECEIVED = State.SYN_RECEIVED
ESTABLISHED = State.ESTABLISHED
FIN_WAIT_1 = State.FIN_WAIT_1
FIN_WAIT_2 = State.FIN_WAIT_2
CLOSE_WAIT = State.CLOSE_WAIT
CLOSING = State.CLOSING
LAST_ACK = State.LAST_ACK
TIME_WAIT = State.TIME_WAIT

ALL_STATES: tuple[State, ...] = tuple(State)

#: The states in which both sides' sequence numbers are known (RFC 9293 §3.10.7.4).
SYNCHRONIZED_STATES: frozenset[State] = frozenset(
    {ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT}
)

#: The user calls, in the order the RFC lists them.
USER_CALLS: tuple[Event, ...] = (
    Event.PASSIVE_OPEN,
    Event.ACTIVE_OPEN,
    Event.SEND,
    Event.CLOSE,
    Event.ABORT,
)

#: The section of RFC 9293 that says what each user call does in each state.
USER_CALL_SECTION: dict[Event, str] = {
    Event.PASSIVE_OPEN: "§3.10.1",
    Event.ACTIVE_OPEN: "§3.10.1",
    Event.SEND: "§3.10.2",
    Event.CLOSE: "§3.10.4",
    Event.ABORT: "§3.10.5",
}

#: What RFC 9293 answers a refused user call, by call and state (shown in docs and tests).
REFUSAL_REASON: dict[Event, dict[State, str]] = {
    Event.PASSIVE_OPEN: {s: "connection already exists" for s in ALL_STATES if s != CLOSED},
    Event.ACTIVE_OPEN: {
        s: "connection already exists" for s in ALL_STATES if s not in (CLOSED, LISTEN)
    },
    Event.SEND: {
        CLOSED: "connection does not exist",
        **{s: "connection closing" for s in (FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT)},
    },
    Event.CLOSE: {
        CLOSED: "connection does not exist",
        **{s: "connection closing" for s in (FIN_WAIT_1, FIN_WAIT_2, CLOSING, LAST_ACK, TIME_WAIT)},
    },
    Event.ABORT: {CLOSED: "connection does not exist"},
}

# fmt: off
TRANSITIONS: dict[State, dict[Event, State]] = {
    CLOSED: {
        Event.PASSIVE_OPEN: LISTEN,
        Event.ACTIVE_OPEN: SYN_SENT,          # snd SYN
    },
    LISTEN: {
        Event.RCV_SYN: SYN_RECEIVED,          # snd SYN,ACK
        Event.ACTIVE_OPEN: SYN_SENT,          # snd SYN (§3.10.1: passive becomes active)
        Event.SEND: SYN_SENT,                 # snd SYN, data queued
        Event.CLOSE: CLOSED,
        Event.ABORT: CLOSED,
    },
    SYN_SENT: {
        Event.RCV_SYN: SYN_RECEIVED,          # snd SYN,ACK (simultaneous open)
        Event.RCV_SYN_ACK: ESTABLISHED,       # snd ACK
        Event.RCV_RST: CLOSED,                # "connection reset"
        Event.SEND: SYN_SENT,                 # data queued
        Event.CLOSE: CLOSED,                  # delete TCB
        Event.ABORT: CLOSED,
    },
    SYN_RECEIVED: {
        Event.RCV_ACK_OF_SYN: ESTABLISHED,
        Event.BACK_TO_LISTEN: LISTEN,         # RST or SYN after a passive OPEN
        Event.RCV_RST: CLOSED,                # after an active OPEN: "connection refused"
        Event.SEND: SYN_RECEIVED,             # data queued
        Event.CLOSE: FIN_WAIT_1,              # snd FIN
        Event.ABORT: CLOSED,                  # snd RST
    },
    ESTABLISHED: {
        Event.RCV_FIN: CLOSE_WAIT,            # snd ACK
        Event.RCV_RST: CLOSED,
        Event.SEND: ESTABLISHED,              # snd data
        Event.CLOSE: FIN_WAIT_1,              # snd FIN
        Event.ABORT: CLOSED,                  # snd RST
    },
    FIN_WAIT_1: {
        Event.RCV_ACK_OF_FIN: FIN_WAIT_2,
        Event.RCV_FIN: CLOSING,               # snd ACK
        Event.RCV_RST: CLOSED,
        Event.ABORT: CLOSED,                  # snd RST
    },
    FIN_WAIT_2: {
        Event.RCV_FIN: TIME_WAIT,             # snd ACK
        Event.RCV_RST: CLOSED,
        Event.ABORT: CLOSED,                  # snd RST
    },
    CLOSE_WAIT: {
        Event.RCV_RST: CLOSED,
        Event.SEND: CLOSE_WAIT,               # snd data (half-close)
        Event.CLOSE: LAST_ACK,                # snd FIN
        Event.ABORT: CLOSED,                  # snd RST
    },
    CLOSING: {
        Event.RCV_ACK_OF_FIN: TIME_WAIT,
        Event.RCV_RST: CLOSED,
        Event.ABORT: CLOSED,                  # no RST (§3.10.5)
    },
    LAST_ACK: {
        Event.RCV_ACK_OF_FIN: CLOSED,
        Event.RCV_RST: CLOSED,
        Event.ABORT: CLOSED,                  # no RST (§3.10.5)
    },
    TIME_WAIT: {
        Event.TIMEOUT_2MSL: CLOSED,
        Event.RCV_RST: CLOSED,
        Event.ABORT: CLOSED,                  # no RST (§3.10.5)
    },
}
# fmt: on


def next_state(state: State, event: Event) -> State | None:
    """Return the state ``event`` leads to from ``state``, or None if the diagram has no arrow.

    A self-loop (an allowed call that keeps the state) returns ``state`` itself.
    """
    return TRANSITIONS[state].get(event)

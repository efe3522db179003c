"""The BGP finite state machine of RFC 4271 §8, as data.

Theory of operation
===================

A speaker is in one of six states (§8.2.2). Things that happen to it are the events of
§8.1, by their RFC numbers and names: the operator's ManualStart and ManualStop, three
timers expiring, news from its TCP connection, and the messages that arrive. For each
state, :data:`TRANSITIONS` maps every event the RFC gives a rule for to the state it
leads to, and :data:`DOES` says what the speaker does on the way (sends, timers,
connection); :mod:`.speaker` carries that out and checks it arrives where this table
says. An event a state has no entry for is the RFC's "any other event": in Idle it is
ignored, elsewhere it is an FSM error (a NOTIFICATION, then Idle).

Left out, as RFC 4271 allows: the optional session attributes (DelayOpen,
collision detection, peer oscillation damping, automatic start and stop), so the
events that need them (3, 5-8, 12, 13, 15, 20, 23) never happen here. docs/models.md
lists this with the other differences from real speakers.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class State(StrEnum):
    """The six states (§8.2.2), as RFC 4271 writes them."""

    IDLE = "Idle"
    CONNECT = "Connect"
    ACTIVE = "Active"
    OPEN_SENT = "OpenSent"
    OPEN_CONFIRM = "OpenConfirm"
    ESTABLISHED = "Established"


class Event(Enum):
    """The events of §8.1 this model has: ``(number, name)``."""

    MANUAL_START = (1, "ManualStart")
    MANUAL_STOP = (2, "ManualStop")
    MANUAL_START_PASSIVE = (4, "ManualStart_with_PassiveTcpEstablishment")
    CONNECT_RETRY_TIMER_EXPIRES = (9, "ConnectRetryTimer_Expires")
    HOLD_TIMER_EXPIRES = (10, "HoldTimer_Expires")
    KEEPALIVE_TIMER_EXPIRES = (11, "KeepaliveTimer_Expires")
    TCP_CONNECTION_VALID = (14, "TcpConnection_Valid")
    TCP_CR_ACKED = (16, "Tcp_CR_Acked")
    TCP_CONNECTION_CONFIRMED = (17, "TcpConnectionConfirmed")
    TCP_CONNECTION_FAILS = (18, "TcpConnectionFails")
    BGP_OPEN = (19, "BGPOpen")
    BGP_HEADER_ERR = (21, "BGPHeaderErr")
    BGP_OPEN_MSG_ERR = (22, "BGPOpenMsgErr")
    NOTIF_MSG = (25, "NotifMsg")
    KEEPALIVE_MSG = (26, "KeepAliveMsg")
    UPDATE_MSG = (27, "UpdateMsg")

    @property
    def number(self) -> int:
        return self.value[0]

    @property
    def rfc_name(self) -> str:
        return self.value[1]


IDLE, CONNECT, ACTIVE = State.IDLE, State.CONNECT, State.ACTIVE
OPEN_SENT, OPEN_CONFIRM, ESTABLISHED = State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED
E = Event

# fmt: off
#: state -> event -> next state, as §8.2.2 says. Not listed: "any other event".
TRANSITIONS: dict[State, dict[Event, State]] = {
    IDLE: {
        E.MANUAL_START: CONNECT,                 # connect, ConnectRetryTimer
        E.MANUAL_START_PASSIVE: ACTIVE,          # listen, ConnectRetryTimer
    },
    CONNECT: {
        E.MANUAL_STOP: IDLE,                     # drop TCP
        E.CONNECT_RETRY_TIMER_EXPIRES: CONNECT,  # drop TCP, connect again
        E.TCP_CONNECTION_VALID: CONNECT,
        E.TCP_CR_ACKED: OPEN_SENT,               # send OPEN, HoldTimer large
        E.TCP_CONNECTION_CONFIRMED: OPEN_SENT,   # send OPEN, HoldTimer large
        E.TCP_CONNECTION_FAILS: IDLE,
    },
    ACTIVE: {
        E.MANUAL_STOP: IDLE,
        E.CONNECT_RETRY_TIMER_EXPIRES: CONNECT,  # connect
        E.TCP_CONNECTION_VALID: ACTIVE,
        E.TCP_CR_ACKED: OPEN_SENT,
        E.TCP_CONNECTION_CONFIRMED: OPEN_SENT,   # send OPEN, HoldTimer large
        E.TCP_CONNECTION_FAILS: IDLE,
    },
    OPEN_SENT: {
        E.MANUAL_STOP: IDLE,                     # NOTIFICATION Cease
        E.HOLD_TIMER_EXPIRES: IDLE,              # NOTIFICATION Hold Timer Expired
        E.TCP_CONNECTION_FAILS: ACTIVE,          # listen again
        E.BGP_OPEN: OPEN_CONFIRM,                # send KEEPALIVE, negotiated HoldTimer
        E.BGP_HEADER_ERR: IDLE,                  # NOTIFICATION Message Header Error
        E.BGP_OPEN_MSG_ERR: IDLE,                # NOTIFICATION OPEN Message Error
        E.NOTIF_MSG: IDLE,
    },
    OPEN_CONFIRM: {
        E.MANUAL_STOP: IDLE,                     # NOTIFICATION Cease
        E.HOLD_TIMER_EXPIRES: IDLE,              # NOTIFICATION Hold Timer Expired
        E.KEEPALIVE_TIMER_EXPIRES: OPEN_CONFIRM,  # send KEEPALIVE
        E.TCP_CONNECTION_FAILS: IDLE,
        E.BGP_HEADER_ERR: IDLE,
        E.BGP_OPEN_MSG_ERR: IDLE,
        E.NOTIF_MSG: IDLE,
        E.KEEPALIVE_MSG: ESTABLISHED,            # restart HoldTimer
    },
    ESTABLISHED: {
        E.MANUAL_STOP: IDLE,                     # NOTIFICATION Cease
        E.HOLD_TIMER_EXPIRES: IDLE,              # NOTIFICATION Hold Timer Expired
        E.KEEPALIVE_TIMER_EXPIRES: ESTABLISHED,  # send KEEPALIVE
        E.TCP_CONNECTION_FAILS: IDLE,
        E.BGP_HEADER_ERR: IDLE,
        E.NOTIF_MSG: IDLE,
        E.KEEPALIVE_MSG: ESTABLISHED,            # restart HoldTimer
        E.UPDATE_MSG: ESTABLISHED,               # process, restart HoldTimer
    },
}
# fmt: on

#: What the speaker does on each transition, in RFC 4271's words (docs/models.md and the
#: reference are generated from it). "any other event" rows: see :data:`OTHER_EVENT`.
DOES: dict[tuple[State, Event], str] = {
    (IDLE, E.MANUAL_START): "sets ConnectRetryCounter to 0, starts the ConnectRetryTimer, "
    "opens a TCP connection to the peer",
    (IDLE, E.MANUAL_START_PASSIVE): "sets ConnectRetryCounter to 0, starts the "
    "ConnectRetryTimer, listens for the peer's TCP connection",
    (CONNECT, E.MANUAL_STOP): "drops the TCP connection, sets ConnectRetryCounter to 0, "
    "stops the ConnectRetryTimer",
    (CONNECT, E.CONNECT_RETRY_TIMER_EXPIRES): "drops the TCP connection, restarts the "
    "ConnectRetryTimer, opens a new TCP connection",
    (CONNECT, E.TCP_CONNECTION_VALID): "lets TCP answer the peer's SYN",
    (CONNECT, E.TCP_CR_ACKED): "stops the ConnectRetryTimer, sends OPEN, sets the "
    "HoldTimer to a large value (4 minutes)",
    (CONNECT, E.TCP_CONNECTION_CONFIRMED): "stops the ConnectRetryTimer, sends OPEN, sets "
    "the HoldTimer to a large value (4 minutes)",
    (CONNECT, E.TCP_CONNECTION_FAILS): "stops the ConnectRetryTimer, drops the TCP "
    "connection",
    (ACTIVE, E.MANUAL_STOP): "drops the TCP connection, sets ConnectRetryCounter to 0, "
    "stops the ConnectRetryTimer",
    (ACTIVE, E.CONNECT_RETRY_TIMER_EXPIRES): "restarts the ConnectRetryTimer, opens a "
    "TCP connection to the peer",
    (ACTIVE, E.TCP_CONNECTION_VALID): "lets TCP answer the peer's SYN",
    (ACTIVE, E.TCP_CR_ACKED): "stops the ConnectRetryTimer, sends OPEN, sets the HoldTimer "
    "to a large value (4 minutes)",
    (ACTIVE, E.TCP_CONNECTION_CONFIRMED): "stops the ConnectRetryTimer, sends OPEN, sets "
    "the HoldTimer to a large value (4 minutes)",
    (ACTIVE, E.TCP_CONNECTION_FAILS): "restarts the ConnectRetryTimer, increments "
    "ConnectRetryCounter",
    (OPEN_SENT, E.MANUAL_STOP): "sends NOTIFICATION Cease, drops the TCP connection",
    (OPEN_SENT, E.HOLD_TIMER_EXPIRES): "sends NOTIFICATION Hold Timer Expired, drops the "
    "TCP connection, increments ConnectRetryCounter",
    (OPEN_SENT, E.TCP_CONNECTION_FAILS): "closes the TCP connection, restarts the "
    "ConnectRetryTimer, listens for a new one",
    (OPEN_SENT, E.BGP_OPEN): "stops the ConnectRetryTimer, sends KEEPALIVE, sets the "
    "HoldTimer to the negotiated hold time and the KeepaliveTimer to a third of it",
    (OPEN_SENT, E.BGP_HEADER_ERR): "sends NOTIFICATION Message Header Error, drops the "
    "TCP connection",
    (OPEN_SENT, E.BGP_OPEN_MSG_ERR): "sends NOTIFICATION OPEN Message Error, drops the "
    "TCP connection",
    (OPEN_SENT, E.NOTIF_MSG): "drops the TCP connection",
    (OPEN_CONFIRM, E.MANUAL_STOP): "sends NOTIFICATION Cease, drops the TCP connection",
    (OPEN_CONFIRM, E.HOLD_TIMER_EXPIRES): "sends NOTIFICATION Hold Timer Expired, drops "
    "the TCP connection",
    (OPEN_CONFIRM, E.KEEPALIVE_TIMER_EXPIRES): "sends KEEPALIVE, restarts the "
    "KeepaliveTimer",
    (OPEN_CONFIRM, E.TCP_CONNECTION_FAILS): "drops the TCP connection",
    (OPEN_CONFIRM, E.BGP_HEADER_ERR): "sends NOTIFICATION Message Header Error, drops the "
    "TCP connection",
    (OPEN_CONFIRM, E.BGP_OPEN_MSG_ERR): "sends NOTIFICATION OPEN Message Error, drops the "
    "TCP connection",
    (OPEN_CONFIRM, E.NOTIF_MSG): "drops the TCP connection",
    (OPEN_CONFIRM, E.KEEPALIVE_MSG): "restarts the HoldTimer",
    (ESTABLISHED, E.MANUAL_STOP): "sends NOTIFICATION Cease, drops the TCP connection, "
    "deletes the peer's routes",
    (ESTABLISHED, E.HOLD_TIMER_EXPIRES): "sends NOTIFICATION Hold Timer Expired, drops the "
    "TCP connection, deletes the peer's routes",
    (ESTABLISHED, E.KEEPALIVE_TIMER_EXPIRES): "sends KEEPALIVE, restarts the "
    "KeepaliveTimer",
    (ESTABLISHED, E.TCP_CONNECTION_FAILS): "drops the TCP connection, deletes the peer's "
    "routes",
    (ESTABLISHED, E.BGP_HEADER_ERR): "sends NOTIFICATION Message Header Error, drops the "
    "TCP connection, deletes the peer's routes",
    (ESTABLISHED, E.NOTIF_MSG): "drops the TCP connection, deletes the peer's routes",
    (ESTABLISHED, E.KEEPALIVE_MSG): "restarts the HoldTimer",
    (ESTABLISHED, E.UPDATE_MSG): "takes in the routes (Adj-RIB-In), restarts the "
    "HoldTimer",
}

#: What "any other event" does outside Idle (§8.2.2): an FSM error.
OTHER_EVENT = ("sends NOTIFICATION Finite State Machine Error (in OpenSent, OpenConfirm "
               "and Established), drops the TCP connection, increments "
               "ConnectRetryCounter, goes to Idle")

#: §8.2.2's ConnectRetryTimer (120 s) and the "large value" of the HoldTimer in OpenSent
#: (4 minutes, RFC 4271's suggestion).
CONNECT_RETRY_SECONDS = 120
LARGE_HOLD_SECONDS = 240

"""Two BGP speakers peering over a TCP connection of our TCP model (RFC 4271 over RFC 9293).

Theory of operation
===================

A :class:`Session` holds two :class:`Speaker` objects and one
:class:`~stepwise.models.tcp.network.Network`: the speaker that opens the connection
plays the TCP client, the one that listens (port 179) the TCP server. BGP never reaches
into TCP's workings. It does what a program does with a socket: listen, connect, write
bytes, close, abort; and it learns what a program learns: the connection is up (TCP
reached ESTABLISHED), it failed (a RST, or the peer's FIN), and bytes arrived in order
(RCV.NXT moved). A BGP message is written as its real number of bytes
(:mod:`.messages`), so sequence numbers advance by what BGP sends, and a message is
taken in by its receiver only once TCP has delivered all of its bytes in order.

Nothing happens by itself: each :meth:`Session.apply` is one action (docs/actions.md,
"BGP"). After it, :meth:`_settle` turns what TCP did into the events of §8.1 and runs
them through the state machine of :mod:`.fsm`, until nothing more follows. An action
the RFC does not allow raises :class:`~stepwise.models.tcp.errors.ModelError` and
changes nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ..tcp.errors import ModelError
from ..tcp.network import Network
from ..tcp.states import State as TcpState
from .actions import BgpAction
from .fsm import (
    CONNECT_RETRY_SECONDS,
    LARGE_HOLD_SECONDS,
    TRANSITIONS,
    Event,
    State,
)
from .messages import Message, keepalive, malformed_keepalive, notification, open_message, update

#: Timer names, as traces and the player name them (strings.player.timer_hold, ...).
CONNECT_RETRY, HOLD, KEEPALIVE = "ConnectRetry", "Hold", "Keepalive"
#: The action's word for each BGP timer.
TIMER_WORDS = {"connect-retry": CONNECT_RETRY, "hold": HOLD, "keepalive": KEEPALIVE}
#: The TCP timers a speaker's connection may run, as the TCP model names them.
TCP_TIMER_WORDS = {"retransmission": "retransmission", "delayed-ack": "delayed-ACK",
                   "time-wait": "TIME-WAIT"}
SECTION = "RFC 4271 §8.2.2"
_UP = (TcpState.ESTABLISHED,)
_GONE = (TcpState.CLOSED,)


@dataclass(frozen=True)
class SpeakerSettings:
    """One speaker.

    Attributes:
        key: how actions and traces name it (``r1``); ``name`` how pages show it.
        asn: its AS number (1 .. 65535: 2-octet ASes, as OPEN carries them).
        bgp_id: its BGP Identifier (an IPv4 address).
        ip: its address; ``port`` its TCP port (179 for the listening one).
        hold_time: the Hold Time it proposes, in seconds (0, or 3 and more).
        passive: it waits for the peer's connection instead of opening one.
        peer_as: the AS it expects its peer to have (a mismatch: Bad Peer AS).
    """

    key: str
    name: str
    asn: int
    bgp_id: str
    ip: str
    port: int
    hold_time: int
    passive: bool
    peer_as: int


@dataclass
class Speaker:
    """A BGP speaker's state (§8): its FSM state, counter, timers and routes."""

    settings: SpeakerSettings
    role: str  # its TCP endpoint: "client" or "server"
    state: State = State.IDLE
    connect_retry_counter: int = 0
    #: running timers: name -> the seconds it was started with
    timers: dict[str, int] = field(default_factory=dict)
    hold_time: int | None = None  # negotiated
    #: Adj-RIB-In: the routes the peer announced, prefix -> (next hop, AS_PATH)
    routes: dict[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    #: what it announced and has not withdrawn
    announced: set[str] = field(default_factory=set)
    #: it closed its connection itself (what TCP does next is no failure)
    dropping: bool = False

    @property
    def key(self) -> str:
        return self.settings.key

    def variables(self) -> dict[str, Any]:
        """ConnectRetryCounter and the negotiated times (None before OPEN arrives)."""
        return {"ConnectRetryCounter": self.connect_retry_counter,
                "HoldTime": self.hold_time,
                "KeepaliveTime": None if not self.hold_time else self.hold_time // 3}


@dataclass
class Sent:
    """A BGP message written into the byte stream: sequence numbers ``[start, end)``."""

    speaker: str
    start: int
    end: int
    message: Message
    taken: bool = False  # its receiver has it


class Session:
    """Two speakers and the TCP connection between them (see the module docstring)."""

    def __init__(self, first: SpeakerSettings, second: SpeakerSettings, isns: dict[str, int]):
        active, passive = (first, second) if not first.passive else (second, first)
        self.order = [first.key, second.key]
        self.speakers = {active.key: Speaker(active, "client"),
                         passive.key: Speaker(passive, "server")}
        self.network = Network.create(isns[active.key], isns[passive.key])
        self.sent: list[Sent] = []
        self.events: list[tuple[str, Event]] = []
        self._tcp_seen = {key: TcpState.CLOSED for key in self.speakers}
        self._rcv_seen: dict[str, int | None] = {key: None for key in self.speakers}
        # the message being taken in, and the OPEN Message Error subcode it caused
        self._received: Message | None = None
        self._open_error: int | None = None

    # -- what the trace reads -------------------------------------------------------------

    def speaker_of(self, role: str) -> Speaker:
        """The speaker whose TCP endpoint plays ``role`` (``"client"``/``"server"``)."""
        return next(s for s in self.speakers.values() if s.role == role)

    def endpoint(self, key: str) -> Any:
        return self.network.endpoint(self.speakers[key].role)

    def messages_in(self, src_role: str, seq: int, length: int) -> list[Message]:
        """The BGP messages whose bytes a segment from ``src_role`` carries."""
        key = self.speaker_of(src_role).key
        end = (seq + length) % 2**32
        out = []
        for s in self.sent:
            if s.speaker != key or not length:
                continue
            # the modulo arithmetic of sequence numbers: within one connection the
            # ranges are far from wrapping twice
            if _overlaps(s.start, s.end, seq, end):
                out.append(s.message)
        return out

    def timers(self) -> list[tuple[str, str, str, float]]:
        """Every running timer: ``(speaker, layer, name, seconds)``, BGP's first."""
        out: list[tuple[str, str, str, float]] = []
        for key in self.order:
            sp = self.speakers[key]
            out += [(key, "bgp", name, seconds) for name, seconds in sp.timers.items()]
            out += [(key, "tcp", name, seconds) for name, seconds in self.endpoint(key).timers()]
        return out

    # -- actions ---------------------------------------------------------------------------

    def apply(self, action: BgpAction) -> None:
        """Run one action (docs/actions.md), then everything that follows from it.

        Raises:
            ModelError: the action is refused; nothing changed.
        """
        before = copy.deepcopy(self.__dict__)
        try:
            self._apply(action)
        except ModelError:
            self.__dict__.update(before)
            raise

    def _apply(self, action: BgpAction) -> None:
        if action.speaker is None:
            if action.verb == "deliver":
                self.network.deliver()
            else:
                self.network.drop()
            self._settle()
            return
        sp = self.speakers[action.speaker]
        verb = action.verb
        if verb == "start":
            self._start(sp)
        elif verb == "stop":
            if sp.state is State.IDLE:
                raise ModelError(f"{sp.key}: ManualStop is ignored in state Idle: the speaker "
                                 f"is not started; '{sp.key} start' it first ({SECTION})")
            self._event(sp, Event.MANUAL_STOP)
        elif verb == "timeout":
            self._timeout(sp, action.arg)
        elif verb in ("announce", "withdraw"):
            self._update(sp, verb, str(action.arg))
        elif verb == "send-malformed":
            if self.endpoint(sp.key).state not in (TcpState.ESTABLISHED, TcpState.CLOSE_WAIT):
                raise ModelError(f"{sp.key}: cannot send a message: its TCP connection is "
                                 f"{self.endpoint(sp.key).state.value}, not ESTABLISHED")
            self._send(sp, malformed_keepalive())
        elif verb == "reset":
            if self.endpoint(sp.key).state is TcpState.CLOSED:
                raise ModelError(f"{sp.key}: cannot reset its TCP connection: there is none "
                                 f"(TCP CLOSED)")
            sp.dropping = False  # its own reset is a failure it reports to itself
            self.network.abort(sp.role)
        self._settle()

    def _start(self, sp: Speaker) -> None:
        if sp.state is not State.IDLE:
            raise ModelError(f"{sp.key}: ManualStart is ignored in state {sp.state.value}: the "
                             f"speaker is started already; '{sp.key} stop' first ({SECTION})")
        tcp = self.endpoint(sp.key)
        if tcp.state is not TcpState.CLOSED:
            raise ModelError(f"{sp.key}: cannot start: its previous TCP connection is still in "
                             f"{tcp.state.value}; let it end first ('{sp.key} timeout', or "
                             f"'deliver' what is in flight)")
        self._event(sp, Event.MANUAL_START_PASSIVE if sp.settings.passive
                    else Event.MANUAL_START)

    def _timeout(self, sp: Speaker, word: str | None) -> None:
        tcp_timers = self.endpoint(sp.key).timers()
        if word is None:
            running = [(s, n, "bgp") for n, s in sp.timers.items()] + \
                [(s, n, "tcp") for n, s in tcp_timers]
            if not running:
                raise ModelError(f"{sp.key}: no timer is running in state {sp.state.value} "
                                 f"(TCP {self.endpoint(sp.key).state.value}) ({SECTION})")
            _seconds, name, layer = min(running, key=lambda t: t[0])
        elif word in TIMER_WORDS:
            name, layer = TIMER_WORDS[word], "bgp"
            if name not in sp.timers:
                raise ModelError(f"{sp.key}: its {name}Timer is not running in state "
                                 f"{sp.state.value} ({SECTION})")
        else:
            name, layer = TCP_TIMER_WORDS[word], "tcp"
            if not tcp_timers or tcp_timers[0][0] != name:
                running_names = ", ".join(n for n, _ in tcp_timers) or "none"
                raise ModelError(f"{sp.key}: its TCP {name} timer is not the next to expire "
                                 f"(TCP timers running: {running_names}; RFC 9293 §3.10.8)")
        if layer == "tcp":
            self.network.timeout(sp.role)
            return
        del sp.timers[name]
        self._event(sp, {CONNECT_RETRY: Event.CONNECT_RETRY_TIMER_EXPIRES,
                         HOLD: Event.HOLD_TIMER_EXPIRES,
                         KEEPALIVE: Event.KEEPALIVE_TIMER_EXPIRES}[name])

    def _update(self, sp: Speaker, verb: str, prefix: str) -> None:
        if sp.state is not State.ESTABLISHED:
            raise ModelError(f"{sp.key}: cannot send UPDATE in state {sp.state.value}: routes "
                             f"are exchanged only in Established (RFC 4271 §8.2.2, §9.2)")
        if verb == "withdraw":
            if prefix not in sp.announced:
                shown = ", ".join(sorted(sp.announced)) or "none"
                raise ModelError(f"{sp.key}: cannot withdraw {prefix}: it has not announced it "
                                 f"(announced: {shown}) (RFC 4271 §9.2)")
            sp.announced.discard(prefix)
            self._send(sp, update(withdraw=(prefix,)))
        else:
            sp.announced.add(prefix)
            self._send(sp, update(announce=(prefix,), as_path=(sp.settings.asn,),
                                  next_hop=sp.settings.ip))
        if sp.hold_time:
            sp.timers[KEEPALIVE] = sp.hold_time // 3  # §8.2.2: each UPDATE restarts it

    # -- the state machine -------------------------------------------------------------

    def _event(self, sp: Speaker, event: Event) -> None:
        """One event of §8.1 for ``sp``: what §8.2.2 says, then the state it says."""
        self.events.append((sp.key, event))
        target = TRANSITIONS[sp.state].get(event)
        if target is None:
            if sp.state is not State.IDLE:  # Idle ignores what it has no rule for
                self._fsm_error(sp)
            return
        getattr(self, "_on_" + event.name.lower())(sp)
        sp.state = target

    def _fsm_error(self, sp: Speaker) -> None:
        """§8.2.2, "any other event": an FSM error."""
        if sp.state in (State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED):
            self._send(sp, notification(5))
        self._drop(sp, count=True)
        self._forget(sp)
        sp.state = State.IDLE

    def _on_manual_start(self, sp: Speaker) -> None:
        sp.connect_retry_counter = 0
        sp.timers = {CONNECT_RETRY: CONNECT_RETRY_SECONDS}
        sp.dropping = False
        self.network.connect(sp.role)

    def _on_manual_start_passive(self, sp: Speaker) -> None:
        sp.connect_retry_counter = 0
        sp.timers = {CONNECT_RETRY: CONNECT_RETRY_SECONDS}
        sp.dropping = False
        self.network.listen(sp.role)

    def _on_manual_stop(self, sp: Speaker) -> None:
        if sp.state in (State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED):
            self._send(sp, notification(6))
        self._drop(sp)
        self._forget(sp)
        sp.connect_retry_counter = 0

    def _on_connect_retry_timer_expires(self, sp: Speaker) -> None:
        sp.timers[CONNECT_RETRY] = CONNECT_RETRY_SECONDS
        if sp.state is State.CONNECT:
            self._close_tcp(sp)
        sp.dropping = False
        self.network.connect(sp.role)

    def _on_hold_timer_expires(self, sp: Speaker) -> None:
        self._send(sp, notification(4))
        self._drop(sp, count=True)
        self._forget(sp)

    def _on_keepalive_timer_expires(self, sp: Speaker) -> None:
        self._send(sp, keepalive())
        sp.timers[KEEPALIVE] = (sp.hold_time or 0) // 3

    def _on_tcp_connection_valid(self, sp: Speaker) -> None:
        pass  # TCP answers the SYN itself (our TCP model does: SYN,ACK)

    def _on_tcp_cr_acked(self, sp: Speaker) -> None:
        sp.timers.pop(CONNECT_RETRY, None)
        self._send(sp, open_message(sp.settings.asn, sp.settings.hold_time, sp.settings.bgp_id))
        sp.timers[HOLD] = LARGE_HOLD_SECONDS

    _on_tcp_connection_confirmed = _on_tcp_cr_acked

    def _on_tcp_connection_fails(self, sp: Speaker) -> None:
        if sp.state is State.OPEN_SENT:
            self._close_tcp(sp)
            sp.timers = {CONNECT_RETRY: CONNECT_RETRY_SECONDS}
            sp.dropping = False  # it listens again once TCP is CLOSED (see _settle)
            return
        if sp.state is State.ACTIVE:
            sp.connect_retry_counter += 1
        self._drop(sp)
        self._forget(sp)

    def _on_bgp_open(self, sp: Speaker) -> None:
        sp.timers.pop(CONNECT_RETRY, None)
        self._send(sp, keepalive())
        sp.timers.pop(HOLD, None)
        if sp.hold_time:
            sp.timers[HOLD] = sp.hold_time
            sp.timers[KEEPALIVE] = sp.hold_time // 3

    def _on_bgp_header_err(self, sp: Speaker) -> None:
        self._send(sp, notification(1, 1))
        self._drop(sp, count=True)
        self._forget(sp)

    def _on_bgp_open_msg_err(self, sp: Speaker) -> None:
        self._send(sp, notification(2, self._open_error or 0))
        self._drop(sp, count=True)
        self._forget(sp)

    def _on_notif_msg(self, sp: Speaker) -> None:
        self._drop(sp, count=sp.state is not State.OPEN_SENT)
        self._forget(sp)

    def _on_keepalive_msg(self, sp: Speaker) -> None:
        if sp.hold_time:
            sp.timers[HOLD] = sp.hold_time

    def _on_update_msg(self, sp: Speaker) -> None:
        message = self._received
        assert message is not None
        for prefix in message.fields.get("withdraw", []):
            sp.routes.pop(prefix, None)
        for prefix in message.fields.get("announce", []):
            sp.routes[prefix] = (message.fields["next_hop"], tuple(message.fields["as_path"]))
        if sp.hold_time:
            sp.timers[HOLD] = sp.hold_time

    # -- the connection ----------------------------------------------------------------

    def _send(self, sp: Speaker, message: Message) -> None:
        tcp = self.endpoint(sp.key)
        start = tcp.variables()["SND.NXT"]
        self.network.send(sp.role, message.length)
        assert start is not None
        self.sent.append(Sent(sp.key, start, (start + message.length) % 2**32, message))

    def _close_tcp(self, sp: Speaker) -> None:
        """Let go of the connection (a program's close()): FIN when one is open."""
        sp.dropping = True
        tcp = self.endpoint(sp.key)
        if tcp.state is TcpState.CLOSED:
            return
        if tcp.state in (TcpState.FIN_WAIT_1, TcpState.FIN_WAIT_2, TcpState.CLOSING,
                         TcpState.LAST_ACK, TcpState.TIME_WAIT):
            return  # closed already
        self.network.close(sp.role)

    def _drop(self, sp: Speaker, count: bool = False) -> None:
        """"Drops the TCP connection" and stops the timers (§8.2.2)."""
        self._close_tcp(sp)
        sp.timers = {}
        sp.hold_time = None
        if count:
            sp.connect_retry_counter += 1

    def _forget(self, sp: Speaker) -> None:
        """The routes learned over the session go with it (§9: Adj-RIB-In)."""
        sp.routes.clear()
        sp.announced.clear()

    def _receive(self, sp: Speaker, message: Message) -> None:
        """A message all of whose bytes arrived in order: the event it is (§8.1)."""
        self._received = message
        if message.malformed:
            self._event(sp, Event.BGP_HEADER_ERR)
        elif message.type == "OPEN":
            self._open_error = self._check_open(sp, message)
            if self._open_error is None:
                peer_hold = int(message.fields["hold_time"])
                sp.hold_time = min(sp.settings.hold_time, peer_hold)
                self._event(sp, Event.BGP_OPEN)
            else:
                self._event(sp, Event.BGP_OPEN_MSG_ERR)
        elif message.type == "KEEPALIVE":
            self._event(sp, Event.KEEPALIVE_MSG)
        elif message.type == "UPDATE":
            self._event(sp, Event.UPDATE_MSG)
        else:
            self._event(sp, Event.NOTIF_MSG)
        self._received = None

    def _check_open(self, sp: Speaker, message: Message) -> int | None:
        """The OPEN Message Error subcode (§6.2), or None for a good OPEN."""
        f = message.fields
        if f["version"] != 4:
            return 1
        if f["as"] != sp.settings.peer_as:
            return 2
        if f["id"] == sp.settings.bgp_id:
            return 3
        if f["hold_time"] in (1, 2):
            return 6
        return None

    def _settle(self) -> None:
        """Turn what TCP did into BGP events, for both speakers, until nothing follows."""
        for _ in range(64):  # each round consumes news; a handful of rounds settles it
            if not self._news():
                return
        raise AssertionError("the session does not settle")  # pragma: no cover

    def _news(self) -> bool:
        for key in self.order:
            sp = self.speakers[key]
            tcp = self.endpoint(key)
            seen, now = self._tcp_seen[key], tcp.state
            if now is not seen:
                self._tcp_seen[key] = now
                if now is TcpState.CLOSED:
                    # the connection is gone, and what was on its way to this speaker
                    self._rcv_seen[key] = None
                    for s in self.sent:
                        if s.speaker != key:
                            s.taken = True
                event = self._connection_event(sp, seen, now)
                if event is not None:
                    self._event(sp, event)
                return True
            rcv = tcp.variables()["RCV.NXT"]
            if rcv != self._rcv_seen[key]:
                first = self._rcv_seen[key] is None
                self._rcv_seen[key] = rcv
                if not first:
                    self._take_in(sp)
                return True
            if (sp.state is State.ACTIVE and now is TcpState.CLOSED
                    and CONNECT_RETRY in sp.timers):
                sp.dropping = False
                self.network.listen(sp.role)  # "continues to listen"
                return True
        return False

    def _connection_event(self, sp: Speaker, seen: TcpState, now: TcpState) -> Event | None:
        if sp.dropping:
            return None
        if now is TcpState.SYN_RECEIVED and seen is TcpState.LISTEN:
            return Event.TCP_CONNECTION_VALID
        if now is TcpState.ESTABLISHED:
            return Event.TCP_CR_ACKED if sp.role == "client" else \
                Event.TCP_CONNECTION_CONFIRMED
        if now in (TcpState.CLOSED, TcpState.CLOSE_WAIT) and seen is not TcpState.LISTEN:
            if sp.state is State.IDLE:
                return None
            return Event.TCP_CONNECTION_FAILS
        return None

    def _take_in(self, sp: Speaker) -> None:
        """The peer's messages now wholly received, in order, each its event."""
        rcv = self.endpoint(sp.key).variables()["RCV.NXT"]
        for s in self.sent:
            if s.speaker == sp.key or s.taken:
                continue
            if rcv is not None and _before_or_at(s.end, rcv, s.start):
                s.taken = True
                if sp.state is not State.IDLE:
                    self._receive(sp, s.message)


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    """Whether sequence ranges [a0, a1) and [b0, b1) share a number (mod 2**32)."""
    def inside(x: int, lo: int, hi: int) -> bool:
        return (x - lo) % 2**32 < (hi - lo) % 2**32
    return inside(a0, b0, b1) or inside(b0, a0, a1)


def _before_or_at(end: int, rcv: int, start: int) -> bool:
    """Whether RCV.NXT ``rcv`` has reached ``end`` of a message starting at ``start``."""
    return (rcv - start) % 2**32 >= (end - start) % 2**32


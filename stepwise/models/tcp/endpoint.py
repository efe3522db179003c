"""One TCP endpoint: its TCB, the user calls, SEGMENT ARRIVES and the timeouts (RFC 9293 §3.10).

Theory of operation
===================

An :class:`Endpoint` is in one of the 11 states of :mod:`stepwise.models.tcp.states`. Three
kinds of event move it, exactly as in RFC 9293 §3.10:

* user calls -- :meth:`Endpoint.open` (passive or active), :meth:`Endpoint.send`,
  :meth:`Endpoint.close`, :meth:`Endpoint.abort`. A call the state does not accept
  (not a key of ``TRANSITIONS[state]``) raises :class:`ModelError` and changes nothing;
* a segment arriving -- :meth:`Endpoint.segment_arrives`, which follows the checks of
  §3.10.7 in their order (sequence number, RST, SYN, ACK, text, FIN); each check is a
  small function or method below with its section in the docstring. Arrivals are never
  refused: a segment the rules do not want is dropped, answered or both;
* a timeout -- :meth:`Endpoint.timeout` fires the earliest running timer: the delayed
  ACK (0.2 s, only when enabled), the retransmission timer (RTO) or TIME-WAIT's 2MSL.

Every method returns the segments the endpoint sends in response, in order, with
``id`` 0; the :class:`~stepwise.models.tcp.network.Network` numbers them and puts them on the
wire.

Simplifications, each allowed by the RFC, and where Linux differs:

* One SEND is one segment, sent at once in ESTABLISHED and CLOSE-WAIT, with PSH set
  (as Linux sets PSH on the last segment of a write). SENDs in LISTEN, SYN-SENT and
  SYN-RECEIVED are queued and sent on entering ESTABLISHED (§3.10.2). There is no
  flow control: the receive window is fixed at :data:`WINDOW` bytes (the application
  reads at once) and every segment advertises it; RSTs advertise 0.
* No out-of-order queue: data that arrives beyond RCV.NXT (an earlier segment was
  lost) is answered with a duplicate ACK and discarded; §3.10.7.4 says such segments
  "may be held", Linux holds them (the :data:`LINUX` profile does too).
* Retransmission (RFC 6298): one retransmission timer per endpoint, running while
  sequence space is unacknowledged. The initial RTO is 1 s (§2.1); each expiry
  retransmits the earliest unacknowledged SYN, data or FIN (§5.4) and doubles the RTO
  (§5.5) up to 60 s. The model has no clock and takes no RTT samples: the RTO returns
  to 1 s whenever an ACK acknowledges new data. Linux measures RTT and uses a 200 ms
  floor, so on loopback its RTO after the handshake is about 200 ms.
* TIME-WAIT lasts 2MSL = 240 s (MSL = 2 minutes, §3.4.2). Linux uses a fixed 60 s
  (``TCP_TIMEWAIT_LEN``), and, unlike the RFC's synchronized-state rules, may accept a
  new SYN in TIME-WAIT (RFC 6191); the model answers it with a challenge ACK.
* ACKs go out at once, unless the endpoint was made with ``delayed_ack=True``
  (§3.8.6.3, RFC 1122 §4.2.3.2): then the ACK for data, or for a FIN received in
  ESTABLISHED, waits -- it rides on the next segment the endpoint sends (data or its
  own FIN, which makes the "combined FIN,ACK" close), or goes out alone when the
  0.2 s delayed-ACK timer fires or a second segment needs acknowledging. Without
  delayed ACKs the close is "ACK, then FIN,ACK" (four segments). Every segment an
  endpoint sends after it knows the peer's ISN carries ACK, so a FIN is always
  ``FIN,ACK`` on the wire; "combined" means that FIN is also the first
  acknowledgment of the peer's FIN.
* Simultaneous open follows Figure 7 of §3.5: in SYN-RECEIVED, a SYN,ACK repeating the
  peer's SYN (SEG.SEQ = IRS) whose ACK acknowledges our SYN completes the handshake
  (a literal reading of the acceptability test would drop it and send an ACK instead;
  Linux accepts it as the figure does).
* A duplicate SYN arriving in SYN-RECEIVED fails the acceptability test and is
  answered with an ACK (§3.10.7.4); Linux retransmits its SYN,ACK instead (so does the
  :data:`LINUX` profile). The model's SYN-RECEIVED endpoint recovers a lost SYN,ACK by
  its own retransmission timer.

A :class:`Profile` switches on, per endpoint, the two Linux behaviours above; lessons and
the simulator use :data:`RFC` (none), the replay of a capture :data:`LINUX`. Whenever a
profile's behaviour is taken where the RFC's reading would differ, the endpoint says so
in :attr:`Endpoint.notes`, which the replay writes into its trace.
* ABORT sends <SEQ=SND.NXT><CTL=RST> in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1,
  FIN-WAIT-2 and CLOSE-WAIT and enters CLOSED (no TIME-WAIT); in CLOSING, LAST-ACK and
  TIME-WAIT it sends nothing (§3.10.5). Linux (``SO_LINGER`` 0, then ``close``) agrees
  on CLOSED without TIME-WAIT but sends RST,ACK rather than a bare RST.
* The Linux server keeps its listening socket in LISTEN and makes a new socket per
  connection; the RFC's (and the model's) passive endpoint *is* the connection, and
  goes back to CLOSED, not LISTEN, when the connection ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .errors import ModelError
from .segment import Flag, Segment, in_window, seq_add, seq_le, seq_lt, seq_sub
from .states import (
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    REFUSAL_REASON,
    SYN_RECEIVED,
    SYN_SENT,
    TIME_WAIT,
    TRANSITIONS,
    USER_CALL_SECTION,
    Event,
    State,
)

#: What an author can do about the RFC's refusals, by its words and the call refused.
_REFUSAL_FIX = {
    ("connection does not exist", Event.SEND): "; connect first ('{name} connect', or "
                                               "'listen' on a server)",
    ("connection does not exist", Event.CLOSE): "; there is nothing to close",
    ("connection does not exist", Event.ABORT): "; there is nothing to abort",
    ("connection closing", Event.SEND): "; this side has closed, or the connection is ending",
    ("connection closing", Event.CLOSE): "; this side has already closed",
    ("connection already exists", Event.PASSIVE_OPEN): "; an endpoint opens once ('abort' "
                                                       "to start over)",
    ("connection already exists", Event.ACTIVE_OPEN): "; an endpoint opens once ('abort' "
                                                      "to start over)",
}

#: The fixed receive window every endpoint advertises, in bytes (SEG.WND, RCV.WND).
WINDOW = 65535
#: Initial retransmission timeout, seconds (RFC 6298 §2.1).
INITIAL_RTO = 1.0
#: Upper bound of the backed-off RTO, seconds (RFC 6298 §2.5 allows >= 60 s).
MAX_RTO = 60.0
#: Maximum segment lifetime, seconds (RFC 9293 §3.4.2: "2 minutes").
MSL = 120.0
#: TIME-WAIT's timer, 2MSL, seconds.
TIME_WAIT_SECONDS = 2 * MSL
#: Delayed-ACK timer, seconds (RFC 9293 §3.8.6.3: "MUST be less than 0.5 seconds").
DELAYED_ACK_SECONDS = 0.2
#: Each later ISN an endpoint selects is this much above its previous one.
ISS_STEP = 64000
#: Largest byte count of one SEND (one segment; the fixed window).
MAX_SEND = WINDOW

@dataclass(frozen=True)
class Profile:
    """Where an implementation may choose, or where Linux departs from RFC 9293.

    Attributes:
        hold_out_of_order: keep data that arrives beyond RCV.NXT and acknowledge it once
            the gap is filled (RFC 9293 §3.10.7.4: such segments "may be held"); the
            acknowledgment that fills a gap goes out at once (RFC 5681 §4.2).
        syn_ack_for_duplicate_syn: in SYN-RECEIVED, answer a retransmitted SYN (SEG.SEQ =
            IRS) by resending the SYN,ACK, as Linux does, where §3.10.7.4's acceptability
            test sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
    """

    hold_out_of_order: bool = False
    syn_ack_for_duplicate_syn: bool = False


#: The RFC's reading: no held data, an ACK for a duplicate SYN.
RFC = Profile()
#: What Linux does where the two differ (the replay of a capture uses it).
LINUX = Profile(hold_out_of_order=True, syn_ack_for_duplicate_syn=True)

#: Timer names as used in traces.
RETRANSMISSION = "retransmission"
TIME_WAIT_TIMER = "TIME-WAIT"
DELAYED_ACK = "delayed-ACK"


@dataclass(frozen=True)
class Sent:
    """One unit of the retransmission queue: a SYN, data or FIN as first sent.

    ``seq`` is its first sequence number; it covers ``len`` data bytes plus one for
    ``syn`` and one for ``fin``.
    """

    seq: int
    len: int = 0
    syn: bool = False
    fin: bool = False

    @property
    def end(self) -> int:
        """The sequence number just after this unit."""
        return seq_add(self.seq, self.len + self.syn + self.fin)


@dataclass
class TCB:
    """The transmission control block (RFC 9293 §3.3.1) and the model's bookkeeping.

    The five RFC variables are absolute 32-bit sequence numbers, or None before they
    are known (a passive endpoint in LISTEN has none yet).
    """

    passive: bool
    ISS: int | None = None
    IRS: int | None = None
    SND_UNA: int | None = None
    SND_NXT: int | None = None
    RCV_NXT: int | None = None
    RCV_WND: int = WINDOW
    #: Sent but unacknowledged SYN/data/FIN, oldest first (the retransmission queue).
    unacked: list[Sent] = field(default_factory=list)
    #: Byte counts of SENDs waiting for ESTABLISHED.
    queued: list[int] = field(default_factory=list)
    #: A CLOSE issued in SYN-RECEIVED with data still queued (§3.10.4).
    close_queued: bool = False
    #: Sequence number of our FIN once sent.
    fin_seq: int | None = None
    #: Current retransmission timeout, seconds.
    rto: float = INITIAL_RTO
    #: An ACK is owed and waits for the delayed-ACK timer or a segment to ride on.
    ack_pending: bool = False
    #: How often TIME-WAIT's 2MSL timer was restarted by a retransmitted FIN.
    time_wait_restarts: int = 0
    #: Data held beyond RCV.NXT (profile ``hold_out_of_order``): SEG.SEQ -> SEG.LEN.
    held: dict[int, int] = field(default_factory=dict)

    def fin_acked(self) -> bool:
        """True once our FIN is sent and acknowledged (SND.UNA is past it)."""
        return (self.fin_seq is not None and self.SND_UNA is not None
                and seq_add(self.fin_seq, 1) == self.SND_UNA)


class _Ack(Enum):
    """What an arrival owes the peer."""

    NONE = 0
    NOW = 1
    DELAYABLE = 2


def acceptable(seg_seq: int, seg_len: int, rcv_nxt: int, rcv_wnd: int) -> bool:
    """The segment acceptability test of RFC 9293 §3.10.7.4 (first check), modulo 2**32.

    Args:
        seg_seq: SEG.SEQ; seg_len: SEG.LEN (data plus SYN and FIN);
        rcv_nxt: RCV.NXT; rcv_wnd: RCV.WND, bytes.

    ===========  =========  ==================================================
    SEG.LEN      RCV.WND    test
    ===========  =========  ==================================================
    0            0          SEG.SEQ = RCV.NXT
    0            >0         RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
    >0           0          not acceptable
    >0           >0         the first or the last octet is in the window
    ===========  =========  ==================================================
    """
    if seg_len == 0:
        return seg_seq == rcv_nxt if rcv_wnd == 0 else in_window(seg_seq, rcv_nxt, rcv_wnd)
    if rcv_wnd == 0:
        return False
    return in_window(seg_seq, rcv_nxt, rcv_wnd) or in_window(
        seq_add(seg_seq, seg_len - 1), rcv_nxt, rcv_wnd
    )


def ack_acceptable(seg_ack: int, snd_una: int, snd_nxt: int) -> bool:
    """``SND.UNA < SEG.ACK =< SND.NXT`` (modulo 2**32): the ACK acknowledges something new."""
    return seq_lt(snd_una, seg_ack) and seq_le(seg_ack, snd_nxt)


def reset_for(seg: Segment) -> Segment | None:
    """The RST answering ``seg`` when no connection wants it (RFC 9293 §3.10.7.1).

    Returns None for an incoming RST (never answered). If ``seg`` has ACK:
    <SEQ=SEG.ACK><CTL=RST>; otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    Resets advertise a zero window.
    """
    if seg.has(Flag.RST):
        return None
    if seg.ack is not None:
        return Segment.make("RST", seg.ack, wnd=0)
    return Segment.make("RST,ACK", 0, seq_add(seg.seq, seg.seg_len), wnd=0)


@dataclass
class Endpoint:
    """One TCP endpoint (RFC 9293 §3.10).

    Args:
        name: this endpoint's name, used in segments and messages (``"client"``).
        peer: the other endpoint's name (``"server"``).
        iss: the ISN (0 .. 2**32-1) of the first connection; each later ISN selection
            adds :data:`ISS_STEP` (the model's stand-in for the ISN clock of §3.4.1).
        delayed_ack: delay ACKs as described in the module docstring.
        profile: the behaviours where Linux and the RFC differ (:class:`Profile`).

    ``state`` is the current :class:`State`; ``tcb`` is None exactly in CLOSED.
    ``notes`` collects, in order, every place the profile made the endpoint act other
    than the RFC's reading (not part of the endpoint's state: ``==`` ignores it).
    """

    name: str
    peer: str
    iss: int
    delayed_ack: bool = False
    state: State = CLOSED
    tcb: TCB | None = None
    iss_selected: int = 0
    profile: Profile = RFC
    notes: list[str] = field(default_factory=list, compare=False, repr=False)

    # -- helpers ------------------------------------------------------------------

    def _refuse_unless(self, call: Event) -> State:
        target = TRANSITIONS[self.state].get(call)
        if target is None:
            reason = REFUSAL_REASON[call][self.state]
            raise ModelError(
                f"{self.name}: cannot {call.value} in state {self.state.value}: {reason}"
                f"{_REFUSAL_FIX[reason, call].format(name=self.name)} "
                f"(RFC 9293 {USER_CALL_SECTION[call]})"
            )
        return target

    def _go(self, event: Event) -> None:
        target = TRANSITIONS[self.state].get(event)
        if target is None:  # pragma: no cover - a bug in the rules below
            raise AssertionError(f"no arrow {self.state} --{event}--> in the diagram")
        self.state = target
        if target is CLOSED:
            self.tcb = None

    def _select_iss(self) -> int:
        iss = seq_add(self.iss, self.iss_selected * ISS_STEP)
        self.iss_selected += 1
        return iss

    def _tcb(self) -> TCB:
        assert self.tcb is not None
        return self.tcb

    def _seg(self, flags: str, seq: int, length: int = 0) -> Segment:
        """Form a segment; it carries ACK=RCV.NXT whenever RCV.NXT is known (not on RST)."""
        tcb = self._tcb()
        ack = None
        if "RST" not in flags and tcb.RCV_NXT is not None:
            flags = f"{flags},ACK" if flags else "ACK"
            ack = tcb.RCV_NXT
            tcb.ack_pending = False
        wnd = 0 if "RST" in flags else WINDOW
        return Segment.make(flags, seq, ack, len=length, wnd=wnd, src=self.name, dst=self.peer)

    def _send_unit(self, unit: Sent) -> Segment:
        flags = ",".join(f for f, on in (("SYN", unit.syn), ("FIN", unit.fin),
                                          ("PSH", unit.len > 0)) if on)
        return self._seg(flags, unit.seq, unit.len)

    def _new_unit(self, out: list[Segment], length: int = 0, *, syn: bool = False,
                  fin: bool = False) -> None:
        tcb = self._tcb()
        assert tcb.SND_NXT is not None
        unit = Sent(tcb.SND_NXT, length, syn, fin)
        if fin:
            tcb.fin_seq = seq_add(unit.seq, length)
        if not tcb.unacked:
            tcb.rto = INITIAL_RTO  # RFC 6298 §5.1: start the timer
        tcb.unacked.append(unit)
        tcb.SND_NXT = unit.end
        out.append(self._send_unit(unit))

    def _send_syn(self, out: list[Segment]) -> None:
        tcb = self._tcb()
        tcb.ISS = self._select_iss()
        tcb.SND_UNA = tcb.ISS
        tcb.SND_NXT = tcb.ISS
        self._new_unit(out, syn=True)

    def _output(self, out: list[Segment], owed: _Ack) -> list[Segment]:
        """Send what is queued, then the ACK owed unless a segment already carried it."""
        tcb = self.tcb
        if tcb is not None and self.state in (ESTABLISHED, CLOSE_WAIT):
            while tcb.queued:
                self._new_unit(out, tcb.queued.pop(0))
            if tcb.close_queued and self.state is ESTABLISHED:
                tcb.close_queued = False
                self._new_unit(out, fin=True)
                self._go(Event.CLOSE)
        if tcb is not None and self.tcb is tcb and tcb.RCV_NXT is not None:
            carried = any(s.has(Flag.ACK) and s.ack == tcb.RCV_NXT for s in out)
            if owed is _Ack.NOW and not carried:
                out.append(self._seg("", self._snd_nxt()))
            elif owed is _Ack.DELAYABLE and not carried:
                if self.delayed_ack and not tcb.ack_pending:
                    tcb.ack_pending = True
                else:  # no delay, or a second segment to acknowledge (§3.8.6.3)
                    out.append(self._seg("", self._snd_nxt()))
        return out

    def _snd_nxt(self) -> int:
        snd_nxt = self._tcb().SND_NXT
        assert snd_nxt is not None
        return snd_nxt

    # -- what the outside may look at ------------------------------------------------

    def timers(self) -> list[tuple[str, float]]:
        """The running timers as ``(name, seconds)``, earliest first.

        Names: ``"delayed-ACK"`` (0.2 s), ``"retransmission"`` (the current RTO),
        ``"TIME-WAIT"`` (240 s). The model has no clock, so ``seconds`` is the duration
        the timer was (re)started with.
        """
        tcb = self.tcb
        if tcb is None:
            return []
        running: list[tuple[str, float]] = []
        if tcb.ack_pending:
            running.append((DELAYED_ACK, DELAYED_ACK_SECONDS))
        if tcb.unacked:
            running.append((RETRANSMISSION, tcb.rto))
        if self.state is TIME_WAIT:
            running.append((TIME_WAIT_TIMER, TIME_WAIT_SECONDS))
        return sorted(running, key=lambda t: t[1])

    def variables(self) -> dict[str, int | None]:
        """The TCB variables ISS, IRS, SND.UNA, SND.NXT, RCV.NXT (None where unknown)."""
        tcb = self.tcb or TCB(passive=False)
        return {"ISS": tcb.ISS, "IRS": tcb.IRS, "SND.UNA": tcb.SND_UNA,
                "SND.NXT": tcb.SND_NXT, "RCV.NXT": tcb.RCV_NXT}

    # -- user calls (RFC 9293 §3.10.1 - §3.10.5) -----------------------------------------

    def open(self, *, passive: bool) -> list[Segment]:
        """OPEN (RFC 9293 §3.10.1): passive -> LISTEN; active -> send SYN, SYN-SENT.

        An active OPEN is allowed in CLOSED and in LISTEN (the passive endpoint turns
        active). Returns the SYN sent, if any.

        Raises:
            ModelError: ``connection already exists`` in any other state.
        """
        if passive:
            self._refuse_unless(Event.PASSIVE_OPEN)
            self.tcb = TCB(passive=True)
            self._go(Event.PASSIVE_OPEN)
            return []
        self._refuse_unless(Event.ACTIVE_OPEN)
        queued = self.tcb.queued if self.tcb is not None else []
        self.tcb = TCB(passive=False, queued=list(queued))
        out: list[Segment] = []
        self._send_syn(out)
        self._go(Event.ACTIVE_OPEN)
        return out

    def send(self, nbytes: int) -> list[Segment]:
        """SEND ``nbytes`` bytes of data (RFC 9293 §3.10.2) as one PSH,ACK segment.

        In ESTABLISHED and CLOSE-WAIT the segment goes out at once; in SYN-SENT and
        SYN-RECEIVED the data is queued until ESTABLISHED; in LISTEN the endpoint turns
        active: it sends a SYN, enters SYN-SENT and queues the data.

        Raises:
            ValueError: ``nbytes`` outside 1 .. 65535.
            ModelError: CLOSED (``connection does not exist``), FIN-WAIT-1, FIN-WAIT-2,
                CLOSING, LAST-ACK, TIME-WAIT (``connection closing``).
        """
        if not 1 <= nbytes <= MAX_SEND:
            raise ValueError(f"SEND takes 1 to {MAX_SEND} bytes, not {nbytes}")
        self._refuse_unless(Event.SEND)
        tcb = self._tcb()
        out: list[Segment] = []
        if self.state is LISTEN:
            tcb.passive = False
            tcb.queued.append(nbytes)
            self._send_syn(out)
            self._go(Event.SEND)
        elif self.state in (SYN_SENT, SYN_RECEIVED):
            tcb.queued.append(nbytes)
        else:
            self._new_unit(out, nbytes)
        return out

    def close(self) -> list[Segment]:
        """CLOSE (RFC 9293 §3.10.4): "I have no more to send".

        LISTEN, SYN-SENT: delete the TCB, CLOSED. SYN-RECEIVED: send FIN, FIN-WAIT-1
        (or, with queued SENDs, wait for ESTABLISHED). ESTABLISHED: send FIN (FIN,ACK),
        FIN-WAIT-1. CLOSE-WAIT: send FIN, LAST-ACK.

        Raises:
            ModelError: CLOSED (``connection does not exist``), FIN-WAIT-1, FIN-WAIT-2,
                CLOSING, LAST-ACK, TIME-WAIT (``connection closing``).
        """
        self._refuse_unless(Event.CLOSE)
        tcb = self._tcb()
        out: list[Segment] = []
        if self.state is SYN_RECEIVED and tcb.queued:
            tcb.close_queued = True
            return out
        if self.state in (SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT):
            self._new_unit(out, fin=True)
        self._go(Event.CLOSE)
        return out

    def abort(self) -> list[Segment]:
        """ABORT (RFC 9293 §3.10.5): drop the connection, enter CLOSED, no TIME-WAIT.

        Sends <SEQ=SND.NXT><CTL=RST> from SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1,
        FIN-WAIT-2 and CLOSE-WAIT; nothing from LISTEN, SYN-SENT, CLOSING, LAST-ACK and
        TIME-WAIT. Linux sends RST,ACK where the RFC sends RST.

        Raises:
            ModelError: in CLOSED (``connection does not exist``).
        """
        self._refuse_unless(Event.ABORT)
        out: list[Segment] = []
        if self.state in (SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT):
            out.append(self._seg("RST", self._snd_nxt()))
        self._go(Event.ABORT)
        return out

    # -- timeouts (RFC 9293 §3.10.8) -------------------------------------------------

    def timeout(self) -> list[Segment]:
        """Fire the earliest running timer (see :meth:`timers`).

        delayed-ACK: send the owed ACK. retransmission: resend the earliest
        unacknowledged SYN, data or FIN and double the RTO (RFC 6298 §5.4-5.6).
        TIME-WAIT: the 2MSL timeout, delete the TCB, enter CLOSED (§3.10.8).

        Raises:
            ModelError: ``client: no timer is running in state ESTABLISHED (RFC 9293 §3.10.8)``.
        """
        running = self.timers()
        if not running:
            raise ModelError(
                f"{self.name}: no timer is running in state {self.state.value} (RFC 9293 §3.10.8)"
            )
        name = running[0][0]
        tcb = self._tcb()
        if name == DELAYED_ACK:
            return [self._seg("", self._snd_nxt())]
        if name == RETRANSMISSION:
            segment = self._send_unit(tcb.unacked[0])
            tcb.rto = min(tcb.rto * 2, MAX_RTO)
            return [segment]
        self._go(Event.TIMEOUT_2MSL)
        return []

    # -- SEGMENT ARRIVES (RFC 9293 §3.10.7) ------------------------------------------

    def segment_arrives(self, seg: Segment) -> list[Segment]:
        """Process an arriving segment (RFC 9293 §3.10.7); return the segments sent in reply.

        Never raises for any well-formed segment: unwanted segments are dropped,
        answered with an ACK, or answered with a RST, as the RFC says.
        """
        if self.state is CLOSED:
            reply = reset_for(seg)
            return [self._named(reply)] if reply is not None else []
        if self.state is LISTEN:
            return self._output(self._arrive_listen(seg), _Ack.NONE)
        if self.state is SYN_SENT:
            out, owed = self._arrive_syn_sent(seg)
        else:
            out, owed = self._arrive_other(seg)
        return self._output(out, owed)

    def _named(self, seg: Segment) -> Segment:
        return Segment(seg.id, self.name, self.peer, seg.flags, seg.seq, seg.ack, seg.len,
                       seg.wnd)

    def _arrive_listen(self, seg: Segment) -> list[Segment]:
        """LISTEN (§3.10.7.2): ignore RST; RST any ACK; answer a SYN with SYN,ACK."""
        tcb = self._tcb()
        if seg.has(Flag.RST):
            return []
        if seg.has(Flag.ACK):
            reply = reset_for(seg)
            return [self._named(reply)] if reply is not None else []
        if not seg.has(Flag.SYN):
            return []
        tcb.IRS = seg.seq
        tcb.RCV_NXT = seq_add(seg.seq, 1)
        out: list[Segment] = []
        self._send_syn(out)  # carries ACK=RCV.NXT: SYN,ACK
        self._go(Event.RCV_SYN)
        return out

    def _arrive_syn_sent(self, seg: Segment) -> tuple[list[Segment], _Ack]:
        """SYN-SENT (§3.10.7.3): check the ACK, then RST, then SYN."""
        tcb = self._tcb()
        assert tcb.ISS is not None and tcb.SND_UNA is not None and tcb.SND_NXT is not None
        if seg.ack is not None and (seq_le(seg.ack, tcb.ISS) or seq_lt(tcb.SND_NXT, seg.ack)):
            reply = reset_for(seg)  # <SEQ=SEG.ACK><CTL=RST>, not for an incoming RST
            return ([self._named(reply)] if reply is not None else []), _Ack.NONE
        if seg.has(Flag.RST):
            if seg.ack is not None:  # acceptable ACK: "error: connection reset"
                self._go(Event.RCV_RST)
            return [], _Ack.NONE
        if not seg.has(Flag.SYN):
            return [], _Ack.NONE
        tcb.IRS = seg.seq
        tcb.RCV_NXT = seq_add(seg.seq, 1)
        if seg.ack is not None:
            self._acknowledge(seg.ack)
        if seq_lt(tcb.ISS, tcb.SND_UNA):  # our SYN has been ACKed
            self._go(Event.RCV_SYN_ACK)
            return [], _Ack.NOW
        self._go(Event.RCV_SYN)  # simultaneous open: resend our SYN as SYN,ACK
        return [self._send_unit(tcb.unacked[0])], _Ack.NONE

    def _acknowledge(self, seg_ack: int) -> None:
        """SND.UNA = SEG.ACK; drop what it covers from the retransmission queue."""
        tcb = self._tcb()
        assert tcb.SND_UNA is not None
        if not seq_lt(tcb.SND_UNA, seg_ack):
            return
        tcb.SND_UNA = seg_ack
        tcb.unacked = [u for u in tcb.unacked if seq_lt(seg_ack, u.end)]
        tcb.rto = INITIAL_RTO

    def _arrive_other(self, seg: Segment) -> tuple[list[Segment], _Ack]:
        """SYN-RECEIVED and the synchronized states (§3.10.7.4), checks one to eight."""
        tcb = self._tcb()
        assert tcb.RCV_NXT is not None and tcb.SND_UNA is not None and tcb.SND_NXT is not None
        # Figure 7 of §3.5: in a simultaneous open the peer's SYN,ACK completes the handshake.
        if (self.state is SYN_RECEIVED and seg.has(Flag.SYN) and seg.ack is not None
                and not seg.has(Flag.RST) and seg.seq == tcb.IRS
                and ack_acceptable(seg.ack, tcb.SND_UNA, tcb.SND_NXT)):
            self._acknowledge(seg.ack)
            self._go(Event.RCV_ACK_OF_SYN)
            return [], _Ack.NONE
        # first: sequence number
        if not acceptable(seg.seq, seg.seg_len, tcb.RCV_NXT, tcb.RCV_WND):
            if seg.has(Flag.RST):
                return [], _Ack.NONE
            if (self.state is TIME_WAIT and seg.has(Flag.FIN)
                    and seq_add(seg.seq, seg.seg_len) == tcb.RCV_NXT):
                tcb.time_wait_restarts += 1  # retransmitted FIN: re-ACK, restart 2MSL
            if (self.profile.syn_ack_for_duplicate_syn and self.state is SYN_RECEIVED
                    and seg.has(Flag.SYN) and not seg.has(Flag.ACK) and seg.seq == tcb.IRS
                    and tcb.unacked and tcb.unacked[0].syn):
                self.notes.append(
                    f"{self.name} answers the repeated SYN by sending its SYN,ACK again, as "
                    f"Linux does; RFC 9293 §3.10.7.4 would answer with an ACK")
                return [self._send_unit(tcb.unacked[0])], _Ack.NONE
            return [], _Ack.NOW
        # second: RST (with RFC 5961 §3.2: only an exact RCV.NXT resets)
        if seg.has(Flag.RST):
            if seg.seq != tcb.RCV_NXT:
                return [], _Ack.NOW  # challenge ACK
            if self.state is SYN_RECEIVED and tcb.passive:
                self._back_to_listen()
            else:
                self._go(Event.RCV_RST)
            return [], _Ack.NONE
        # fourth: SYN (the third, security, is not modeled)
        if seg.has(Flag.SYN):
            if self.state is SYN_RECEIVED and tcb.passive:
                self._back_to_listen()
                return [], _Ack.NONE
            return [], _Ack.NOW  # challenge ACK (RFC 5961 §4)
        # fifth: ACK
        if seg.ack is None:
            return [], _Ack.NONE
        if self.state is SYN_RECEIVED:
            if not ack_acceptable(seg.ack, tcb.SND_UNA, tcb.SND_NXT):
                reply = reset_for(seg)
                return ([self._named(reply)] if reply is not None else []), _Ack.NONE
            self._go(Event.RCV_ACK_OF_SYN)
        if seq_lt(tcb.SND_NXT, seg.ack):
            return [], _Ack.NOW  # acknowledges something not yet sent
        self._acknowledge(seg.ack)
        if self.state is FIN_WAIT_1 and tcb.fin_acked():
            self._go(Event.RCV_ACK_OF_FIN)
        elif self.state is CLOSING or self.state is LAST_ACK:
            if tcb.fin_acked():
                self._go(Event.RCV_ACK_OF_FIN)
            return [], _Ack.NONE
        # seventh: segment text (the sixth, URG, is not modeled)
        owed = _Ack.NONE
        if seg.len > 0 and self.state in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2):
            if seg.seq != tcb.RCV_NXT:
                if self.profile.hold_out_of_order and seq_lt(tcb.RCV_NXT, seg.seq):
                    tcb.held[seg.seq] = seg.len
                    self.notes.append(
                        f"{self.name} keeps the {seg.len} bytes that arrived beyond a gap, as "
                        f"Linux does (RFC 9293 §3.10.7.4 allows it; the model alone drops "
                        f"them) and repeats its ACK for the missing bytes")
                return [], _Ack.NOW  # out of order: duplicate ACK
            tcb.RCV_NXT = seq_add(tcb.RCV_NXT, seg.len)
            owed = _Ack.NOW if self._take_held() else _Ack.DELAYABLE
        # eighth: FIN
        if seg.has(Flag.FIN) and self.state in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2):
            if seq_add(seg.seq, seg.len) != tcb.RCV_NXT:
                return [], _Ack.NOW  # a FIN beyond a gap
            tcb.RCV_NXT = seq_add(tcb.RCV_NXT, 1)
            if self.state is ESTABLISHED:
                self._go(Event.RCV_FIN)
                return [], _Ack.DELAYABLE
            self._go(Event.RCV_FIN)  # FIN-WAIT-1 -> CLOSING, FIN-WAIT-2 -> TIME-WAIT
            if self.state is TIME_WAIT:
                tcb.unacked.clear()  # "turn off the other timers"
            return [], _Ack.NOW
        return [], owed

    def _take_held(self) -> bool:
        """Move RCV.NXT over held data the new segment made contiguous; True if any."""
        tcb = self._tcb()
        assert tcb.RCV_NXT is not None
        taken = 0
        while True:
            nxt = tcb.RCV_NXT
            start = next((seq for seq, n in tcb.held.items()
                          if seq_le(seq, nxt) and seq_lt(nxt, seq_add(seq, n))), None)
            for seq in [seq for seq, n in tcb.held.items()
                        if seq_le(seq_add(seq, n), nxt)]:
                del tcb.held[seq]  # wholly below RCV.NXT: nothing new in it
            if start is None:
                break
            tcb.RCV_NXT = seq_add(start, tcb.held.pop(start))
            taken += seq_sub(tcb.RCV_NXT, nxt)
        if taken:
            self.notes.append(f"the gap is filled: {self.name} takes the {taken} bytes it "
                              f"held and acknowledges them at once")
        return taken > 0

    def _back_to_listen(self) -> None:
        self.tcb = TCB(passive=True)
        self._go(Event.BACK_TO_LISTEN)

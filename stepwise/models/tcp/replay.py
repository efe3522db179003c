"""Play a captured TCP connection through the model, one frame at a time.

Theory of operation
===================

A capture shows what two real TCP stacks sent; the model (:mod:`stepwise.models.tcp`) says what
RFC 9293 makes each endpoint do. :class:`Replay` feeds the captured segments, in
capture order, to both model endpoints of a :class:`~stepwise.models.tcp.Network`:

* **the sender.** A segment is either one the model already expects from that endpoint
  (a reply it computed when the peer's last segment arrived: the SYN,ACK to a SYN, the
  ACK of data or of a FIN, the RST from a closed port), or it is the result of something
  the capture cannot show, which the replay infers and performs on the model: a SYN is
  ``connect``, data is ``send N``, a FIN is ``close``, a RST is ``abort``, a segment
  repeating sequence space already sent is a retransmission (``timeout``). An expected
  ACK that never went out alone but rode on a later segment (Linux delays ACKs) is
  simply dropped from the expectations. The model's segment must then be the captured
  one: same control bits (PSH aside: Linux sets it on the last segment of a write, the
  model on every data segment; and a RST may carry ACK, as Linux's do), SEG.SEQ,
  SEG.ACK and length; otherwise the frame is reported.
* **the receiver.** Before the segment is handed to the model's SEGMENT ARRIVES, the
  replay checks that the receiver's state accepts it (RFC 9293 §3.10.7: the SYN-SENT
  ACK test, the acceptability test on sequence numbers, the RST and SYN checks, an ACK
  of data not yet sent, anything but a SYN in LISTEN). A segment that fails is what
  "the model says cannot happen" on a healthy connection; it is reported with its frame
  number. The model then handles it as the RFC says, and the replay goes on.

The server is put in LISTEN before the first frame when its first segment in the
capture is a SYN,ACK (the capture cannot show ``listen()``), and stays CLOSED otherwise,
so that a SYN to a closed port is answered with a RST, as in the capture of a refused
connect.

Every captured segment is on the wire and delivered within its own step (capture order
is the order the segments passed the capture point, where they were seen arriving).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .capture import CapturedSegment, Connection
from .endpoint import Endpoint, acceptable
from .errors import ModelError
from .network import Delivered, Network, Sent
from .segment import Flag, Segment, seq_add, seq_le, seq_lt, seq_sub
from .states import SYNCHRONIZED_STATES, State

_PEER = {"client": "server", "server": "client"}


class _Mismatch(Exception):
    """The captured segment is not what the model's sender would send."""


@dataclass
class Played:
    """One replayed frame.

    Attributes:
        segment: the captured segment as the model sees it (roles, numbered id).
        fields: the extra trace fields of the segment: ``frame``, ``time_ms``,
            ``rel_seq``, ``rel_ack``.
        actions: the user calls and timeouts inferred for the sender, e.g.
            ``["server close"]``; empty when the segment is a reply the model expected.
        problem: what the model says cannot happen in this frame, or None.
    """

    segment: Segment
    fields: dict[str, Any]
    actions: list[str]
    problem: str | None


def describe(seg: Segment) -> str:
    """``FIN,ACK seq=4156675391 ack=845944635 len=0``."""
    ack = f" ack={seg.ack}" if seg.ack is not None else ""
    return f"{','.join(seg.flag_names) or 'no flags'} seq={seg.seq}{ack} len={seg.len}"


def same(model: Segment, real: Segment) -> bool:
    """Whether the model's segment is the captured one (see the module docstring)."""
    flags_m, flags_r = set(model.flags) - {Flag.PSH}, set(real.flags) - {Flag.PSH}
    if Flag.RST in flags_m and Flag.RST in flags_r:
        return model.seq == real.seq and (model.ack is None or real.ack is None
                                           or model.ack == real.ack)
    return (flags_m == flags_r and model.seq == real.seq and model.ack == real.ack
            and model.len == real.len)


def _merge(segments: list[Segment]) -> Segment:
    """Data and FIN sent by two model calls, as the one segment Linux sends for both."""
    if len(segments) == 1:
        return segments[0]
    names = {f.value for s in segments for f in s.flags}
    return Segment.make(",".join(names), segments[0].seq, segments[-1].ack,
                        len=sum(s.len for s in segments), src=segments[0].src,
                        dst=segments[0].dst)


@dataclass
class Replay:
    """Replays ``connection`` on ``network`` (see the module docstring).

    Call :meth:`play` for each segment of the connection, in order.
    """

    network: Network
    connection: Connection
    pending: dict[str, list[Segment]] = field(
        default_factory=lambda: {"client": [], "server": []})
    base: dict[str, int] = field(default_factory=dict)
    started: bool = False

    def play(self, captured: CapturedSegment) -> Played:
        """Put one captured segment through both model endpoints; return what happened."""
        role = self.connection.role(captured)
        actions: list[str] = []
        if not self.started:
            self.started = True
            first_server = next((s for s in self.connection.segments
                                 if self.connection.role(s) == "server"), None)
            if (first_server is not None and first_server.flags == ("SYN", "ACK")
                    and self.network.server.state is State.CLOSED):
                self.network.listen("server")
                actions.append("server listen")
        seg = Segment.make(",".join(captured.flags), captured.seq, captured.ack,
                           len=captured.len, wnd=captured.wnd, src=role, dst=_PEER[role],
                           id=self.network.next_id)
        self.network.next_id += 1
        fields = {"frame": captured.frame,
                  "time_ms": round((captured.time - self.connection.segments[0].time) * 1000, 3),
                  **self._relative(role, seg)}
        sender = self.network.endpoint(role)
        receiver = self.network.endpoint(_PEER[role])
        send_actions, problem = self._send_side(sender, seg)
        actions += send_actions
        arrive_problem = self._check_arrival(receiver, seg)
        self.network.history.append(Sent(seg))
        self.network.history.append(Delivered(seg))
        self.pending[receiver.name] += receiver.segment_arrives(seg)
        problems = [p for p in (problem, arrive_problem) if p]
        return Played(seg, fields, actions, "; ".join(problems) or None)

    # -- relative sequence numbers, as Wireshark shows them ---------------------------

    def _relative(self, role: str, seg: Segment) -> dict[str, int | None]:
        peer = _PEER[role]
        if role not in self.base:
            self.base[role] = seg.seq if seg.has(Flag.SYN) else seq_add(seg.seq, -1)
        if seg.ack is not None and peer not in self.base:
            self.base[peer] = seq_add(seg.ack, -1)
        return {"rel_seq": seq_sub(seg.seq, self.base[role]),
                "rel_ack": None if seg.ack is None else seq_sub(seg.ack, self.base[peer])}

    # -- the sender --------------------------------------------------------------------

    def _send_side(self, x: Endpoint, seg: Segment) -> tuple[list[str], str | None]:
        pending = self.pending[x.name]
        for i, expected in enumerate(pending):
            if same(expected, seg):
                del pending[:i + 1]
                return [], None
        if seg.ack is not None:  # an ACK the model expected alone rode on this segment
            pending[:] = [p for p in pending if not (
                p.flags == (Flag.ACK,) and p.ack is not None and seq_le(p.ack, seg.ack))]
        state = x.state
        try:
            actions, produced = self._infer(x, seg)
        except ModelError as err:
            return [], str(err)
        except _Mismatch as err:
            return [], str(err)
        if not produced:
            return actions, (f"the capture shows {x.name} sending {describe(seg)}, but "
                             f"'{actions[-1]}' in state {state.value} sends nothing")
        expected = _merge(produced)
        if not same(expected, seg):
            return actions, (f"the capture shows {x.name} sending {describe(seg)}, but the "
                             f"model's {x.name} in state {state.value} sends "
                             f"{describe(expected)}")
        return actions, None

    def _infer(self, x: Endpoint, seg: Segment) -> tuple[list[str], list[Segment]]:
        """Perform on ``x`` what made it send ``seg``; return the calls and what they sent."""
        name, tcb, state = x.name, x.tcb, x.state
        if seg.has(Flag.RST):
            if tcb is None:
                raise _Mismatch(f"{name} sends {describe(seg)} in state CLOSED, but it "
                                f"answers no segment that {name} received")
            return [f"{name} abort"], x.abort()
        if seg.has(Flag.SYN):
            if tcb is not None and seg.seq == tcb.ISS and state in (State.SYN_SENT,
                                                                     State.SYN_RECEIVED):
                return self._retransmit(x)
            if seg.has(Flag.ACK):
                raise _Mismatch(f"{name} sends {describe(seg)}, but in state {state.value} it "
                                f"has no SYN,ACK to send")
            return [f"{name} connect"], x.open(passive=False)
        snd_nxt = tcb.SND_NXT if tcb is not None else None
        if seg.has(Flag.FIN):
            if (tcb is not None and tcb.fin_seq is not None
                    and seq_add(seg.seq, seg.len) == tcb.fin_seq):
                return self._retransmit(x)
            actions: list[str] = []
            out: list[Segment] = []
            if seg.len > 0:
                actions.append(f"{name} send {seg.len}")
                out += x.send(seg.len)
            actions.append(f"{name} close")
            return actions, out + x.close()
        if seg.len > 0:
            if snd_nxt is not None and seq_lt(seg.seq, snd_nxt):
                return self._retransmit(x)
            try:
                return [f"{name} send {seg.len}"], x.send(seg.len)
            except ValueError as err:
                raise _Mismatch(f"{name} sends {describe(seg)}: {err}") from None
        if tcb is not None and tcb.ack_pending:  # a delayed ACK going out
            return [f"{name} timeout"], x.timeout()
        if tcb is None or tcb.RCV_NXT is None or snd_nxt is None:
            raise _Mismatch(f"{name} sends {describe(seg)}, but in state {state.value} it "
                            f"knows no sequence number to acknowledge")
        # an ACK nothing asked for (a window update, a duplicate): harmless if it
        # repeats what the endpoint has already said
        return [], [Segment.make("ACK", snd_nxt, tcb.RCV_NXT, src=name, dst=x.peer)]

    def _retransmit(self, x: Endpoint) -> tuple[list[str], list[Segment]]:
        running = [name for name, _ in x.timers()]
        if "retransmission" not in running:
            raise _Mismatch(f"{x.name} sends again what it sent before, but in state "
                            f"{x.state.value} it has nothing to retransmit")
        actions = []
        while x.timers()[0][0] != "retransmission":  # a delayed ACK fires first
            x.timeout()
            actions.append(f"{x.name} timeout")
        return [*actions, f"{x.name} timeout"], x.timeout()

    # -- the receiver --------------------------------------------------------------------

    @staticmethod
    def _check_arrival(y: Endpoint, seg: Segment) -> str | None:
        """Why ``y``'s state does not accept ``seg`` (RFC 9293 §3.10.7), or None."""
        tcb, state = y.tcb, y.state
        where = f"{y.name} in state {state.value}"
        if tcb is None:
            return None  # CLOSED answers with a RST: the path of a refused connect
        if state is State.LISTEN:
            if seg.has(Flag.SYN) and not seg.has(Flag.ACK) and not seg.has(Flag.RST):
                return None
            return (f"{describe(seg)} reaches {where}, which accepts only a SYN "
                    f"(RFC 9293 §3.10.7.2)")
        assert tcb.SND_UNA is not None and tcb.SND_NXT is not None and tcb.ISS is not None
        if state is State.SYN_SENT:
            if seg.ack is not None and (seq_le(seg.ack, tcb.ISS)
                                        or seq_lt(tcb.SND_NXT, seg.ack)):
                return (f"{describe(seg)} reaches {where}: SEG.ACK {seg.ack} does not "
                        f"acknowledge its SYN (it must be {tcb.SND_NXT}; RFC 9293 §3.10.7.3)")
            return None
        assert tcb.RCV_NXT is not None
        if (state is State.SYN_RECEIVED and seg.has(Flag.SYN) and seg.has(Flag.ACK)
                and seg.seq == tcb.IRS):
            return None  # simultaneous open, Figure 7 of RFC 9293 §3.5
        if not acceptable(seg.seq, seg.seg_len, tcb.RCV_NXT, tcb.RCV_WND):
            return (f"{describe(seg)} is not acceptable to {where}: RCV.NXT is {tcb.RCV_NXT} "
                    f"and the window {tcb.RCV_WND} bytes (RFC 9293 §3.10.7.4)")
        if seg.has(Flag.RST) and seg.seq != tcb.RCV_NXT:
            return (f"{describe(seg)} reaches {where} with SEG.SEQ {seg.seq} other than "
                    f"RCV.NXT {tcb.RCV_NXT}: it only draws a challenge ACK (RFC 5961 §3.2)")
        if seg.has(Flag.SYN) and not seg.has(Flag.RST) and state in SYNCHRONIZED_STATES:
            return (f"{describe(seg)} reaches {where}: a SYN in a synchronized state "
                    f"only draws a challenge ACK (RFC 9293 §3.10.7.4)")
        if seg.ack is not None and not seg.has(Flag.RST) and seq_lt(tcb.SND_NXT, seg.ack):
            return (f"{describe(seg)} reaches {where}: SEG.ACK {seg.ack} acknowledges "
                    f"data not yet sent (SND.NXT is {tcb.SND_NXT}; RFC 9293 §3.10.7.4)")
        return None

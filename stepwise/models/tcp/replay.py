"""Explain a captured TCP connection with the model, frame by frame.

Theory of operation
===================

A capture is taken at one point of the path. It shows what passed that point, in the
order it passed, and nothing else: not what was lost before it, not what was lost after
it, not when a segment it saw reached its receiver. The model
(:mod:`stepwise.models.tcp`) says what RFC 9293 makes each endpoint do. The replay looks
for the *explanation* of the capture that the model can play and that needs the fewest
losses: a sequence of model events in which every captured segment is sent, in capture
order, by the endpoint that sent it, and each is then delivered or lost.

The events an explanation is made of:

* **sending a captured segment.** The segment is either one the model already expects
  from that endpoint (a reply it formed when the peer's last segment arrived: the SYN,ACK
  to a SYN, the ACK of data or of a FIN, the RST from a closed port), or the result of
  something the capture cannot show, which the replay performs on the model: a SYN is
  ``connect``, data is ``send N``, a FIN is ``close``, a RST is ``abort``, a segment
  repeating sequence space already sent is a retransmission (``timeout``). An expected
  ACK that never went out alone but rode on a later segment (Linux delays ACKs) is no
  longer expected. Data beyond SND.NXT means a segment before it was sent and not seen:
  the replay sends it (``send N``) and it is either lost before the capture point or
  overtaken there and seen later (reordered). The model's segment must be the captured
  one: same control bits (PSH aside; a RST may carry ACK, as Linux's do), SEG.SEQ,
  SEG.ACK and length.
* **delivering** the oldest captured segment still in flight towards an endpoint (each
  direction is first in, first out after the capture point; the two directions
  interleave freely, so segments sent both ways before either arrived *cross*), or
  **losing** it after the capture point.
* **a reply lost before the capture point.** A segment the model sends in reply (the
  SYN,ACK answering a SYN) is either seen in the capture later or lost before the
  capture point; pure ACKs may also just not be sent alone (they ride on later segments).

The explanations are searched best first (uniform-cost search over model states): an
explanation costs, in this order of importance, its *violations* (a captured segment the
model's sender could not send, or a segment its receiver's state cannot accept: RFC 9293
§3.10.7), its *losses*, its *differences* (places where the Linux behaviours of
:data:`~stepwise.models.tcp.endpoint.LINUX` were needed), and its *deferrals* (a segment
left in flight while a later one is captured). Time bounds what is plausible: a captured
segment reaches its receiver, or is lost, within :attr:`Timing.flight` of passing the
capture point (twice the quickest answer seen in the capture, plus 2 ms), and a reply is
seen within :attr:`Timing.hold` (at least 50 ms) or was lost before the capture point.
So a SYN,ACK that shows up a second after its SYN is a retransmission after a loss, not
a slow first copy.

Each frame is one step of the trace: it starts with what the sender did (its actions,
any segment lost before the capture point, the captured segment) and goes on with the
deliveries and losses up to the next frame. Each step's ``notes`` say, in words, what
the explanation chose there (which segment was lost where, which segments crossed,
where Linux differs from the RFC's reading), and the violations are reported as
``problems`` with their frame.
"""

from __future__ import annotations

import copy
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .capture import CapturedSegment, Connection
from .endpoint import LINUX, Endpoint, acceptable
from .errors import ModelError
from .network import Delivered, Dropped, Network, Sent
from .scenario import step_json
from .segment import Flag, Segment, seq_add, seq_le, seq_lt, seq_sub
from .states import SYNCHRONIZED_STATES, State

_PEER = {"client": "server", "server": "client"}
#: How many search nodes may be expanded before the replay gives up looking for an
#: explanation without a violation (the captures of the project need under 50, random
#: lossy runs of the model under 300).
BUDGET = 5_000
#: The least time a reply may wait before the capture point (seconds): Linux's delayed
#: ACK and scheduling make some tens of milliseconds ordinary even on loopback.
HOLD_MIN = 0.05
#: Added to twice the quickest answer to bound a segment's flight after the capture point.
FLIGHT_SLACK = 0.002
#: The least time between two copies of a segment unless a duplicate ACK came between
#: them (seconds): Linux's quickest timer, the tail loss probe, waits at least two
#: clock ticks (8 ms at HZ=250; 2 ms at HZ=1000); RFC 6298's RTO is at least 1 s.
RETRANSMIT_FLOOR = 0.002
#: Losses an explanation may have beyond the repeated segments the capture shows (a loss
#: is mostly repaired by a retransmission, which the capture shows; a few are not: a
#: lost ACK that a later one covers, a loss before the capture point of a segment seen
#: once). It bounds the search where no explanation exists.
LOSS_SLACK = 2
#: The longest Linux delays an ACK (TCP_DELACK_MAX, seconds): a pure ACK the model sends
#: is seen by then, rides on a later segment, or was lost before the capture point.
DELAYED_ACK_MAX = 0.2


class _Mismatch(Exception):
    """The captured segment is not what the model's sender would send."""


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


def _repeats(connection: Connection) -> int:
    """How many captured segments repeat sequence space their sender sent before."""
    seen: set[tuple[str, int, int]] = set()
    repeats = 0
    for s in connection.segments:
        seg_len = s.len + ("SYN" in s.flags) + ("FIN" in s.flags)
        if not seg_len:
            continue
        key = (connection.role(s), s.seq, seg_len)
        repeats += key in seen
        seen.add(key)
    return repeats


def _pure_ack(seg: Segment) -> bool:
    return seg.flags == (Flag.ACK,) and seg.len == 0


def _superseded(expected: Segment, sent: Segment) -> bool:
    """A pure ACK the model expected that ``sent`` (from the same end) makes needless:
    it acknowledges as much or more (Linux delays ACKs and lets them ride)."""
    return (_pure_ack(expected) and expected.ack is not None and sent.ack is not None
            and seq_le(expected.ack, sent.ack))


@dataclass(frozen=True)
class Timing:
    """The time bounds of a capture's explanations, seconds (see the module docstring).

    Attributes:
        flight: how long a captured segment may stay in flight after the capture point.
        hold: how long a reply may take to reach the capture point.
    """

    flight: float
    hold: float

    @classmethod
    def of(cls, connection: Connection) -> Timing:
        """The bounds for ``connection``: from the quickest first acknowledgment seen.

        An answer's time is from the last copy of a segment to the first segment from
        the other end acknowledging all of it; the quickest is one round trip from the
        capture point and back, at most.
        """
        quickest: float | None = None
        last_end: dict[tuple[str, int], float] = {}
        acked: dict[str, int] = {}
        for s in connection.segments:
            role = connection.role(s)
            seg_len = s.len + ("SYN" in s.flags) + ("FIN" in s.flags)
            if seg_len:
                last_end[role, seq_add(s.seq, seg_len)] = s.time
            if s.ack is None:
                continue
            peer = _PEER[role]
            sent = last_end.get((peer, s.ack))
            if sent is not None and (peer not in acked or seq_lt(acked[peer], s.ack)):
                answer = s.time - sent
                quickest = answer if quickest is None else min(quickest, answer)
            if peer not in acked or seq_lt(acked[peer], s.ack):
                acked[peer] = s.ack
        flight = 2 * (quickest or 0.0) + FLIGHT_SLACK
        return cls(flight, max(flight, HOLD_MIN))


@dataclass
class _Copy:
    """A captured segment on its way from the capture point to its receiver."""

    seg: Segment
    time: float
    frame: int


@dataclass
class _Pending:
    """A segment the model sent that the capture has not shown yet (due by ``deadline``)."""

    seg: Segment
    deadline: float
    origin: str  # what made the endpoint send it, for notes
    formed: float  # when (the capture time it was formed at)


@dataclass
class _Open:
    """The step being written: frame ``frame``'s, from history index ``start``."""

    frame: int
    start: int
    seg: Segment
    actions: list[str]
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    losses: int = 0


@dataclass
class FrameStep:
    """What the explanation says about one frame.

    Attributes:
        frame: the frame number; segment: the captured segment as the model numbers it.
        fields: its extra trace fields (``frame``, ``time_ms``, ``rel_seq``, ``rel_ack``).
        actions: the user calls and timeouts inferred for its sender.
        notes: what the explanation chose in this step, in words.
        problems: what the model says cannot happen in this frame (violations).
        step: the trace step (``title`` and ``html`` left empty for the caller).
        losses: how many segments this step loses.
    """

    frame: int
    segment: Segment
    fields: dict[str, Any]
    actions: list[str]
    notes: list[str]
    problems: list[str]
    step: dict[str, Any]
    losses: int = 0


@dataclass
class _Node:
    network: Network
    index: int = 0
    flight: dict[str, list[_Copy]] = field(
        default_factory=lambda: {"client": [], "server": []})
    pending: dict[str, list[_Pending]] = field(
        default_factory=lambda: {"client": [], "server": []})
    cost: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    #: the steps written so far, newest first, as a chain ``(earlier, step)`` that forks
    #: share (a copy per fork would make a long capture quadratic)
    out: tuple[Any, Any] | None = None
    current: _Open | None = None
    fields: dict[int, dict[str, Any]] = field(default_factory=dict)
    sent_at: dict[tuple[str, int], float] = field(default_factory=dict)
    #: when each endpoint last received a duplicate ACK (the signal of fast retransmit)
    dup_ack_at: dict[str, float] = field(default_factory=dict)
    first_actions: list[str] = field(default_factory=list)
    #: an error of the author's steps between frames, raised if this explanation wins
    error: Exception | None = None

    def key(self, counter: int) -> tuple[int, ...]:
        return (*self.cost, -self.index, counter)

    def lose(self, seg: Segment, note: str) -> None:
        """Lose ``seg`` (already sent) in the step being written, saying ``note``."""
        self.network.history.append(Dropped(seg))
        self.cost[_LOSSES] += 1
        assert self.current is not None
        self.current.losses += 1
        self.current.notes.append(note)

    def signature(self) -> tuple[Any, ...]:
        """What decides this node's future (not how it got here)."""
        net = self.network
        return (self.index, repr(net.client), repr(net.server),
                tuple((k, tuple(c.seg.id for c in v)) for k, v in self.flight.items()),
                tuple((k, tuple((p.seg, p.deadline) for p in v))
                      for k, v in self.pending.items()),
                tuple(sorted(self.sent_at.items())), tuple(sorted(self.dup_ack_at.items())),
                self.current.frame if self.current else None)


_VIOLATIONS, _LOSSES, _UNSEEN, _DIFFERENCES, _DEFERRALS = range(5)


@dataclass
class Replay:
    """Explains ``connection`` on ``network`` (see the module docstring).

    Args:
        network: the model, both endpoints as the lesson set them (CLOSED, or as steps
            before the first frame left them); its endpoints take the
            :data:`~stepwise.models.tcp.endpoint.LINUX` profile.
        connection: the captured connection, anonymised.
        after_frame: called with the network as it is after a frame's step (deliveries
            included) and the frame number; returns trace steps to insert there (an
            author's steps between frames), running them on the network it is given.
    """

    network: Network
    connection: Connection
    after_frame: Callable[[Network, int], list[dict[str, Any]]] = lambda network, frame: []

    def run(self) -> list[FrameStep | dict[str, Any]]:
        """The best explanation's steps, in order: a :class:`FrameStep` per frame, and
        the ``after_frame`` steps where they go.
        """
        frames = self.connection.segments
        self.timing = Timing.of(self.connection)
        self.rel = self._relative_fields()
        root = _Node(network=copy.deepcopy(self.network))
        for ep in (root.network.client, root.network.server):
            ep.profile = LINUX
        first_server = next((s for s in frames if self.connection.role(s) == "server"), None)
        if (first_server is not None and first_server.flags == ("SYN", "ACK")
                and root.network.server.state is State.CLOSED):
            root.network.listen("server")
            root.first_actions.append("server listen")
        self.max_losses = _repeats(self.connection) + LOSS_SLACK
        # the plain replay first: every segment delivered as captured. With no violation
        # and no loss it is the best explanation there is (and a long healthy capture
        # needs no search); otherwise the search looks for a better one, and where there
        # is none the plain replay names the frames that break the rules.
        best, plausible = self._greedy(root, frames)
        if not plausible or any(best.cost[i] for i in (_VIOLATIONS, _LOSSES, _UNSEEN,
                                                        _DEFERRALS)):
            best = self._search(root, frames) or best
        if best.error is not None:
            raise best.error
        return self._say_why(best)

    def _search(self, root: _Node, frames: tuple[CapturedSegment, ...]) -> _Node | None:
        """The explanation with no violation and the fewest losses (then unseen segments,
        differences, deferrals), or None if there is none within :data:`BUDGET` nodes."""
        counter = itertools.count()
        heap: list[tuple[tuple[int, ...], _Node]] = [(root.key(next(counter)), root)]
        seen: set[Any] = set()
        for _ in range(BUDGET):
            if not heap:
                return None
            _, node = heapq.heappop(heap)
            signature = node.signature()
            if signature in seen:
                continue  # reached before at no greater cost: its future is the same
            seen.add(signature)
            if node.index == len(frames) and not any(node.flight.values()):
                finished = self._finish(node)
                if finished is not None and finished.error is None:
                    return finished
                continue
            for child in self._children(node, frames):
                if not child.cost[_VIOLATIONS] and child.cost[_LOSSES] <= self.max_losses:
                    heapq.heappush(heap, (child.key(next(counter)), child))
        return None

    def _greedy(self, root: _Node,
                frames: tuple[CapturedSegment, ...]) -> tuple[_Node, bool]:
        """One explanation, violations allowed: at every point the cheapest next event
        (deliveries first). It is what names the frames a broken capture fails at.
        Returns it and whether its timing is plausible (no time bound was ignored)."""
        node = root
        counter = itertools.count()
        plausible = True
        while True:
            if node.index == len(frames) and not any(node.flight.values()):
                finished = self._finish(node, strict=False)
                assert finished is not None
                return finished, plausible and self._finish(node) is not None
            children = self._children(node, frames)
            if not children:  # nothing plausible in time: deliver regardless of time
                plausible = False
                children = self._children(node, frames, timed=False)
            node = min(children, key=lambda c: c.key(next(counter)))

    # -- the search --------------------------------------------------------------------

    def _children(self, node: _Node, frames: tuple[CapturedSegment, ...],
                  timed: bool = True) -> list[_Node]:
        children: list[_Node] = []
        for dst in ("client", "server"):
            if node.flight[dst]:
                children += self._deliver(node, dst)
                children.append(self._lose(node, dst))
        if node.index < len(frames):
            children += self._send(node, frames[node.index], timed)
        return children

    @staticmethod
    def _fork(node: _Node) -> _Node:
        """A copy of ``node`` to change: the network and the open step deep, the rest
        shallow (their items are never changed in place, only replaced)."""
        history = node.network.history  # its events are frozen: shared, not copied
        network = copy.deepcopy(node.network, {id(history): list(history)})
        return _Node(network=network, index=node.index,
                     flight={k: list(v) for k, v in node.flight.items()},
                     pending={k: list(v) for k, v in node.pending.items()},
                     cost=list(node.cost), out=node.out, current=copy.deepcopy(node.current),
                     fields=dict(node.fields), sent_at=dict(node.sent_at),
                     dup_ack_at=dict(node.dup_ack_at),
                     first_actions=list(node.first_actions), error=node.error)

    def _deliver(self, node: _Node, dst: str) -> list[_Node]:
        child = self._fork(node)
        held = child.flight[dst].pop(0)
        receiver = child.network.endpoint(dst)
        assert child.current is not None
        problem = _arrival_problem(receiver, held.seg)
        if problem is not None:
            child.cost[_VIOLATIONS] += 1
            child.current.problems.append(problem)
        child.network.history.append(Delivered(held.seg))
        tcb = receiver.tcb
        if (tcb is not None and _pure_ack(held.seg) and tcb.SND_UNA is not None
                and held.seg.ack == tcb.SND_UNA and tcb.SND_UNA != tcb.SND_NXT):
            child.dup_ack_at[dst] = held.time
        replies = receiver.segment_arrives(held.seg)
        self._take_notes(child, receiver)
        origin = f"the {dst}'s answer to #{held.seg.id}"
        return self._replies(child, dst, replies, held.time + self.timing.flight, origin)

    def _replies(self, node: _Node, role: str, replies: list[Segment], formed: float,
                 origin: str) -> list[_Node]:
        """``node`` with each of ``replies`` either pending (to be seen in the capture, or,
        for a pure ACK, to ride on a later segment) or lost before the capture point:
        every combination."""
        nodes = [node]
        for reply in replies:
            forks = []
            wait = max(self.timing.hold, DELAYED_ACK_MAX) if _pure_ack(reply) else self.timing.hold
            for n in nodes:
                lost = self._fork(n)
                n.pending[role].append(_Pending(reply, formed + wait, origin, formed))
                forks.append(n)
                numbered = self._put(lost, reply)
                if numbered.seg_len:
                    lost.sent_at[role, numbered.seq] = formed
                lost.cost[_UNSEEN] += 1
                lost.lose(numbered, f"#{numbered.id} {describe(numbered)}, {origin}, is not "
                                    f"in the capture: it was lost before the capture point")
                forks.append(lost)
            nodes = forks
        return nodes

    def _lose(self, node: _Node, dst: str) -> _Node:
        child = self._fork(node)
        held = child.flight[dst].pop(0)
        child.lose(held.seg, f"#{held.seg.id} (frame {held.frame}) was lost after the "
                             f"capture point: the capture saw it, the {dst} never got it")
        return child

    def _put(self, node: _Node, seg: Segment) -> Segment:
        numbered = Segment(node.network.next_id, seg.src, seg.dst, seg.flags, seg.seq,
                           seg.ack, seg.len, seg.wnd)
        node.network.next_id += 1
        node.network.history.append(Sent(numbered))
        return numbered

    def _send(self, node: _Node, captured: CapturedSegment, timed: bool = True) -> list[_Node]:
        """Children of ``node`` in which the next frame, ``captured``, is sent (``timed``:
        only if everything in flight or pending is still plausible at its time)."""
        t = captured.time
        for copies in node.flight.values():
            if timed and any(t - c.time > self.timing.flight for c in copies):
                return []  # a segment in flight too long must have arrived or been lost
        for pend in node.pending.values():
            if timed and any(p.deadline < t for p in pend):
                return []  # a reply that never showed up in time was lost (another branch)
        base = self._fork(node)
        self._close_step(base)
        role = self.connection.role(captured)
        seg = Segment.make(",".join(captured.flags), captured.seq, captured.ack,
                           len=captured.len, wnd=captured.wnd, src=role, dst=_PEER[role])
        base.current = _Open(captured.frame, len(base.network.history), seg,
                             list(base.first_actions) if base.index == 0 else [])
        base.first_actions = []
        in_flight = sum(len(c) for c in base.flight.values())
        base.cost[_DEFERRALS] += in_flight
        crossing = base.flight[role]
        if crossing:
            ids = ", ".join(f"#{c.seg.id}" for c in crossing)
            base.current.notes.append(
                f"frame {captured.frame} crossed {ids} in flight: the {role} sent it "
                f"before {'that' if len(crossing) == 1 else 'those'} arrived")

        sender = base.network.endpoint(role)
        pending = base.pending[role]
        for j, expected in enumerate(pending):
            if same(expected.seg, seg):
                child = base
                skipped = pending[:j]
                overtaken = [p for p in skipped if not _superseded(p.seg, seg)]
                child.pending[role] = overtaken + pending[j + 1:]
                if overtaken:
                    child.cost[_DEFERRALS] += len(overtaken)
                    assert child.current is not None
                    child.current.notes.append(
                        f"frame {captured.frame} overtook "
                        f"{', '.join(describe(p.seg) for p in overtaken)} before the capture "
                        f"point")
                return [self._on_wire(child, role, seg, captured, expected.formed)]

        pending[:] = [p for p in pending if not _superseded(p.seg, seg)]
        children = []
        gap = self._gap(sender, seg)
        if gap:
            gapped = self._fork(base)
            gsender = gapped.network.endpoint(role)
            unseen = gsender.send(gap)
            assert gapped.current is not None
            gapped.current.actions.append(f"{role} send {gap}")
            origin = f"the {role}'s first {gap} bytes"
            for n in self._replies(gapped, role, unseen, t, origin):
                if n.pending[role] and n.pending[role][-1].seg == unseen[-1]:
                    assert n.current is not None
                    n.current.notes.append(
                        f"frame {captured.frame} starts {gap} bytes beyond what the {role} "
                        f"had sent: those bytes went first and were overtaken before the "
                        f"capture point (they show up later)")
                children.append(self._infer_and_send(n, role, seg, captured))
        children.append(self._infer_and_send(base, role, seg, captured))
        return children

    @staticmethod
    def _gap(sender: Endpoint, seg: Segment) -> int:
        """Bytes between SND.NXT and a data segment or FIN that starts beyond it."""
        tcb = sender.tcb
        if (tcb is None or tcb.SND_NXT is None or sender.state not in
                (State.ESTABLISHED, State.CLOSE_WAIT) or not (seg.len or seg.has(Flag.FIN))
                or seg.has(Flag.SYN) or not seq_lt(tcb.SND_NXT, seg.seq)):
            return 0
        gap = seq_sub(seg.seq, tcb.SND_NXT)
        return gap if gap <= 65535 else 0

    def _infer_and_send(self, node: _Node, role: str, seg: Segment,
                        captured: CapturedSegment) -> _Node:
        sender = node.network.endpoint(role)
        assert node.current is not None
        actions, problem = self._send_side(node, sender, seg, captured.time)
        node.current.actions += actions
        if problem is not None:
            node.cost[_VIOLATIONS] += 1
            node.current.problems.append(problem)
        return self._on_wire(node, role, seg, captured)

    def _on_wire(self, node: _Node, role: str, seg: Segment, captured: CapturedSegment,
                 formed: float | None = None) -> _Node:
        """Put the captured segment on the wire (``formed``: when the model formed it, if
        it was pending; else it was formed now)."""
        self._take_notes(node, node.network.endpoint(role))
        numbered = self._put(node, seg)
        node.fields[numbered.id] = {"frame": captured.frame, **self.rel[node.index]}
        if numbered.seg_len:
            node.sent_at[role, numbered.seq] = captured.time if formed is None else formed
        assert node.current is not None
        node.current.seg = numbered
        for p in node.pending[role]:  # sent when formed, even if captured later
            if p.seg.seg_len and (role, p.seg.seq) not in node.sent_at:
                node.sent_at[role, p.seg.seq] = p.formed
        node.flight[_PEER[role]].append(_Copy(numbered, captured.time, captured.frame))
        node.index += 1
        return node

    def _take_notes(self, node: _Node, endpoint: Endpoint) -> None:
        if endpoint.notes:
            assert node.current is not None
            node.cost[_DIFFERENCES] += len(endpoint.notes)
            node.current.notes += endpoint.notes
            endpoint.notes.clear()

    def _close_step(self, node: _Node) -> None:
        """Write the step being written, then the author's steps that follow it."""
        open_ = node.current
        if open_ is None:
            return
        step = step_json(node.network, open_.start, "", "", open_.actions, node.fields,
                         frame=open_.frame)
        if open_.notes:
            step["notes"] = list(open_.notes)
        node.out = (node.out, FrameStep(open_.frame, open_.seg, node.fields[open_.seg.id],
                                        open_.actions, open_.notes, open_.problems, step,
                                        open_.losses))
        node.current = None
        # what is written is done with: keep only what later steps can still show (the
        # segments in flight, the sequence space not yet acknowledged), so that a node
        # stays small however long the capture
        net = node.network
        net.history = []
        node.fields = {c.seg.id: node.fields[c.seg.id]
                       for copies in node.flight.values() for c in copies}
        unacked = {(ep.name, u.seq) for ep in (net.client, net.server) if ep.tcb is not None
                   for u in ep.tcb.unacked}
        node.sent_at = {k: v for k, v in node.sent_at.items() if k in unacked}
        if node.error is not None:
            return
        try:
            for extra in self.after_frame(net, open_.frame):
                node.out = (node.out, extra)
        except Exception as err:  # noqa: BLE001 - re-raised if this explanation wins
            node.error = err
            node.cost[_VIOLATIONS] += 1

    @staticmethod
    def _say_why(node: _Node) -> list[FrameStep | dict[str, Any]]:
        """The winner's steps; the first step with a loss says why this explanation."""
        losses = node.cost[_LOSSES]
        steps: list[FrameStep | dict[str, Any]] = []
        chain = node.out
        while chain is not None:
            chain, step = chain
            steps.append(step)
        steps.reverse()
        first = next((s for s in steps if isinstance(s, FrameStep) and s.losses), None)
        if first is not None:
            why = (f"A capture cannot show where a segment was lost; of the explanations the "
                   f"model accepts, the replay takes the one with the fewest losses "
                   f"({losses} in all).")
            first.notes.insert(0, why)
            first.step["notes"] = list(first.notes)
        return steps

    def _finish(self, node: _Node, strict: bool = True) -> _Node | None:
        end = self.connection.segments[-1].time
        if strict and any(p.deadline < end for pend in node.pending.values() for p in pend):
            return None
        node = self._fork(node)
        self._close_step(node)
        return node

    # -- relative sequence numbers, as Wireshark shows them ----------------------------

    def _relative_fields(self) -> list[dict[str, Any]]:
        base: dict[str, int] = {}
        out = []
        start = self.connection.segments[0].time
        for s in self.connection.segments:
            role = self.connection.role(s)
            peer = _PEER[role]
            if role not in base:
                base[role] = s.seq if "SYN" in s.flags else seq_add(s.seq, -1)
            if s.ack is not None and peer not in base:
                base[peer] = seq_add(s.ack, -1)
            out.append({"time_ms": round((s.time - start) * 1000, 3),
                        "rel_seq": seq_sub(s.seq, base[role]),
                        "rel_ack": None if s.ack is None else seq_sub(s.ack, base[peer])})
        return out

    # -- the sender --------------------------------------------------------------------

    def _send_side(self, node: _Node, x: Endpoint, seg: Segment,
                   time: float) -> tuple[list[str], str | None]:
        state = x.state
        try:
            actions, produced = self._infer(node, x, seg, time)
        except (ModelError, _Mismatch) as err:
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

    def _infer(self, node: _Node, x: Endpoint, seg: Segment,
               time: float) -> tuple[list[str], list[Segment]]:
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
                return self._retransmit(node, x, seg, time)
            if seg.has(Flag.ACK):
                raise _Mismatch(f"{name} sends {describe(seg)}, but in state {state.value} it "
                                f"has no SYN,ACK to send")
            return [f"{name} connect"], x.open(passive=False)
        snd_nxt = tcb.SND_NXT if tcb is not None else None
        if seg.has(Flag.FIN):
            if (tcb is not None and tcb.fin_seq is not None
                    and seq_add(seg.seq, seg.len) == tcb.fin_seq):
                return self._retransmit(node, x, seg, time)
            actions: list[str] = []
            out: list[Segment] = []
            if seg.len > 0:
                actions.append(f"{name} send {seg.len}")
                out += x.send(seg.len)
            actions.append(f"{name} close")
            return actions, out + x.close()
        if seg.len > 0:
            if snd_nxt is not None and seq_lt(seg.seq, snd_nxt):
                return self._retransmit(node, x, seg, time)
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

    def _retransmit(self, node: _Node, x: Endpoint, seg: Segment,
                    time: float) -> tuple[list[str], list[Segment]]:
        running = [name for name, _ in x.timers()]
        if "retransmission" not in running:
            raise _Mismatch(f"{x.name} sends again what it sent before, but in state "
                            f"{x.state.value} it has nothing to retransmit")
        actions = []
        while x.timers()[0][0] != "retransmission":  # a delayed ACK fires first
            x.timeout()
            actions.append(f"{x.name} timeout")
        tcb = x.tcb
        assert tcb is not None
        rto, unit = tcb.rto, tcb.unacked[0]
        last = node.sent_at.get((x.name, unit.seq))
        dup_ack = node.dup_ack_at.get(x.name)
        if (last is not None and unit.seq == seg.seq and time - last < RETRANSMIT_FLOOR
                and (dup_ack is None or dup_ack < last)):
            raise _Mismatch(f"{x.name} sends again what it sent {(time - last) * 1000:.2g} ms "
                            f"before, with no duplicate ACK between: no timer of TCP fires "
                            f"that soon")
        assert node.current is not None
        if (last is not None and unit.seq == seg.seq and dup_ack is not None
                and dup_ack >= last):
            node.current.notes.append(
                f"{x.name} sends it again {(time - last) * 1000:.0f} ms after the last copy, "
                f"on a duplicate ACK (Linux's fast retransmit, RFC 5681 §3.2); the model "
                f"retransmits only when its timer ({rto:g} s) expires")
        elif last is not None and unit.seq == seg.seq and abs((time - last) - rto) > 0.2 * rto:
            node.current.notes.append(
                f"{x.name} sends it again {(time - last) * 1000:.0f} ms after the last copy; "
                f"the model's retransmission timer stood at {rto:g} s (Linux measures the "
                f"round trip, RFC 6298, and probes for a lost tail sooner)")
        return [*actions, f"{x.name} timeout"], x.timeout()


def _arrival_problem(y: Endpoint, seg: Segment) -> str | None:
    """Why ``y``'s state cannot accept ``seg`` on a healthy path (RFC 9293 §3.10.7), or None.

    A duplicate (sequence space wholly before RCV.NXT) is fine: retransmissions make
    them. Data beyond RCV.NXT inside the window is fine too: something before it was
    lost or is late.
    """
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
        if seg.ack is not None and (seq_le(seg.ack, tcb.ISS) or seq_lt(tcb.SND_NXT, seg.ack)):
            return (f"{describe(seg)} reaches {where}: SEG.ACK {seg.ack} does not "
                    f"acknowledge its SYN (it must be {tcb.SND_NXT}; RFC 9293 §3.10.7.3)")
        return None
    assert tcb.RCV_NXT is not None
    if (state is State.SYN_RECEIVED and seg.has(Flag.SYN) and seg.has(Flag.ACK)
            and seg.seq == tcb.IRS):
        return None  # simultaneous open, Figure 7 of RFC 9293 §3.5
    if not acceptable(seg.seq, seg.seg_len, tcb.RCV_NXT, tcb.RCV_WND):
        if seg.seg_len and seq_le(seq_add(seg.seq, seg.seg_len), tcb.RCV_NXT):
            return None  # a duplicate: answered with an ACK
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

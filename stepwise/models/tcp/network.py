"""Two endpoints and the network between them: the scenario runner lessons are played on.

Theory of operation
===================

A :class:`Network` holds a ``client`` and a ``server`` :class:`Endpoint` and the
segments in flight between them, oldest first. Nothing happens by itself: each call is
one event.

* user calls -- :meth:`Network.listen`, :meth:`~Network.connect`, :meth:`~Network.send`,
  :meth:`~Network.close`, :meth:`~Network.abort` on a named endpoint; the segments the
  endpoint sends join the end of the flight;
* :meth:`Network.deliver` hands the *oldest* segment in flight to its destination,
  whose replies join the end of the flight (the network is FIFO: no reordering);
* :meth:`Network.drop` loses the oldest segment in flight;
* :meth:`Network.timeout` fires a named endpoint's earliest timer.

Every segment sent gets the next id (1, 2, 3, ...), retransmissions included, and the
network records what happens in :attr:`Network.history` as :class:`Sent`,
:class:`Delivered` and :class:`Dropped` events, which the trace compiler reads.

A call that is not allowed raises :class:`ModelError` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .actions import Action, parse_action
from .endpoint import Endpoint
from .errors import ModelError
from .segment import Segment
from .states import State


@dataclass(frozen=True)
class Sent:
    """``segment`` was put on the wire."""

    segment: Segment


@dataclass(frozen=True)
class Delivered:
    """``segment`` reached its destination."""

    segment: Segment


@dataclass(frozen=True)
class Dropped:
    """``segment`` was lost."""

    segment: Segment


NetworkEvent = Sent | Delivered | Dropped


@dataclass(frozen=True)
class Timer:
    """A running timer: ``endpoint``'s ``name`` timer, started with ``seconds``."""

    endpoint: str
    name: str
    seconds: float


#: Why a 'deliver' or 'drop' failed, and what to do (after "nothing in flight to ...").
_NOTHING_IN_FLIGHT = (": every segment sent so far has been delivered or dropped; remove this "
                      "action, or have an endpoint send something first")


@dataclass
class Network:
    """A client, a server, and the FIFO of segments in flight between them.

    Build one with :meth:`create`. Compare two networks with ``==`` (the whole state).
    """

    client: Endpoint
    server: Endpoint
    in_flight: list[Segment] = field(default_factory=list)
    history: list[NetworkEvent] = field(default_factory=list)
    next_id: int = 1

    @classmethod
    def create(
        cls,
        client_iss: int,
        server_iss: int,
        *,
        client_delayed_ack: bool = False,
        server_delayed_ack: bool = False,
    ) -> Network:
        """A network whose endpoints are both CLOSED, with the given ISNs (0 .. 2**32-1)."""
        return cls(
            Endpoint("client", "server", client_iss, delayed_ack=client_delayed_ack),
            Endpoint("server", "client", server_iss, delayed_ack=server_delayed_ack),
        )

    def endpoint(self, name: str) -> Endpoint:
        """The endpoint called ``name`` (``"client"`` or ``"server"``).

        Raises:
            ValueError: any other name.
        """
        if name == "client":
            return self.client
        if name == "server":
            return self.server
        raise ValueError(f"no endpoint {name!r}: the endpoints are client and server")

    def states(self) -> dict[str, State]:
        """Both endpoints' states, ``{"client": ..., "server": ...}``."""
        return {"client": self.client.state, "server": self.server.state}

    def timers(self) -> list[Timer]:
        """The running timers, client's first, each endpoint's earliest first."""
        return [Timer(ep.name, name, seconds) for ep in (self.client, self.server)
                for name, seconds in ep.timers()]

    def _put(self, segments: list[Segment]) -> list[Segment]:
        numbered = []
        for seg in segments:
            seg = replace(seg, id=self.next_id)
            self.next_id += 1
            self.in_flight.append(seg)
            self.history.append(Sent(seg))
            numbered.append(seg)
        return numbered

    # user calls, each raising ModelError with nothing changed when refused
    def listen(self, name: str) -> list[Segment]:
        """Passive OPEN on ``name`` (RFC 9293 §3.10.1). Returns the segments sent (none)."""
        return self._put(self.endpoint(name).open(passive=True))

    def connect(self, name: str) -> list[Segment]:
        """Active OPEN on ``name`` (§3.10.1): sends a SYN. Returns the segments sent."""
        return self._put(self.endpoint(name).open(passive=False))

    def send(self, name: str, nbytes: int) -> list[Segment]:
        """SEND ``nbytes`` bytes from ``name`` (§3.10.2). Returns the segments sent."""
        return self._put(self.endpoint(name).send(nbytes))

    def close(self, name: str) -> list[Segment]:
        """CLOSE on ``name`` (§3.10.4). Returns the segments sent."""
        return self._put(self.endpoint(name).close())

    def abort(self, name: str) -> list[Segment]:
        """ABORT on ``name`` (§3.10.5). Returns the segments sent."""
        return self._put(self.endpoint(name).abort())

    def timeout(self, name: str) -> list[Segment]:
        """Fire ``name``'s earliest timer (§3.10.8). Returns the segments sent.

        Raises:
            ModelError: no timer is running on that endpoint.
        """
        return self._put(self.endpoint(name).timeout())

    def deliver(self) -> list[Segment]:
        """Deliver the oldest segment in flight. Returns the replies (now in flight).

        Raises:
            ModelError: ``nothing in flight to deliver`` (and what to do).
        """
        if not self.in_flight:
            raise ModelError(f"nothing in flight to deliver{_NOTHING_IN_FLIGHT}")
        seg = self.in_flight.pop(0)
        self.history.append(Delivered(seg))
        return self._put(self.endpoint(seg.dst).segment_arrives(seg))

    def drop(self) -> Segment:
        """Lose the oldest segment in flight; return it.

        Raises:
            ModelError: ``nothing in flight to drop`` (and what to do).
        """
        if not self.in_flight:
            raise ModelError(f"nothing in flight to drop{_NOTHING_IN_FLIGHT}")
        seg = self.in_flight.pop(0)
        self.history.append(Dropped(seg))
        return seg

    def apply(self, action: Action | str) -> list[NetworkEvent]:
        """Run one action (an :class:`Action` or a string such as ``"client send 120"``).

        Returns the history events it caused, in order.

        Raises:
            ActionSyntaxError: a string that is not an action.
            ModelError: the action is refused; nothing changed.
        """
        if isinstance(action, str):
            action = parse_action(action)
        start = len(self.history)
        name = action.endpoint
        if name is None:
            if action.verb == "deliver":
                self.deliver()
            else:
                self.drop()
        elif action.verb == "listen":
            self.listen(name)
        elif action.verb == "connect":
            self.connect(name)
        elif action.verb == "send":
            assert action.nbytes is not None
            self.send(name, action.nbytes)
        elif action.verb == "close":
            self.close(name)
        elif action.verb == "abort":
            self.abort(name)
        else:
            self.timeout(name)
        return self.history[start:]

    def run(self, *actions: Action | str) -> list[NetworkEvent]:
        """Apply several actions in order; return all the events they caused."""
        events: list[NetworkEvent] = []
        for action in actions:
            events += self.apply(action)
        return events

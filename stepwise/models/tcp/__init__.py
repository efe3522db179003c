"""A model of one TCP connection per RFC 9293: two endpoints and the network between them.

Pure Python, no I/O. The public API:

* :class:`State`, :data:`TRANSITIONS` -- the 11 states and the state diagram (§3.3.2);
* :class:`Segment`, :class:`Flag` -- segments on the wire;
* :class:`Endpoint` -- one endpoint: user calls, SEGMENT ARRIVES, timeouts (§3.10);
* :class:`Network`, :class:`Action`, :func:`parse_action` -- the two-endpoint scenario
  runner and the action vocabulary lessons are written in;
* :class:`ModelError` -- what the RFC does not allow.
"""

from __future__ import annotations

from .actions import ENDPOINT_VERBS, NETWORK_VERBS, Action, ActionSyntaxError, parse_action
from .endpoint import (
    DELAYED_ACK_SECONDS,
    INITIAL_RTO,
    MSL,
    TIME_WAIT_SECONDS,
    WINDOW,
    Endpoint,
    acceptable,
)
from .errors import ModelError
from .network import Delivered, Dropped, Network, NetworkEvent, Sent, Timer
from .segment import FLAG_ORDER, Flag, Segment
from .states import ALL_STATES, SYNCHRONIZED_STATES, TRANSITIONS, Event, State

__all__ = [
    "ALL_STATES",
    "DELAYED_ACK_SECONDS",
    "ENDPOINT_VERBS",
    "FLAG_ORDER",
    "INITIAL_RTO",
    "MSL",
    "NETWORK_VERBS",
    "SYNCHRONIZED_STATES",
    "TIME_WAIT_SECONDS",
    "TRANSITIONS",
    "WINDOW",
    "Action",
    "ActionSyntaxError",
    "Delivered",
    "Dropped",
    "Endpoint",
    "Event",
    "Flag",
    "ModelError",
    "Network",
    "NetworkEvent",
    "Segment",
    "Sent",
    "State",
    "Timer",
    "acceptable",
    "parse_action",
]

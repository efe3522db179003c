"""The model's one error type."""

from __future__ import annotations


class ModelError(Exception):
    """An action that RFC 9293 does not allow in the current state, or that cannot happen.

    Raised by the user calls of :class:`~stepwise.models.tcp.endpoint.Endpoint` and by the
    scenario runner :class:`~stepwise.models.tcp.network.Network`, always *before* anything
    changes: after a ``ModelError`` the endpoint or network is exactly as it was.

    The message names the endpoint, its state, the call, the RFC's answer, what an
    author can do about it and the RFC section, e.g.
    ``client: cannot SEND in state CLOSED: connection does not exist; connect first
    (...) (RFC 9293 §3.10.2)``; network errors read
    ``nothing in flight to deliver`` and the like.
    """

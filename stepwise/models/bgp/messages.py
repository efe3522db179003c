"""BGP messages (RFC 4271 §4) with their sizes on the wire.

A message is what a speaker writes into its TCP connection: its ``length`` is the
number of bytes it takes in the byte stream (the 19-byte header included), so the TCP
model's sequence numbers advance by exactly what BGP sends. No options are modelled:
OPEN carries no optional parameters (so no capabilities, and AS numbers are 2 octets,
RFC 4271's own encoding), UPDATE carries ORIGIN, AS_PATH and NEXT_HOP.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

#: The common header: marker (16 octets), length (2), type (1).
HEADER = 19
#: OPEN without optional parameters: version (1), My AS (2), Hold Time (2), BGP
#: Identifier (4), Opt Parm Len (1).
OPEN_BODY = 10
#: The message types, by their code (§4.1).
TYPES = {1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE"}

#: NOTIFICATION error codes and subcodes, with RFC 4271's names (§4.5, §6).
ERRORS: dict[int, tuple[str, dict[int, str]]] = {
    1: ("Message Header Error", {1: "Connection Not Synchronized", 2: "Bad Message Length",
                                 3: "Bad Message Type"}),
    2: ("OPEN Message Error", {1: "Unsupported Version Number", 2: "Bad Peer AS",
                               3: "Bad BGP Identifier", 4: "Unsupported Optional Parameter",
                               6: "Unacceptable Hold Time"}),
    3: ("UPDATE Message Error", {1: "Malformed Attribute List",
                                 2: "Unrecognized Well-known Attribute",
                                 3: "Missing Well-known Attribute",
                                 4: "Attribute Flags Error", 5: "Attribute Length Error",
                                 6: "Invalid ORIGIN Attribute", 8: "Invalid NEXT_HOP Attribute",
                                 9: "Optional Attribute Error", 10: "Invalid Network Field",
                                 11: "Malformed AS_PATH"}),
    4: ("Hold Timer Expired", {}),
    5: ("Finite State Machine Error", {}),
    6: ("Cease", {}),
}


def _prefix_octets(prefix: ipaddress.IPv4Network) -> int:
    """A prefix in NLRI or Withdrawn Routes: its length (1 octet) and as many octets as
    the prefix length needs (§4.3)."""
    return 1 + (prefix.prefixlen + 7) // 8


@dataclass(frozen=True)
class Message:
    """One BGP message.

    Attributes:
        type: ``OPEN``, ``UPDATE``, ``NOTIFICATION`` or ``KEEPALIVE``.
        fields: what the message says (``as``, ``hold_time``, ``id`` for OPEN;
            ``announce``/``withdraw``, ``as_path``, ``next_hop`` for UPDATE; ``code``,
            ``subcode`` and their names for NOTIFICATION).
        length: its size on the wire, in octets.
        malformed: the header's marker is broken (a Message Header Error on arrival).
    """

    type: str
    fields: dict[str, Any] = field(default_factory=dict)
    length: int = HEADER
    malformed: bool = False

    def to_json(self) -> dict[str, Any]:
        """``{"type", "length", ...fields}`` (and ``"malformed": true``), for traces."""
        out = {"type": self.type, "length": self.length, **self.fields}
        if self.malformed:
            out["malformed"] = True
        return out

    def label(self) -> str:
        """A few words of what it says: ``AS 65001, hold 90 s, id 10.0.0.1``."""
        f = self.fields
        if self.malformed:
            return "broken marker"
        if self.type == "OPEN":
            return f"AS {f['as']}, hold {f['hold_time']} s, id {f['id']}"
        if self.type == "UPDATE":
            parts = [f"+{p}" for p in f.get("announce", [])] + \
                [f"-{p}" for p in f.get("withdraw", [])]
            path = " ".join(map(str, f.get("as_path", [])))
            return " ".join(parts) + (f" AS_PATH {path}" if f.get("announce") else "")
        if self.type == "NOTIFICATION":
            return f"{f['code']}/{f['subcode']} {f['error']}" + \
                (f": {f['suberror']}" if f.get("suberror") else "")
        return ""


def open_message(asn: int, hold_time: int, bgp_id: str) -> Message:
    """OPEN (§4.2), version 4, no optional parameters: 29 octets."""
    return Message("OPEN", {"version": 4, "as": asn, "hold_time": hold_time, "id": bgp_id},
                   HEADER + OPEN_BODY)


def keepalive() -> Message:
    """KEEPALIVE (§4.4): the header alone, 19 octets."""
    return Message("KEEPALIVE")


def malformed_keepalive() -> Message:
    """A KEEPALIVE whose marker is not all ones: the receiver's Message Header Error."""
    return Message("KEEPALIVE", malformed=True)


def update(*, announce: tuple[str, ...] = (), withdraw: tuple[str, ...] = (),
           as_path: tuple[int, ...] = (), next_hop: str | None = None) -> Message:
    """UPDATE (§4.3) with ORIGIN (IGP), AS_PATH (one AS_SEQUENCE of 2-octet ASes) and
    NEXT_HOP when it announces; its length counts every field."""
    withdrawn = sum(_prefix_octets(ipaddress.IPv4Network(p)) for p in withdraw)
    nlri = sum(_prefix_octets(ipaddress.IPv4Network(p)) for p in announce)
    attributes = 0
    fields: dict[str, Any] = {}
    if withdraw:
        fields["withdraw"] = list(withdraw)
    if announce:
        # flags, type code and length octets (3) before each value
        attributes = (3 + 1) + (3 + 2 + 2 * len(as_path)) + (3 + 4)
        fields.update(announce=list(announce), origin="IGP", as_path=list(as_path),
                      next_hop=next_hop)
    return Message("UPDATE", fields, HEADER + 2 + withdrawn + 2 + attributes + nlri)


def notification(code: int, subcode: int = 0) -> Message:
    """NOTIFICATION (§4.5) without data: 21 octets."""
    error, subcodes = ERRORS[code]
    fields: dict[str, Any] = {"code": code, "subcode": subcode, "error": error}
    if subcode in subcodes:
        fields["suberror"] = subcodes[subcode]
    return Message("NOTIFICATION", fields, HEADER + 2)

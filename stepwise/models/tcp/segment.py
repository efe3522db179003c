"""TCP segments as the model sees them: the header fields that matter, no payload bytes.

Sequence numbers are absolute 32-bit values and compare modulo 2**32 (RFC 9293 §3.4,
"sequence number arithmetic"): :func:`seq_lt` and friends say whether ``a`` comes
before ``b`` on the circle, the way RFC 1982 serial numbers do, so a connection whose
ISN is near 2**32 - 1 works across the wrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: Sequence numbers live in [0, 2**32).
SEQ_MOD = 2**32


class Flag(StrEnum):
    """A control bit. The members are declared in the canonical order of :data:`FLAG_ORDER`."""

    SYN = "SYN"
    RST = "RST"
    FIN = "FIN"
    PSH = "PSH"
    ACK = "ACK"

    def __repr__(self) -> str:
        return self.value


#: The order flags are listed in everywhere (traces, reprs): SYN, RST, FIN, PSH, ACK.
#: It gives the names Wireshark shows: ``SYN,ACK``, ``FIN,ACK``, ``RST,ACK``, ``PSH,ACK``.
FLAG_ORDER: tuple[Flag, ...] = tuple(Flag)


def seq_add(a: int, n: int) -> int:
    """Return ``a + n`` modulo 2**32."""
    return (a + n) % SEQ_MOD


def seq_sub(a: int, b: int) -> int:
    """Return the distance from ``b`` forward to ``a``, in [0, 2**32)."""
    return (a - b) % SEQ_MOD


def seq_lt(a: int, b: int) -> bool:
    """True if ``a`` comes strictly before ``b`` (less than half the circle behind it)."""
    return a != b and seq_sub(b, a) < SEQ_MOD // 2


def seq_le(a: int, b: int) -> bool:
    """True if ``a`` equals or comes before ``b`` (modulo 2**32)."""
    return a == b or seq_lt(a, b)


def in_window(x: int, start: int, size: int) -> bool:
    """True if ``start =< x < start + size`` on the sequence-number circle."""
    return seq_sub(x, start) < size


@dataclass(frozen=True)
class Segment:
    """One TCP segment on the wire.

    Attributes:
        id: unique, increasing number given by the network when the segment is sent
            (0 for a segment an endpoint has formed but not yet handed to the network).
        src, dst: the sending and receiving endpoint's name (``"client"``, ``"server"``).
        flags: control bits, in the order of :data:`FLAG_ORDER`.
        seq: SEG.SEQ, absolute, 0 .. 2**32-1.
        ack: SEG.ACK, or None exactly when ACK is not among ``flags``.
        len: bytes of data (SEG.LEN less the SYN and FIN, which each take one sequence
            number; see :attr:`seg_len`).
        wnd: SEG.WND, the window advertised by the sender, in bytes.

    Raises:
        ValueError: if the fields are inconsistent (unsorted flags, ack without ACK, ...).
    """

    id: int
    src: str
    dst: str
    flags: tuple[Flag, ...]
    seq: int
    ack: int | None
    len: int
    wnd: int

    def __post_init__(self) -> None:
        if tuple(f for f in FLAG_ORDER if f in self.flags) != self.flags:
            raise ValueError(f"flags must be distinct, ordered SYN RST FIN PSH ACK: {self.flags}")
        if (self.ack is None) == (Flag.ACK in self.flags):
            raise ValueError("ack must be set exactly when the ACK flag is")
        for name, value in (("seq", self.seq), ("ack", self.ack)):
            if value is not None and not 0 <= value < SEQ_MOD:
                raise ValueError(f"{name} {value} is not a 32-bit sequence number")
        if self.len < 0 or not 0 <= self.wnd < 2**16:
            raise ValueError("len must be >= 0 and wnd a 16-bit value")

    @classmethod
    def make(
        cls,
        flags: str | tuple[Flag, ...],
        seq: int,
        ack: int | None = None,
        *,
        len: int = 0,
        wnd: int = 65535,
        src: str = "",
        dst: str = "",
        id: int = 0,
    ) -> Segment:
        """Build a segment, taking ``flags`` as e.g. ``"SYN,ACK"`` in any order."""
        if isinstance(flags, str):
            names = {f.strip() for f in flags.split(",") if f.strip()}
            flags = tuple(f for f in FLAG_ORDER if f.value in names)
        return cls(id, src, dst, flags, seq % SEQ_MOD, None if ack is None else ack % SEQ_MOD,
                   len, wnd)

    def has(self, flag: Flag) -> bool:
        """True if ``flag`` is set."""
        return flag in self.flags

    @property
    def seg_len(self) -> int:
        """SEG.LEN of RFC 9293: data bytes plus one for SYN and one for FIN."""
        return self.len + (Flag.SYN in self.flags) + (Flag.FIN in self.flags)

    @property
    def flag_names(self) -> list[str]:
        """The flags as strings, canonical order, e.g. ``["SYN", "ACK"]``."""
        return [f.value for f in self.flags]

    def to_json(self) -> dict[str, object]:
        """The trace-format fields of this segment (without ``fate``)."""
        return {
            "id": self.id,
            "src": self.src,
            "dst": self.dst,
            "flags": self.flag_names,
            "seq": self.seq,
            "ack": self.ack,
            "len": self.len,
            "wnd": self.wnd,
        }

    def __repr__(self) -> str:
        ack = f" ack={self.ack}" if self.ack is not None else ""
        route = f"{self.src}->{self.dst} " if self.src or self.dst else ""
        return (f"<#{self.id} {route}{','.join(self.flag_names) or '-'} seq={self.seq}{ack} "
                f"len={self.len} wnd={self.wnd}>")

"""Packet captures for lessons: read a pcap or pcapng file, pick one TCP connection, anonymise.

The files are read with dpkt (pcap and pcapng, any byte order, micro- or nanosecond
timestamps); the link layers handled are Ethernet (``tcpdump -i lo`` and ``-i eth0``),
Linux cooked captures v1 and v2 (``-i any``), BSD loopback and raw IP. Only the header
fields the TCP model needs are kept, and never a payload byte: a
:class:`CapturedSegment` has the payload's *length* (from the IP header, so a capture cut
short by a snap length still counts every byte) and nothing of its content.

:func:`pick_connection` groups the segments by connection (the two addresses and ports,
either direction) and returns one :class:`Connection`, the first in the file or the one
matching the ``client``/``server`` patterns (``127.0.0.1:47913``, ``[::1]:443``,
``127.0.0.1`` or a port number). The connection's client is the endpoint that sent the
first SYN without ACK (else the sender of its first segment). :func:`anonymise` then
replaces both addresses by the ones the lesson gives, so that no captured address goes
further than this module.

Every problem raises :class:`CaptureError` with a message and, where it has one, the
1-based frame number (frames are numbered as Wireshark does: every record of the file,
TCP or not).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import dpkt

#: The TCP control bits the model knows, in its canonical order, with their header bits.
FLAG_BITS: tuple[tuple[str, int], ...] = (
    ("SYN", dpkt.tcp.TH_SYN),
    ("RST", dpkt.tcp.TH_RST),
    ("FIN", dpkt.tcp.TH_FIN),
    ("PSH", dpkt.tcp.TH_PUSH),
    ("ACK", dpkt.tcp.TH_ACK),
)

# link-layer header types (https://www.tcpdump.org/linktypes.html)
_DLT_NULL, _DLT_EN10MB, _DLT_RAW, _DLT_LOOP = 0, 1, 101, 108
_DLT_RAW_OTHER = (12, 14)
_DLT_LINUX_SLL, _DLT_LINUX_SLL2 = 113, 276
_ETH_IPV4, _ETH_IPV6, _ETH_VLAN = 0x0800, 0x86DD, (0x8100, 0x88A8)
_AF_INET6 = (10, 24, 28, 30)  # Linux, BSD, FreeBSD, macOS

_PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


class CaptureError(Exception):
    """A capture file that cannot be read, or holds no connection to play.

    ``frame`` is the 1-based frame number the problem is in, or None.
    """

    def __init__(self, message: str, frame: int | None = None):
        super().__init__(message)
        self.message = message
        self.frame = frame

    def __str__(self) -> str:
        return f"frame {self.frame}: {self.message}" if self.frame is not None else self.message


@dataclass(frozen=True, order=True)
class Address:
    """An IP address and a TCP port."""

    ip: str
    port: int

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class AddressPattern:
    """What ``client:``/``server:`` name in a capture: an IP, a port, or both."""

    ip: str | None = None
    port: int | None = None

    def matches(self, address: Address) -> bool:
        return ((self.ip is None or ipaddress.ip_address(self.ip) == ipaddress.ip_address(
            address.ip)) and (self.port is None or self.port == address.port))

    def __str__(self) -> str:
        if self.ip is None:
            return str(self.port)
        if self.port is None:
            return self.ip
        return str(Address(self.ip, self.port))


def parse_pattern(value: Any) -> AddressPattern:
    """``127.0.0.1:47913``, ``[::1]:443``, ``127.0.0.1``, ``::1`` or a port (int or string).

    Raises:
        ValueError: anything else.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= 65535:
            return AddressPattern(port=value)
        raise ValueError(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    text = value.strip()
    if text.isdigit():
        return parse_pattern(int(text))
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(value)
        return AddressPattern(str(ipaddress.IPv6Address(host)), _port(port, value))
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return AddressPattern(str(ipaddress.IPv4Address(host)), _port(port, value))
    return AddressPattern(str(ipaddress.ip_address(text)))


def _port(text: str, value: Any) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(value)
    return int(text)


@dataclass(frozen=True)
class CapturedSegment:
    """One TCP segment as captured: header fields and the payload's length, no payload.

    Attributes:
        frame: the 1-based frame number in the file (as Wireshark numbers them).
        time: the capture's timestamp, seconds (since the epoch, as recorded).
        src, dst: the sender's and receiver's address and port.
        flags: the control bits among SYN, RST, FIN, PSH, ACK, in that order (URG,
            ECE and CWR are not modelled and left out).
        seq: SEG.SEQ; ack: SEG.ACK, or None when ACK is not set.
        len: payload bytes (from the IP header's length); wnd: the window field as sent
            (not scaled).
    """

    frame: int
    time: float
    src: Address
    dst: Address
    flags: tuple[str, ...]
    seq: int
    ack: int | None
    len: int
    wnd: int


@dataclass(frozen=True)
class Connection:
    """The segments of one TCP connection, in capture order, and which end is which."""

    client: Address
    server: Address
    segments: tuple[CapturedSegment, ...]

    def role(self, segment: CapturedSegment) -> str:
        """``"client"`` or ``"server"``: who sent ``segment``."""
        return "client" if segment.src == self.client else "server"


class _Reads:
    """A file wrapper that notices a short read: a record cut off by a truncated file."""

    def __init__(self, f: IO[bytes]):
        self.f, self.short = f, False
        self.name = getattr(f, "name", "")

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        if n > 0 and 0 < len(data) < n:
            self.short = True
        return data

    def seek(self, *args: Any) -> int:
        return self.f.seek(*args)

    def tell(self) -> int:
        return self.f.tell()


def _records(f: _Reads, magic: bytes) -> Iterator[tuple[float, bytes, int]]:
    """(timestamp, frame bytes, link type) of every record, in file order."""
    if magic in _PCAP_MAGICS:
        reader: Any = dpkt.pcap.Reader(f)
    else:
        reader = dpkt.pcapng.Reader(f)
    linktype = int(reader.datalink())
    for ts, buf in reader:
        yield float(ts) if isinstance(ts, Decimal) else ts, bytes(buf), linktype


def _network_layer(buf: bytes, linktype: int) -> tuple[int, bytes] | None:
    """(IP version, IP packet) from a frame of the given link type; None if not IP."""
    if linktype == _DLT_EN10MB:
        offset, ethertype = 14, struct.unpack_from("!H", buf, 12)[0]
        while ethertype in _ETH_VLAN:
            ethertype = struct.unpack_from("!H", buf, offset + 2)[0]
            offset += 4
    elif linktype == _DLT_LINUX_SLL:
        offset, ethertype = 16, struct.unpack_from("!H", buf, 14)[0]
    elif linktype == _DLT_LINUX_SLL2:
        offset, ethertype = 20, struct.unpack_from("!H", buf, 0)[0]
    elif linktype in (_DLT_NULL, _DLT_LOOP):
        family = struct.unpack_from("<I" if buf[:2] != b"\0\0" else "!I", buf, 0)[0]
        offset, ethertype = 4, _ETH_IPV6 if family in _AF_INET6 else _ETH_IPV4
    elif linktype in (_DLT_RAW, *_DLT_RAW_OTHER):
        offset, ethertype = 0, _ETH_IPV6 if buf[:1] and buf[0] >> 4 == 6 else _ETH_IPV4
    else:
        raise CaptureError(f"link-layer type {linktype} is not supported; capture with "
                           f"tcpdump -i lo, -i any or on an Ethernet interface")
    if ethertype == _ETH_IPV4:
        return 4, buf[offset:]
    if ethertype == _ETH_IPV6:
        return 6, buf[offset:]
    return None


def _segment(frame: int, ts: float, buf: bytes, linktype: int) -> CapturedSegment | None:
    """The TCP segment in one frame, or None for a frame that carries no TCP."""
    try:
        layer = _network_layer(buf, linktype)
    except struct.error:
        raise CaptureError("the frame is shorter than its link-layer header", frame) from None
    if layer is None:
        return None
    version, packet = layer
    try:
        if version == 4:
            ip: Any = dpkt.ip.IP(packet)
            if ip.p != dpkt.ip.IP_PROTO_TCP or ip.offset & dpkt.ip.IP_OFFMASK:
                return None
            ip_payload = ip.len - ip.hl * 4
            src, dst = str(ipaddress.IPv4Address(ip.src)), str(ipaddress.IPv4Address(ip.dst))
        else:
            ip = dpkt.ip6.IP6(packet)
            if ip.p != dpkt.ip.IP_PROTO_TCP:
                return None
            ext = sum(len(h) for h in getattr(ip, "all_extension_headers", []))
            ip_payload = ip.plen - ext
            src, dst = str(ipaddress.IPv6Address(ip.src)), str(ipaddress.IPv6Address(ip.dst))
        tcp = ip.data
        if not isinstance(tcp, dpkt.tcp.TCP):
            tcp = dpkt.tcp.TCP(bytes(tcp))
    except (dpkt.UnpackError, struct.error, ValueError):
        raise CaptureError("the frame is cut short before the end of its TCP header "
                           "(was the capture made with a small snap length?)", frame) from None
    length = ip_payload - tcp.off * 4
    if length < 0:
        raise CaptureError("the TCP header is longer than its IP packet", frame)
    flags = tuple(name for name, bit in FLAG_BITS if tcp.flags & bit)
    return CapturedSegment(
        frame=frame, time=ts, src=Address(src, tcp.sport), dst=Address(dst, tcp.dport),
        flags=flags, seq=tcp.seq, ack=tcp.ack if "ACK" in flags else None, len=length,
        wnd=tcp.win)


def read_capture(path: Path) -> list[CapturedSegment]:
    """Every TCP segment of a pcap or pcapng file, in file order (payload bytes dropped).

    Raises:
        CaptureError: not a capture file, a truncated one, an unsupported link type, a
            frame cut before the end of its TCP header, or no TCP segment at all.
        OSError: the file cannot be opened.
    """
    with path.open("rb") as raw:
        f = _Reads(raw)
        magic = f.read(4)
        f.seek(0)
        if magic not in _PCAP_MAGICS and magic != _PCAPNG_MAGIC:
            shown = magic.hex(" ") if magic else "nothing"
            raise CaptureError(f"not a pcap or pcapng file (it starts with {shown}; a "
                               f"capture starts with d4 c3 b2 a1, a1 b2 c3 d4 or 0a 0d 0d 0a)")
        segments: list[CapturedSegment] = []
        frame = 0
        try:
            for frame, (ts, buf, linktype) in enumerate(_records(f, magic), 1):
                if f.short:
                    break
                segment = _segment(frame, ts, buf, linktype)
                if segment is not None:
                    segments.append(segment)
        except (ValueError, dpkt.UnpackError, struct.error) as err:
            if f.short or isinstance(err, dpkt.NeedData):
                raise CaptureError(_truncated(frame)) from None
            raise CaptureError(f"not a readable pcap or pcapng file ({err})") from None
        if f.short:
            raise CaptureError(_truncated(frame - 1))
    if not segments:
        raise CaptureError("the capture holds no TCP segment")
    return segments


def _truncated(last_whole_frame: int) -> str:
    if last_whole_frame <= 0:
        return "the file is truncated before its first frame"
    return f"the file is truncated after frame {last_whole_frame}"


def _key(segment: CapturedSegment) -> tuple[Address, Address]:
    a, b = segment.src, segment.dst
    return (a, b) if a <= b else (b, a)


def connections(segments: list[CapturedSegment]) -> list[Connection]:
    """The TCP connections in ``segments``, in order of their first segment.

    Segments between the same two addresses and ports, either way, are one connection.
    """
    groups: dict[tuple[Address, Address], list[CapturedSegment]] = {}
    for segment in segments:
        groups.setdefault(_key(segment), []).append(segment)
    out = []
    for group in groups.values():
        opener = next((s for s in group if s.flags == ("SYN",)), group[0])
        out.append(Connection(opener.src, opener.dst, tuple(group)))
    return out


def pick_connection(segments: list[CapturedSegment], client: AddressPattern | None = None,
                    server: AddressPattern | None = None) -> Connection:
    """The first connection whose client and server match the patterns (None: any).

    Raises:
        CaptureError: no connection matches (the message lists those there are).
    """
    found = connections(segments)
    for conn in found:
        if ((client is None or client.matches(conn.client))
                and (server is None or server.matches(conn.server))):
            return conn
    wanted = " and ".join(f"{role} {p}" for role, p in (("client", client), ("server", server))
                          if p is not None)
    listed = ", ".join(f"{c.client} -> {c.server} (frame {c.segments[0].frame})"
                       for c in found[:10])
    more = f" and {len(found) - 10} more" if len(found) > 10 else ""
    raise CaptureError(f"no connection with {wanted}; the capture holds {listed}{more}")


def anonymise(connection: Connection, client: Address, server: Address) -> Connection:
    """The connection with both ends' addresses replaced by ``client`` and ``server``."""
    real = {connection.client: client, connection.server: server}
    return Connection(client, server, tuple(
        replace(s, src=real[s.src], dst=real[s.dst]) for s in connection.segments))

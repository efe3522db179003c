"""Record real Linux TCP conversations on a lossy path (``record_captures.py --lossy``).

Loopback has no loss, and this machine's kernel has no ``netem``; so each scenario sends
its segments through an NFQUEUE (iptables' ``NFQUEUE`` target, answered here with the
NetfilterQueue library) where a small rule decides each segment's fate: accept, drop, or
hold for some milliseconds. The queue sits on two hooks, and tcpdump on ``lo`` sees a
segment between them:

    sender -> OUTPUT hook -> [tcpdump -i lo] -> INPUT hook -> receiver

so a segment dropped on OUTPUT never reaches the capture (lost *before* the capture
point), one dropped on INPUT is in the capture but never arrives (lost *after* it), a
segment held on OUTPUT is overtaken before the capture point (the capture shows the
reordered order), and one held on INPUT is still in flight while later segments are
captured (segments sent both ways cross).

After each conversation both sockets' states are read with ``ss`` and written, with the
scenario's description, into ``NAME.json`` beside ``NAME.pcap``.
"""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dpkt

try:
    from netfilterqueue import NetfilterQueue
except ImportError as err:  # pragma: no cover - a recording machine only
    raise SystemExit("--lossy needs NetfilterQueue: apt-get install libnetfilter-queue-dev "
                     "&& pip install NetfilterQueue") from err

HOST = "127.0.0.1"
QUEUE = 7
NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT = 1, 3
REQUEST, RESPONSE = b"stepwise lossy request\n" * 4, b"stepwise lossy response\n" * 6

#: ss's state names -> RFC 9293's
SS_STATES = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN-SENT", "SYN-RECV": "SYN-RECEIVED",
             "FIN-WAIT-1": "FIN-WAIT-1", "FIN-WAIT-2": "FIN-WAIT-2", "TIME-WAIT": "TIME-WAIT",
             "CLOSE-WAIT": "CLOSE-WAIT", "LAST-ACK": "LAST-ACK", "CLOSING": "CLOSING",
             "CLOSED": "CLOSED"}


@dataclass(frozen=True)
class Seen:
    """One queued segment: where it is (``out``: OUTPUT, before the capture point) and who
    sent it (``from_server``), its flags and payload length."""

    out: bool
    from_server: bool
    flags: frozenset[str]
    len: int

    @property
    def pure_ack(self) -> bool:
        return self.flags == {"ACK"} and self.len == 0


Rule = Callable[[Seen, dict[str, Any]], "str | float"]


@dataclass
class Scenario:
    """A conversation (``run(port)``) and the rule every queued segment meets.

    ``rule(seen, memo)`` returns ``"accept"``, ``"drop"``, or a number of seconds to hold
    the segment before accepting it; ``memo`` is the scenario's own scratch dictionary.
    """

    name: str
    description: str
    port: int
    run: Callable[[int], None]
    rule: Rule
    memo: dict[str, Any] = field(default_factory=dict)


def _flags(tcp: Any) -> frozenset[str]:
    bits = (("SYN", dpkt.tcp.TH_SYN), ("RST", dpkt.tcp.TH_RST), ("FIN", dpkt.tcp.TH_FIN),
            ("ACK", dpkt.tcp.TH_ACK), ("PSH", dpkt.tcp.TH_PUSH))
    return frozenset(name for name, bit in bits if tcp.flags & bit)


def _queue_rules(port: int) -> list[list[str]]:
    return [[chain, "-p", "tcp", f"--{way}", str(port), "-j", "NFQUEUE", "--queue-num",
             str(QUEUE)] for chain in ("OUTPUT", "INPUT") for way in ("sport", "dport")]


def _states(port: int) -> dict[str, str]:
    """Both ends' states from ss: the client is the socket whose local port is not
    ``port``; the server the accepted one (not the listener). Missing: CLOSED."""
    out = subprocess.run(["ss", "-tanH", "-4", "state", "all"], capture_output=True,
                         text=True, check=True).stdout
    found = {"client": "CLOSED", "server": "CLOSED"}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        state, local, peer = parts[0], parts[3], parts[4]
        lport, pport = local.rsplit(":", 1)[1], peer.rsplit(":", 1)[1]
        if pport == str(port) and lport != str(port):
            found["client"] = SS_STATES.get(state, state)
        elif lport == str(port) and pport not in ("*", "0"):
            found["server"] = SS_STATES.get(state, state)
    return found


def _exchange(port: int, *, client_first: bool = True, linger0: bool = False,
              two_writes: bool = False, simultaneous: bool = False) -> None:
    """Connect, a request and a response, then close: the client first (or the server,
    or both at once, or the client with an abort)."""
    listener = socket.create_server((HOST, port))
    both_read = threading.Barrier(2)

    def serve() -> None:
        conn, _ = listener.accept()
        data = b""
        while len(data) < len(REQUEST):
            data += conn.recv(4096)
        conn.sendall(RESPONSE)
        if simultaneous:
            both_read.wait()
            conn.shutdown(socket.SHUT_WR)
        elif not client_first:
            conn.close()
            return
        try:
            while conn.recv(4096):
                pass
        except ConnectionResetError:
            pass
        conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    client = socket.create_connection((HOST, port))
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if two_writes:
        half = len(REQUEST) // 3
        client.send(REQUEST[:half])
        client.send(REQUEST[half:])
    else:
        client.sendall(REQUEST)
    data = b""
    while len(data) < len(RESPONSE):
        data += client.recv(4096)
    if linger0:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
    elif simultaneous:
        both_read.wait()
        client.shutdown(socket.SHUT_WR)
        while client.recv(4096):
            pass
        client.close()
    else:
        if not client_first:
            while client.recv(4096):
                pass
        client.close()
    thread.join(timeout=30)
    listener.close()


def _first(memo: dict[str, Any], key: str) -> bool:
    """True the first time ``key`` is asked about."""
    if key in memo:
        return False
    memo[key] = True
    return True


def _lost_syn(s: Seen, memo: dict[str, Any]) -> str | float:
    if not s.out and not s.from_server and s.flags == {"SYN"} and _first(memo, "syn"):
        return "drop"
    return "accept"


def _lost_syn_ack(s: Seen, memo: dict[str, Any]) -> str | float:
    if s.out and s.from_server and s.flags == {"SYN", "ACK"} and _first(memo, "synack"):
        return "drop"
    return "accept"


def _lost_data(s: Seen, memo: dict[str, Any]) -> str | float:
    if not s.out and not s.from_server and s.len > 0 and _first(memo, "data"):
        return "drop"
    return "accept"


def _lost_fin(s: Seen, memo: dict[str, Any]) -> str | float:
    if not s.out and not s.from_server and "FIN" in s.flags and _first(memo, "fin"):
        return "drop"
    return "accept"


def _lost_final_ack(s: Seen, memo: dict[str, Any]) -> str | float:
    if s.from_server and "FIN" in s.flags:
        memo["server_fin"] = True
    if (not s.out and not s.from_server and s.pure_ack and memo.get("server_fin")
            and _first(memo, "final")):
        return "drop"
    return "accept"


def _slow_path(s: Seen, memo: dict[str, Any]) -> str | float:
    return 0.05 if not s.out else "accept"


def _reordered(s: Seen, memo: dict[str, Any]) -> str | float:
    if s.out and not s.from_server and s.len > 0 and _first(memo, "data"):
        return 0.03
    return "accept"


def _clean(s: Seen, memo: dict[str, Any]) -> str | float:
    return "accept"


LOSSY: tuple[Scenario, ...] = (
    Scenario("lost-syn", "The client's first SYN is dropped after the capture point; its "
             "retransmission opens the connection. The client closes first.", 47921,
             _exchange, _lost_syn),
    Scenario("lost-syn-ack", "The server's first SYN,ACK is dropped before the capture "
             "point; both ends retransmit after about 1 s. The client closes first.", 47922,
             _exchange, _lost_syn_ack),
    Scenario("lost-data", "The client's request is dropped after the capture point and "
             "retransmitted. The client closes first.", 47923, _exchange, _lost_data),
    Scenario("lost-fin", "The client's FIN is dropped after the capture point and "
             "retransmitted.", 47924, _exchange, _lost_fin),
    Scenario("lost-final-ack", "The client closes first; its ACK of the server's FIN is "
             "dropped after the capture point, the server resends its FIN and the client, "
             "in TIME-WAIT, acknowledges it again.", 47925, _exchange, _lost_final_ack),
    Scenario("fins-cross", "Every segment takes 50 ms from the capture point to its "
             "receiver; both ends close at once, so their FINs cross.", 47926,
             lambda port: _exchange(port, simultaneous=True), _slow_path),
    Scenario("rst-established", "The client aborts an established connection (SO_LINGER "
             "0, then close): RST.", 47927, lambda port: _exchange(port, linger0=True),
             _clean),
    Scenario("data-reordered", "The client's request goes in two writes; the first "
             "segment is held 30 ms before the capture point, so the second overtakes it.",
             47928, lambda port: _exchange(port, two_writes=True), _reordered),
)


def _impair(scenario: Scenario) -> Callable[[Any], None]:
    def handle(packet: Any) -> None:
        ip = dpkt.ip.IP(packet.get_payload())
        tcp = ip.data
        seen = Seen(packet.hook == NF_INET_LOCAL_OUT, tcp.sport == scenario.port,
                    _flags(tcp), len(tcp.data))
        verdict = scenario.rule(seen, scenario.memo)
        if verdict == "accept":
            packet.accept()
        elif verdict == "drop":
            packet.drop()
        else:
            assert isinstance(verdict, float)
            threading.Timer(verdict, packet.accept).start()
    return handle


def record_scenario(scenario: Scenario, out: Path, work: Path) -> None:
    """Record one scenario into ``out/NAME.pcap`` and ``out/NAME.json``."""
    raw, pcap = work / f"{scenario.name}.all.pcap", work / f"{scenario.name}.pcap"
    queue = NetfilterQueue()
    queue.bind(QUEUE, _impair(scenario))
    sock = socket.fromfd(queue.get_fd(), socket.AF_UNIX, socket.SOCK_STREAM)
    stop = threading.Event()

    def pump() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                queue.run_socket(sock)
            except (TimeoutError, OSError):
                continue

    pumper = threading.Thread(target=pump, daemon=True)
    pumper.start()
    rules = _queue_rules(scenario.port)
    for rule in rules:
        subprocess.run(["iptables", "-w", "-I", *rule], check=True)
    tcpdump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "-Z", "root", "-w",
                                str(raw)], stderr=subprocess.PIPE, text=True)
    try:
        assert tcpdump.stderr is not None
        if "listening" not in tcpdump.stderr.readline():
            raise SystemExit("tcpdump did not start")
        time.sleep(1.0)
        scenario.run(scenario.port)
        time.sleep(1.5)  # retransmissions and the last ACKs settle
        states = _states(scenario.port)
    finally:
        tcpdump.terminate()
        tcpdump.wait(timeout=10)
        for rule in rules:
            subprocess.run(["iptables", "-w", "-D", *rule], check=False)
        stop.set()
        pumper.join(timeout=2)
        queue.unbind()
    subprocess.run(["tcpdump", "-r", str(raw), "-w", str(pcap), "-Z", "root",
                    f"tcp and host {HOST} and port {scenario.port}"], check=True,
                   stderr=subprocess.DEVNULL)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pcap, out / f"{scenario.name}.pcap")
    meta = {"description": scenario.description, "server_port": scenario.port,
            "final_states": states}
    (out / f"{scenario.name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {out / scenario.name}.pcap: final states {states}")


def record_lossy(out: Path, only: list[str] | None) -> int:
    """Record every scenario of :data:`LOSSY` (or those named in ``only``) into ``out``."""
    chosen = [s for s in LOSSY if not only or s.name in only]
    unknown = set(only or ()) - {s.name for s in LOSSY}
    if unknown:
        raise SystemExit(f"unknown scenario {sorted(unknown)}; known: "
                         f"{', '.join(s.name for s in LOSSY)}")
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in chosen:
            record_scenario(scenario, out, Path(tmp))
    return 0

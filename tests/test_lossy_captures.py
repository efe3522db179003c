"""Captures of lossy connections replay right: lost, retransmitted, crossing, reordered.

The captures in tests/fixtures/captures/lossy/ are real Linux conversations on 127.0.0.1,
recorded by ``tools/record_captures.py --lossy`` with an NFQUEUE impairment that drops or
holds chosen segments before or after the capture point; beside each is the JSON the
recording wrote, with both sockets' final states as ``ss`` showed them. The property
test at the end synthesises captures from random runs of the model with losses.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepwise.errors import TraceError
from stepwise.models.tcp.capture import Address, CapturedSegment, Connection
from stepwise.models.tcp.endpoint import LINUX
from stepwise.models.tcp.errors import ModelError
from stepwise.models.tcp.network import Network, Sent
from stepwise.models.tcp.replay import FrameStep, Replay
from stepwise.models.tcp.segment import Flag
from stepwise.trace import compile_trace, format_trace, load_schema
from tests.test_trace import check_invariants

LOSSY = Path(__file__).resolve().parent / "fixtures" / "captures" / "lossy"
NAMES = sorted(p.stem for p in LOSSY.glob("*.pcap"))
SIM = {"model": "tcp", "client": {"name": "curl", "ip": "10.0.0.5"},
       "server": {"name": "nginx", "ip": "10.0.0.80"}}


def replay(name: str, **capture: Any) -> dict[str, Any]:
    return compile_trace({**SIM, "capture": {"file": f"{name}.pcap", **capture}}, None,
                         seed="lesson.md", render_text=lambda text: f"<p>{text}</p>",
                         base_dir=LOSSY)


def frame_step(trace: dict[str, Any], frame: int) -> dict[str, Any]:
    return next(s for s in trace["steps"] if s.get("frame") == frame)


def fates(trace: dict[str, Any]) -> dict[int, str]:
    """Each captured frame's fate, wherever it ended (its own step or a later one)."""
    out: dict[int, str] = {}
    for step in trace["steps"]:
        for seg in step["segments"] + step["arrivals"]:
            if "frame" in seg and seg["fate"] != "in-flight":
                out[seg["frame"]] = seg["fate"]
    return out


def unseen(trace: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """Segments the explanation sent that the capture never saw, with their step (1-based)."""
    return [(i, seg) for i, step in enumerate(trace["steps"], 1)
            for seg in step["segments"] if "frame" not in seg]


def notes(trace: dict[str, Any]) -> str:
    return "\n".join(n for step in trace["steps"] for n in step.get("notes", []))


@pytest.mark.parametrize("name", NAMES)
def test_each_lossy_capture_replays_to_the_states_linux_reached(name: str) -> None:
    trace = replay(name)
    jsonschema.validate(trace, load_schema())
    check_invariants(trace)
    meta = json.loads((LOSSY / f"{name}.json").read_text())
    assert trace["steps"][-1]["states"] == meta["final_states"], format_trace(trace)
    frames = [s["frame"] for s in trace["steps"]]
    assert frames == list(range(1, len(frames) + 1))  # every frame is one step, in order
    # every captured segment ends delivered or lost: nothing stays in flight
    assert set(fates(trace)) == set(frames)
    # what the replay chose is said in words, under the step's text too
    for step in trace["steps"]:
        for note in step.get("notes", []):
            assert f"<li>{escape(note)}</li>" in step["html"]


def test_lost_syn_is_lost_after_the_capture_point() -> None:
    trace = replay("lost-syn")
    assert fates(trace)[1] == "lost" and fates(trace)[2] == "delivered"
    assert frame_step(trace, 2)["actions"] == ["client timeout"]
    assert unseen(trace) == []
    assert "the replay takes the one with the fewest losses (1 in all)" in notes(trace)
    assert "#1 (frame 1) was lost after the capture point" in notes(trace)
    # today's refusal is gone: the second SYN reaches a server in LISTEN
    assert frame_step(trace, 3)["states"]["server"] == "SYN-RECEIVED"


def test_lost_syn_ack_is_lost_before_the_capture_point_and_the_retransmissions_cross() -> None:
    trace = replay("lost-syn-ack")
    [(step, lost)] = unseen(trace)
    assert step == 1 and lost["flags"] == ["SYN", "ACK"] and lost["fate"] == "lost"
    assert lost["src"] == "server"
    second = frame_step(trace, 2)
    assert second["actions"] == ["server timeout"]  # the SYN,ACK sent again
    third = frame_step(trace, 3)
    assert third["actions"] == ["client timeout"]  # the SYN sent again...
    assert "crossed" in " ".join(third["notes"])  # ...before the SYN,ACK arrived
    # the repeated SYN reaches SYN-RECEIVED: Linux answers with its SYN,ACK, noted
    assert "answers the repeated SYN by sending its SYN,ACK again, as Linux does" in notes(trace)
    assert [s["flags"] for s in frame_step(trace, 5)["segments"]] == [["SYN", "ACK"]]
    assert all(f == "delivered" for f in fates(trace).values())


@pytest.mark.parametrize("name, lost_frame, again", [
    ("lost-data", 4, 5), ("lost-fin", 8, 9), ("lost-final-ack", 10, 11)])
def test_a_segment_lost_after_the_capture_point_is_sent_again(
        name: str, lost_frame: int, again: int) -> None:
    trace = replay(name)
    assert [f for f, fate in fates(trace).items() if fate == "lost"] == [lost_frame]
    step = frame_step(trace, again)
    assert step["actions"][-1].endswith(" timeout")
    # Linux's RTO on loopback is ~200 ms; the model's is 1 s: the step says so
    assert "ms after the last copy; the model's retransmission timer stood at 1 s" in \
        " ".join(step["notes"])


def test_lost_final_ack_is_answered_again_from_time_wait() -> None:
    trace = replay("lost-final-ack")
    resent = frame_step(trace, 11)
    assert resent["states"] == {"client": "TIME-WAIT", "server": "LAST-ACK"}
    last = frame_step(trace, 12)
    assert last["segments"][0]["flags"] == ["ACK"] and last["actions"] == []


def test_fins_cross_in_flight() -> None:
    trace = replay("fins-cross")
    client_fin, server_fin = frame_step(trace, 8), frame_step(trace, 9)
    assert "FIN" in client_fin["segments"][0]["flags"]
    assert client_fin["segments"][0]["fate"] == "in-flight"  # not arrived when 9 was sent
    assert server_fin["states"] == {"client": "CLOSING", "server": "CLOSING"}
    assert [a["frame"] for a in server_fin["arrivals"]] == [8]
    assert "frame 9 crossed #8 in flight" in notes(trace)


def test_reordered_data_is_held_and_acknowledged_when_the_gap_fills() -> None:
    trace = replay("data-reordered")
    assert "lost" not in fates(trace).values()  # reordered, not lost
    overtaking = frame_step(trace, 4)
    assert overtaking["actions"] == ["client send 30", "client send 62"]
    assert "overtaken before the capture point" in " ".join(overtaking["notes"])
    assert "keeps the 62 bytes that arrived beyond a gap, as Linux does" in notes(trace)
    filled = frame_step(trace, 6)
    assert filled["tcb"]["server"]["RCV.NXT"] == overtaking["segments"][-1]["seq"] + 62


def test_rst_on_an_established_connection() -> None:
    trace = replay("rst-established")
    assert frame_step(trace, 8)["actions"] == ["client abort"]
    assert notes(trace) == ""


def test_the_explanations_are_the_same_on_every_build() -> None:
    assert replay("lost-syn-ack") == replay("lost-syn-ack")


def test_a_capture_that_breaks_the_rfc_still_fails_with_its_frame(tmp_path: Path) -> None:
    # an impossible SYN,ACK: the server answers a SYN never sent (frame 1 removed)
    from tests.test_capture import records, write_pcap
    recs = records(LOSSY / "lost-syn-ack.pcap")
    write_pcap(tmp_path / "broken.pcap", recs[1:])
    with pytest.raises(TraceError) as err:
        compile_trace({**SIM, "capture": "broken.pcap"}, None, seed="x.md",
                      render_text=str, base_dir=tmp_path)
    assert ": frame 1: server sends SYN,ACK seq=" in err.value.message
    assert "but in state LISTEN it has no SYN,ACK to send; if the lesson shows this on " \
        "purpose, list the frame in simulation.capture.expect" in err.value.message


# ------------------------------------------------------------------ the property

ROLES = ("client", "server")


@st.composite
def lossy_runs(draw: Any) -> tuple[Network, list[float]]:
    """A random run of the model (Linux profile) where each segment may be lost, and the
    time each segment was sent, as a capture point beside the sender would see it."""
    net = Network.create(draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1)),
                         client_delayed_ack=draw(st.booleans()),
                         server_delayed_ack=draw(st.booleans()))
    for ep in (net.client, net.server):
        ep.profile = LINUX
    clock = [0.0]
    times: list[float] = []

    def loss() -> bool:
        return draw(st.integers(0, 3)) == 0  # a quarter of the segments

    def stamp() -> None:
        while len(times) < len([e for e in net.history if isinstance(e, Sent)]):
            times.append(clock[0])

    net.listen("server")
    # the moves a capture can see: each sends a segment (a call that only changes a
    # state, such as close in SYN-SENT, leaves no trace to replay); one connection
    # (a new SYN to a port in TIME-WAIT is where Linux and the RFC part, RFC 6191)
    open_states = ("ESTABLISHED", "CLOSE-WAIT")
    moves = {"client send 100": ("client", open_states), "server send 200": ("server", open_states),
             "client close": ("client", open_states), "server close": ("server", open_states),
             "client timeout": ("client", None), "server timeout": ("server", None)}
    net.connect("client")
    stamp()
    settle_with_stamps(net, loss, clock, stamp)
    for move in draw(st.lists(st.sampled_from(sorted(moves)), max_size=20)):
        who, states = moves[move]
        endpoint = net.endpoint(who)
        if states is not None and endpoint.state.value not in states:
            continue
        if states is None and [t for t, _ in endpoint.timers()][:1] == ["TIME-WAIT"]:
            continue  # 2MSL ending sends nothing
        clock[0] += 1.0 if move.endswith("timeout") else 0.05
        try:
            net.apply(move)
        except (ModelError, ValueError):
            continue
        stamp()
        settle_with_stamps(net, loss, clock, stamp)
    # let every retransmission and delayed ACK run out, so that no loss goes unseen
    for _ in range(20):
        pending = [t for t in net.timers() if t.name in ("retransmission", "delayed-ACK")]
        if not pending:
            break
        clock[0] += 1.0
        net.timeout(pending[0].endpoint)
        stamp()
        settle_with_stamps(net, lambda: False, clock, stamp)
    return net, times


def settle_with_stamps(net: Network, loss: Any, clock: list[float], stamp: Any) -> None:
    while net.in_flight:
        clock[0] += 0.0001
        if not net.in_flight[0].has(Flag.RST) and loss():
            net.drop()
        else:
            net.deliver()
        stamp()


def synthesised_capture(net: Network, times: list[float]) -> Connection:
    client, server = Address("10.0.0.5", 40000), Address("10.0.0.80", 443)
    where = {"client": client, "server": server}
    sent = [e.segment for e in net.history if isinstance(e, Sent)]
    segments = tuple(CapturedSegment(
        frame=i, time=t, src=where[s.src], dst=where[s.dst], flags=tuple(s.flag_names),
        seq=s.seq, ack=s.ack, len=s.len, wnd=s.wnd) for i, (s, t) in enumerate(
            zip(sent, times, strict=True), 1))
    return Connection(client, server, segments)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lossy_runs())
def test_a_capture_of_a_lossy_model_run_replays_to_the_same_states(
        run: tuple[Network, list[float]]) -> None:
    net, times = run
    if not times:
        return
    conn = synthesised_capture(net, times)
    start = Network.create(net.client.iss, net.server.iss,
                           client_delayed_ack=net.client.delayed_ack,
                           server_delayed_ack=net.server.delayed_ack)
    start.listen("server")  # as a lesson's step before the first frame would
    steps = Replay(start, conn).run()
    frames = [s for s in steps if isinstance(s, FrameStep)]
    assert not any(s.problems for s in frames), [s.problems for s in frames]
    assert frames[-1].step["states"] == {r: s.value for r, s in net.states().items()}
    # never more losses than the run had
    lost = sum(1 for s in frames for seg in s.step["segments"] + s.step["arrivals"]
               if seg["fate"] == "lost")
    truth = sum(1 for e in net.history if type(e).__name__ == "Dropped")
    assert lost <= truth



# ------------------------------------------------------------------ long captures

def bulk_transfer(path: Path, exchanges: int, *, bad_tail: bool = False) -> Path:
    """A handshake, then ``exchanges`` times 100 bytes and their ACK, 0.1 ms apart
    (``bad_tail``: then the server acknowledges bytes never sent)."""
    from tests.test_capture import write_pcap
    client, server = Address("127.0.0.1", 40000), Address("127.0.0.1", 8080)
    recs = []
    t = 1.0

    def add(frm: Address, to: Address, flags: int, seq: int, ack: int, n: int = 0) -> None:
        nonlocal t
        recs.append((t, packet(frm, to, flags, seq, ack, n)))
        t += 0.0001

    import dpkt
    add(client, server, dpkt.tcp.TH_SYN, 1000, 0)
    add(server, client, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, 5000, 1001)
    add(client, server, dpkt.tcp.TH_ACK, 1001, 5001)
    seq = 1001
    for _ in range(exchanges):
        add(client, server, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, seq, 5001, 100)
        seq += 100
        add(server, client, dpkt.tcp.TH_ACK, 5001, seq)
    if bad_tail:
        add(server, client, dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK, 5001, 999999, 10)
    return write_pcap(path, recs)


def packet(frm: Address, to: Address, flags: int, seq: int, ack: int, n: int) -> bytes:
    import socket

    import dpkt
    tcp = dpkt.tcp.TCP(sport=frm.port, dport=to.port, seq=seq, ack=ack, flags=flags,
                       win=65535, data=b"x" * n)
    ip = dpkt.ip.IP(src=socket.inet_aton(frm.ip), dst=socket.inet_aton(to.ip), p=6, data=tcp)
    ip.len = 20 + len(bytes(tcp))
    return bytes(dpkt.ethernet.Ethernet(src=b"\0" * 6, dst=b"\0" * 6,
                                        type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def test_a_long_healthy_capture_is_replayed_without_a_search(tmp_path: Path) -> None:
    path = bulk_transfer(tmp_path / "bulk.pcap", 1000)
    trace = compile_trace({**SIM, "capture": path.name}, None, seed="x.md",
                          render_text=str, base_dir=tmp_path)
    assert len(trace["steps"]) == 2003
    assert trace["steps"][-1]["states"] == {"client": "ESTABLISHED", "server": "ESTABLISHED"}
    assert "lost" not in fates(trace).values() and notes(trace) == ""


def test_a_long_capture_that_breaks_the_rfc_at_its_end_names_that_frame(tmp_path: Path) -> None:
    path = bulk_transfer(tmp_path / "bad.pcap", 200, bad_tail=True)
    with pytest.raises(TraceError) as err:
        compile_trace({**SIM, "capture": path.name}, None, seed="x.md", render_text=str,
                      base_dir=tmp_path)
    assert ": frame 404: the capture shows server sending PSH,ACK seq=5001 ack=999999 " \
        "len=10, but the model's server in state ESTABLISHED sends" in err.value.message

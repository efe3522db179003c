"""Lessons that play a packet capture: reading, picking, anonymising, replaying, errors.

The committed captures (content/linux/how/captures/, recorded by
tools/record_captures.py on 127.0.0.1) are replayed frame by frame; broken or
multi-connection captures are made here from their records with dpkt's writer.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dpkt
import jsonschema
import pytest

from stepwise.build import build_site
from stepwise.errors import ErrorList, TraceError, display_path
from stepwise.models.tcp.capture import read_capture
from stepwise.trace import compile_trace, format_trace, load_schema
from tests.conftest import Project
from tests.test_trace import check_invariants

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO / "content" / "linux" / "how" / "captures"
CLOSE = CAPTURES / "server-closes-first.pcap"
REFUSED = CAPTURES / "connect-refused.pcap"
#: bytes of the recorded request and response (tools/record_captures.py)
PAYLOADS = [b"capture-demo", b"stepwise.invalid", b"stepwise capture demo payload",
            b"HTTP/1.0 200 OK"]
SIM: dict[str, Any] = {"model": "tcp", "capture": "server-closes-first.pcap",
                       "client": {"name": "curl", "ip": "10.0.0.5"},
                       "server": {"name": "nginx", "ip": "10.0.0.80", "port": 443}}


def render(text: str) -> str:
    return f"<p>{text}</p>"


def trace_of(file: Path, steps: Any = None, reads: set[Path] | None = None,
             **changes: Any) -> dict[str, Any]:
    sim = copy.deepcopy(SIM)
    sim.update(changes)
    path = Path(file)
    sim["capture"] = {**sim["capture"], "file": path.name} if isinstance(
        sim["capture"], dict) else path.name
    return compile_trace(sim, steps, seed="lesson.md", render_text=render,
                         base_dir=path.parent, reads=reads)


def segments(trace: dict[str, Any]) -> list[dict[str, Any]]:
    return [seg for step in trace["steps"] for seg in step["segments"]]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema())


def records(path: Path) -> list[tuple[float, bytes]]:
    with path.open("rb") as f:
        reader = dpkt.pcap.UniversalReader(f)
        return [(float(ts), bytes(buf)) for ts, buf in reader]


def write_pcap(path: Path, recs: list[tuple[float, bytes]]) -> Path:
    with path.open("wb") as f:
        writer = dpkt.pcap.Writer(f, linktype=dpkt.pcap.DLT_EN10MB)
        for ts, buf in recs:
            writer.writepkt(buf, ts)
    return path


# ------------------------------------------------------------ the committed captures

def test_server_closes_first_frame_by_frame(validator: jsonschema.Draft202012Validator) -> None:
    trace = trace_of(CLOSE)
    validator.validate(trace)
    check_invariants(trace)
    steps = trace["steps"]
    assert [s["frame"] for s in steps] == list(range(1, 12))
    assert [f"{s['states']['client']} {s['states']['server']}" for s in steps] == [
        "SYN-SENT SYN-RECEIVED", "ESTABLISHED SYN-RECEIVED", "ESTABLISHED ESTABLISHED",
        "ESTABLISHED ESTABLISHED", "ESTABLISHED ESTABLISHED", "ESTABLISHED ESTABLISHED",
        "ESTABLISHED ESTABLISHED", "CLOSE-WAIT FIN-WAIT-1", "CLOSE-WAIT FIN-WAIT-2",
        "LAST-ACK TIME-WAIT", "CLOSED TIME-WAIT"]
    assert [s["actions"] for s in steps] == [
        ["server listen", "client connect"], [], [], ["client send 63"], [], ["server send 96"],
        [], ["server close"], [], ["client close"], []]
    segs = segments(trace)
    assert all(len(s["segments"]) == 1 and s["arrivals"] == [] for s in steps)
    assert [(s["id"], s["frame"], s["src"], s["fate"]) for s in segs] == [
        (n, n, src, "delivered") for n, src in enumerate(
            ["client", "server", "client", "client", "server", "server", "client", "server",
             "client", "client", "server"], 1)]
    assert [s["flags"] for s in segs] == [
        ["SYN"], ["SYN", "ACK"], ["ACK"], ["PSH", "ACK"], ["ACK"], ["PSH", "ACK"], ["ACK"],
        ["FIN", "ACK"], ["ACK"], ["FIN", "ACK"], ["ACK"]]
    assert [s["len"] for s in segs] == [0, 0, 0, 63, 0, 96, 0, 0, 0, 0, 0]
    # relative numbers as Wireshark shows them (tshark -r ... prints the same Seq=/Ack=)
    assert [(s["rel_seq"], s["rel_ack"]) for s in segs] == [
        (0, None), (0, 1), (1, 1), (1, 1), (1, 64), (1, 64), (64, 97), (97, 64), (64, 98),
        (64, 98), (98, 65)]
    isn = {"client": segs[0]["seq"], "server": segs[1]["seq"]}
    for s in segs:
        assert s["seq"] == (isn[s["src"]] + s["rel_seq"]) % 2**32
        if s["ack"] is not None:
            assert s["ack"] == (isn[s["dst"]] + s["rel_ack"]) % 2**32
    times = [s["time_ms"] for s in segs]
    assert times[0] == 0 and times == sorted(times)
    assert 40 <= times[8] - times[7] < 200  # Linux's delayed ACK of the FIN (40 ms minimum)
    assert times[9] >= 200  # the client closes 0.2 s after reading the end of the stream
    # the model's TCBs follow the captured numbers
    assert steps[2]["tcb"]["client"] == {
        "ISS": isn["client"], "IRS": isn["server"], "SND.UNA": isn["client"] + 1,
        "SND.NXT": isn["client"] + 1, "RCV.NXT": isn["server"] + 1}
    assert steps[-1]["tcb"]["server"]["RCV.NXT"] == isn["client"] + 65
    assert steps[-1]["timers"] == [{"endpoint": "server", "name": "TIME-WAIT", "seconds": 240}]
    assert trace["endpoints"] == {
        "client": {"name": "curl", "ip": "10.0.0.5",
                   "port": read_capture(CLOSE)[0].src.port},
        "server": {"name": "nginx", "ip": "10.0.0.80", "port": 443}}


def test_connect_refused_is_the_rst_path(validator: jsonschema.Draft202012Validator) -> None:
    trace = trace_of(REFUSED)
    validator.validate(trace)
    steps = trace["steps"]
    assert [(s["frame"], s["states"]["client"], s["states"]["server"], s["actions"])
            for s in steps] == [(1, "SYN-SENT", "CLOSED", ["client connect"]),
                                (2, "CLOSED", "CLOSED", [])]
    syn, rst = segments(trace)
    assert (rst["flags"], rst["seq"], rst["ack"], rst["wnd"]) == (
        ["RST", "ACK"], 0, syn["seq"] + 1, 0)
    assert (rst["rel_seq"], rst["rel_ack"]) == (1, 1)  # Wireshark: Seq=1 Ack=1
    assert steps[-1]["timers"] == []
    assert trace["endpoints"]["server"]["port"] == 443


@pytest.mark.parametrize("capture", [CLOSE, REFUSED], ids=["close", "refused"])
def test_pcap_and_pcapng_give_the_same_trace(capture: Path) -> None:
    pcapng = capture.with_suffix(".pcapng")
    assert pcapng.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    assert capture.read_bytes()[:4] != b"\x0a\x0d\x0d\x0a"
    assert trace_of(pcapng) == trace_of(capture)


def test_format_trace_shows_frames_and_times() -> None:
    text = format_trace(trace_of(REFUSED))
    assert "#1 client>server SYN seq=" in text and "(delivered) [frame 1, 0 ms]" in text
    assert "RST,ACK seq=0" in text and "[frame 2, " in text


# ------------------------------------------------------------ titles, annotations, do-steps

def test_frames_are_annotated_or_get_a_generated_title() -> None:
    trace = trace_of(CLOSE, [
        {"frame": 1, "title": "the SYN", "text": "*first*"},
        {"frame": 8, "text": "no title: the generated one stays"},
        {"title": "afterwards", "text": "an explanation after frame 8"},
    ])
    titles = [s["title"] for s in trace["steps"]]
    assert titles[0] == "the SYN" and trace["steps"][0]["html"] == "<p>*first*</p>"
    assert titles[1] == "nginx -> curl: SYN, ACK"
    assert titles[7] == "nginx -> curl: FIN, ACK"
    assert trace["steps"][7]["html"] == "<p>no title: the generated one stays</p>"
    assert titles[8] == "afterwards" and "frame" not in trace["steps"][8]
    assert trace["steps"][8]["segments"] == [] and trace["steps"][8]["actions"] == []
    assert titles[9] == "curl -> nginx: ACK" and len(titles) == 12
    custom = trace_of(REFUSED, capture={"file": "x", "title": "{frame}. {src} → {dst} "
                                        "[{flags}] {len} {rel_seq}/{rel_ack} {time_ms}"})
    assert [s["title"] for s in custom["steps"]][0] == "1. curl → nginx [SYN] 0 0/ 0.0"


def test_model_steps_continue_after_the_capture(
        validator: jsonschema.Draft202012Validator) -> None:
    trace = trace_of(CLOSE, [{"frame": 11, "title": "last ACK"},
                             {"title": "2MSL later", "do": ["server timeout"]}])
    validator.validate(trace)
    assert trace["steps"][-1]["states"] == {"client": "CLOSED", "server": "CLOSED"}
    assert trace["steps"][-1]["actions"] == ["server timeout"]
    # a listen written by the author replaces the one the replay would add
    listened = trace_of(CLOSE, [{"title": "listening", "do": ["server listen"]}])
    assert listened["steps"][0]["states"]["server"] == "LISTEN"
    assert listened["steps"][1]["actions"] == ["client connect"]


# ------------------------------------------------------------ several connections

def merged(tmp_path: Path) -> Path:
    """Both captures in one file: the refused connect between frames 5 and 6."""
    close, refused = records(CLOSE), records(REFUSED)
    base = close[5][0] - 1e-4
    moved = [(base + (ts - refused[0][0]), buf) for ts, buf in refused]
    return write_pcap(tmp_path / "both.pcap", close[:5] + moved + close[5:])


def test_a_capture_with_several_connections(tmp_path: Path) -> None:
    path = merged(tmp_path)
    first = trace_of(path)
    assert [s["frame"] for s in first["steps"]] == [1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13]
    assert first["steps"][-1]["states"] == {"client": "CLOSED", "server": "TIME-WAIT"}
    refused_port = read_capture(REFUSED)[0].src.port
    for pick in ({"server": "127.0.0.1:47914"}, {"client": f"127.0.0.1:{refused_port}"},
                 {"server": 47914}, {"client": str(refused_port), "server": "127.0.0.1"}):
        trace = trace_of(path, capture={"file": "x", **pick})
        assert [s["frame"] for s in trace["steps"]] == [6, 7], pick
        assert segments(trace)[0]["time_ms"] == 0
        assert trace["steps"][-1]["states"] == {"client": "CLOSED", "server": "CLOSED"}
        assert trace["endpoints"]["client"]["port"] == refused_port
    with pytest.raises(TraceError) as err:
        trace_of(path, capture={"file": "x", "server": "[::1]:47914"})
    assert err.value.message == (
        f"{display_path(path)}: no connection with server [::1]:47914; the capture holds "
        f"127.0.0.1:{read_capture(CLOSE)[0].src.port} -> 127.0.0.1:47913 (frame 1), "
        f"127.0.0.1:{refused_port} -> 127.0.0.1:47914 (frame 6)")
    assert err.value.keypath == ("simulation", "capture")


# ------------------------------------------------------------ what the model refuses

def test_an_impossible_segment_is_reported_unless_expected(tmp_path: Path) -> None:
    close = records(CLOSE)
    dup = (close[6][0] + 1e-6, close[3][1])  # the request again, after it was acknowledged
    path = write_pcap(tmp_path / "dup.pcap", [*close[:7], dup, *close[7:]])
    with pytest.raises(TraceError) as err:
        trace_of(path)
    # no loss explains it: the request was acknowledged by the server's ACK and again by
    # its response, and the client acknowledged the response (so it got it). The server
    # taking the copy as a duplicate is fine; the client sending it is not.
    assert err.value.message == (
        f"{display_path(path)}: frame 8: client sends again what it sent before, but in "
        f"state ESTABLISHED it has nothing to retransmit; if the lesson shows this on "
        f"purpose, list the frame in simulation.capture.expect")
    assert err.value.keypath == ("simulation", "capture")
    trace = trace_of(path, capture={"file": "x", "expect": [8]})
    assert [s["frame"] for s in trace["steps"]] == list(range(1, 13))
    assert trace["steps"][-1]["states"] == {"client": "CLOSED", "server": "TIME-WAIT"}
    with pytest.raises(TraceError) as err:
        trace_of(path, capture={"file": "x", "expect": [8, 3]})
    assert err.value.message == (f"{display_path(path)}: frame 3 is listed in "
                                 f"simulation.capture.expect, but the model accepts it")
    assert err.value.keypath == ("simulation", "capture", "expect", 1)


def test_data_after_the_fin_is_not_what_the_model_sends(tmp_path: Path) -> None:
    close = records(CLOSE)
    late = (close[7][0] + 1e-6, close[5][1])  # the response again, after the server's FIN
    path = write_pcap(tmp_path / "late.pcap", [*close[:8], late, *close[8:]])
    with pytest.raises(TraceError) as err:
        trace_of(path)
    segs = read_capture(CLOSE)
    response, fin = segs[5], segs[7]
    # a retransmission would repeat the FIN, the oldest unacknowledged (the client acked
    # the response); the client taking the old data as a duplicate is fine
    assert err.value.message == (
        f"{display_path(path)}: frame 9: the capture shows server sending PSH,ACK "
        f"seq={response.seq} ack={response.ack} len=96, but the model's server in state "
        f"FIN-WAIT-1 sends FIN,ACK seq={fin.seq} ack={fin.ack} len=0; if the lesson shows "
        f"this on purpose, list the frame in simulation.capture.expect")


# ------------------------------------------------------------ unreadable files

def test_truncated_and_foreign_files_name_the_path(tmp_path: Path) -> None:
    data = CLOSE.read_bytes()
    cases = {
        "cut.pcap": (data[:-10], "the file is truncated after frame 10"),
        "cut-header.pcap": (data[:30], "the file is truncated before its first frame"),
        "cut.pcapng": (CLOSE.with_suffix(".pcapng").read_bytes()[:-20],
                       "the file is truncated after frame 10"),
        "notes.pcap": (b"these are not packets\n", "not a pcap or pcapng file (it starts "
                       "with 74 68 65 73; a capture starts with d4 c3 b2 a1, a1 b2 c3 d4 or "
                       "0a 0d 0d 0a)"),
        "empty.pcap": (b"", "not a pcap or pcapng file (it starts with nothing"),
        "no-tcp.pcap": (data[:24], "the capture holds no TCP segment"),
    }
    for name, (content, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(TraceError) as err:
            trace_of(path)
        assert err.value.message.startswith(f"{display_path(path)}: {expected}"), (
            name, err.value.message)


def test_a_missing_capture_lists_where_it_was_looked_for(tmp_path: Path) -> None:
    reads: set[Path] = set()
    with pytest.raises(TraceError) as err:
        compile_trace({**SIM, "capture": "nope.pcap"}, None, seed="s", render_text=render,
                      base_dir=tmp_path / "a", content_dir=tmp_path, reads=reads)
    assert err.value.message == (
        f"simulation.capture: no file 'nope.pcap' (looked for "
        f"{display_path(tmp_path / 'a' / 'nope.pcap')}, {display_path(tmp_path / 'nope.pcap')}, "
        f"{display_path(tmp_path / 'captures' / 'nope.pcap')})")
    assert reads == {(tmp_path / "a" / "nope.pcap").resolve(), (tmp_path / "nope.pcap").resolve(),
                     (tmp_path / "captures" / "nope.pcap").resolve()}


def test_reads_records_the_capture_file(tmp_path: Path) -> None:
    (tmp_path / "captures").mkdir()
    shutil.copy(REFUSED, tmp_path / "captures" / "r.pcap")
    reads: set[Path] = set()
    trace = compile_trace({**SIM, "capture": "r.pcap"}, None, seed="s", render_text=render,
                          base_dir=tmp_path / "a" / "b", content_dir=tmp_path, reads=reads)
    assert len(trace["steps"]) == 2
    assert reads == {(tmp_path / "captures" / "r.pcap").resolve()}


# ------------------------------------------------------------ frontmatter errors

GOOD: dict[str, Any] = {"model": "tcp", "capture": "connect-refused.pcap",
        "client": {"name": "curl", "ip": "10.0.0.5"}, "server": {"name": "web", "ip": "10.0.0.80"}}

ERRORS: list[tuple[dict[str, Any], Any, str, tuple[str | int, ...]]] = [
    ({"capture": 5}, None, "simulation.capture must be a file name, e.g. capture: "
     "captures/curl.pcap, or a mapping with 'file'", ("simulation", "capture")),
    ({"capture": {"server": 80}}, None, "simulation.capture needs 'file'",
     ("simulation", "capture")),
    ({"capture": {"file": "x.pcap", "sever": 80}}, None, "unknown key 'sever' in "
     "simulation.capture; known keys: file, client, server, expect, title; did you mean "
     "'server'?", ("simulation", "capture", "sever")),
    ({"capture": "../secret.pcap"}, None, "simulation.capture.file must be a path relative to "
     "the lesson (or to content/captures/), e.g. capture: captures/curl.pcap; got "
     "'../secret.pcap'", ("simulation", "capture")),
    ({"capture": {"file": "/etc/x.pcap"}}, None, "simulation.capture.file must be a path",
     ("simulation", "capture", "file")),
    ({"capture": {"file": "x.pcap", "server": "localhost:80"}}, None,
     "simulation.capture.server must be an address and port such as 127.0.0.1:47913 or "
     "[::1]:443, an address, or a port number; got 'localhost:80'",
     ("simulation", "capture", "server")),
    ({"capture": {"file": "x.pcap", "client": 70000}}, None,
     "simulation.capture.client must be an address and port", ("simulation", "capture",
                                                                "client")),
    ({"capture": {"file": "x.pcap", "expect": 7}}, None, "simulation.capture.expect must be a "
     "list of frame numbers, e.g. expect: [7]; got 7", ("simulation", "capture", "expect")),
    ({"capture": {"file": "x.pcap", "title": "{src} to {host}"}}, None,
     "simulation.capture.title: unknown placeholder {host}; known placeholders: {src}, {dst}, "
     "{flags}, {len}, {frame}, {time_ms}, {seq}, {ack}, {rel_seq}, {rel_ack}",
     ("simulation", "capture", "title")),
    ({"isn": {"client": 1}}, None, "simulation.isn cannot be used with a capture: the sequence "
     "numbers are the captured ones", ("simulation", "isn")),
    ({}, [{"frame": 3, "title": "x"}], "step 1: frame 3 is not a segment of the connection "
     "played (its frames: 1-2)", ("steps", 0, "frame")),
    ({}, [{"frame": 2}, {"frame": 1}], "step 2: frame 1 comes after frame 2; annotate frames "
     "in capture order, once each", ("steps", 1, "frame")),
    ({}, [{"frame": "2"}], "step 1: 'frame' must be a frame number of the capture (1, 2, ...), "
     "got '2'", ("steps", 0, "frame")),
    ({}, [{"frame": 1, "do": ["deliver"]}], "step 1: a step with 'frame' cannot have 'do': the "
     "captured frame is what happens", ("steps", 0, "do")),
    ({}, [{"frame": 1, "title": ""}], "step 1 needs a title (a non-empty string)",
     ("steps", 0, "title")),
    ({}, [{"text": "no title"}], "step 1 needs a title", ("steps", 0)),
    ({"capture": {"file": "connect-refused.pcap", "expect": [9]}}, None,
     "simulation.capture.expect: frame 9 is not a segment of the connection played (its "
     "frames: 1-2)", ("simulation", "capture", "expect", 0)),
    ({}, [{"title": "x", "do": ["client send 5"]}], "step 1 ('client send 5'): client: cannot "
     "SEND in state CLOSED: connection does not exist; connect first ('client connect', or "
     "'listen' on a server) (RFC 9293 §3.10.2)", ("steps", 0, "do", 0)),
]


@pytest.mark.parametrize(("changes", "steps", "message", "keypath"), ERRORS,
                         ids=[e[2][:40] for e in ERRORS])
def test_capture_errors_name_the_value_at_fault(changes: dict[str, Any], steps: Any,
                                                message: str,
                                                keypath: tuple[str | int, ...]) -> None:
    with pytest.raises(TraceError) as err:
        compile_trace({**GOOD, **changes}, steps, seed="s", render_text=render,
                      base_dir=CAPTURES)
    assert err.value.message.startswith(message), err.value.message
    assert err.value.keypath == keypath


def test_frame_without_a_capture_is_an_error() -> None:
    sim = {k: v for k, v in GOOD.items() if k != "capture"}
    sim["server"] = {**sim["server"], "port": 80}
    with pytest.raises(TraceError) as err:
        compile_trace(sim, [{"frame": 1, "title": "x"}], seed="s", render_text=render)
    assert err.value.message == ("step 1: 'frame' annotates a captured frame and needs "
                                 "simulation.capture, e.g. capture: captures/curl.pcap")
    assert err.value.keypath == ("steps", 0, "frame")


# ------------------------------------------------------------ the build, end to end

LESSON = """\
---
title: Refused
layout: lesson
simulation:
  model: tcp
  capture: {capture}
  client: {{name: client, ip: 192.0.2.7}}
  server: {{name: server, ip: 198.51.100.9, port: 8443}}
steps:
  - frame: 2
    title: the reset
    text: See [[port]].
---
Body.

::player
"""


def test_the_build_anonymises_and_never_publishes_the_capture(
        make_project: Callable[..., Project]) -> None:
    project = make_project({"linux/how/refused.md": LESSON.format(capture="captures/c.pcap"),
                            "linux/how/close.md": LESSON.replace("frame: 2", "frame: 8")
                            .format(capture="server-closes-first.pcapng")})
    (project.content / "linux/how/captures").mkdir()
    shutil.copy(REFUSED, project.content / "linux/how/captures/c.pcap")
    (project.content / "captures").mkdir()
    shutil.copy(CLOSE.with_suffix(".pcapng"), project.content / "captures")
    project.build()
    for url in ("linux/how/refused", "linux/how/close"):
        page = (project.out / url / "index.html").read_bytes()
        assert b"192.0.2.7" in page and b"198.51.100.9" in page and b"8443" in page
        assert b"127.0.0.1" not in page
        assert b"&#34;frame&#34;" in page or b'"frame"' in page
    close_page = (project.out / "linux/how/close/index.html").read_bytes()
    assert b"the reset" in close_page  # frame 8 annotated
    for payload in PAYLOADS:
        assert payload in CLOSE.read_bytes()  # the capture holds them ...
        assert payload not in close_page  # ... the page does not
    assert not [p for p in project.out.rglob("*") if p.suffix in (".pcap", ".pcapng")]


def test_capture_errors_point_at_the_lesson_line(make_project: Callable[..., Project]) -> None:
    project = make_project({"linux/how/refused.md": LESSON.format(capture="captures/c.pcap")})
    (project.content / "linux/how/captures").mkdir()
    (project.content / "linux/how/captures/c.pcap").write_bytes(REFUSED.read_bytes()[:-5])
    with pytest.raises(ErrorList) as err:
        project.build()
    assert str(err.value) == (
        "content/linux/how/refused.md:6: content/linux/how/captures/c.pcap: the file is "
        "truncated after frame 1")


def test_the_real_site_publishes_no_capture(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(REPO, out)
    assert not [p for p in out.rglob("*") if ".pcap" in p.name]
    for lesson in ("tcp-close-states", "tcp-connection-refused"):
        page = (out / "linux/how" / lesson / "index.html").read_bytes()
        assert b"lesson-trace" in page and b"127.0.0.1" not in page
        for payload in PAYLOADS:
            assert payload not in page


def test_a_cooked_ipv6_capture_with_a_three_segment_close() -> None:
    """tests/fixtures/captures/any-ipv6-three-segment-close.pcap: ``tcpdump -i any`` (Linux
    cooked capture v2) while a Python client on ::1 sent 5 bytes to a server on port
    47915, which answered 10 bytes and closed; the client closed at once, so its FIN,ACK
    also acknowledged the server's FIN (no separate ACK)."""
    path = REPO / "tests" / "fixtures" / "captures" / "any-ipv6-three-segment-close.pcap"
    trace = trace_of(path, client={"name": "a", "ip": "2001:db8::5"},
                     server={"name": "b", "ip": "2001:db8::80"})
    assert [s["flags"] for s in segments(trace)][-3:] == [["FIN", "ACK"], ["FIN", "ACK"],
                                                          ["ACK"]]
    assert [s["len"] for s in segments(trace)] == [0, 0, 0, 5, 0, 10, 0, 0, 0, 0]
    assert [s["actions"] for s in trace["steps"]][-3:] == [["server close"], ["client close"],
                                                           []]
    assert trace["steps"][-1]["states"] == {"client": "CLOSED", "server": "TIME-WAIT"}
    assert trace["endpoints"]["server"] == {"name": "b", "ip": "2001:db8::80", "port": 47915}
    assert "::1" not in str(trace)


def test_a_link_to_a_capture_is_an_error_not_a_published_file(
        make_project: Callable[..., Project]) -> None:
    lesson = LESSON.format(capture="captures/c.pcap").replace(
        "Body.", "Body: [the raw capture](captures/c.pcap).")
    project = make_project({"linux/how/refused.md": lesson})
    (project.content / "linux/how/captures").mkdir()
    shutil.copy(REFUSED, project.content / "linux/how/captures/c.pcap")
    with pytest.raises(ErrorList) as err:
        project.build()
    assert str(err.value).startswith(
        "content/linux/how/refused.md:14: link captures/c.pcap: a packet capture is never "
        "published (it holds real addresses and payload bytes)")

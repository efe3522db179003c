"""compile_trace: the scenarios of docs/trace-format.md, the schema, and the error messages."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from stepwise.errors import TraceError
from stepwise.models.tcp.scenario import derive_isn, derive_port
from stepwise.trace import compile_trace, format_trace, load_schema

DOCS = Path(__file__).resolve().parent.parent / "docs" / "trace-format.md"
SEED = "lessons/tcp-basics.md"
HANDSHAKE = "[server listen, client connect, deliver, deliver, deliver]"
SIM = """\
simulation:
  model: tcp
  client: {name: curl, ip: 10.0.0.5, port: 51724}
  server: {name: nginx, ip: 10.0.0.80, port: 443}
  isn: {client: 1000, server: 5000}
"""

#: name -> (frontmatter YAML, states after each step as "CLIENT SERVER")
SCENARIOS: dict[str, tuple[str, list[str]]] = {
    "lesson": (SIM + """\
steps:
  - title: the server listens, the client is ready to connect
    do: [server listen]
    text: The server calls *listen*.
  - title: the client sends SYN
    do: [client connect, deliver]
  - title: the SYN,ACK reaches the client
    do: [deliver]
  - title: the ACK reaches the server
    do: [deliver]
  - title: the client sends 120 bytes
    do: [client send 120, deliver, deliver]
  - title: the client closes
    do: [client close, deliver]
  - title: the server closes
    do: [deliver, server close, deliver]
  - title: the last ACK
    do: [deliver]
""", ["CLOSED LISTEN", "SYN-SENT SYN-RECEIVED", "ESTABLISHED SYN-RECEIVED",
      "ESTABLISHED ESTABLISHED", "ESTABLISHED ESTABLISHED", "FIN-WAIT-1 CLOSE-WAIT",
      "TIME-WAIT LAST-ACK", "TIME-WAIT CLOSED"]),
    "life-cycle": (SIM + """\
steps:
  - {title: listen, do: [server listen]}
  - {title: SYN, do: [client connect, deliver]}
  - {title: SYN-ACK, do: [deliver]}
  - {title: ACK, do: [deliver]}
  - {title: request, do: [client send 120, deliver, deliver]}
  - {title: response, do: [server send 300, deliver, deliver]}
  - {title: client FIN, do: [client close, deliver]}
  - {title: its ACK, do: [deliver]}
  - {title: server FIN, do: [server close, deliver]}
  - {title: last ACK, do: [deliver]}
  - {title: 2MSL later, do: [client timeout]}
""", ["CLOSED LISTEN", "SYN-SENT SYN-RECEIVED", "ESTABLISHED SYN-RECEIVED",
      "ESTABLISHED ESTABLISHED", "ESTABLISHED ESTABLISHED", "ESTABLISHED ESTABLISHED",
      "FIN-WAIT-1 CLOSE-WAIT", "FIN-WAIT-2 CLOSE-WAIT", "TIME-WAIT LAST-ACK",
      "TIME-WAIT CLOSED", "CLOSED CLOSED"]),
    "simultaneous-open": (SIM + """\
steps:
  - {title: both connect, do: [client connect, server connect]}
  - {title: the SYNs cross, do: [deliver, deliver]}
  - {title: the SYN-ACKs cross, do: [deliver, deliver]}
""", ["SYN-SENT SYN-SENT", "SYN-RECEIVED SYN-RECEIVED", "ESTABLISHED ESTABLISHED"]),
    "simultaneous-close": (SIM + f"""\
steps:
  - {{title: connected, do: {HANDSHAKE}}}
  - {{title: both close, do: [client close, server close]}}
  - {{title: the FINs cross, do: [deliver, deliver]}}
  - {{title: the ACKs cross, do: [deliver, deliver]}}
""", ["ESTABLISHED ESTABLISHED", "FIN-WAIT-1 FIN-WAIT-1", "CLOSING CLOSING",
      "TIME-WAIT TIME-WAIT"]),
    "closed-port": (SIM + """\
steps:
  - {title: nobody listens; the client connects, do: [client connect, deliver]}
  - {title: the RST reaches the client, do: [deliver]}
""", ["SYN-SENT CLOSED", "CLOSED CLOSED"]),
    "abort": (SIM + f"""\
steps:
  - {{title: connected, do: {HANDSHAKE}}}
  - {{title: the client aborts, do: [client abort]}}
  - {{title: the RST arrives, do: [deliver]}}
""", ["ESTABLISHED ESTABLISHED", "CLOSED ESTABLISHED", "CLOSED CLOSED"]),
    "lost-syn": (SIM + """\
steps:
  - {title: listen, do: [server listen]}
  - {title: the SYN is lost, do: [client connect, drop]}
  - {title: retransmission after 1 s, do: [client timeout, deliver]}
  - {title: handshake completes, do: [deliver, deliver]}
""", ["CLOSED LISTEN", "SYN-SENT LISTEN", "SYN-SENT SYN-RECEIVED", "ESTABLISHED ESTABLISHED"]),
    "half-close": (SIM + f"""\
steps:
  - {{title: connected, do: {HANDSHAKE}}}
  - {{title: the client is done sending, do: [client close, deliver, deliver]}}
  - {{title: the server keeps sending, do: [server send 400, deliver, deliver]}}
  - {{title: the server closes, do: [server close, deliver, deliver]}}
""", ["ESTABLISHED ESTABLISHED", "FIN-WAIT-2 CLOSE-WAIT", "FIN-WAIT-2 CLOSE-WAIT",
      "TIME-WAIT CLOSED"]),
    "lost-final-ack": (SIM + f"""\
steps:
  - {{title: connected, do: {HANDSHAKE}}}
  - {{title: the client closes, do: [client close, deliver, deliver]}}
  - {{title: the server closes, do: [server close, deliver]}}
  - {{title: the last ACK is lost, do: [drop]}}
  - {{title: the server retransmits its FIN, do: [server timeout, deliver]}}
  - {{title: the new ACK arrives, do: [deliver]}}
""", ["ESTABLISHED ESTABLISHED", "FIN-WAIT-2 CLOSE-WAIT", "TIME-WAIT LAST-ACK",
      "TIME-WAIT LAST-ACK", "TIME-WAIT LAST-ACK", "TIME-WAIT CLOSED"]),
    "passive-reset": (SIM + """\
steps:
  - {title: listen, do: [server listen]}
  - {title: SYN, do: [client connect, deliver]}
  - {title: the client gives up, do: [client abort]}
  - {title: the SYN-ACK finds no connection, do: [deliver]}
  - {title: the RST sends the server back to LISTEN, do: [deliver]}
""", ["CLOSED LISTEN", "SYN-SENT SYN-RECEIVED", "CLOSED SYN-RECEIVED", "CLOSED SYN-RECEIVED",
      "CLOSED LISTEN"]),
    "delayed-ack": ("""\
simulation:
  model: tcp
  client: {name: curl, ip: 10.0.0.5, port: 51724}
  server: {name: nginx, ip: 10.0.0.80, port: 443, delayed_ack: true}
  isn: {client: 1000, server: 5000}
""" + f"""\
steps:
  - {{title: connected, do: {HANDSHAKE}}}
  - {{title: the client closes; the server delays its ACK, do: [client close, deliver]}}
  - {{title: the server closes at once, do: [server close]}}
  - {{title: one FIN-ACK acknowledges and closes, do: [deliver, deliver]}}
""", ["ESTABLISHED ESTABLISHED", "FIN-WAIT-1 CLOSE-WAIT", "FIN-WAIT-1 LAST-ACK",
      "TIME-WAIT CLOSED"]),
}


def render(text: str) -> str:
    return f"<p>{text}</p>"


def compile_yaml(source: str, seed: str = SEED) -> dict[str, Any]:
    fm = yaml.safe_load(source)
    return compile_trace(fm["simulation"], fm["steps"], seed=seed, render_text=render)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_compiles_validates_and_walks_the_states(
        name: str, validator: jsonschema.Draft202012Validator) -> None:
    source, states = SCENARIOS[name]
    trace = compile_yaml(source)
    validator.validate(trace)
    assert json.loads(json.dumps(trace)) == trace
    assert [f"{s['states']['client']} {s['states']['server']}" for s in trace["steps"]] == states
    check_invariants(trace)


def check_invariants(trace: dict[str, Any]) -> None:
    """Ids increase, each segment is sent once and arrives at most once, fates agree."""
    sent: dict[int, dict[str, Any]] = {}
    ended: set[int] = set()
    last_id = 0
    for step in trace["steps"]:
        for seg in step["arrivals"]:
            assert seg["id"] in sent and seg["id"] not in ended
            assert {**seg, "fate": "in-flight"} == sent[seg["id"]]
            ended.add(seg["id"])
        for seg in step["segments"]:
            assert seg["id"] == last_id + 1
            last_id = seg["id"]
            sent[seg["id"]] = {**seg, "fate": "in-flight"}
            if seg["fate"] != "in-flight":
                ended.add(seg["id"])
            assert seg["flags"] == [f for f in ["SYN", "RST", "FIN", "PSH", "ACK"]
                                    if f in seg["flags"]]
            assert (seg["ack"] is None) == ("ACK" not in seg["flags"])


def test_the_lesson_in_detail() -> None:
    trace = compile_yaml(SCENARIOS["lesson"][0])
    assert trace["version"] == 1 and trace["model"] == "tcp"
    assert trace["endpoints"] == {
        "client": {"name": "curl", "ip": "10.0.0.5", "port": 51724},
        "server": {"name": "nginx", "ip": "10.0.0.80", "port": 443}}
    s = trace["steps"]
    assert s[0]["html"] == "<p>The server calls *listen*.</p>" and s[1]["html"] == ""
    assert s[1]["actions"] == ["client connect", "deliver"]
    assert s[1]["segments"] == [
        {"id": 1, "src": "client", "dst": "server", "flags": ["SYN"], "seq": 1000, "ack": None,
         "len": 0, "wnd": 65535, "fate": "delivered"},
        {"id": 2, "src": "server", "dst": "client", "flags": ["SYN", "ACK"], "seq": 5000,
         "ack": 1001, "len": 0, "wnd": 65535, "fate": "in-flight"}]
    assert s[1]["tcb"] == {
        "client": {"ISS": 1000, "IRS": None, "SND.UNA": 1000, "SND.NXT": 1001, "RCV.NXT": None},
        "server": {"ISS": 5000, "IRS": 1000, "SND.UNA": 5000, "SND.NXT": 5001, "RCV.NXT": 1001}}
    assert {"endpoint": "client", "name": "retransmission", "seconds": 1} in s[1]["timers"]
    # step 3: the SYN,ACK sent in step 2 arrives; the ACK is in flight
    assert [(a["id"], a["fate"]) for a in s[2]["arrivals"]] == [(2, "delivered")]
    assert [(x["flags"], x["fate"]) for x in s[2]["segments"]] == [(["ACK"], "in-flight")]
    assert [x["flags"] for x in s[4]["segments"]] == [["PSH", "ACK"], ["ACK"]]
    assert [(x["flags"], x["fate"]) for x in s[5]["segments"]] == [
        (["FIN", "ACK"], "delivered"), (["ACK"], "in-flight")]
    assert [x["flags"] for x in s[6]["arrivals"]] == [["ACK"]]
    assert [(x["flags"], x["fate"]) for x in s[6]["segments"]] == [
        (["FIN", "ACK"], "delivered"), (["ACK"], "in-flight")]
    assert s[7]["segments"] == [] and [a["id"] for a in s[7]["arrivals"]] == [9]
    assert s[7]["tcb"]["server"] == dict.fromkeys(["ISS", "IRS", "SND.UNA", "SND.NXT",
                                                   "RCV.NXT"])
    assert s[7]["timers"] == [{"endpoint": "client", "name": "TIME-WAIT", "seconds": 240}]


def test_lost_segments_and_closed_port_fates() -> None:
    lost = compile_yaml(SCENARIOS["lost-syn"][0])["steps"]
    assert [(x["flags"], x["fate"]) for x in lost[1]["segments"]] == [(["SYN"], "lost")]
    assert [(x["id"], x["flags"]) for x in lost[2]["segments"]][0] == (2, ["SYN"])
    assert lost[1]["timers"] == [{"endpoint": "client", "name": "retransmission", "seconds": 1}]
    assert lost[2]["timers"][0] == {"endpoint": "client", "name": "retransmission",
                                    "seconds": 2}
    refused = compile_yaml(SCENARIOS["closed-port"][0])["steps"]
    rst = refused[0]["segments"][1]
    assert (rst["flags"], rst["seq"], rst["ack"], rst["wnd"]) == (["RST", "ACK"], 0, 1001, 0)
    wait = compile_yaml(SCENARIOS["lost-final-ack"][0])["steps"]
    assert [(x["flags"], x["fate"]) for x in wait[3]["arrivals"]] == [(["ACK"], "lost")]
    assert [x["flags"] for x in wait[4]["segments"]] == [["FIN", "ACK"], ["ACK"]]
    combined = compile_yaml(SCENARIOS["delayed-ack"][0])["steps"]
    assert combined[1]["segments"][0]["flags"] == ["FIN", "ACK"] and len(
        combined[1]["segments"]) == 1
    assert {"endpoint": "server", "name": "delayed-ACK", "seconds": 0.2} in combined[1]["timers"]
    assert [(x["flags"], x["ack"]) for x in combined[2]["segments"]] == [(["FIN", "ACK"], 1002)]


def test_derived_isns_and_port_are_deterministic() -> None:
    fm = yaml.safe_load(SCENARIOS["lesson"][0])
    del fm["simulation"]["isn"], fm["simulation"]["client"]["port"]
    one = compile_trace(fm["simulation"], fm["steps"], seed="a.md", render_text=render)
    again = compile_trace(copy.deepcopy(fm["simulation"]), fm["steps"], seed="a.md",
                          render_text=render)
    other = compile_trace(fm["simulation"], fm["steps"], seed="b.md", render_text=render)
    assert one == again and one != other
    port = one["endpoints"]["client"]["port"]
    assert 32768 <= port <= 60999 and port == derive_port("a.md")
    isn = one["steps"][1]["tcb"]["client"]["ISS"]
    assert isn == derive_isn("a.md", "client") and 0 <= isn < 2**32
    assert one["steps"][1]["tcb"]["server"]["ISS"] == derive_isn("a.md", "server")
    fm["simulation"]["isn"] = {"server": 7}
    half = compile_trace(fm["simulation"], fm["steps"], seed="a.md", render_text=render)
    assert half["steps"][1]["tcb"]["server"]["ISS"] == 7
    assert half["steps"][1]["tcb"]["client"]["ISS"] == isn


def test_isn_near_the_wrap_compiles() -> None:
    fm = yaml.safe_load(SCENARIOS["life-cycle"][0])
    fm["simulation"]["isn"] = {"client": 2**32 - 1, "server": 2**32 - 2}
    trace = compile_trace(fm["simulation"], fm["steps"], seed=SEED, render_text=render)
    assert trace["steps"][-2]["states"] == {"client": "TIME-WAIT", "server": "CLOSED"}
    assert trace["steps"][4]["segments"][0]["seq"] == 0


def test_a_step_without_actions_or_text() -> None:
    trace = compile_trace({"model": "tcp", "client": {"name": "a", "ip": "::1"},
                           "server": {"name": "b", "ip": "::1", "port": 80}},
                          [{"title": "two hosts"}], seed=SEED, render_text=render)
    assert trace["steps"][0]["actions"] == [] and trace["steps"][0]["html"] == ""


# ---------------------------------------------------------------- errors and keypaths

GOOD_SIM: dict[str, Any] = {"model": "tcp", "client": {"name": "curl", "ip": "10.0.0.5"},
                            "server": {"name": "nginx", "ip": "10.0.0.80", "port": 443}}
GOOD_STEPS: list[Any] = [{"title": "listen", "do": ["server listen"]}]


def sim(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(GOOD_SIM)
    out.update(changes)
    return out


ERRORS: list[tuple[Any, Any, str, tuple[str | int, ...]]] = [
    (["tcp"], GOOD_STEPS, "'simulation' must be a mapping", ("simulation",)),
    (sim(model="udp"), GOOD_STEPS, "unknown simulation model 'udp'; known models: bgp, tcp",
     ("simulation", "model")),
    ({k: v for k, v in GOOD_SIM.items() if k != "model"}, GOOD_STEPS,
     "simulation needs 'model: tcp'", ("simulation",)),
    (sim(isns={}), GOOD_STEPS, "unknown key 'isns' in simulation; known keys: model, client, "
     "server, isn, capture; did you mean 'isn'?", ("simulation", "isns")),
    ({k: v for k, v in GOOD_SIM.items() if k != "server"}, GOOD_STEPS,
     "simulation needs 'server', e.g. server: {name: nginx, ip: 10.0.0.80, port: 443}",
     ("simulation",)),
    (sim(client="curl"), GOOD_STEPS, "simulation.client must be a mapping",
     ("simulation", "client")),
    (sim(client={"ip": "10.0.0.5"}), GOOD_STEPS, "simulation.client needs 'name'",
     ("simulation", "client")),
    (sim(client={"name": 5, "ip": "10.0.0.5"}), GOOD_STEPS,
     "simulation.client.name must be a non-empty string", ("simulation", "client", "name")),
    (sim(client={"name": "curl", "ip": "10.0.0.500"}), GOOD_STEPS,
     "simulation.client.ip must be an IP address", ("simulation", "client", "ip")),
    (sim(server={"name": "n", "ip": "10.0.0.80", "port": 70000}), GOOD_STEPS,
     "simulation.server.port must be an integer from 1 to 65535, got 70000",
     ("simulation", "server", "port")),
    (sim(server={"name": "n", "ip": "10.0.0.80", "port": True}), GOOD_STEPS,
     "simulation.server.port must be an integer", ("simulation", "server", "port")),
    (sim(server={"name": "n", "ip": "10.0.0.80"}), GOOD_STEPS,
     "simulation.server needs a 'port'", ("simulation", "server")),
    (sim(server={"name": "n", "ip": "10.0.0.80", "port": 1, "prot": 2}), GOOD_STEPS,
     "unknown key 'prot' in simulation.server; known keys: name, ip, port, delayed_ack; "
     "did you mean 'port'?", ("simulation", "server", "prot")),
    (sim(server={"name": "n", "ip": "10.0.0.80", "port": 1, "delayed_ack": "yes"}), GOOD_STEPS,
     "simulation.server.delayed_ack must be true or false", ("simulation", "server",
                                                             "delayed_ack")),
    (sim(isn={"client": 2**32}), GOOD_STEPS,
     "simulation.isn.client must be an integer from 0 to 4294967295",
     ("simulation", "isn", "client")),
    (sim(isn={"client": -1}), GOOD_STEPS, "simulation.isn.client must be an integer",
     ("simulation", "isn", "client")),
    (sim(isn=5), GOOD_STEPS, "simulation.isn must be a mapping", ("simulation", "isn")),
    (GOOD_SIM, [], "'steps' must be a non-empty list", ("steps",)),
    (GOOD_SIM, {"title": "x"}, "'steps' must be a non-empty list", ("steps",)),
    (GOOD_SIM, [*GOOD_STEPS, "client connect"], "step 2 must be a mapping with a title",
     ("steps", 1)),
    (GOOD_SIM, [{"do": ["server listen"]}], "step 1 needs a title (a non-empty string)",
     ("steps", 0)),
    (GOOD_SIM, [{"title": "", "do": []}], "step 1 needs a title", ("steps", 0, "title")),
    (GOOD_SIM, [{"title": "x", "do": "server listen"}],
     "'do' must be a list of actions, e.g. do: [client connect]", ("steps", 0, "do")),
    (GOOD_SIM, [{"title": "x", "do": ["server listen", 7]}],
     "step 1: action 2 must be a string such as 'client connect', got 7",
     ("steps", 0, "do", 1)),
    (GOOD_SIM, [{"title": "x", "text": ["a"]}], "step 1: 'text' must be a string",
     ("steps", 0, "text")),
    (GOOD_SIM, [{"title": "x", "txt": "a"}], "unknown key 'txt' in step 1; known keys: title, "
     "do, text; did you mean 'text'?", ("steps", 0, "txt")),
    # {title: the SYN, ACK is lost, do: [drop]}: the comma makes a key 'ACK is lost'
    (GOOD_SIM, [{"title": "the SYN", "ACK is lost": None, "do": ["server listen"]}],
     "unknown key 'ACK is lost' in step 1; known keys: title, do, text; a comma inside { } "
     "ends a value: quote a value that holds one, e.g. {title: \"the SYN, ACK is lost\"}",
     ("steps", 0, "ACK is lost")),
    (GOOD_SIM, [{"title": "x", "do": ["server listen", "client sned 100"]}],
     "step 1: unknown action 'client sned 100': an action is 'client VERB' or 'server VERB' "
     "with VERB one of listen, connect, send BYTES, close, abort, timeout; or the network's "
     "deliver or drop; did you mean 'client send 100'?", ("steps", 0, "do", 1)),
    (GOOD_SIM, [*GOOD_STEPS, {"title": "x", "do": ["deliver", "client conect"]}],
     "step 2: unknown action 'client conect': an action is 'client VERB' or 'server VERB' "
     "with VERB one of listen, connect, send BYTES, close, abort, timeout; or the network's "
     "deliver or drop; did you mean 'client connect'?", ("steps", 1, "do", 1)),
    (GOOD_SIM, [{"title": "x", "do": ["client send"]}],
     "step 1: 'client send' needs a byte count from 1 to 65535, e.g. 'client send 120'",
     ("steps", 0, "do", 0)),
    (GOOD_SIM, [{"title": "x", "do": ["client send 0"]}],
     "step 1: 'client send' needs a byte count from 1 to 65535, e.g. 'client send 120', "
     "got 'client send 0'", ("steps", 0, "do", 0)),
    (GOOD_SIM, [{"title": "x", "do": ["client close now"]}],
     "step 1: 'client close' takes no argument, got 'client close now'", ("steps", 0, "do", 0)),
    (GOOD_SIM, [{"title": "x", "do": ["deliver 2"]}],
     "step 1: 'deliver' takes no argument, got 'deliver 2'", ("steps", 0, "do", 0)),
    (GOOD_SIM, [*GOOD_STEPS, {"title": "a", "do": ["server close"]},
                {"title": "b", "do": ["server listen", "client send 120"]}],
     "step 3, action 2 ('client send 120'): client: cannot SEND in state CLOSED: connection "
     "does not exist; connect first ('client connect', or 'listen' on a server) "
     "(RFC 9293 §3.10.2)",
     ("steps", 2, "do", 1)),
    (GOOD_SIM, [{"title": "x", "do": ["deliver"]}],
     "step 1 ('deliver'): nothing in flight to deliver: every segment sent so far has been "
     "delivered or dropped; remove this action, or have an endpoint send something first",
     ("steps", 0, "do", 0)),
    (GOOD_SIM, [{"title": "x", "do": ["server listen", "server timeout"]}],
     "step 1, action 2 ('server timeout'): server: no timer is running in state LISTEN "
     "(RFC 9293 §3.10.8)", ("steps", 0, "do", 1)),
]


@pytest.mark.parametrize(("simulation", "steps", "message", "keypath"), ERRORS,
                         ids=[re.sub(r"\W+", "-", e[2])[:40] for e in ERRORS])
def test_errors_name_the_value_at_fault(simulation: Any, steps: Any, message: str,
                                        keypath: tuple[str | int, ...]) -> None:
    with pytest.raises(TraceError) as err:
        compile_trace(simulation, steps, seed=SEED, render_text=render)
    assert err.value.message.startswith(message), err.value.message
    assert err.value.keypath == keypath


def test_schema_rejects_a_broken_trace(validator: jsonschema.Draft202012Validator) -> None:
    trace = compile_yaml(SCENARIOS["lesson"][0])
    for breakage in (
        lambda t: t["steps"][1]["segments"][0].update(ack=5),  # ack without ACK
        lambda t: t["steps"][1]["segments"][1].update(ack=None),  # ACK without ack
        lambda t: t["steps"][1]["states"].update(client="SYN_SENT"),
        lambda t: t["steps"][1]["segments"][0].update(fate="gone"),
        lambda t: t["steps"][2]["arrivals"][0].update(fate="in-flight"),
        lambda t: t["steps"][0].update(extra=1),
        lambda t: t.update(version=2),
    ):
        broken = copy.deepcopy(trace)
        breakage(broken)
        assert not validator.is_valid(broken)


def test_docs_show_every_scenario_as_compiled() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for name, (source, _) in SCENARIOS.items():
        trace = compile_yaml(source)
        assert f"### {name}" in docs, name
        section = docs.split(f"### {name}", 1)[1].split("\n### ", 1)[0]
        assert "steps:\n" + source.split("steps:\n", 1)[1].rstrip() in section, name
        assert format_trace(trace) in section, name


def test_actions_doc_examples_compile() -> None:
    docs = (DOCS.parent / "actions.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", docs, re.S)]
    assert len(blocks) == 4  # three TCP examples, one BGP
    for block in blocks:
        fm = block if isinstance(block, dict) else {"steps": block}
        fm.setdefault("simulation", GOOD_SIM)
        trace = compile_trace(fm["simulation"], fm["steps"], seed=SEED, render_text=render)
        jsonschema.Draft202012Validator(load_schema(trace["model"])).validate(trace)

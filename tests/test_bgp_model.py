"""The BGP model (RFC 4271 over our TCP model): the §8.2.2 table state by state, refused
actions change nothing, and whole sessions as the lessons play them."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from stepwise.errors import TraceError
from stepwise.models.bgp.actions import parse_action
from stepwise.models.bgp.fsm import DOES, TRANSITIONS, Event, State
from stepwise.models.bgp.lesson import compile_lesson, parse_speakers
from stepwise.models.bgp.messages import keepalive, notification, open_message, update
from stepwise.models.bgp.session import Session
from stepwise.models.tcp.errors import ModelError
from stepwise.trace import compile_trace, format_trace, load_schema

SIM = {"model": "bgp",
       "speakers": {"r1": {"as": 65001, "ip": "10.0.0.1"}, "r2": {"as": 65002, "ip": "10.0.0.2"}},
       "isn": {"r1": 1000, "r2": 5000}}
HANDSHAKE = ["r2 start", "r1 start", "deliver", "deliver", "deliver"]
UP = [*HANDSHAKE, *["deliver"] * 8]  # OPENs, KEEPALIVEs and their ACKs


def session(*actions: str, sim: dict[str, Any] = SIM) -> Session:
    first, second, isns = parse_speakers(sim, "seed")
    s = Session(first, second, isns)
    for text in actions:
        s.apply(parse_action(text, ("r1", "r2")))
    return s


def states(s: Session) -> dict[str, tuple[str, str]]:
    return {k: (sp.state.value, s.endpoint(k).state.value) for k, sp in s.speakers.items()}


def lesson(*steps: list[str], sim: dict[str, Any] = SIM) -> dict[str, Any]:
    return compile_lesson(sim, [{"title": f"step {i}", "do": do} for i, do in enumerate(steps)],
                          seed="seed", render_text=lambda text: "")


# -- the table, state by state ---------------------------------------------------------

#: For each state, actions that leave r2 (the listening speaker) in it, with a
#: consistent TCP connection under it.
REACH = {
    State.IDLE: [],
    State.ACTIVE: ["r2 start"],
    State.CONNECT: ["r2 start", "r1 start"],  # r1
    State.OPEN_SENT: HANDSHAKE,
    State.OPEN_CONFIRM: [*HANDSHAKE, "deliver"],  # r1's OPEN reached r2
    State.ESTABLISHED: UP,
}
#: The message an event of arrival stands for.
ARRIVING = {
    Event.BGP_OPEN: open_message(65001, 90, "10.0.0.1"),
    Event.BGP_OPEN_MSG_ERR: open_message(65009, 90, "10.0.0.1"),
    Event.KEEPALIVE_MSG: keepalive(),
    Event.UPDATE_MSG: update(announce=("10.1.0.0/16",), as_path=(65001,), next_hop="10.0.0.1"),
    Event.NOTIF_MSG: notification(6),
}


#: Events that need the TCP connection up: tried on a session whose connection is
#: ESTABLISHED, with the speaker put in the state under test.
NEEDS_CONNECTION = {Event.TCP_CR_ACKED, Event.TCP_CONNECTION_CONFIRMED, Event.BGP_OPEN,
                    Event.BGP_OPEN_MSG_ERR, Event.BGP_HEADER_ERR, Event.KEEPALIVE_MSG,
                    Event.UPDATE_MSG, Event.NOTIF_MSG, Event.HOLD_TIMER_EXPIRES,
                    Event.KEEPALIVE_TIMER_EXPIRES, Event.MANUAL_STOP}


@pytest.mark.parametrize(("state", "event"), [(s, e) for s, events in TRANSITIONS.items()
                                             for e in events])
def test_every_transition_of_the_table(state: State, event: Event) -> None:
    """The speaker does what the table says and lands where it says (h11-style)."""
    if event in NEEDS_CONNECTION:
        s = session(*UP)
        sp = s.speakers["r2"]
        sp.state = state
    else:
        s = session(*REACH[state])
        sp = s.speakers["r1" if state is State.CONNECT else "r2"]
        if event is Event.MANUAL_START:
            sp = s.speakers["r1"]  # the connecting speaker starts with ManualStart
    assert sp.state is state
    s._received = ARRIVING.get(event)
    s._open_error = 2 if event is Event.BGP_OPEN_MSG_ERR else None
    if event is Event.BGP_OPEN:
        sp.hold_time = 90
    sent = len(s.sent)
    s._event(sp, event)
    assert sp.state is TRANSITIONS[state][event]
    assert s.events[-1] == (sp.key, event)
    # what it sent is what the table's words say it sends
    said = [x.message.type for x in s.sent[sent:]]
    does = DOES[state, event]
    for kind in ("OPEN", "KEEPALIVE", "NOTIFICATION"):
        assert (kind in said) == (f"sends {kind}" in does), (kind, said, does)


@pytest.mark.parametrize("state", [State.OPEN_SENT, State.OPEN_CONFIRM, State.ESTABLISHED])
def test_any_other_event_is_an_fsm_error(state: State) -> None:
    s = session(*REACH[state])
    sp = s.speakers["r2"]
    other = next(e for e in Event if e not in TRANSITIONS[state]
                 and e not in (Event.MANUAL_START, Event.MANUAL_START_PASSIVE))
    s._received = ARRIVING.get(other)
    sent_before = len(s.sent)
    s._event(sp, other)
    assert sp.state is State.IDLE
    assert s.sent[sent_before].message == notification(5)  # Finite State Machine Error


def test_idle_ignores_what_it_has_no_rule_for() -> None:
    s = session()
    sp = s.speakers["r1"]
    for event in (Event.HOLD_TIMER_EXPIRES, Event.KEEPALIVE_MSG, Event.TCP_CONNECTION_FAILS):
        s._event(sp, event)
        assert sp.state is State.IDLE and not s.sent


# -- refused actions -------------------------------------------------------------------


@pytest.mark.parametrize(("actions", "refused", "message"), [
    ([], "r1 announce 10.1.0.0/16", "r1: cannot send UPDATE in state Idle: routes are "
     "exchanged only in Established (RFC 4271 §8.2.2, §9.2)"),
    (HANDSHAKE, "r1 announce 10.1.0.0/16", "r1: cannot send UPDATE in state OpenSent: routes "
     "are exchanged only in Established (RFC 4271 §8.2.2, §9.2)"),
    ([], "r1 stop", "r1: ManualStop is ignored in state Idle: the speaker is not started; "
     "'r1 start' it first (RFC 4271 §8.2.2)"),
    (["r2 start"], "r2 start", "r2: ManualStart is ignored in state Active: the speaker is "
     "started already; 'r2 stop' first (RFC 4271 §8.2.2)"),
    (UP, "r1 withdraw 10.9.0.0/16", "r1: cannot withdraw 10.9.0.0/16: it has not announced "
     "it (announced: none) (RFC 4271 §9.2)"),
    ([], "r1 timeout hold", "r1: its HoldTimer is not running in state Idle (RFC 4271 "
     "§8.2.2)"),
    ([], "r1 timeout", "r1: no timer is running in state Idle (TCP CLOSED) (RFC 4271 §8.2.2)"),
    ([], "r1 reset", "r1: cannot reset its TCP connection: there is none (TCP CLOSED)"),
    ([], "deliver", "nothing in flight to deliver"),
])
def test_a_refused_action_changes_nothing(actions: list[str], refused: str,
                                          message: str) -> None:
    s = session(*actions)
    before = copy.deepcopy(s.__dict__)
    with pytest.raises(ModelError) as caught:
        s.apply(parse_action(refused, ("r1", "r2")))
    assert str(caught.value).startswith(message)
    assert repr(s.__dict__) == repr(before)


def test_a_refusal_in_a_lesson_names_the_step_and_fails_the_build() -> None:
    with pytest.raises(TraceError) as caught:
        compile_trace(SIM, [{"title": "a", "do": HANDSHAKE},
                            {"title": "b", "do": ["r1 announce 10.1.0.0/16"]}],
                      seed="s", render_text=lambda t: "")
    assert caught.value.message == (
        "step 2 ('r1 announce 10.1.0.0/16'): r1: cannot send UPDATE in state OpenSent: "
        "routes are exchanged only in Established (RFC 4271 §8.2.2, §9.2)")
    assert caught.value.keypath == ("steps", 1, "do", 0)


# -- sessions --------------------------------------------------------------------------


def test_two_speakers_peer_and_exchange_a_route() -> None:
    trace = lesson(HANDSHAKE, ["deliver"] * 8, ["r1 announce 10.1.0.0/16", "deliver"])
    jsonschema.Draft202012Validator(load_schema("bgp")).validate(trace)
    last = trace["steps"][-1]
    assert last["states"] == {"r1": {"bgp": "Established", "tcp": "ESTABLISHED"},
                              "r2": {"bgp": "Established", "tcp": "ESTABLISHED"}}
    assert last["routes"]["r2"] == [{"prefix": "10.1.0.0/16", "next_hop": "10.0.0.1",
                                     "as_path": [65001]}]
    events = [(e["speaker"], e["event"]) for step in trace["steps"] for e in step["events"]]
    assert events == [
        ("r2", "ManualStart_with_PassiveTcpEstablishment"), ("r1", "ManualStart"),
        ("r2", "TcpConnection_Valid"), ("r1", "Tcp_CR_Acked"), ("r2", "TcpConnectionConfirmed"),
        ("r2", "BGPOpen"), ("r1", "BGPOpen"), ("r1", "KeepAliveMsg"), ("r2", "KeepAliveMsg"),
        ("r2", "UpdateMsg")]
    # the hold time both proposed (90 s); keepalives every third of it
    assert last["variables"]["r1"]["HoldTime"] == 90
    assert last["variables"]["r1"]["KeepaliveTime"] == 30


def test_messages_have_their_real_sizes_and_move_the_sequence_numbers() -> None:
    trace = lesson(HANDSHAKE, ["deliver"] * 8, ["r1 announce 10.1.0.0/16", "deliver"],
                   ["r1 withdraw 10.1.0.0/16", "deliver"], ["r1 stop"])
    carried = [(s["src"], m["type"], m["length"], s["len"], s["seq"])
               for step in trace["steps"] for s in step["segments"] for m in s["messages"]]
    sizes = [(src, kind, length) for src, kind, length, _, _ in carried]
    assert sizes == [("r1", "OPEN", 29), ("r2", "OPEN", 29), ("r2", "KEEPALIVE", 19),
                     ("r1", "KEEPALIVE", 19), ("r1", "UPDATE", 44), ("r1", "UPDATE", 26),
                     ("r1", "NOTIFICATION", 21)]
    assert all(length == seg_len for _, _, length, seg_len, _ in carried)
    r1_seqs = [seq for src, _, _, _, seq in carried if src == "r1"]
    assert r1_seqs == [1001, 1030, 1049, 1093, 1119]  # ISN + 1, then + each message


def test_the_hold_timer_expires_notification_then_idle() -> None:
    trace = lesson(UP, ["r1 timeout hold", "deliver", "deliver"])
    last = trace["steps"][-1]
    assert [m for s in last["arrivals"] + last["segments"] for m in s["messages"]][0] == {
        "type": "NOTIFICATION", "length": 21, "code": 4, "subcode": 0,
        "error": "Hold Timer Expired"}
    assert {k: v["bgp"] for k, v in last["states"].items()} == {"r1": "Idle", "r2": "Idle"}
    assert [e["event"] for e in last["events"]] == ["HoldTimer_Expires", "NotifMsg"]
    assert last["variables"]["r1"]["ConnectRetryCounter"] == 1


def test_a_wrong_peer_as_is_an_open_message_error() -> None:
    wrong = copy.deepcopy(SIM)
    wrong["speakers"]["r2"]["peer_as"] = 65009
    trace = lesson(HANDSHAKE, ["deliver"] * 3, sim=wrong)
    notif = [m for step in trace["steps"] for s in step["segments"] for m in s["messages"]
             if m["type"] == "NOTIFICATION"]
    assert notif == [{"type": "NOTIFICATION", "length": 21, "code": 2, "subcode": 2,
                      "error": "OPEN Message Error", "suberror": "Bad Peer AS"}]
    assert trace["steps"][-1]["states"]["r2"]["bgp"] == "Idle"


def test_a_broken_marker_is_a_message_header_error() -> None:
    trace = lesson(UP, ["r1 send-malformed", "deliver"])
    last = trace["steps"][-1]
    assert [e["event"] for e in last["events"]] == ["BGPHeaderErr"]
    assert last["segments"][-2]["messages"][0]["error"] == "Message Header Error"
    assert last["states"]["r2"]["bgp"] == "Idle"


def test_a_reset_connection_fails_both_sessions() -> None:
    trace = lesson(UP, ["r1 reset", "deliver"])
    last = trace["steps"][-1]
    assert [(e["speaker"], e["event"]) for e in last["events"]] == [
        ("r1", "TcpConnectionFails"), ("r2", "TcpConnectionFails")]
    assert {k: v["bgp"] for k, v in last["states"].items()} == {"r1": "Idle", "r2": "Idle"}


def test_a_lost_syn_and_the_connect_retry_timer() -> None:
    trace = lesson(["r2 start", "r1 start", "drop"], ["r1 timeout connect-retry"],
                   ["deliver", "deliver", "deliver"])
    assert trace["steps"][1]["states"]["r1"] == {"bgp": "Connect", "tcp": "SYN-SENT"}
    assert trace["steps"][-1]["states"]["r1"]["bgp"] == "OpenSent"


def test_the_summary_reads_like_the_tcp_one() -> None:
    text = format_trace(lesson(HANDSHAKE))
    assert text.splitlines()[0] == ("1. r2 start, r1 start, deliver, deliver, deliver -> "
                                    "r1 OpenSent/ESTABLISHED, r2 OpenSent/ESTABLISHED")
    assert "#4 r1>r2 PSH,ACK len=29 OPEN (in-flight)" in text


@pytest.mark.parametrize(("change", "message"), [
    ({"speakers": {"r1": {"as": 65001}}}, "simulation needs 'speakers', two of them"),
    ({"speakers": {"r1": {"as": 70000, "ip": "10.0.0.1"}, "r2": {"as": 1, "ip": "10.0.0.2"}}},
     "simulation.speakers.r1.as must be an integer from 1 to 65535 (a 2-octet AS), got 70000"),
    ({"speakers": {"r1": {"as": 1, "ip": "::1"}, "r2": {"as": 2, "ip": "10.0.0.2"}}},
     "simulation.speakers.r1.ip must be an IPv4 address written as a string (its address)"),
    ({"speakers": {"r1": {"as": 1, "ip": "10.0.0.1", "hold_time": 2},
                   "r2": {"as": 2, "ip": "10.0.0.2"}}},
     "simulation.speakers.r1.hold_time must be 0 or at least 3 seconds (RFC 4271 §4.2)"),
    ({"speakers": {"r1": {"as": 1, "ip": "10.0.0.1", "passive": True},
                   "r2": {"as": 2, "ip": "10.0.0.2", "passive": True}}},
     "one speaker must open the connection: both are passive"),
    ({"speakers": {"deliver": {"as": 1, "ip": "10.0.0.1"}, "r2": {"as": 2, "ip": "10.0.0.2"}}},
     "simulation.speakers: 'deliver' cannot name a speaker"),
    ({"speakers": {"r1": {"as": 1, "ip": "10.0.0.1", "hold": 9},
                   "r2": {"as": 2, "ip": "10.0.0.2"}}},
     "unknown key 'hold' in simulation.speakers.r1; known keys: name, as, id, ip, port, "
     "hold_time, passive, peer_as; did you mean 'hold_time'?"),
])
def test_bad_settings_say_what_to_fix(change: dict[str, Any], message: str) -> None:
    with pytest.raises(TraceError) as caught:
        compile_trace({**SIM, **change}, [{"title": "x", "do": []}], seed="s",
                      render_text=lambda t: "")
    assert caught.value.message.startswith(message)


def test_a_trace_is_json_and_deterministic() -> None:
    one, two = lesson(UP), lesson(UP)
    assert json.dumps(one) == json.dumps(two)

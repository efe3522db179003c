"""The TCP model against RFC 9293: the state diagram, refused calls, scenarios step by step."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from stepwise.models.tcp import (
    ALL_STATES,
    TRANSITIONS,
    Endpoint,
    Event,
    Flag,
    ModelError,
    Network,
    Segment,
    State,
    acceptable,
)
from stepwise.models.tcp.endpoint import reset_for
from stepwise.models.tcp.segment import seq_le, seq_lt
from stepwise.models.tcp.states import REFUSAL_REASON, USER_CALL_SECTION, USER_CALLS

C_ISS, S_ISS = 1000, 5000

Step = str | Callable[[Network], object]


def net(*actions: Step, delayed_ack: bool = False) -> Network:
    n = Network.create(C_ISS, S_ISS, client_delayed_ack=delayed_ack,
                       server_delayed_ack=delayed_ack)
    run(n, actions)
    return n


def run(n: Network, actions: tuple[Step, ...] | list[Step]) -> None:
    for a in actions:
        if isinstance(a, str):
            n.apply(a)
        else:
            a(n)


def inject(dst: str, flags: str, seq: Callable[[Endpoint], int]) -> Callable[[Network], object]:
    """A step that makes a segment arrive at ``dst`` directly (not through the flight)."""

    def step(n: Network) -> object:
        ep = n.endpoint(dst)
        return ep.segment_arrives(Segment.make(flags, seq(ep), src="x", dst=dst))

    return step


def rcv_nxt(ep: Endpoint) -> int:
    assert ep.tcb is not None and ep.tcb.RCV_NXT is not None
    return ep.tcb.RCV_NXT


E = ["server listen", "client connect", "deliver", "deliver", "deliver"]  # both ESTABLISHED
FW1 = [*E, "client close"]
FW2 = [*FW1, "deliver", "deliver"]
CW = [*E, "server close", "deliver"]

#: A way to bring the client into each state.
PATHS: dict[State, list[Step]] = {
    State.CLOSED: [],
    State.LISTEN: ["client listen"],
    State.SYN_SENT: ["client connect"],
    State.SYN_RECEIVED: ["client listen", "server connect", "deliver"],
    State.ESTABLISHED: E,
    State.FIN_WAIT_1: FW1,
    State.FIN_WAIT_2: FW2,
    State.CLOSE_WAIT: CW,
    State.CLOSING: [*E, "client close", "server close", "deliver", "deliver"],
    State.LAST_ACK: [*CW, "client close"],
    State.TIME_WAIT: [*FW2, "server close", "deliver"],
}


def test_paths_reach_their_state() -> None:
    for state, path in PATHS.items():
        assert net(*path).client.state is state, path


# ---------------------------------------------------------------- the state diagram

S = State
# (from, event, setup after PATHS[from], event actions, client's state after)
ARROWS: list[tuple[State, Event, list[Step], State]] = [
    (S.CLOSED, Event.PASSIVE_OPEN, ["client listen"], S.LISTEN),
    (S.CLOSED, Event.ACTIVE_OPEN, ["client connect"], S.SYN_SENT),
    (S.LISTEN, Event.RCV_SYN, ["server connect", "deliver"], S.SYN_RECEIVED),
    (S.LISTEN, Event.ACTIVE_OPEN, ["client connect"], S.SYN_SENT),
    (S.LISTEN, Event.SEND, ["client send 10"], S.SYN_SENT),
    (S.LISTEN, Event.CLOSE, ["client close"], S.CLOSED),
    (S.LISTEN, Event.ABORT, ["client abort"], S.CLOSED),
    (S.SYN_SENT, Event.RCV_SYN, ["server connect", "drop", "deliver"], S.SYN_RECEIVED),
    (S.SYN_SENT, Event.RCV_SYN_ACK, ["server listen", "deliver", "deliver"], S.ESTABLISHED),
    (S.SYN_SENT, Event.RCV_RST, ["deliver", "deliver"], S.CLOSED),  # closed port
    (S.SYN_SENT, Event.SEND, ["client send 10"], S.SYN_SENT),
    (S.SYN_SENT, Event.CLOSE, ["client close"], S.CLOSED),
    (S.SYN_SENT, Event.ABORT, ["client abort"], S.CLOSED),
    (S.SYN_RECEIVED, Event.RCV_ACK_OF_SYN, ["deliver", "deliver"], S.ESTABLISHED),
    (S.SYN_RECEIVED, Event.BACK_TO_LISTEN, ["server abort", "deliver", "deliver"], S.LISTEN),
    (S.SYN_RECEIVED, Event.SEND, ["client send 10"], S.SYN_RECEIVED),
    (S.SYN_RECEIVED, Event.CLOSE, ["client close"], S.FIN_WAIT_1),
    (S.SYN_RECEIVED, Event.ABORT, ["client abort"], S.CLOSED),
    (S.ESTABLISHED, Event.RCV_FIN, ["server close", "deliver"], S.CLOSE_WAIT),
    (S.ESTABLISHED, Event.RCV_RST, ["server abort", "deliver"], S.CLOSED),
    (S.ESTABLISHED, Event.SEND, ["client send 10"], S.ESTABLISHED),
    (S.ESTABLISHED, Event.CLOSE, ["client close"], S.FIN_WAIT_1),
    (S.ESTABLISHED, Event.ABORT, ["client abort"], S.CLOSED),
    (S.FIN_WAIT_1, Event.RCV_ACK_OF_FIN, ["deliver", "deliver"], S.FIN_WAIT_2),
    (S.FIN_WAIT_1, Event.RCV_FIN, ["server close", "drop", "deliver"], S.CLOSING),
    (S.FIN_WAIT_1, Event.RCV_RST, ["drop", "server abort", "deliver"], S.CLOSED),
    (S.FIN_WAIT_1, Event.ABORT, ["client abort"], S.CLOSED),
    (S.FIN_WAIT_2, Event.RCV_FIN, ["server close", "deliver"], S.TIME_WAIT),
    (S.FIN_WAIT_2, Event.RCV_RST, ["server abort", "deliver"], S.CLOSED),
    (S.FIN_WAIT_2, Event.ABORT, ["client abort"], S.CLOSED),
    (S.CLOSE_WAIT, Event.RCV_RST, ["server abort", "deliver", "deliver"], S.CLOSED),
    (S.CLOSE_WAIT, Event.SEND, ["client send 10"], S.CLOSE_WAIT),
    (S.CLOSE_WAIT, Event.CLOSE, ["client close"], S.LAST_ACK),
    (S.CLOSE_WAIT, Event.ABORT, ["client abort"], S.CLOSED),
    (S.CLOSING, Event.RCV_ACK_OF_FIN, ["deliver"], S.TIME_WAIT),
    (S.CLOSING, Event.RCV_RST, [inject("client", "RST", rcv_nxt)], S.CLOSED),
    (S.CLOSING, Event.ABORT, ["client abort"], S.CLOSED),
    (S.LAST_ACK, Event.RCV_ACK_OF_FIN, ["deliver", "deliver", "deliver"], S.CLOSED),
    (S.LAST_ACK, Event.RCV_RST, [inject("client", "RST", rcv_nxt)], S.CLOSED),
    (S.LAST_ACK, Event.ABORT, ["client abort"], S.CLOSED),
    (S.TIME_WAIT, Event.TIMEOUT_2MSL, ["client timeout"], S.CLOSED),
    (S.TIME_WAIT, Event.RCV_RST, [inject("client", "RST", rcv_nxt)], S.CLOSED),
    (S.TIME_WAIT, Event.ABORT, ["client abort"], S.CLOSED),
]
# Arrows reached from a path of their own (a different peer history).
EXTRA_ARROWS: list[tuple[State, Event, list[Step], State]] = [
    # SYN-RECEIVED after a simultaneous open, then reset: "connection refused", CLOSED.
    (S.SYN_RECEIVED, Event.RCV_RST,
     ["client connect", "server connect", "drop", "deliver", "server abort", "deliver",
      "deliver"], S.CLOSED),
    # A new in-window SYN in SYN-RECEIVED after a passive open: back to LISTEN.
    (S.SYN_RECEIVED, Event.BACK_TO_LISTEN,
     [*PATHS[S.SYN_RECEIVED], "server abort", "server connect", "drop", "deliver"], S.LISTEN),
]


@pytest.mark.parametrize(("start", "event", "actions", "end"), ARROWS,
                         ids=[f"{a[0].value}--{a[1].value}" for a in ARROWS])
def test_every_arrow_of_the_diagram(start: State, event: Event, actions: list[Step],
                                    end: State) -> None:
    n = net(*PATHS[start])
    assert n.client.state is start
    run(n, actions)
    assert n.client.state is end
    assert TRANSITIONS[start][event] is end


@pytest.mark.parametrize(("start", "event", "actions", "end"), EXTRA_ARROWS)
def test_arrows_with_their_own_path(start: State, event: Event, actions: list[Step],
                                    end: State) -> None:
    n = net()
    run(n, actions[:-1])
    assert n.client.state is start
    run(n, actions[-1:])
    assert n.client.state is end
    assert TRANSITIONS[start][event] is end


def test_the_table_is_the_diagram() -> None:
    covered = {(a[0], a[1]) for a in ARROWS + EXTRA_ARROWS}
    table = {(s, e) for s, row in TRANSITIONS.items() for e in row}
    assert covered == table
    assert set(TRANSITIONS) == set(ALL_STATES) and len(ALL_STATES) == 11
    assert [s.value for s in ALL_STATES] == [
        "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
        "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"]


# ---------------------------------------------------------------- refused user calls

# Written from the text of RFC 9293 §3.10.1-§3.10.5, independently of TRANSITIONS.
ALLOWED: dict[State, set[str]] = {
    S.CLOSED: {"listen", "connect"},
    S.LISTEN: {"connect", "send", "close", "abort"},
    S.SYN_SENT: {"send", "close", "abort"},
    S.SYN_RECEIVED: {"send", "close", "abort"},
    S.ESTABLISHED: {"send", "close", "abort"},
    S.FIN_WAIT_1: {"abort"},
    S.FIN_WAIT_2: {"abort"},
    S.CLOSE_WAIT: {"send", "close", "abort"},
    S.CLOSING: {"abort"},
    S.LAST_ACK: {"abort"},
    S.TIME_WAIT: {"abort"},
}
CALL = {"listen": ("passive OPEN", "§3.10.1"), "connect": ("active OPEN", "§3.10.1"),
        "send": ("SEND", "§3.10.2"), "close": ("CLOSE", "§3.10.4"),
        "abort": ("ABORT", "§3.10.5")}
CASES = [(s, v) for s in ALL_STATES for v in CALL]


@pytest.mark.parametrize(("state", "verb"), CASES, ids=[f"{s.value}-{v}" for s, v in CASES])
def test_user_calls_allowed_or_refused(state: State, verb: str) -> None:
    n = net(*PATHS[state])
    action = f"client {verb}" + (" 10" if verb == "send" else "")
    if verb in ALLOWED[state]:
        n.apply(action)
        return
    before = copy.deepcopy(n)
    name, section = CALL[verb]
    with pytest.raises(ModelError) as err:
        n.apply(action)
    # the RFC's answer, then what an author can do about it
    reason = REFUSAL_REASON[Event(name)][state]
    message = str(err.value)
    assert message.startswith(f"client: cannot {name} in state {state.value}: {reason}; ")
    assert message.endswith(f" (RFC 9293 {section})")
    assert n == before  # the whole scenario is unchanged


def test_refusal_reasons_match_the_table() -> None:
    for call in USER_CALLS:
        refused = {s for s in ALL_STATES if call not in TRANSITIONS[s]}
        assert refused == set(REFUSAL_REASON[call]), call
        assert USER_CALL_SECTION[call].startswith("§3.10.")


def test_network_errors_change_nothing() -> None:
    n = net("server listen")
    before = copy.deepcopy(n)
    with pytest.raises(ModelError, match="^nothing in flight to deliver: every segment sent"):
        n.deliver()
    with pytest.raises(ModelError, match="^nothing in flight to drop: every segment sent"):
        n.drop()
    with pytest.raises(ModelError) as err:
        n.timeout("server")
    assert str(err.value) == "server: no timer is running in state LISTEN (RFC 9293 §3.10.8)"
    assert n == before


# ---------------------------------------------------------------- scenarios, step by step


def flight(n: Network) -> list[str]:
    return [f"{s.src[0]}>{s.dst[0]} {','.join(s.flag_names)} {s.seq}/{s.ack}/{s.len}"
            for s in n.in_flight]


def tcb(ep: Endpoint) -> tuple[int | None, ...]:
    return tuple(ep.variables().values())


def whole(n: Network) -> tuple[object, ...]:
    return (n.client.state.value, n.server.state.value, tcb(n.client), tcb(n.server), flight(n))


N = None
LIFE_CYCLE: list[tuple[str, tuple[object, ...]]] = [
    ("server listen", ("CLOSED", "LISTEN", (N,) * 5, (N,) * 5, [])),
    ("client connect", ("SYN-SENT", "LISTEN", (1000, N, 1000, 1001, N), (N,) * 5,
                        ["c>s SYN 1000/None/0"])),
    ("deliver", ("SYN-SENT", "SYN-RECEIVED", (1000, N, 1000, 1001, N),
                 (5000, 1000, 5000, 5001, 1001), ["s>c SYN,ACK 5000/1001/0"])),
    ("deliver", ("ESTABLISHED", "SYN-RECEIVED", (1000, 5000, 1001, 1001, 5001),
                 (5000, 1000, 5000, 5001, 1001), ["c>s ACK 1001/5001/0"])),
    ("deliver", ("ESTABLISHED", "ESTABLISHED", (1000, 5000, 1001, 1001, 5001),
                 (5000, 1000, 5001, 5001, 1001), [])),
    ("client send 120", ("ESTABLISHED", "ESTABLISHED", (1000, 5000, 1001, 1121, 5001),
                         (5000, 1000, 5001, 5001, 1001), ["c>s PSH,ACK 1001/5001/120"])),
    ("deliver", ("ESTABLISHED", "ESTABLISHED", (1000, 5000, 1001, 1121, 5001),
                 (5000, 1000, 5001, 5001, 1121), ["s>c ACK 5001/1121/0"])),
    ("deliver", ("ESTABLISHED", "ESTABLISHED", (1000, 5000, 1121, 1121, 5001),
                 (5000, 1000, 5001, 5001, 1121), [])),
    ("server send 300", ("ESTABLISHED", "ESTABLISHED", (1000, 5000, 1121, 1121, 5001),
                         (5000, 1000, 5001, 5301, 1121), ["s>c PSH,ACK 5001/1121/300"])),
    ("deliver", ("ESTABLISHED", "ESTABLISHED", (1000, 5000, 1121, 1121, 5301),
                 (5000, 1000, 5001, 5301, 1121), ["c>s ACK 1121/5301/0"])),
    ("deliver", ("ESTABLISHED", "ESTABLISHED", (1000, 5000, 1121, 1121, 5301),
                 (5000, 1000, 5301, 5301, 1121), [])),
    ("client close", ("FIN-WAIT-1", "ESTABLISHED", (1000, 5000, 1121, 1122, 5301),
                      (5000, 1000, 5301, 5301, 1121), ["c>s FIN,ACK 1121/5301/0"])),
    ("deliver", ("FIN-WAIT-1", "CLOSE-WAIT", (1000, 5000, 1121, 1122, 5301),
                 (5000, 1000, 5301, 5301, 1122), ["s>c ACK 5301/1122/0"])),
    ("deliver", ("FIN-WAIT-2", "CLOSE-WAIT", (1000, 5000, 1122, 1122, 5301),
                 (5000, 1000, 5301, 5301, 1122), [])),
    ("server close", ("FIN-WAIT-2", "LAST-ACK", (1000, 5000, 1122, 1122, 5301),
                      (5000, 1000, 5301, 5302, 1122), ["s>c FIN,ACK 5301/1122/0"])),
    ("deliver", ("TIME-WAIT", "LAST-ACK", (1000, 5000, 1122, 1122, 5302),
                 (5000, 1000, 5301, 5302, 1122), ["c>s ACK 1122/5302/0"])),
    ("deliver", ("TIME-WAIT", "CLOSED", (1000, 5000, 1122, 1122, 5302), (N,) * 5, [])),
    ("client timeout", ("CLOSED", "CLOSED", (N,) * 5, (N,) * 5, [])),
]


def test_full_life_cycle_step_by_step() -> None:
    n = net()
    for action, expected in LIFE_CYCLE:
        n.apply(action)
        assert whole(n) == expected, action
    assert n.timers() == []
    assert [e.segment.id for e in n.history if type(e).__name__ == "Sent"] == list(range(1, 12))


def test_simultaneous_open() -> None:
    n = net("client connect", "server connect")
    assert whole(n) == ("SYN-SENT", "SYN-SENT", (1000, N, 1000, 1001, N),
                        (5000, N, 5000, 5001, N),
                        ["c>s SYN 1000/None/0", "s>c SYN 5000/None/0"])
    n.apply("deliver")  # the client's SYN crosses the server's
    assert whole(n) == ("SYN-SENT", "SYN-RECEIVED", (1000, N, 1000, 1001, N),
                        (5000, 1000, 5000, 5001, 1001),
                        ["s>c SYN 5000/None/0", "s>c SYN,ACK 5000/1001/0"])
    n.apply("deliver")
    assert whole(n) == ("SYN-RECEIVED", "SYN-RECEIVED", (1000, 5000, 1000, 1001, 5001),
                        (5000, 1000, 5000, 5001, 1001),
                        ["s>c SYN,ACK 5000/1001/0", "c>s SYN,ACK 1000/5001/0"])
    n.apply("deliver")  # RFC 9293 §3.5 Figure 7: the SYN,ACK completes the handshake
    assert whole(n) == ("ESTABLISHED", "SYN-RECEIVED", (1000, 5000, 1001, 1001, 5001),
                        (5000, 1000, 5000, 5001, 1001), ["c>s SYN,ACK 1000/5001/0"])
    n.apply("deliver")
    assert whole(n) == ("ESTABLISHED", "ESTABLISHED", (1000, 5000, 1001, 1001, 5001),
                        (5000, 1000, 5001, 5001, 1001), [])
    assert n.timers() == []


def test_simultaneous_close_through_closing() -> None:
    n = net(*E, "client close", "server close")
    assert (n.client.state, n.server.state) == (S.FIN_WAIT_1, S.FIN_WAIT_1)
    assert flight(n) == ["c>s FIN,ACK 1001/5001/0", "s>c FIN,ACK 5001/1001/0"]
    n.apply("deliver")
    assert whole(n) == ("FIN-WAIT-1", "CLOSING", (1000, 5000, 1001, 1002, 5001),
                        (5000, 1000, 5001, 5002, 1002),
                        ["s>c FIN,ACK 5001/1001/0", "s>c ACK 5002/1002/0"])
    n.apply("deliver")
    assert whole(n) == ("CLOSING", "CLOSING", (1000, 5000, 1001, 1002, 5002),
                        (5000, 1000, 5001, 5002, 1002),
                        ["s>c ACK 5002/1002/0", "c>s ACK 1002/5002/0"])
    n.run("deliver", "deliver")
    assert whole(n) == ("TIME-WAIT", "TIME-WAIT", (1000, 5000, 1002, 1002, 5002),
                        (5000, 1000, 5002, 5002, 1002), [])
    assert [(t.endpoint, t.name, t.seconds) for t in n.timers()] == [
        ("client", "TIME-WAIT", 240), ("server", "TIME-WAIT", 240)]


def test_connect_to_a_closed_port() -> None:
    n = net("client connect", "deliver")
    assert whole(n) == ("SYN-SENT", "CLOSED", (1000, N, 1000, 1001, N), (N,) * 5,
                        ["s>c RST,ACK 0/1001/0"])
    assert n.in_flight[0].wnd == 0
    n.apply("deliver")
    assert whole(n) == ("CLOSED", "CLOSED", (N,) * 5, (N,) * 5, [])


def test_abort_from_established() -> None:
    n = net(*E, "client send 50", "deliver", "deliver", "client abort")
    assert whole(n) == ("CLOSED", "ESTABLISHED", (N,) * 5, (5000, 1000, 5001, 5001, 1051),
                        ["c>s RST 1051/None/0"])
    n.apply("deliver")
    assert whole(n) == ("CLOSED", "CLOSED", (N,) * 5, (N,) * 5, [])
    assert n.timers() == []


def test_lost_syn_is_retransmitted_with_backoff() -> None:
    n = net("server listen", "client connect", "drop")
    assert [(t.name, t.seconds) for t in n.timers()] == [("retransmission", 1.0)]
    n.apply("client timeout")
    assert flight(n) == ["c>s SYN 1000/None/0"] and n.in_flight[0].id == 2
    assert [(t.name, t.seconds) for t in n.timers()] == [("retransmission", 2.0)]
    n.run("drop", "client timeout")
    assert [(t.name, t.seconds) for t in n.timers()] == [("retransmission", 4.0)]
    n.run("deliver", "deliver", "deliver")
    assert (n.client.state, n.server.state) == (S.ESTABLISHED, S.ESTABLISHED)
    assert n.timers() == []


def test_lost_data_is_retransmitted_and_out_of_order_data_is_not_held() -> None:
    n = net(*E, "client send 100", "client send 200", "drop", "deliver")
    # the 200 bytes arrive beyond RCV.NXT: duplicate ACK, discarded
    assert flight(n) == ["s>c ACK 5001/1001/0"]
    assert n.server.variables()["RCV.NXT"] == 1001
    n.run("deliver", "client timeout")
    assert flight(n) == ["c>s PSH,ACK 1001/5001/100"]
    n.run("deliver", "deliver", "client timeout", "deliver", "deliver")
    assert n.server.variables()["RCV.NXT"] == 1301
    assert n.client.variables()["SND.UNA"] == 1301 and n.timers() == []


def test_half_close_server_keeps_sending() -> None:
    n = net(*E, "client close", "deliver", "deliver")
    assert (n.client.state, n.server.state) == (S.FIN_WAIT_2, S.CLOSE_WAIT)
    n.run("server send 400", "deliver")
    assert whole(n) == ("FIN-WAIT-2", "CLOSE-WAIT", (1000, 5000, 1002, 1002, 5401),
                        (5000, 1000, 5001, 5401, 1002), ["c>s ACK 1002/5401/0"])
    n.run("deliver", "server close", "deliver", "deliver")
    assert (n.client.state, n.server.state) == (S.TIME_WAIT, S.CLOSED)


def test_lost_final_ack_time_wait_reacks_and_restarts() -> None:
    n = net(*FW2, "server close", "deliver", "drop")
    assert (n.client.state, n.server.state) == (S.TIME_WAIT, S.LAST_ACK)
    n.apply("server timeout")
    assert flight(n) == ["s>c FIN,ACK 5001/1002/0"]
    n.apply("deliver")
    assert flight(n) == ["c>s ACK 1002/5002/0"]
    assert n.client.state is S.TIME_WAIT
    assert n.client.tcb is not None and n.client.tcb.time_wait_restarts == 1
    assert [(t.endpoint, t.name, t.seconds) for t in n.timers()] == [
        ("client", "TIME-WAIT", 240), ("server", "retransmission", 2.0)]
    n.apply("deliver")
    assert (n.client.state, n.server.state) == (S.TIME_WAIT, S.CLOSED)


def test_passive_open_reset_back_to_listen() -> None:
    n = net("server listen", "client connect", "deliver", "client abort")
    assert whole(n) == ("CLOSED", "SYN-RECEIVED", (N,) * 5, (5000, 1000, 5000, 5001, 1001),
                        ["s>c SYN,ACK 5000/1001/0"])
    n.apply("deliver")  # SYN,ACK to a closed port: <SEQ=SEG.ACK><CTL=RST>
    assert flight(n) == ["c>s RST 1001/None/0"]
    n.apply("deliver")
    assert whole(n) == ("CLOSED", "LISTEN", (N,) * 5, (N,) * 5, [])
    n.run("client connect", "deliver")  # a new connection gets new ISNs
    assert flight(n) == ["s>c SYN,ACK 69000/65001/0"]


def test_delayed_ack_gives_the_combined_fin_ack() -> None:
    n = net(*E, "client close", "deliver", delayed_ack=True)
    assert whole(n)[:2] == ("FIN-WAIT-1", "CLOSE-WAIT") and flight(n) == []
    assert [(t.endpoint, t.name, t.seconds) for t in n.timers()] == [
        ("client", "retransmission", 1.0), ("server", "delayed-ACK", 0.2)]
    n.apply("server close")  # the FIN also acknowledges the client's FIN
    assert flight(n) == ["s>c FIN,ACK 5001/1002/0"]
    n.run("deliver", "deliver")
    assert (n.client.state, n.server.state) == (S.TIME_WAIT, S.CLOSED)


def test_delayed_ack_timer_and_every_second_segment() -> None:
    n = net(*E, "client send 10", "deliver", delayed_ack=True)
    assert flight(n) == []
    n.apply("server timeout")
    assert flight(n) == ["s>c ACK 5001/1011/0"]
    n.run("deliver", "client send 10", "client send 10", "deliver")
    assert flight(n) == ["c>s PSH,ACK 1021/5001/10"]
    n.apply("deliver")  # the second unacknowledged segment is acknowledged at once
    assert flight(n) == ["s>c ACK 5001/1031/0"]


def test_send_queued_until_established() -> None:
    n = net("server listen", "client connect", "client send 30", "deliver")
    assert flight(n) == ["s>c SYN,ACK 5000/1001/0"]
    n.apply("deliver")  # the queued data carries the handshake's ACK
    assert flight(n) == ["c>s PSH,ACK 1001/5001/30"]
    n.apply("deliver")
    assert n.server.state is S.ESTABLISHED and n.server.variables()["RCV.NXT"] == 1031


def test_send_in_listen_turns_active() -> None:
    n = net("client listen", "client send 5", "server listen", "deliver", "deliver")
    assert flight(n) == ["c>s PSH,ACK 1001/5001/5"]
    assert n.client.state is S.ESTABLISHED


def test_syn_in_established_gets_a_challenge_ack() -> None:
    n = net(*E)
    n.endpoint("server").tcb  # noqa: B018
    out = n.client.segment_arrives(Segment.make("SYN", 9999, src="server", dst="client"))
    assert [(s.flag_names, s.seq, s.ack) for s in out] == [(["ACK"], 1001, 5001)]
    assert n.client.state is S.ESTABLISHED


def test_rst_in_window_but_not_exact_gets_a_challenge_ack() -> None:
    n = net(*E)
    out = n.client.segment_arrives(Segment.make("RST", 5002, src="server", dst="client"))
    assert [(s.flag_names, s.ack) for s in out] == [(["ACK"], 5001)]
    assert n.client.state is S.ESTABLISHED
    assert n.client.segment_arrives(Segment.make("RST", 99, src="server", dst="client")) == []
    assert n.client.state is S.ESTABLISHED


def test_ack_of_unsent_data_is_answered_and_dropped() -> None:
    n = net(*E)
    out = n.client.segment_arrives(Segment.make("ACK", 5001, 4000, src="server", dst="client"))
    assert [(s.flag_names, s.seq, s.ack) for s in out] == [(["ACK"], 1001, 5001)]
    assert n.client.variables()["SND.UNA"] == 1001


def test_listen_resets_an_ack_and_ignores_a_rst() -> None:
    ep = Endpoint("server", "client", S_ISS)
    ep.open(passive=True)
    out = ep.segment_arrives(Segment.make("ACK", 7, 77))
    assert [(s.flag_names, s.seq, s.ack) for s in out] == [(["RST"], 77, None)]
    assert ep.segment_arrives(Segment.make("RST", 7)) == []
    assert ep.state is S.LISTEN


def test_syn_sent_resets_a_bad_ack() -> None:
    n = net("client connect")
    out = n.client.segment_arrives(Segment.make("SYN,ACK", 1, 999, src="server", dst="client"))
    assert [(s.flag_names, s.seq) for s in out] == [(["RST"], 999)]
    assert n.client.state is S.SYN_SENT
    # a RST without ACK in SYN-SENT is dropped
    assert n.client.segment_arrives(Segment.make("RST", 1)) == []
    assert n.client.state is S.SYN_SENT


def test_handshake_across_the_wrap() -> None:
    n = Network.create(2**32 - 1, 2**32 - 1)
    n.run("server listen", "client connect", "deliver", "deliver", "deliver",
          "client send 10", "deliver", "deliver")
    assert n.client.variables() == {"ISS": 2**32 - 1, "IRS": 2**32 - 1, "SND.UNA": 10,
                                    "SND.NXT": 10, "RCV.NXT": 0}
    assert n.server.variables()["RCV.NXT"] == 10
    n.run("client close", "deliver", "deliver", "server close", "deliver", "deliver")
    assert (n.client.state, n.server.state) == (S.TIME_WAIT, S.CLOSED)


# ---------------------------------------------------------------- the small functions


@pytest.mark.parametrize(("seq", "length", "nxt", "wnd", "ok"), [
    (100, 0, 100, 0, True), (101, 0, 100, 0, False),
    (100, 0, 100, 10, True), (109, 0, 100, 10, True), (110, 0, 100, 10, False),
    (99, 0, 100, 10, False),
    (100, 5, 100, 0, False),
    (100, 5, 100, 10, True), (95, 6, 100, 10, True), (95, 5, 100, 10, False),
    (109, 5, 100, 10, True), (110, 5, 100, 10, False),
    (2**32 - 2, 4, 0, 10, True), (2**32 - 1, 0, 2**32 - 5, 10, True),
    (3, 0, 2**32 - 5, 10, True), (5, 0, 2**32 - 5, 10, False),
])
def test_acceptability_test(seq: int, length: int, nxt: int, wnd: int, ok: bool) -> None:
    assert acceptable(seq, length, nxt, wnd) is ok


def test_sequence_comparisons_wrap() -> None:
    assert seq_lt(2**32 - 1, 0) and seq_lt(2**32 - 10, 5) and not seq_lt(5, 2**32 - 10)
    assert seq_le(7, 7) and not seq_lt(7, 7)


def test_reset_for_closed_port() -> None:
    syn = Segment.make("SYN", 41, wnd=100)
    rst = reset_for(syn)
    assert rst is not None and (rst.flag_names, rst.seq, rst.ack) == (["RST", "ACK"], 0, 42)
    data = Segment.make("PSH,ACK", 7, 900, len=10)
    rst = reset_for(data)
    assert rst is not None and (rst.flag_names, rst.seq, rst.ack) == (["RST"], 900, None)
    assert reset_for(Segment.make("RST", 1)) is None


def test_segment_checks_and_repr() -> None:
    seg = Segment.make("ACK,SYN", 5000, 1001, src="server", dst="client", id=2)
    assert seg.flags == (Flag.SYN, Flag.ACK) and seg.seg_len == 1
    assert repr(seg) == "<#2 server->client SYN,ACK seq=5000 ack=1001 len=0 wnd=65535>"
    with pytest.raises(ValueError):
        Segment(1, "a", "b", (Flag.ACK,), 1, None, 0, 1)
    with pytest.raises(ValueError):
        Segment(1, "a", "b", (Flag.ACK, Flag.SYN), 1, 2, 0, 1)
    with pytest.raises(ValueError):
        Segment(1, "a", "b", (), 2**32, None, 0, 1)
    with pytest.raises(ValueError):
        Endpoint("c", "s", 1).send(0)

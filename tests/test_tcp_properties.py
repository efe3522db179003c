"""Properties of the TCP model over random action sequences (hypothesis)."""

from __future__ import annotations

import copy

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from stepwise.models.tcp import ALL_STATES, ModelError, Network, Segment, State
from stepwise.models.tcp.network import Sent
from stepwise.models.tcp.segment import seq_add, seq_le, seq_sub
from stepwise.trace import compile_trace, load_schema

# Weighted by repetition so that random sequences reach the closing states too.
ACTIONS = [f"{e} {v}" for e in ("client", "server")
           for v in ("listen", "connect", "connect", "close", "close", "timeout", "send 1",
                     "send 700")]
ACTIONS += ["client abort", "server abort", "drop", "drop"] + ["deliver"] * 16

isns = st.one_of(st.integers(0, 2**32 - 1), st.integers(2**32 - 3000, 2**32 - 1),
                 st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**32 - 1]))
scenario = st.tuples(isns, isns, st.booleans(), st.booleans(),
                     st.lists(st.sampled_from(ACTIONS), max_size=40))


def segment_end(seg: Segment) -> int:
    return seq_add(seg.seq, seg.seg_len)


@settings(max_examples=200, deadline=None)
@given(scenario)
def test_random_actions_are_refused_cleanly_or_keep_the_invariants(
        case: tuple[int, int, bool, bool, list[str]]) -> None:
    c_iss, s_iss, c_delay, s_delay, actions = case
    net = Network.create(c_iss, s_iss, client_delayed_ack=c_delay, server_delayed_ack=s_delay)
    ends: dict[str, set[int]] = {"client": set(), "server": set()}
    for action in actions:
        before = copy.deepcopy(net)
        try:
            events = net.apply(action)
        except ModelError:
            assert net == before
            continue
        for event in events:
            if isinstance(event, Sent):
                seg = event.segment
                if seg.ack is not None:  # acknowledges only what the peer sent
                    assert seg.ack in ends[seg.dst], (seg, sorted(ends[seg.dst]))
                ends[seg.src].add(segment_end(seg))
        for ep in (net.client, net.server):
            assert ep.state in ALL_STATES
            assert (ep.tcb is None) == (ep.state is State.CLOSED)
            v = ep.variables()
            if v["SND.UNA"] is not None:
                assert v["SND.NXT"] is not None and v["ISS"] is not None
                assert seq_le(v["SND.UNA"], v["SND.NXT"])
                assert seq_sub(v["SND.NXT"], v["ISS"]) < 2**31
            if v["RCV.NXT"] is not None:
                assert v["RCV.NXT"] in ends[ep.peer]
            for name, seconds in ep.timers():
                assert seconds > 0 and name in ("retransmission", "TIME-WAIT", "delayed-ACK")
    ids = [e.segment.id for e in net.history if isinstance(e, Sent)]
    assert ids == list(range(1, len(ids) + 1))


@settings(max_examples=100, deadline=None)
@given(isns, isns, st.lists(st.integers(1, 65535), max_size=4))
def test_handshake_data_and_close_across_the_wrap(c_iss: int, s_iss: int,
                                                  sends: list[int]) -> None:
    net = Network.create(c_iss, s_iss)
    net.run("server listen", "client connect", "deliver", "deliver", "deliver")
    assert net.states() == {"client": State.ESTABLISHED, "server": State.ESTABLISHED}
    for n in sends:
        net.run(f"client send {n}", "deliver", "deliver")
    total = sum(sends)
    assert net.server.variables()["RCV.NXT"] == seq_add(c_iss, 1 + total)
    assert net.client.variables()["SND.UNA"] == seq_add(c_iss, 1 + total)
    net.run("client close", "deliver", "deliver", "server close", "deliver", "deliver")
    assert net.states() == {"client": State.TIME_WAIT, "server": State.CLOSED}
    net.apply("client timeout")
    assert net.states() == {"client": State.CLOSED, "server": State.CLOSED}


SCHEMA = jsonschema.Draft202012Validator(load_schema())


@settings(max_examples=100, deadline=None)
@given(isns, st.lists(st.lists(st.sampled_from(ACTIONS), max_size=4), min_size=1,
                      max_size=10))
def test_every_accepted_sequence_compiles_to_a_valid_trace(
        iss: int, steps: list[list[str]]) -> None:
    net = Network.create(iss, seq_add(iss, 12345))
    kept: list[dict[str, object]] = []
    for n, actions in enumerate(steps):
        accepted = []
        for action in actions:
            try:
                net.apply(action)
                accepted.append(action)
            except ModelError:
                pass
        kept.append({"title": f"step {n}", "do": accepted})
    simulation = {"model": "tcp", "client": {"name": "c", "ip": "10.0.0.1"},
                  "server": {"name": "s", "ip": "10.0.0.2", "port": 80},
                  "isn": {"client": iss, "server": seq_add(iss, 12345)}}
    trace = compile_trace(simulation, kept, seed="p", render_text=str)
    SCHEMA.validate(trace)
    last = trace["steps"][-1]["states"]
    assert last == {k: v.value for k, v in net.states().items()}

"""stepwise.models.tcp.playground, the simulator's Python side: scenarios in URLs, the choices and
their reasons, the export to lesson YAML, and the worker's JSON requests.

The browser runs this very module (tests/browser/test_simulator.py checks it there);
here it is checked against the build's own trace compiler.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stepwise.models.base import ScenarioError, trace_text
from stepwise.models.tcp import ModelError, parse_action
from stepwise.models.tcp.playground import (
    MAX_ACTIONS,
    Scenario,
    choices,
    export_yaml,
    format_fragment,
    handle,
    lesson_fragments,
    parse_fragment,
    parse_steps,
    respond,
    run,
    settings_from_json,
    settings_json,
)
from stepwise.models.tcp.scenario import EndpointSettings, Settings
from stepwise.trace import compile_trace

DEFAULTS = Settings(EndpointSettings("curl", "10.0.0.5", 41000),
                    EndpointSettings("nginx", "10.0.0.80", 443), {"client": 1000, "server": 5000})
HANDSHAKE = [["server listen"], ["client connect"], ["deliver"], ["deliver"], ["deliver"]]


def random_scenario(rng: random.Random, actions: int) -> Scenario:
    """A scenario of ``actions`` actions the model accepts, each picked at random among
    the choices the model allows at that point (the network's moves twice as likely)."""
    s = Settings(
        EndpointSettings(rng.choice(["curl", "client.py", "wget 1.21"]), "10.0.0.5",
                         rng.randint(1024, 65535), rng.random() < 0.3),
        EndpointSettings(rng.choice(["nginx", "server", "Сервер"]), "10.0.0.80",
                         rng.randint(1, 65535), rng.random() < 0.3),
        {"client": rng.choice([0, 2**32 - 3, rng.randrange(2**32)]),
         "server": rng.choice([2**32 - 1, rng.randrange(2**32)])})
    steps: list[tuple[Any, ...]] = []
    network = s.network()
    while sum(map(len, steps)) < actions:
        allowed = [c["action"] for c in choices(network, rng.randint(1, 3000)) if c["allowed"]]
        weights = [2 if a in ("deliver", "drop") else 1 for a in allowed]
        action = parse_action(rng.choices(allowed, weights)[0])
        network.apply(action)
        if steps and rng.random() < 0.25:  # now and then two actions make one step
            steps[-1] = (*steps[-1], action)
        else:
            steps.append((action,))
    return Scenario(s, tuple(steps))


def lesson_trace_of(scenario: Scenario) -> dict[str, Any]:
    """The trace of the scenario's exported YAML, compiled as the build compiles a lesson."""
    front = yaml.safe_load(export_yaml(scenario))
    return compile_trace(front["simulation"], front["steps"] or [{"title": "x"}],
                         seed="some/other/page", render_text=lambda text: "")


# -- the URL fragment ----------------------------------------------------------------

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
    str.strip)


@settings(max_examples=150, deadline=None)
@given(client=names, server=names, port=st.integers(1, 65535), isn=st.integers(0, 2**32 - 1),
       ip=st.sampled_from(["10.0.0.5", "::1", "fe80::1%eth0", "192.168.1.20"]),
       delayed=st.booleans(), seed=st.integers(0, 10**6))
def test_a_fragment_reads_back_as_the_scenario(client: str, server: str, port: int, isn: int,
                                               ip: str, delayed: bool, seed: int) -> None:
    if ip.startswith("fe80"):  # zone ids: no IPv4Address/IPv6Address accepts them everywhere
        ip = "fe80::1"
    s = Settings(EndpointSettings(client, ip, port, delayed),
                 EndpointSettings(server, "10.0.0.80", 443), {"client": isn, "server": 7})
    scenario = Scenario(s, random_scenario(random.Random(seed), 6).steps)
    assert parse_fragment("#" + format_fragment(scenario), DEFAULTS) == scenario


def test_a_fragment_of_only_actions_keeps_the_defaults() -> None:
    scenario = parse_fragment("#do=server%20listen;client%20connect,deliver;deliver", DEFAULTS)
    assert scenario.settings == DEFAULTS
    assert [[str(a) for a in step] for step in scenario.steps] == [
        ["server listen"], ["client connect", "deliver"], ["deliver"]]
    # a hand-typed URL: + for a space, a trailing ;
    assert parse_fragment("do=server+listen;", DEFAULTS).steps == scenario.steps[:1]


@pytest.mark.parametrize(("fragment", "message"), [
    ("#do=client%20conect", "step 1: unknown action 'client conect': an action is 'client VERB'"
     " or 'server VERB' with VERB one of listen, connect, send BYTES, close, abort, timeout; "
     "or the network's deliver or drop; did you mean 'client connect'?"),
    ("#do=client%20send%2070000", "step 1: 'client send' needs a byte count from 1 to 65535, "
     "e.g. 'client send 120', got 'client send 70000'"),
    ("#do=server%20listen;;deliver", "step 2 is empty: give it an action, e.g. deliver"),
    ("#server_port=70000", "server_port must be an integer from 1 to 65535, got 70000"),
    ("#server_port=http", "server_port must be an integer from 1 to 65535, got 'http'"),
    ("#client_isn=4294967296", "client_isn must be an integer from 0 to 4294967295 "
     "(2**32 - 1), got 4294967296"),
    ("#client_ip=10.0.0", "client_ip must be an IP address written as a string, e.g. "
     "ip: 10.0.0.5; got '10.0.0'"),
    ("#client=", "client must be a non-empty string, e.g. name: curl"),
    ("#do", "'do' needs a value in the URL, e.g. do=server%20listen;client%20connect"),
    ("#clinet_port=80", "unknown key 'clinet_port' in the URL; known keys: client, client_ip, client_port, "
     "client_isn, server, server_ip, server_port, server_isn, delayed_ack, do; did you mean "
     "'client_port'?"),
    ("#do=deliver&do=drop", "'do' appears twice in the URL; keep one"),
    ("#delayed_ack=srv", "delayed_ack in the URL lists the sides that delay their ACKs: "
     "client, server, both separated by a comma, or none; got 'srv'"),
    ("#do=" + ";".join(["server%20listen"] * (MAX_ACTIONS + 1)),
     f"the scenario has {MAX_ACTIONS + 1} actions; the simulator runs at most {MAX_ACTIONS}: "
     "remove some, or write it as a lesson"),
])
def test_a_bad_fragment_is_refused_with_what_to_fix(fragment: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_fragment(fragment, DEFAULTS)
    assert str(caught.value) == message
    answer = respond({"op": "open", "fragment": fragment, "defaults": settings_json(DEFAULTS)})
    assert answer == {"ok": False, "error": message}


def test_a_refused_action_names_the_step_and_the_rfc() -> None:
    answer = respond({"op": "open", "fragment": "#do=server%20listen;client%20send%2010",
                      "defaults": settings_json(DEFAULTS)})
    assert answer == {"ok": False, "error": "step 2 ('client send 10'): client: cannot SEND in "
                      "state CLOSED: connection does not exist; connect first ('client "
                      "connect', or 'listen' on a server) (RFC 9293 §3.10.2)"}


# -- running, and the choices ----------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_the_choices_are_what_the_model_accepts(seed: int) -> None:
    scenario = random_scenario(random.Random(seed), 15)
    result = run(scenario)
    before = json.dumps(result.trace)
    for choice in choices(result.network, 64):
        trial = run(scenario).network
        try:
            trial.apply(choice["action"])
        except ModelError as err:
            assert (choice["allowed"], choice["reason"]) == (False, str(err))
        else:
            assert (choice["allowed"], choice["reason"]) == (True, None)
    # asking changed nothing: the next step starts from the same model
    assert run(scenario).network == result.network
    assert json.dumps(result.trace) == before


def test_the_choices_say_what_they_act_on() -> None:
    result = run(Scenario(DEFAULTS, parse_steps(HANDSHAKE[:2])))
    by_action = {c["action"]: c for c in choices(result.network)}
    assert by_action["deliver"]["segment"] == {"id": 1, "src": "client", "dst": "server",
                                               "flags": ["SYN"], "len": 0}
    assert by_action["client timeout"]["timer"] == {"name": "retransmission", "seconds": 1}
    assert not by_action["server timeout"]["allowed"]
    assert [c["action"] for c in choices(result.network, 7)][:6] == [
        "client listen", "client connect", "client send 7", "client close", "client abort",
        "client timeout"]
    with pytest.raises(ScenarioError, match="byte count from 1 to 65535"):
        choices(result.network, 0)


def test_flights_and_the_start() -> None:
    result = run(Scenario(DEFAULTS, parse_steps([["server listen"], ["client connect"],
                                                 ["deliver"], ["drop"]])))
    assert result.flights == [[], [1], [2], []]
    assert result.start["states"] == {"client": "CLOSED", "server": "CLOSED"}
    assert result.start["segments"] == [] and result.start["timers"] == []


# -- export: the simulator's trace is the lesson's -------------------------------------


@pytest.mark.parametrize("seed", range(25))
def test_the_export_builds_the_same_trace(seed: int) -> None:
    rng = random.Random(seed)
    scenario = random_scenario(rng, rng.randint(1, 40))
    assert trace_text(lesson_trace_of(scenario)) == trace_text(run(scenario).trace)


@settings(max_examples=100, deadline=None)
@given(client=names, server=names)
def test_the_export_keeps_any_name(client: str, server: str) -> None:
    s = Settings(EndpointSettings(client, "10.0.0.5", 1), EndpointSettings(server, "::1", 2),
                 {"client": 0, "server": 1})
    scenario = Scenario(s, parse_steps(HANDSHAKE))
    front = yaml.safe_load(export_yaml(scenario))
    assert front["simulation"]["client"]["name"] == client
    assert front["simulation"]["server"]["name"] == server
    assert trace_text(lesson_trace_of(scenario)) == trace_text(run(scenario).trace)


def test_the_export_reads_as_an_author_writes() -> None:
    s = Settings(EndpointSettings("curl", "10.0.0.5", 41000),
                 EndpointSettings("nginx", "10.0.0.80", 443, delayed_ack=True),
                 {"client": 1000, "server": 5000})
    assert export_yaml(Scenario(s, parse_steps([["server listen"], ["client connect",
                                                                     "deliver"]]))) == """\
simulation:
  model: tcp
  client: {name: curl, ip: 10.0.0.5, port: 41000}
  server: {name: nginx, ip: 10.0.0.80, port: 443, delayed_ack: true}
  isn: {client: 1000, server: 5000}
steps:
  - title: server listen
    do: [server listen]
  - title: "client connect, deliver"
    do: [client connect, deliver]
"""


# -- the worker's requests -------------------------------------------------------------


def test_handle_answers_json() -> None:
    defaults = settings_json(DEFAULTS)
    answer = json.loads(handle(json.dumps({"op": "run", "defaults": defaults,
                                           "steps": HANDSHAKE})))
    assert answer["ok"] and answer["steps"] == HANDSHAKE
    assert answer["trace"] == run(Scenario(DEFAULTS, parse_steps(HANDSHAKE))).trace
    assert parse_fragment(answer["fragment"], DEFAULTS).steps == parse_steps(HANDSHAKE)
    exported = json.loads(handle(json.dumps({"op": "export", "defaults": defaults,
                                             "steps": HANDSHAKE})))
    assert exported["json"] == trace_text(answer["trace"])
    assert yaml.safe_load(exported["yaml"])["steps"][0] == {"title": "server listen",
                                                           "do": ["server listen"]}
    assert json.loads(handle("not json")) == {"ok": False, "error": "the request is not JSON"}
    assert json.loads(handle("[]"))["ok"] is False
    assert json.loads(handle('{"op": "fly"}')) == {"ok": False, "error": "unknown request 'fly'"}
    bad = dict(defaults, client=dict(defaults["client"], port=0))
    assert json.loads(handle(json.dumps({"op": "run", "defaults": defaults, "settings": bad})))\
        == {"ok": False, "error": "the client's port must be an integer from 1 to 65535, got 0"}


def test_settings_round_trip() -> None:
    assert settings_from_json(settings_json(DEFAULTS)) == DEFAULTS
    with pytest.raises(ScenarioError, match="server_isn is missing"):
        settings_from_json({**settings_json(DEFAULTS), "isn": {"client": 1}})


# -- "explore from here" ---------------------------------------------------------------


def test_lesson_fragments_replay_each_step() -> None:
    lesson = [["server listen"], [], ["client connect", "deliver"], ["deliver"]]
    steps = [{"title": f"s{i}", "do": do} for i, do in enumerate(lesson)]
    sim = {"model": "tcp", **{k: v for k, v in settings_json(DEFAULTS).items()}}
    for role in ("client", "server"):
        del sim[role]["delayed_ack"]
    trace = compile_trace(sim, steps, seed="x", render_text=lambda t: "")
    fragments = lesson_fragments(DEFAULTS, lesson, trace["steps"])
    # the step without actions opens where the step before it does
    assert fragments[0] == fragments[1]
    for fragment, step in zip(fragments, trace["steps"], strict=True):
        assert fragment is not None
        opened = run(parse_fragment(fragment, DEFAULTS))
        assert opened.trace["steps"][-1]["states"] == step["states"]
    # where the lesson shows what the simulator would not (a capture replayed the Linux
    # way), no link from there on
    trace["steps"][2]["states"] = {"client": "ESTABLISHED", "server": "SYN-RECEIVED"}
    assert lesson_fragments(DEFAULTS, lesson, trace["steps"])[1:] == [fragments[1], None, None]


# -- what a tester threw at it -----------------------------------------------------------


@pytest.mark.parametrize("count", ["²", "１００", "٣", "1e3", "0x10", "-5", "+5"])
def test_a_byte_count_is_ascii_digits(count: str) -> None:
    message = ("step 1: 'client send' needs a byte count from 1 to 65535, e.g. 'client send "
               f"120', got 'client send {count}'")
    answer = respond({"op": "run", "defaults": settings_json(DEFAULTS),
                      "steps": [[f"client send {count}"]]})
    assert answer == {"ok": False, "error": message}


def test_a_huge_action_is_quoted_short() -> None:
    answer = respond({"op": "open", "defaults": settings_json(DEFAULTS),
                      "fragment": "#do=client%20sned%20" + "1" * 100_000})
    assert not answer["ok"] and len(answer["error"]) < 400
    assert answer["error"].startswith("step 1: unknown action 'client sned 1111")
    assert "send 1111" not in answer["error"]  # no suggestion of a count it would refuse


@pytest.mark.parametrize("request_", [
    {"op": "run", "defaults": {**settings_json(DEFAULTS), "isn": 5}},
    {"op": "run", "defaults": {**settings_json(DEFAULTS), "isn": None}},
    {"op": "run", "defaults": settings_json(DEFAULTS), "settings": {"client": 3}},
    {"op": "run", "defaults": settings_json(DEFAULTS), "steps": [["deliver"], 7]},
    {"op": "run", "defaults": settings_json(DEFAULTS), "steps": "deliver"},
    {"op": "open", "defaults": settings_json(DEFAULTS), "fragment": 12},
    {"op": "run", "defaults": [], "settings": {}},
    {"op": "run", "defaults": settings_json(DEFAULTS), "settings": {
        **settings_json(DEFAULTS), "client": {**settings_json(DEFAULTS)["client"],
                                              "name": "a\ud800b"}}},
])
def test_any_request_gets_an_answer(request_: dict[str, Any]) -> None:
    answer = json.loads(handle(json.dumps(request_)))
    assert answer["ok"] is False and answer["error"]
    assert "bug in stepwise" not in answer["error"]


def test_deeply_nested_json_gets_an_answer() -> None:
    assert json.loads(handle("[" * 100_000 + "]" * 100_000)) == {
        "ok": False, "error": "the request is not JSON"}


def test_no_delayed_ack_and_a_side_at_once_is_refused() -> None:
    with pytest.raises(ScenarioError, match="got 'none' with sides"):
        parse_fragment("#delayed_ack=none,client", DEFAULTS)

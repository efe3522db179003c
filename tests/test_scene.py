"""Scenes: what the player draws of a trace, computed by the model (docs/models.md)."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from stepwise.models.tcp.scene import scene, segment_label
from stepwise.trace import scene_of
from tests.test_golden_traces import lesson_traces
from tests.test_trace import SCENARIOS, compile_yaml


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(resources.files("stepwise.models").joinpath("scene-schema.json")
                        .read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def seg(flags: list[str], seq: int | None, ack: int | None, length: int) -> dict:
    return {"flags": flags, "seq": seq, "ack": ack, "len": length}


@pytest.mark.parametrize(("segment", "label"), [
    (seg(["SYN"], 1000, None, 0), {"head": "SYN", "text": [" seq=1000", ""]}),
    (seg(["SYN", "ACK"], 5000, 1001, 0), {"head": "SYN,ACK", "text": [" seq=5000", " ack=1001"]}),
    (seg(["ACK"], 1001, 5001, 0), {"head": "ACK", "text": ["", " ack=5001"]}),  # bare ACK
    (seg(["PSH", "ACK"], 1001, 5001, 120),
     {"head": "PSH,ACK", "text": [" seq=1001", " ack=5001 len=120"]}),
    (seg(["RST"], 0, None, 0), {"head": "RST", "text": [" seq=0", ""]}),
])
def test_a_segment_is_labelled_as_the_lessons_always_were(segment: dict, label: dict) -> None:
    assert segment_label(segment) == label


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_tcp_scene_draws_its_trace(name: str, validator) -> None:
    trace = compile_yaml(SCENARIOS[name][0])
    drawn = scene_of(trace)
    validator.validate(drawn)
    assert drawn == scene(trace)
    assert [lane["id"] for lane in drawn["lanes"]] == ["client", "server"]
    assert len(drawn["frames"]) == len(trace["steps"])
    for step, frame in zip(trace["steps"], drawn["frames"], strict=True):
        assert {lane: by_layer["tcp"] for lane, by_layer in frame["states"].items()} == \
            step["states"]
        assert [m["id"] for m in frame["messages"]] == \
            [s["id"] for s in step["arrivals"] + step["segments"]]
        assert [(m["from"], m["to"], m["fate"]) for m in frame["messages"]] == \
            [(s["src"], s["dst"], s["fate"]) for s in step["arrivals"] + step["segments"]]
        assert [t["name"] for t in frame["timers"]] == [t["name"] for t in step["timers"]]
        assert frame["variables"] == step["tcb"]


def test_every_lesson_scene_is_valid(validator) -> None:
    for text in lesson_traces().values():
        validator.validate(scene_of(json.loads(text)))

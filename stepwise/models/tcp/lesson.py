"""Compile a TCP lesson's ``simulation`` and ``steps`` frontmatter into a trace (format v1).

The trace is what the browser player animates: for each step, the segments sent, the
segments that arrived, both endpoints' states, TCBs and running timers, all computed
here by the TCP model (this package), the source of truth. The format is described in
docs/trace-format.md and by the JSON Schema ``trace-schema.json`` beside this module;
the action vocabulary for authors in docs/actions.md.

Everything is deterministic: ISNs and the client's port come from the frontmatter or,
when absent, from a SHA-256 hash of the ``seed`` (the page's path), so a page builds to
the same trace every time.

A lesson may instead play a packet capture (``simulation.capture``): the capture is read
by :mod:`~stepwise.models.tcp.capture` and replayed frame by frame on the model by
:mod:`~stepwise.models.tcp.replay`; each captured segment is one step.

Problems raise :class:`~stepwise.models.base.ScenarioError` with the key path of the
value at fault; :mod:`stepwise.trace` turns it into a located build error.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path, PurePosixPath
from typing import Any

from ...errors import display_path
from ..base import KeyPath, check_keys, fail, is_int
from .actions import Action, ActionSyntaxError, parse_action
from .network import Network
from .scenario import (
    ROLES,
    TRACE_VERSION,
    EndpointSettings,
    Settings,
    parse_endpoint,
    parse_isns,
    parse_settings,
    run_step,
    trace_json,
)

_SIMULATION_KEYS = ("model", "client", "server", "isn", "capture")
_STEP_KEYS = ("title", "do", "text", "frame")
_CAPTURE_KEYS = ("file", "client", "server", "expect", "title")
#: The title of a captured frame no step annotates, unless ``capture.title`` says otherwise:
#: the endpoints' names and the flags, no word of any language.
DEFAULT_FRAME_TITLE = "{src} -> {dst}: {flags}"
#: The placeholders ``capture.title`` may use.
FRAME_TITLE_FIELDS = ("src", "dst", "flags", "len", "frame", "time_ms", "seq", "ack",
                      "rel_seq", "rel_ack")


_fail = fail


def _step_actions(step: Mapping[Any, Any], index: int) -> list[str]:
    if "do" not in step:
        return []
    do = step["do"]
    if isinstance(do, str):
        raise _fail("'do' must be a list of actions, e.g. do: [client connect]",
                    "steps", index, "do")
    if not isinstance(do, list):
        raise _fail(f"'do' must be a list of actions, e.g. do: [client connect]; got {do!r}",
                    "steps", index, "do")
    for j, action in enumerate(do):
        if not isinstance(action, str):
            raise _fail(f"step {index + 1}: action {j + 1} must be a string such as "
                        f"'client connect', got {action!r}", "steps", index, "do", j)
    return list(do)


@dataclass
class _Step:
    """One frontmatter step, checked: ``frame`` is set for a step annotating a capture."""

    index: int
    title: str | None
    text: str | None
    actions: list[Action]
    frame: int | None = None


@dataclass
class _CaptureSpec:
    """``simulation.capture``, checked."""

    file: str
    client: Any
    server: Any
    expect: list[int]
    title: str
    keypath: KeyPath


def _capture_spec(value: Any) -> _CaptureSpec:
    keypath: KeyPath = ("simulation", "capture")
    example = "capture: captures/curl.pcap"
    if isinstance(value, str):
        value = {"file": value}
        file_keypath = keypath
    elif isinstance(value, Mapping):
        check_keys(value, _CAPTURE_KEYS, "simulation.capture", keypath)
        if "file" not in value:
            raise _fail("simulation.capture needs 'file', e.g. capture: {file: "
                        "captures/curl.pcap, server: 127.0.0.1:47913}", *keypath)
        file_keypath = (*keypath, "file")
    else:
        raise _fail(f"simulation.capture must be a file name, e.g. {example}, or a mapping "
                    f"with 'file'", *keypath)
    file = value["file"]
    if (not isinstance(file, str) or not file.strip() or PurePosixPath(file).is_absolute()
            or ".." in PurePosixPath(file).parts or "\\" in file):
        raise _fail(f"simulation.capture.file must be a path relative to the lesson (or to "
                    f"content/captures/), e.g. {example}; got {file!r}", *file_keypath)
    from .capture import parse_pattern

    patterns: dict[str, Any] = {}
    for role in ROLES:
        if role in value:
            try:
                patterns[role] = parse_pattern(value[role])
            except ValueError:
                raise _fail(f"simulation.capture.{role} must be an address and port such as "
                            f"127.0.0.1:47913 or [::1]:443, an address, or a port number; "
                            f"got {value[role]!r}", *keypath, role) from None
    expect = value.get("expect", [])
    if not isinstance(expect, list) or not all(is_int(n) and n >= 1 for n in expect):
        raise _fail(f"simulation.capture.expect must be a list of frame numbers, e.g. "
                    f"expect: [7]; got {expect!r}", *keypath, "expect")
    title = value.get("title", DEFAULT_FRAME_TITLE)
    if not isinstance(title, str) or not title.strip():
        raise _fail("simulation.capture.title must be a string such as "
                    f"'{DEFAULT_FRAME_TITLE}'", *keypath, "title")
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(title) if f is not None]
    except ValueError as err:
        raise _fail(f"simulation.capture.title: {err}; write {{{{ and }}}} for braces",
                    *keypath, "title") from None
    for name in names:
        if name not in FRAME_TITLE_FIELDS:
            known = ", ".join(f"{{{f}}}" for f in FRAME_TITLE_FIELDS)
            raise _fail(f"simulation.capture.title: unknown placeholder {{{name}}}; known "
                        f"placeholders: {known}", *keypath, "title")
    return _CaptureSpec(file, patterns.get("client"), patterns.get("server"), list(expect),
                        title, keypath)


def _find_capture(spec: _CaptureSpec, base_dir: Path | None, content_dir: Path | None,
                  reads: set[Path] | None) -> Path:
    rel = Path(*PurePosixPath(spec.file).parts)
    candidates: list[Path] = []
    if base_dir is not None:
        candidates.append(base_dir / rel)
    if content_dir is not None:
        candidates.append(content_dir / rel)
        if rel.parts[0] != "captures":
            candidates.append(content_dir / "captures" / rel)
    if not candidates:
        candidates.append(rel)
    for path in candidates:
        if path.is_file():
            if reads is not None:
                reads.add(path.resolve())
            return path
    if reads is not None:
        reads.update(p.resolve() for p in candidates)
    looked = ", ".join(display_path(p) for p in dict.fromkeys(candidates))
    raise _fail(f"simulation.capture: no file {spec.file!r} (looked for {looked})",
                *spec.keypath)


def _check_steps(steps: Any, captured: bool) -> list[_Step]:
    if captured and steps is None:
        return []
    if not isinstance(steps, list) or (not steps and not captured):
        raise _fail("'steps' must be a non-empty list, e.g. steps: [{title: the server "
                    "listens, do: [server listen]}]", "steps")
    parsed = []
    for i, step in enumerate(steps):
        if not isinstance(step, Mapping):
            raise _fail(f"step {i + 1} must be a mapping with a title, e.g. "
                        f"{{title: the client sends SYN, do: [client connect]}}", "steps", i)
        if "frame" in step and not captured:
            raise _fail(f"step {i + 1}: 'frame' annotates a captured frame and needs "
                        f"simulation.capture, e.g. capture: captures/curl.pcap",
                        "steps", i, "frame")
        check_keys(step, _STEP_KEYS if captured else _STEP_KEYS[:3], f"step {i + 1}",
                    ("steps", i))
        frame: int | None = step.get("frame")
        if "frame" in step:
            if not is_int(frame) or frame is None or frame < 1:
                raise _fail(f"step {i + 1}: 'frame' must be a frame number of the capture "
                            f"(1, 2, ...), got {frame!r}", "steps", i, "frame")
            if "do" in step:
                raise _fail(f"step {i + 1}: a step with 'frame' cannot have 'do': the "
                            f"captured frame is what happens", "steps", i, "do")
        title = step.get("title")
        if (frame is None or "title" in step) and (not isinstance(title, str)
                                                   or not title.strip()):
            where: KeyPath = ("steps", i, "title") if "title" in step else ("steps", i)
            raise _fail(f"step {i + 1} needs a title (a non-empty string)", *where)
        text = step.get("text")
        if text is not None and not isinstance(text, str):
            raise _fail(f"step {i + 1}: 'text' must be a string of Markdown",
                        "steps", i, "text")
        actions = []
        for j, raw in enumerate(_step_actions(step, i)):
            try:
                actions.append(parse_action(raw))
            except ActionSyntaxError as err:
                raise _fail(f"step {i + 1}: {err}", "steps", i, "do", j) from None
        parsed.append(_Step(i, title, text, actions, frame))
    return parsed


def _model_step(network: Network, step: _Step, render_text: Callable[[str], str]
                ) -> dict[str, Any]:
    """Run one authored step's actions on the model; the step as the trace shows it."""
    assert step.title is not None
    html = render_text(step.text) if step.text else ""
    return run_step(network, step.index, step.title, step.actions, html)


def compile_lesson(
    simulation: Mapping[str, Any],
    steps: Any,
    *,
    seed: str,
    render_text: Callable[[str], str],
    base_dir: Path | None = None,
    content_dir: Path | None = None,
    reads: set[Path] | None = None,
) -> dict[str, Any]:
    """Compile a lesson's frontmatter into a trace dict (format v1, JSON-serializable).

    Args:
        simulation: the raw ``simulation`` frontmatter value: ``model: tcp``, ``client``
            and ``server`` (``name``, ``ip``, ``port``; the client's port and
            ``delayed_ack`` are optional), optional ``isn: {client, server}``; or, to
            play a packet capture, ``capture`` (a file name, or ``{file, client,
            server, expect, title}``), see docs/trace-format.md.
        steps: the raw ``steps`` value: a non-empty list of mappings with ``title``
            (required), ``do`` (a list of actions, optional) and ``text`` (Markdown,
            optional). With a capture, ``steps`` may be absent or empty, and a step
            may annotate a captured frame with ``frame: N`` (its title is then
            optional).
        seed: a string unique to the page (its path); ISNs and the client port not
            given are derived from it.
        render_text: turns a step's Markdown ``text`` into HTML; ``""`` without text.
        base_dir: the lesson's folder: ``capture.file`` is looked up there first.
        content_dir: the content folder: ``capture.file`` is looked up there next, then
            under its ``captures/`` folder.
        reads: when given, every capture file read is added to it (resolved paths; when
            none is found, the paths looked for), so that a rebuild can watch them.

    Returns:
        The trace: ``{"version": 1, "model": "tcp", "endpoints": ..., "steps": [...]}``
        as described in docs/trace-format.md.

    Raises:
        ScenarioError: the frontmatter is malformed, an action is unknown, or the model
            refuses an action (``step 3 ('client send 120'): client: cannot SEND in
            state CLOSED (RFC 9293 §3.10.2)``); a capture cannot be read or shows what
            the model says cannot happen (``content/x/captures/c.pcap: frame 7: ...``).
            ``keypath`` names the value at fault, with 0-based list indices, e.g.
            ``("steps", 2, "do", 0)``.
    """
    check_keys(simulation, _SIMULATION_KEYS, "simulation", ("simulation",))
    spec = _capture_spec(simulation["capture"]) if "capture" in simulation else None
    client = parse_endpoint(simulation, "client", seed, captured=spec is not None)
    server = parse_endpoint(simulation, "server", seed, captured=spec is not None)
    if spec is not None and "isn" in simulation:
        raise _fail("simulation.isn cannot be used with a capture: the sequence numbers "
                    "are the captured ones", "simulation", "isn")
    isns = parse_isns(simulation, seed)
    parsed = _check_steps(steps, spec is not None)
    if spec is not None:
        from .capture import CaptureError

        path = _find_capture(spec, base_dir, content_dir, reads)
        try:
            return _compile_capture(spec, path, parsed, client, server, render_text)
        except CaptureError as err:
            raise _fail(f"{display_path(path)}: {err}", *spec.keypath) from None

    settings = Settings(client, server, isns)
    network = settings.network()
    return trace_json(settings, [_model_step(network, step, render_text) for step in parsed])


def simulator_settings(simulation: Mapping[str, Any], *, seed: str) -> Settings:
    """The settings a simulator page (layout ``simulator``) opens with: a lesson's
    ``simulation`` without ``capture`` (ports and ISNs not given derived from ``seed``).

    Raises:
        ScenarioError: as :func:`compile_lesson` for the same value.
    """
    check_keys(simulation, ("model", "client", "server", "isn"), "simulation",
               ("simulation",))
    return parse_settings(simulation, seed)


def lesson_scenario(simulation: Mapping[str, Any], trace: Mapping[str, Any], *,
                    seed: str) -> tuple[Settings, list[list[str]]]:
    """The settings and the actions of each step with which the simulator replays a
    compiled lesson (for its "explore from here" links).

    A lesson that runs actions gives its own settings and actions. A capture lesson
    gives its endpoints, the captured ISNs and, for each frame, the actions its replay
    inferred followed by ``deliver`` (the captured segment arriving); where that is not
    what the capture showed, :func:`~stepwise.models.tcp.playground.lesson_fragments`
    finds out. ``simulation`` and ``trace`` must come from a successful
    :func:`compile_lesson`.
    """
    steps = [list(step["actions"]) + (["deliver"] if "frame" in step else [])
             for step in trace["steps"]]
    if "capture" not in simulation:
        return parse_settings(simulation, seed), steps

    def first_iss(role: str) -> int:
        return next((s["tcb"][role]["ISS"] for s in trace["steps"]
                     if s["tcb"][role]["ISS"] is not None), 0)

    def endpoint(role: str) -> EndpointSettings:
        delayed = parse_endpoint(simulation, role, seed, captured=True).delayed_ack
        return EndpointSettings(**trace["endpoints"][role], delayed_ack=delayed)

    return Settings(endpoint("client"), endpoint("server"),
                    {role: first_iss(role) for role in ROLES}), steps


def _frames_shown(frames: list[int]) -> str:
    if frames == list(range(frames[0], frames[-1] + 1)):
        return f"{frames[0]}-{frames[-1]}" if len(frames) > 1 else str(frames[0])
    return ", ".join(map(str, frames[:20])) + (", ..." if len(frames) > 20 else "")


def _compile_capture(spec: _CaptureSpec, path: Path, parsed: list[_Step],
                     client_settings: EndpointSettings, server_settings: EndpointSettings,
                     render_text: Callable[[str], str]) -> dict[str, Any]:
    from .capture import Address, CaptureError, anonymise, pick_connection, read_capture
    from .replay import FrameStep, Replay

    try:
        segments = read_capture(path)
    except OSError as err:
        raise CaptureError(f"cannot read the file: {err.strerror or err}") from None
    real = pick_connection(segments, spec.client, spec.server)
    client, server = client_settings.to_json(), server_settings.to_json()
    for endpoint, address in ((client, real.client), (server, real.server)):
        if endpoint["port"] is None:
            endpoint["port"] = address.port
    conn = anonymise(real, Address(client["ip"], client["port"]),
                     Address(server["ip"], server["port"]))
    frames = [s.frame for s in conn.segments]
    known = set(frames)

    # where each step goes: a frame step at its frame, any other after the frame
    # annotated before it in the list (or before the first frame)
    annotated: dict[int, _Step] = {}
    after: dict[int, list[_Step]] = {0: []}
    last = 0
    for step in parsed:
        if step.frame is None:
            after.setdefault(last, []).append(step)
            continue
        where: KeyPath = ("steps", step.index, "frame")
        if step.frame not in known:
            raise _fail(f"step {step.index + 1}: frame {step.frame} is not a segment of the "
                        f"connection played (its frames: {_frames_shown(frames)})", *where)
        if step.frame <= last:
            raise _fail(f"step {step.index + 1}: frame {step.frame} comes after frame "
                        f"{last}; annotate frames in capture order, once each", *where)
        annotated[step.frame] = step
        last = step.frame
    for i, n in enumerate(spec.expect):
        if n not in known:
            raise _fail(f"simulation.capture.expect: frame {n} is not a segment of the "
                        f"connection played (its frames: {_frames_shown(frames)})",
                        *spec.keypath, "expect", i)

    network = Network.create(conn.segments[0].seq, 0,
                             client_delayed_ack=client_settings.delayed_ack,
                             server_delayed_ack=server_settings.delayed_ack)
    syn_ack = next((s for s in conn.segments if conn.role(s) == "server" and "SYN" in s.flags),
                   None)
    if syn_ack is not None:
        network.server.iss = syn_ack.seq
    opener = conn.segments[0]
    if opener.flags == ("SYN",) and conn.role(opener) == "client":
        network.client.iss = opener.seq
    names = {"client": client["name"], "server": server["name"]}

    def after_frame(net: Network, frame: int) -> list[dict[str, Any]]:
        return [_model_step(net, step, render_text) for step in after.get(frame, [])]

    out_steps = after_frame(network, 0)
    explained = Replay(network, conn, after_frame).run()
    problems: dict[int, str] = {}
    for item in explained:
        if not isinstance(item, FrameStep):
            out_steps.append(item)
            continue
        if item.problems:
            problems[item.frame] = "; ".join(item.problems)
        seg, fields = item.segment, item.fields
        note = annotated.get(item.frame)
        title = note.title if note is not None and note.title else spec.title.format_map({
            "src": names[seg.src], "dst": names[seg.dst], "flags": ", ".join(seg.flag_names),
            "len": seg.len, "frame": item.frame, "time_ms": fields["time_ms"],
            "seq": seg.seq, "ack": "" if seg.ack is None else seg.ack,
            "rel_seq": fields["rel_seq"],
            "rel_ack": "" if fields["rel_ack"] is None else fields["rel_ack"]})
        html = render_text(note.text) if note is not None and note.text else ""
        if item.notes:  # what the replay chose here, under the author's text
            html += ('<ul class="capture-notes">'
                     + "".join(f"<li>{escape(n)}</li>" for n in item.notes) + "</ul>")
        out_steps.append({**item.step, "title": title, "html": html})

    for frame, problem in problems.items():
        if frame not in spec.expect:
            raise CaptureError(f"{problem}; if the lesson shows this on purpose, list the "
                               f"frame in simulation.capture.expect", frame)
    for i, frame in enumerate(spec.expect):
        if frame not in problems:
            raise _fail(f"{display_path(path)}: frame {frame} is listed in "
                        f"simulation.capture.expect, but the model accepts it",
                        *spec.keypath, "expect", i)
    return {
        "version": TRACE_VERSION,
        "model": "tcp",
        "endpoints": {"client": client, "server": server},
        "steps": out_steps,
    }


def format_trace(trace: Mapping[str, Any]) -> str:
    """A plain-text summary of a trace, one block per step (used in docs and tests).

    Example::

        2. client connect, deliver -> client SYN-SENT, server SYN-RECEIVED
           sent    #1 client>server SYN seq=1000 len=0 (delivered)
           sent    #2 server>client SYN,ACK seq=5000 ack=1001 len=0 (in-flight)
           timers  client retransmission 1 s, server retransmission 1 s
    """

    def seg(s: Mapping[str, Any]) -> str:
        ack = f" ack={s['ack']}" if s["ack"] is not None else ""
        frame = (f" [frame {s['frame']}, {s['time_ms']:g} ms]" if "frame" in s else "")
        return (f"#{s['id']} {s['src']}>{s['dst']} {','.join(s['flags'])} seq={s['seq']}{ack}"
                f" len={s['len']} ({s['fate']}){frame}")

    lines = []
    for n, step in enumerate(trace["steps"], 1):
        states = step["states"]
        lines.append(f"{n}. {', '.join(step['actions']) or '(no action)'} -> "
                     f"client {states['client']}, server {states['server']}")
        lines += [f"   arrived {seg(s)}" for s in step["arrivals"]]
        lines += [f"   sent    {seg(s)}" for s in step["segments"]]
        lines += [f"   note    {n}" for n in step.get("notes", [])]
        if step["timers"]:
            lines.append("   timers  " + ", ".join(
                f"{t['endpoint']} {t['name']} {t['seconds']} s" for t in step["timers"]))
    return "\n".join(lines)

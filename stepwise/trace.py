"""Compile a lesson's ``simulation`` and ``steps`` frontmatter into a trace (format v1).

The trace is what the browser player animates: for each step, the segments sent, the
segments that arrived, both endpoints' states, TCBs and running timers, all computed
here by the TCP model (:mod:`stepwise.tcp`), the source of truth. The format is
described in docs/trace-format.md and by the JSON Schema ``stepwise/trace-schema.json``
(:func:`load_schema`); the action vocabulary for authors in docs/actions.md.

Everything is deterministic: ISNs and the client's port come from the frontmatter or,
when absent, from a SHA-256 hash of the ``seed`` (the page's path), so a page builds to
the same trace every time.

A lesson may instead play a packet capture (``simulation.capture``): the capture is read
by :mod:`stepwise.capture` and replayed frame by frame on the model by
:mod:`stepwise.replay`; each captured segment is one step.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import TraceError, display_path
from .tcp import Action, Delivered, Dropped, ModelError, Network, Sent, parse_action
from .tcp.actions import ActionSyntaxError

#: The trace format version this module writes.
TRACE_VERSION = 1
#: The simulation models known; ``simulation.model`` must be one of these.
KNOWN_MODELS: tuple[str, ...] = ("tcp",)
#: The client's derived port is taken from Linux's default ephemeral range.
EPHEMERAL_PORTS = range(32768, 61000)

_SIMULATION_KEYS = ("model", "client", "server", "isn", "capture")
_ENDPOINT_KEYS = ("name", "ip", "port", "delayed_ack")
_STEP_KEYS = ("title", "do", "text", "frame")
_CAPTURE_KEYS = ("file", "client", "server", "expect", "title")
#: The title of a captured frame no step annotates, unless ``capture.title`` says otherwise:
#: the endpoints' names and the flags, no word of any language.
DEFAULT_FRAME_TITLE = "{src} -> {dst}: {flags}"
#: The placeholders ``capture.title`` may use.
FRAME_TITLE_FIELDS = ("src", "dst", "flags", "len", "frame", "time_ms", "seq", "ack",
                      "rel_seq", "rel_ack")
_ROLES = ("client", "server")
_EXAMPLE = {
    "client": "client: {name: curl, ip: 10.0.0.5}",
    "server": "server: {name: nginx, ip: 10.0.0.80, port: 443}",
}

KeyPath = tuple[str | int, ...]


def load_schema() -> dict[str, Any]:
    """The trace format's JSON Schema (draft 2020-12), read from the package data."""
    text = resources.files("stepwise").joinpath("trace-schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _hash32(*parts: str) -> int:
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def derive_isn(seed: str, role: str) -> int:
    """The ISN of ``role`` (``"client"``/``"server"``) for a page: SHA-256 of the seed, 32 bits."""
    return _hash32(seed, "isn", role)


def derive_port(seed: str) -> int:
    """The client's port for a page: SHA-256 of the seed, in 32768 .. 60999 (Linux's default)."""
    return EPHEMERAL_PORTS[_hash32(seed, "port") % len(EPHEMERAL_PORTS)]


def _fail(message: str, *keypath: str | int) -> TraceError:
    return TraceError(message, keypath=tuple(keypath))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_keys(value: Mapping[Any, Any], known: tuple[str, ...], where: str,
                keypath: KeyPath) -> None:
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            if value[key] is None and not close:
                # {title: the SYN, ACK is lost} reads as a key 'ACK is lost'
                hint = ("; a comma inside { } ends a value: quote a value that holds one, "
                        "e.g. {title: \"the SYN, ACK is lost\"}")
            raise _fail(f"unknown key '{key}' in {where}; known keys: {', '.join(known)}{hint}",
                        *keypath, key)


def _endpoint(simulation: Mapping[Any, Any], role: str, seed: str,
              captured: bool = False) -> tuple[dict[str, Any], bool]:
    if role not in simulation:
        raise _fail(f"simulation needs '{role}', e.g. {_EXAMPLE[role]}", "simulation")
    value = simulation[role]
    where = f"simulation.{role}"
    if not isinstance(value, Mapping):
        raise _fail(f"{where} must be a mapping, e.g. {_EXAMPLE[role]}", "simulation", role)
    _check_keys(value, _ENDPOINT_KEYS, where, ("simulation", role))
    for key in ("name", "ip"):
        if key not in value:
            raise _fail(f"{where} needs '{key}', e.g. {_EXAMPLE[role]}", "simulation", role)
    name = value["name"]
    if not isinstance(name, str) or not name.strip():
        raise _fail(f"{where}.name must be a non-empty string, e.g. name: curl",
                    "simulation", role, "name")
    ip = value["ip"]
    try:
        if not isinstance(ip, str):
            raise ValueError(ip)
        ipaddress.ip_address(ip)
    except ValueError:
        raise _fail(f"{where}.ip must be an IP address written as a string, e.g. ip: 10.0.0.5;"
                    f" got {ip!r}", "simulation", role, "ip") from None
    if "port" in value:
        port = value["port"]
        if not _is_int(port) or not 1 <= port <= 65535:
            raise _fail(f"{where}.port must be an integer from 1 to 65535, got {port!r}",
                        "simulation", role, "port")
    elif captured:
        port = None  # the captured port
    elif role == "client":
        port = derive_port(seed)
    else:
        raise _fail(f"{where} needs a 'port' (the port it listens on), e.g. port: 443",
                    "simulation", role)
    delayed = value.get("delayed_ack", False)
    if not isinstance(delayed, bool):
        raise _fail(f"{where}.delayed_ack must be true or false, got {delayed!r}",
                    "simulation", role, "delayed_ack")
    return {"name": name, "ip": ip, "port": port}, delayed


def _isns(simulation: Mapping[Any, Any], seed: str) -> dict[str, int]:
    isns = {role: derive_isn(seed, role) for role in _ROLES}
    if "isn" not in simulation:
        return isns
    value = simulation["isn"]
    if not isinstance(value, Mapping):
        raise _fail("simulation.isn must be a mapping, e.g. isn: {client: 1000, server: 5000}",
                    "simulation", "isn")
    _check_keys(value, _ROLES, "simulation.isn", ("simulation", "isn"))
    for role, isn in value.items():
        if not _is_int(isn) or not 0 <= isn < 2**32:
            raise _fail(f"simulation.isn.{role} must be an integer from 0 to 4294967295 "
                        f"(2**32 - 1), got {isn!r}", "simulation", "isn", role)
        isns[role] = isn
    return isns


def _seconds(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


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
        _check_keys(value, _CAPTURE_KEYS, "simulation.capture", keypath)
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
    for role in _ROLES:
        if role in value:
            try:
                patterns[role] = parse_pattern(value[role])
            except ValueError:
                raise _fail(f"simulation.capture.{role} must be an address and port such as "
                            f"127.0.0.1:47913 or [::1]:443, an address, or a port number; "
                            f"got {value[role]!r}", *keypath, role) from None
    expect = value.get("expect", [])
    if not isinstance(expect, list) or not all(_is_int(n) and n >= 1 for n in expect):
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
        _check_keys(step, _STEP_KEYS if captured else _STEP_KEYS[:3], f"step {i + 1}",
                    ("steps", i))
        frame: int | None = step.get("frame")
        if "frame" in step:
            if not _is_int(frame) or frame is None or frame < 1:
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


def _step_json(network: Network, start: int, title: str, html: str, actions: list[str],
               extra: Mapping[int, Mapping[str, Any]] | None = None,
               frame: int | None = None) -> dict[str, Any]:
    """One trace step from the network's history since ``start``; ``extra`` adds fields
    to segments by id (the capture's ``frame``, ``time_ms``, ...)."""
    extra = extra or {}
    events = network.history[start:]
    fates = {e.segment.id: ("delivered" if isinstance(e, Delivered) else "lost")
             for e in events if isinstance(e, Delivered | Dropped)}
    sent = [e.segment for e in events if isinstance(e, Sent)]
    sent_ids = {s.id for s in sent}
    arrived = [e.segment for e in events
               if isinstance(e, Delivered | Dropped) and e.segment.id not in sent_ids]
    step: dict[str, Any] = {
        "title": title,
        "html": html,
        "actions": actions,
        "states": {role: state.value for role, state in network.states().items()},
        "segments": [{**s.to_json(), **extra.get(s.id, {}), "fate": fates.get(s.id, "in-flight")}
                     for s in sent],
        "arrivals": [{**s.to_json(), **extra.get(s.id, {}), "fate": fates[s.id]}
                     for s in arrived],
        "tcb": {"client": network.client.variables(), "server": network.server.variables()},
        "timers": [{"endpoint": t.endpoint, "name": t.name, "seconds": _seconds(t.seconds)}
                   for t in network.timers()],
    }
    if frame is not None:
        step["frame"] = frame
    return step


def _run_actions(network: Network, step: _Step) -> None:
    for j, action in enumerate(step.actions):
        try:
            network.apply(action)
        except ModelError as err:
            # which one, when the step's 'do' holds several: "deliver" may be there 4 times
            which = f", action {j + 1}" if len(step.actions) > 1 else ""
            raise _fail(f"step {step.index + 1}{which} ('{action}'): {err}",
                        "steps", step.index, "do", j) from None


def _model_step(network: Network, step: _Step, render_text: Callable[[str], str]
                ) -> dict[str, Any]:
    """Run one authored step's actions on the model; the step as the trace shows it."""
    start = len(network.history)
    _run_actions(network, step)
    assert step.title is not None
    return _step_json(network, start, step.title, render_text(step.text) if step.text else "",
                      [str(a) for a in step.actions])


def compile_trace(
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
        TraceError: the frontmatter is malformed, an action is unknown, or the model
            refuses an action (``step 3 ('client send 120'): client: cannot SEND in
            state CLOSED (RFC 9293 §3.10.2)``); a capture cannot be read or shows what
            the model says cannot happen (``content/x/captures/c.pcap: frame 7: ...``).
            ``keypath`` names the value at fault, with 0-based list indices, e.g.
            ``("steps", 2, "do", 0)``.
    """
    if not isinstance(simulation, Mapping):
        raise _fail("'simulation' must be a mapping, e.g. simulation: {model: tcp, "
                    "client: {...}, server: {...}}", "simulation")
    if "model" not in simulation:
        raise _fail("simulation needs 'model: tcp'", "simulation")
    model = simulation["model"]
    if model not in KNOWN_MODELS:
        raise _fail(f"unknown simulation model {str(model)!r}; known models: "
                    f"{', '.join(KNOWN_MODELS)}", "simulation", "model")
    _check_keys(simulation, _SIMULATION_KEYS, "simulation", ("simulation",))
    spec = _capture_spec(simulation["capture"]) if "capture" in simulation else None
    client, client_delayed = _endpoint(simulation, "client", seed, spec is not None)
    server, server_delayed = _endpoint(simulation, "server", seed, spec is not None)
    if spec is not None and "isn" in simulation:
        raise _fail("simulation.isn cannot be used with a capture: the sequence numbers "
                    "are the captured ones", "simulation", "isn")
    isns = _isns(simulation, seed)
    parsed = _check_steps(steps, spec is not None)
    if spec is not None:
        from .capture import CaptureError

        path = _find_capture(spec, base_dir, content_dir, reads)
        try:
            return _compile_capture(spec, path, parsed, client, server,
                                    (client_delayed, server_delayed), render_text)
        except CaptureError as err:
            raise _fail(f"{display_path(path)}: {err}", *spec.keypath) from None

    network = Network.create(isns["client"], isns["server"],
                             client_delayed_ack=client_delayed,
                             server_delayed_ack=server_delayed)
    out_steps = [_model_step(network, step, render_text) for step in parsed]
    return {
        "version": TRACE_VERSION,
        "model": "tcp",
        "endpoints": {"client": client, "server": server},
        "steps": out_steps,
    }


def _frames_shown(frames: list[int]) -> str:
    if frames == list(range(frames[0], frames[-1] + 1)):
        return f"{frames[0]}-{frames[-1]}" if len(frames) > 1 else str(frames[0])
    return ", ".join(map(str, frames[:20])) + (", ..." if len(frames) > 20 else "")


def _compile_capture(spec: _CaptureSpec, path: Path, parsed: list[_Step],
                     client: dict[str, Any], server: dict[str, Any],
                     delayed: tuple[bool, bool],
                     render_text: Callable[[str], str]) -> dict[str, Any]:
    from .capture import Address, CaptureError, anonymise, pick_connection, read_capture
    from .replay import Replay

    try:
        segments = read_capture(path)
    except OSError as err:
        raise CaptureError(f"cannot read the file: {err.strerror or err}") from None
    real = pick_connection(segments, spec.client, spec.server)
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

    network = Network.create(conn.segments[0].seq, 0, client_delayed_ack=delayed[0],
                             server_delayed_ack=delayed[1])
    syn_ack = next((s for s in conn.segments if conn.role(s) == "server" and "SYN" in s.flags),
                   None)
    if syn_ack is not None:
        network.server.iss = syn_ack.seq
    opener = conn.segments[0]
    if opener.flags == ("SYN",) and conn.role(opener) == "client":
        network.client.iss = opener.seq
    replay = Replay(network, conn)
    names = {"client": client["name"], "server": server["name"]}
    out_steps: list[dict[str, Any]] = []

    def model_steps(frame: int) -> None:
        out_steps.extend(_model_step(network, step, render_text)
                         for step in after.get(frame, []))

    model_steps(0)
    problems: dict[int, str] = {}
    for captured in conn.segments:
        start = len(network.history)
        played = replay.play(captured)
        if played.problem is not None:
            problems[captured.frame] = played.problem
        seg, fields = played.segment, played.fields
        note = annotated.get(captured.frame)
        title = note.title if note is not None and note.title else spec.title.format_map({
            "src": names[seg.src], "dst": names[seg.dst], "flags": ", ".join(seg.flag_names),
            "len": seg.len, "frame": captured.frame, "time_ms": fields["time_ms"],
            "seq": seg.seq, "ack": "" if seg.ack is None else seg.ack,
            "rel_seq": fields["rel_seq"],
            "rel_ack": "" if fields["rel_ack"] is None else fields["rel_ack"]})
        html = render_text(note.text) if note is not None and note.text else ""
        out_steps.append(_step_json(network, start, title, html, played.actions,
                                    {seg.id: fields}, frame=captured.frame))
        model_steps(captured.frame)

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
        if step["timers"]:
            lines.append("   timers  " + ", ".join(
                f"{t['endpoint']} {t['name']} {t['seconds']} s" for t in step["timers"]))
    return "\n".join(lines)

"""The simulator's Python side: a reader's scenario, run on the TCP model.

The simulator page (layout ``simulator``) runs this module in the reader's browser,
under Pyodide, in a Web Worker (``static/js/simworker.js``); the build uses it too, to
write the "explore from here" links of lessons. It imports only the standard library
and the TCP model with :mod:`~stepwise.models.tcp.scenario`, the code that compiles
lessons, so a step computed in the page is the step ``python build.py trace`` computes
for the same scenario written as a lesson, byte for byte.

A scenario is a :class:`~stepwise.models.tcp.scenario.Settings` and a list of steps, each a list
of actions (docs/actions.md). A step's title is its actions joined by ``", "``. In a URL
fragment (:func:`parse_fragment`, :func:`format_fragment`) it reads::

    #client=curl&client_ip=10.0.0.5&client_port=41000&client_isn=1000&server=nginx
    &server_ip=10.0.0.80&server_port=443&server_isn=5000&delayed_ack=server
    &do=server%20listen;client%20connect,deliver;deliver

``;`` separates steps and ``,`` the actions of one step; a key left out keeps the
page's default. The worker calls :func:`handle` with a JSON request and gets JSON back.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from ..base import KeyPath, ScenarioError, trace_text
from .actions import ENDPOINT_VERBS, NETWORK_VERBS, Action, ActionSyntaxError
from .actions import parse_action as _parse_action
from .errors import ModelError
from .network import Network
from .scenario import (
    ROLES,
    EndpointSettings,
    Settings,
    parse_settings,
    run_step,
    step_json,
    trace_json,
)
from .scene import frame, scene

#: The most actions a scenario may hold (a URL holding more is refused).
MAX_ACTIONS = 500
#: The byte count a ``send`` offers when the page asks for none.
DEFAULT_SEND_BYTES = 100
#: The keys of a scenario's URL fragment, in the order :func:`format_fragment` writes them.
FRAGMENT_KEYS: tuple[str, ...] = (
    "client", "client_ip", "client_port", "client_isn",
    "server", "server_ip", "server_port", "server_isn",
    "delayed_ack", "do",
)
#: URL key -> the setting it holds, as a key path of the ``simulation`` mapping.
_SETTING_PATHS: dict[str, tuple[str, str, str]] = {
    f"{role}{suffix}": path
    for role in ROLES
    for suffix, path in (("", ("simulation", role, "name")),
                         ("_ip", ("simulation", role, "ip")),
                         ("_port", ("simulation", role, "port")),
                         ("_isn", ("simulation", "isn", role)))
}
_LABELS: dict[KeyPath, str] = {path: key for key, path in _SETTING_PATHS.items()}
_LABELS.update({("simulation", role, "delayed_ack"): f"{role}_delayed_ack" for role in ROLES})


def _label(keypath: KeyPath) -> str:
    """How a message about the URL names a setting: by its key (``client_port``)."""
    if keypath in _LABELS:
        return _LABELS[keypath]
    return " ".join(str(k) for k in keypath[1:]) or "the settings"


_FIELDS = {"": "name", "_ip": "address", "_port": "port", "_isn": "ISN",
           "_delayed_ack": "delayed ACK"}


def form_label(keypath: KeyPath) -> str:
    """How a message about the settings form names a field: ``the client's port``."""
    key = _label(keypath)
    role, _, rest = key.partition("_")
    if role not in ROLES:
        return key
    return f"the {role}'s {_FIELDS.get('_' + rest if rest else '', rest)}"


def settings_from_json(data: Any, label: Callable[[KeyPath], str] = _label) -> Settings:
    """Settings from their JSON form (:func:`settings_json`): the page's defaults or
    the reader's settings form (``label``: how messages name a setting, by default by
    its URL key; :func:`form_label` for the form).

    Raises:
        ScenarioError: a missing or malformed value (``client_port must be an integer
            from 1 to 65535, got 70000``).
    """
    if not isinstance(data, Mapping):
        raise ScenarioError("the settings must be a mapping of client, server and isn")
    simulation = {key: data[key] for key in ("client", "server", "isn") if key in data}
    for role in ROLES:
        isn = ("simulation", "isn", role)
        if not isinstance(simulation.get("isn"), Mapping) or role not in simulation["isn"]:
            raise ScenarioError(f"{label(isn)} is missing: give an integer from 0 to "
                                f"4294967295", isn)
        endpoint = simulation.get(role)
        port = ("simulation", role, "port")
        if isinstance(endpoint, Mapping) and "port" not in endpoint:
            raise ScenarioError(f"{label(port)} is missing: give an integer from 1 to 65535",
                                port)
    return parse_settings(simulation, "", label=label)


def settings_json(settings: Settings) -> dict[str, Any]:
    """The JSON form of ``settings``: ``{"client": {"name", "ip", "port",
    "delayed_ack"}, "server": {...}, "isn": {"client", "server"}}``."""
    out: dict[str, Any] = {}
    for role in ROLES:
        ep = settings.endpoint(role)
        out[role] = {"name": ep.name, "ip": ep.ip, "port": ep.port,
                     "delayed_ack": ep.delayed_ack}
    out["isn"] = {role: settings.isn[role] for role in ROLES}
    return out


Steps = tuple[tuple[Action, ...], ...]


@dataclass(frozen=True)
class Scenario:
    """The reader's scenario: settings, and steps of one or more actions each."""

    settings: Settings
    steps: Steps = ()

    @property
    def action_count(self) -> int:
        return sum(len(step) for step in self.steps)


def step_title(actions: Sequence[Action | str]) -> str:
    """A simulator step's title: its actions, ``"client connect, deliver"``."""
    return ", ".join(map(str, actions))


def parse_steps(steps: Any) -> Steps:
    """Steps from their JSON form, a list of lists of action strings.

    Raises:
        ScenarioError: not a list of lists of strings, an empty step, an action not
            in the vocabulary (``step 2: unknown action 'client conect': ...; did you
            mean 'client connect'?``), or more than :data:`MAX_ACTIONS` actions.
    """
    if not isinstance(steps, list) or not all(isinstance(s, list) for s in steps):
        raise ScenarioError("the steps must be a list of lists of actions")
    count = sum(len(s) for s in steps)
    if count > MAX_ACTIONS:
        raise ScenarioError(f"the scenario has {count} actions; the simulator runs at most "
                            f"{MAX_ACTIONS}: remove some, or write it as a lesson")
    parsed = []
    for i, step in enumerate(steps):
        if not step:
            raise ScenarioError(f"step {i + 1} is empty: give it an action, e.g. deliver",
                                ("steps", i))
        actions = []
        for j, text in enumerate(step):
            if not isinstance(text, str):
                raise ScenarioError(f"step {i + 1}: action {j + 1} must be a string such "
                                    f"as 'client connect', got {text!r}", ("steps", i, "do", j))
            try:
                actions.append(_parse_action(text))
            except ActionSyntaxError as err:
                raise ScenarioError(f"step {i + 1}: {err}", ("steps", i, "do", j)) from None
        parsed.append(tuple(actions))
    return tuple(parsed)


# -- the URL fragment ----------------------------------------------------------------


def parse_fragment(fragment: str, defaults: Settings) -> Scenario:
    """The scenario a URL fragment describes (see the module docstring); settings it
    leaves out are ``defaults``'.

    Raises:
        ScenarioError: an unknown or repeated key, a bad setting, an unknown action, or
            more than :data:`MAX_ACTIONS` actions; the message names the key.
    """
    values: dict[str, str] = {}
    for part in fragment.removeprefix("#").split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = unquote(key)
        if key not in FRAGMENT_KEYS:
            close = difflib.get_close_matches(key, FRAGMENT_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ScenarioError(f"unknown key '{key}' in the URL; known keys: "
                                f"{', '.join(FRAGMENT_KEYS)}{hint}")
        if key in values:
            raise ScenarioError(f"'{key}' appears twice in the URL; keep one")
        if not sep:
            raise ScenarioError(f"'{key}' needs a value in the URL, e.g. {key}="
                                f"{_example(key)}")
        values[key] = value
    simulation = settings_json(defaults)
    for key, path in _SETTING_PATHS.items():
        if key in values:
            text = unquote(values[key])
            target = simulation[path[1]]
            # numbers are checked by the settings' own rules, with their messages
            target[path[2]] = int(text) if key.endswith(("_port", "_isn")) and \
                text.isascii() and text.isdigit() and len(text) <= 12 else text
    if "delayed_ack" in values:
        sides = [s for s in unquote(values["delayed_ack"]).split(",") if s]
        for side in sides:
            if side not in ROLES and side != "none" or (side == "none" and len(sides) > 1):
                raise ScenarioError(f"delayed_ack in the URL lists the sides that delay "
                                    f"their ACKs: client, server, both separated by a comma, "
                                    f"or none; got '{side[:40]}'"
                                    + (" with sides" if side == "none" else ""))
        for role in ROLES:
            simulation[role]["delayed_ack"] = role in sides
    settings = settings_from_json(simulation)
    steps: list[list[str]] = []
    do = values.get("do", "").replace("+", " ").rstrip(";")
    if do:
        steps = [[unquote(a) for a in step.split(",")] if step else [] for step in do.split(";")]
    return Scenario(settings, parse_steps(steps))


def _example(key: str) -> str:
    return {"do": "server%20listen;client%20connect", "delayed_ack": "server"}.get(
        key, "1000" if key.endswith(("_port", "_isn")) else "curl")


def format_fragment(scenario: Scenario) -> str:
    """The URL fragment of ``scenario``, without ``#``; every setting is written, so
    the link means the same whatever the page's defaults become."""
    s = scenario.settings
    values = {}
    for key, path in _SETTING_PATHS.items():
        value = s.isn[path[2]] if path[1] == "isn" else getattr(s.endpoint(path[1]), path[2])
        values[key] = quote(str(value), safe=":")
    values["delayed_ack"] = ",".join(r for r in ROLES if s.endpoint(r).delayed_ack) or "none"
    values["do"] = ";".join(",".join(quote(str(a), safe="") for a in step)
                            for step in scenario.steps)
    return "&".join(f"{key}={values[key]}" for key in FRAGMENT_KEYS)


# -- running a scenario --------------------------------------------------------------


@dataclass
class Run:
    """A scenario run on the model.

    Attributes:
        trace: the trace (format v1), as ``python build.py trace`` makes it for the
            scenario written as a lesson (:func:`export_yaml`).
        network: the model after the last step.
        start: the model before any action, as a trace step without title (``states``,
            ``tcb``, ``timers``: what the page shows at step 0).
        flights: after each step, the ids of the segments still in flight, oldest first.
    """

    trace: dict[str, Any]
    network: Network
    start: dict[str, Any]
    flights: list[list[int]] = field(default_factory=list)


def run(scenario: Scenario) -> Run:
    """Run every step of ``scenario`` on a fresh model.

    Raises:
        ScenarioError: the model refuses an action (``step 3 ('client send 100'):
            client: cannot SEND in state CLOSED: ... (RFC 9293 §3.10.2)``).
    """
    network = scenario.settings.network()
    start = step_json(network, 0, "", "", [])
    steps, flights = [], []
    for i, actions in enumerate(scenario.steps):
        steps.append(run_step(network, i, step_title(actions), list(actions)))
        flights.append([s.id for s in network.in_flight])
    return Run(trace_json(scenario.settings, steps), network, start, flights)


def _probe(network: Network, action: Action) -> str | None:
    """Why the model refuses ``action`` now (its own message), or None when it accepts
    it; ``network`` is left as it is."""
    trial = Network(copy.deepcopy(network.client), copy.deepcopy(network.server),
                    list(network.in_flight), [], network.next_id)
    try:
        trial.apply(action)
    except ModelError as err:
        return str(err)
    return None


def choices(network: Network, nbytes: int = DEFAULT_SEND_BYTES) -> list[dict[str, Any]]:
    """Every action the reader could take next, each with the model's answer.

    Returns:
        One dict per action, endpoints' first (client, then server, in the order of
        :data:`~stepwise.models.tcp.ENDPOINT_VERBS`), then the network's: ``{"action":
        "client send 100", "endpoint": "client", "verb": "send", "allowed": False,
        "reason": "client: cannot SEND in state CLOSED: ... (RFC 9293 §3.10.2)"}``.
        ``deliver`` and ``drop`` add ``"segment"``, the oldest segment in flight
        (``{"id", "src", "dst", "flags", "len"}``); ``timeout`` adds ``"timer"``, the
        timer it would fire (``{"name", "seconds"}``).

    Raises:
        ScenarioError: ``nbytes`` is not a byte count ``send`` takes (1 .. 65535).
    """
    out: list[dict[str, Any]] = []
    candidates: list[Action] = []
    for role in ROLES:
        for verb, arg in ENDPOINT_VERBS.items():
            text = f"{role} {verb}" + (f" {nbytes}" if arg else "")
            try:
                candidates.append(_parse_action(text))
            except ActionSyntaxError as err:
                raise ScenarioError(str(err)) from None
    candidates += [Action(None, verb) for verb in NETWORK_VERBS]
    oldest = network.in_flight[0] if network.in_flight else None
    for action in candidates:
        reason = _probe(network, action)
        choice: dict[str, Any] = {"action": str(action), "endpoint": action.endpoint,
                                  "verb": action.verb, "allowed": reason is None,
                                  "reason": reason}
        if action.endpoint is None and oldest is not None:
            choice["segment"] = {"id": oldest.id, "src": oldest.src, "dst": oldest.dst,
                                 "flags": oldest.flag_names, "len": oldest.len}
        if action.verb == "timeout" and action.endpoint is not None and reason is None:
            name, seconds = network.endpoint(action.endpoint).timers()[0]
            choice["timer"] = {"name": name, "seconds": seconds}
        out.append(choice)
    return out


def lesson_fragments(settings: Settings, steps: Sequence[Sequence[str]],
                     trace_steps: Sequence[Mapping[str, Any]]) -> list[str | None]:
    """For each step of a compiled lesson, the URL fragment that opens the simulator
    there ("explore from here"): ``settings`` and the actions of the steps up to it.

    Args:
        settings, steps: the lesson's scenario (:func:`stepwise.trace.lesson_scenario`);
            a step without actions is left out of the fragments (it changes nothing).
        trace_steps: the lesson's trace steps, which the simulator must reproduce.

    Returns:
        One fragment per step, or None from the first step the simulator cannot replay
        as the lesson shows it (a capture whose replay follows Linux where the model
        would not: the simulator's model would show other states or numbers).
    """
    network = settings.network()
    out: list[str | None] = []
    done: list[tuple[Action, ...]] = []
    for i, (actions, expected) in enumerate(zip(steps, trace_steps, strict=True)):
        try:
            parsed = tuple(_parse_action(a) for a in actions)
            got = run_step(network, i, "", list(parsed))
        except (ActionSyntaxError, ScenarioError):
            break
        if (got["states"], got["tcb"]) != (expected["states"], expected["tcb"]):
            break
        if parsed:
            done.append(parsed)
        out.append(format_fragment(Scenario(settings, tuple(done))))
    return out + [None] * (len(trace_steps) - len(out))


# -- export --------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*(?: [A-Za-z0-9_.\-]+)*")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
#: what a double-quoted YAML scalar cannot hold as it is: characters YAML refuses (DEL,
#: C1 controls, U+FFFE) and those it reads as line breaks (NEL, U+2028, U+2029)
_UNPRINTABLE = re.compile(
    r"[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: YAML 1.1 words that a plain scalar would turn into a boolean or null
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "none", "~"}


def _scalar(value: str | int | bool) -> str:
    """``value`` as a YAML scalar that reads back as the same value: plain where that is
    unambiguous, else double-quoted (JSON's escapes are YAML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if (_PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS) or _IPV4.fullmatch(value):
        return value
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}",
                            json.dumps(value, ensure_ascii=False))


def _endpoint_yaml(ep: EndpointSettings) -> str:
    fields = [f"name: {_scalar(ep.name)}", f"ip: {_scalar(ep.ip)}"]
    if ep.port is not None:
        fields.append(f"port: {ep.port}")
    if ep.delayed_ack:
        fields.append("delayed_ack: true")
    return "{" + ", ".join(fields) + "}"


def export_yaml(scenario: Scenario) -> str:
    """``simulation:`` and ``steps:`` frontmatter that, pasted into a lesson, builds the
    trace :func:`run` computes, byte for byte (every setting is written out, so the
    lesson's path, from which missing ISNs and ports are derived, plays no part)."""
    s = scenario.settings
    lines = ["simulation:", "  model: tcp",
             f"  client: {_endpoint_yaml(s.client)}",
             f"  server: {_endpoint_yaml(s.server)}",
             f"  isn: {{client: {s.isn['client']}, server: {s.isn['server']}}}"]
    if not scenario.steps:
        lines.append("steps: []")
    else:
        lines.append("steps:")
        for actions in scenario.steps:
            lines.append(f"  - title: {_scalar(step_title(actions))}")
            lines.append(f"    do: [{', '.join(str(a) for a in actions)}]")
    return "\n".join(lines) + "\n"


# -- the worker's entry point --------------------------------------------------------


def _scenario(request: Mapping[str, Any]) -> Scenario:
    defaults = settings_from_json(request.get("defaults"))
    if request.get("op") == "open":
        fragment = request.get("fragment", "")
        if not isinstance(fragment, str):
            raise ScenarioError("the URL fragment must be a string")
        return parse_fragment(fragment, defaults)
    settings = (settings_from_json(request["settings"], form_label) if "settings" in request
                else defaults)
    return Scenario(settings, parse_steps(request.get("steps", [])))


def respond(request: Mapping[str, Any]) -> dict[str, Any]:
    """Answer one request of the page (see :func:`handle`), as a dict."""
    op = request.get("op")
    if op not in ("open", "run", "export"):
        return {"ok": False, "error": f"unknown request {op!r}"}
    try:
        scenario = _scenario(request)
        result = run(scenario)
        if op == "export":
            return {"ok": True, "yaml": export_yaml(scenario), "json": trace_text(result.trace)}
        steps = [[str(a) for a in step] for step in scenario.steps]
        return {"ok": True, "settings": settings_json(scenario.settings), "steps": steps,
                "trace": result.trace, "scene": scene(result.trace),
                "start": frame(result.start), "flights": result.flights,
                "choices": choices(result.network),
                "fragment": format_fragment(scenario)}
    except ScenarioError as err:
        return {"ok": False, "error": err.message}


def handle(request: str) -> str:
    """The worker's one call: a JSON request in, a JSON response out.

    Requests (``defaults``: the page's settings in their JSON form):

    * ``{"op": "open", "fragment": "#do=...", "defaults": ...}``: the
      scenario of a URL fragment;
    * ``{"op": "run", "settings": ..., "steps": [["server listen"], ...], ...}``: a
      scenario as the page holds it;
    * ``{"op": "export", ...}`` (as ``run``): ``{"ok": true, "yaml", "json"}``, the
      scenario as lesson frontmatter and its trace as text.

    Responses: ``{"ok": true, "settings", "steps", "trace", "scene", "start",
    "flights", "choices", "fragment"}`` (see :class:`Run` and :func:`choices`; ``scene``
    is what the player draws, ``start`` the scene frame before any action), or ``{"ok":
    false, "error": "..."}`` with the message to show; a request is never half done.
    """
    try:
        data = json.loads(request)
    except (ValueError, RecursionError):
        return json.dumps({"ok": False, "error": "the request is not JSON"})
    if not isinstance(data, dict):
        return json.dumps({"ok": False, "error": "the request must be a JSON object"})
    try:
        return json.dumps(respond(data), ensure_ascii=False)
    except Exception as err:  # noqa: BLE001 - the page gets an answer, never a traceback
        return json.dumps({"ok": False, "error": f"the simulator failed ({type(err).__name__}: "
                           f"{str(err)[:200]}); this is a bug in stepwise, please report it "
                           f"with the page's URL"})

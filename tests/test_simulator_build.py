"""The simulator in the build: the Python packed for the browser, the runtime copied into
the output, the simulator page's settings and errors, a build without the runtime, the
lessons' "explore from here" links, and incremental rebuilds."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
import yaml

from stepwise.models.tcp.playground import handle, settings_json
from stepwise.models.tcp.scenario import EndpointSettings, Settings
from stepwise.project import Project
from stepwise.simulator import BundleError, find_runtime, modules, pack
from stepwise.site import SiteBuild

REPO = Path(__file__).resolve().parent.parent
THEME = REPO / "stepwise" / "themes" / "default"
PLAYGROUND = "stepwise.models.tcp.playground"
RUNTIME = REPO / "node_modules" / "pyodide"
needs_runtime = pytest.mark.skipif(
    find_runtime(REPO)[0] is None, reason="no Pyodide runtime: run `npm ci` (make test does)")

SIMULATOR = """\
---
title: Playground
layout: simulator
simulation:
  model: tcp
  client: {name: curl, ip: 10.0.0.5, port: 41000}
  server: {name: nginx, ip: 10.0.0.80, port: 443}
  isn: {client: 1000, server: 5000}
---
Drive the model.
"""
LESSON = """\
---
title: Handshake
layout: lesson
simulation:
  model: tcp
  client: {name: curl, ip: 10.0.0.5}
  server: {name: nginx, ip: 10.0.0.80, port: 443}
steps:
  - {title: listen, do: [server listen]}
  - {title: connect, do: [client connect, deliver]}
---
Text.
"""


def with_runtime(project) -> None:
    """Give a test project the repository's runtime, as `npm ci` would."""
    (project.root / "node_modules").symlink_to(REPO / "node_modules")


# -- the Python the browser runs -----------------------------------------------------


def test_the_browser_gets_the_model_and_nothing_of_the_site() -> None:
    names = set(modules(PLAYGROUND))
    assert {PLAYGROUND, "stepwise.models.tcp.scenario", "stepwise.models.tcp",
            "stepwise.models.tcp.network", "stepwise.models.base"} <= names
    for site_module in ("stepwise.trace", "stepwise.errors", "stepwise.compile",
                        "stepwise.markdown", "stepwise.models.tcp.capture",
                        "stepwise.models.tcp.lesson", "stepwise.build"):
        assert site_module not in names


def test_a_module_that_needs_a_library_cannot_be_packed() -> None:
    # the build's trace compiler reads packet captures with dpkt: not for the browser
    with pytest.raises(BundleError, match="stepwise.models.tcp.capture imports dpkt"):
        modules("stepwise.models.tcp.lesson")


def test_the_packed_archive_runs_alone(tmp_path: Path) -> None:
    """The zip, on a bare interpreter (-I -S: no site-packages, so no Jinja, markdown-it,
    PyYAML or the installed stepwise), answers as the installed package does."""
    data = pack(PLAYGROUND)
    assert pack(PLAYGROUND) == data  # the same bytes every time: builds are reproducible
    archive = tmp_path / "stepwise.zip"
    archive.write_bytes(data)
    assert all(name.startswith("stepwise/") and name.endswith(".py")
               for name in zipfile.ZipFile(BytesIO(data)).namelist())
    defaults = settings_json(Settings(EndpointSettings("a", "10.0.0.1", 1000),
                                      EndpointSettings("b", "10.0.0.2", 80),
                                      {"client": 1, "server": 2}))
    request = json.dumps({"op": "open", "defaults": defaults,
                          "fragment": "#do=server%20listen;client%20connect,deliver;drop"})
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import stepwise.models.tcp.playground as p; "
            "print(p.handle(sys.argv[2])); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('yaml', 'jinja2', 'markdown_it', 'dpkt', 'pygments')))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(archive), request],
                         capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    answer, imported = out.splitlines()
    assert json.loads(answer) == json.loads(handle(request))
    assert imported == "[]"


# -- the build -----------------------------------------------------------------------


@needs_runtime
def test_the_build_writes_the_runtime_and_links_the_lessons(make_project) -> None:
    project = make_project({"linux/sim.md": SIMULATOR, "linux/how/tcp-handshake.md": LESSON})
    with_runtime(project)
    result = project.build(search=False)
    assert not [w for w in result.warnings if "simulator" in w]
    version = json.loads((RUNTIME / "package.json").read_text())["version"]
    # one folder named by the version and a hash of every file in it (stepwise.assets)
    [runtime] = (project.out / "static" / "pyodide").glob(f"{version}-*")
    assert re.fullmatch(re.escape(version) + "-[0-9a-f]{8}", runtime.name)
    for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"):
        assert (runtime / name).read_bytes() == (RUNTIME / name).read_bytes()
    lock = json.loads((runtime / "pyodide-lock.json").read_text())
    assert lock["packages"] == {} and lock["info"]["python"].startswith("3.")
    bundles = list((project.out / "static" / "sim").glob("stepwise-*.zip"))
    assert [b.read_bytes() for b in bundles] == [pack(PLAYGROUND)]

    page = project.page("linux/sim")
    assert f'data-bundle="../../static/sim/{bundles[0].name}"' in page
    assert f'data-runtime="../../static/pyodide/{runtime.name}/"' in page
    [worker] = (project.out / "static" / "js").glob("simworker.*.js")
    assert f'data-worker="../../static/js/{worker.name}"' in page
    settings = json.loads(page.split("data-settings='", 1)[1].split("'", 1)[0])
    assert settings == {"client": {"name": "curl", "ip": "10.0.0.5", "port": 41000,
                                   "delayed_ack": False},
                        "server": {"name": "nginx", "ip": "10.0.0.80", "port": 443,
                                   "delayed_ack": False},
                        "isn": {"client": 1000, "server": 5000}}
    lesson = project.page("linux/how/tcp-handshake")
    links = [part.split('"', 1)[0] for part in lesson.split('class="pl-step-explore" href="')[1:]]
    assert len(links) == 2
    assert links[1].startswith("../../sim/index.html#client=curl&amp;client_ip=10.0.0.5&amp;")
    assert links[1].endswith("do=server%20listen;client%20connect,deliver")


def test_without_the_runtime_the_site_builds_and_says_so(make_project) -> None:
    project = make_project({"linux/sim.md": SIMULATOR, "linux/how/tcp-handshake.md": LESSON})
    result = project.build(search=False)
    assert result.warnings == [
        "content/linux/sim.md:3: the simulator cannot run in this build: no Pyodide runtime in "
        "node_modules/pyodide/; install it with `npm ci` (make build does this when npm is on "
        "the machine); the page tells its readers so, and lessons show no 'explore from here' "
        "links"]
    assert "The simulator is not available in this build" in project.page("linux/sim")
    assert "simulator.js" not in project.page("linux/sim")
    assert "pl-explore" not in project.page("linux/how/tcp-handshake")
    assert not (project.out / "static" / "pyodide").exists()
    # --strict makes it an error, as for any warning
    from stepwise.errors import ErrorList
    with pytest.raises(ErrorList):
        project.build(search=False, strict=True, cache=False)


def test_a_site_without_a_simulator_page_gets_no_runtime(make_project) -> None:
    project = make_project()
    with_runtime(project)
    result = project.build(search=False)
    assert result.warnings == []
    assert not (project.out / "static" / "pyodide").exists()
    assert "pl-explore" not in project.page("linux/how/tcp-handshake")


@pytest.mark.parametrize(("front", "error"), [
    ("title: P\nlayout: simulator\n",
     "content/linux/sim.md:3: a simulator page needs 'simulation:', the settings it opens "
     "with, e.g. simulation: {model: tcp, client: {name: curl, ip: 10.0.0.5}, server: "
     "{name: nginx, ip: 10.0.0.80, port: 443}}"),
    ("title: P\nlayout: simulator\nsimulation:\n  model: tcp\n  client: {name: c, ip: 10.0.0.1}\n"
     "  server: {name: s, ip: 10.0.0.2, port: 70000}\n",
     "content/linux/sim.md:7: simulation.server.port must be an integer from 1 to 65535, got "
     "70000"),
    ("title: P\nlayout: simulator\nsimulation:\n  model: tcp\n  capture: x.pcap\n"
     "  client: {name: c, ip: 10.0.0.1}\n  server: {name: s, ip: 10.0.0.2, port: 80}\n",
     "content/linux/sim.md:6: unknown key 'capture' in simulation; known keys: model, client, "
     "server, isn"),
    (SIMULATOR.split("---\n")[1] + "steps:\n  - {title: x, do: [server listen]}\n",
     "content/linux/sim.md:10: a simulator page opens with no steps: remove 'steps:' (link a "
     "scenario instead: the simulator's URL with #do=server%20listen;client%20connect)"),
])
def test_a_simulator_page_with_bad_settings_is_a_located_error(make_project, front: str,
                                                                 error: str) -> None:
    from stepwise.errors import ErrorList

    project = make_project({"linux/sim.md": f"---\n{front}---\nText.\n"})
    with pytest.raises(ErrorList) as caught:
        project.build(search=False)
    assert [str(e) for e in caught.value] == [error]


@needs_runtime
def test_a_simulator_page_added_while_serving_links_the_lessons(make_project) -> None:
    """The lessons' links follow the simulator page: added, moved, removed."""
    project = make_project({"linux/how/tcp-handshake.md": LESSON})
    with_runtime(project)
    build = SiteBuild(Project.at(project.root))
    build.full()
    lesson = "linux/how/tcp-handshake/index.html"
    assert b"pl-explore" not in build.outputs[lesson]

    def fresh() -> dict[str, bytes]:
        again = SiteBuild(Project.at(project.root))
        again.full()
        return again.outputs

    sim = project.write("linux/sim.md", SIMULATOR)
    build.update()
    assert b'href="../../sim/index.html#client=curl' in build.outputs[lesson]
    assert build.outputs == fresh()
    sim.rename(sim.with_name("playground.md"))
    build.update()
    assert b'href="../../playground/index.html#client=curl' in build.outputs[lesson]
    assert build.outputs == fresh()
    (sim.with_name("playground.md")).unlink()
    build.update()
    assert b"pl-explore" not in build.outputs[lesson]
    assert build.outputs == fresh()


@needs_runtime
def test_installing_the_runtime_after_a_build_is_a_change(make_project) -> None:
    """`python build.py build`, then `npm ci`, then a build: not "up to date"."""
    project = make_project({"linux/sim.md": SIMULATOR})
    assert project.build(search=False).warnings
    again = project.build(search=False)
    assert again.unchanged
    with_runtime(project)
    result = project.build(search=False)
    assert not result.unchanged and not result.warnings
    assert re.search(r"static/js/simulator\.[0-9a-f]{8}\.js", project.page("linux/sim"))


def test_a_wiki_link_can_open_a_scenario(make_project) -> None:
    project = make_project({"linux/sim.md": SIMULATOR, "linux/how/x.md": (
        "---\ntitle: X\n---\nTry [[sim#do=server listen;client connect,deliver|the open]],\n"
        "or [[sim#server_port=80&do=client connect;deliver;deliver]].\n")})
    project.build(search=False)
    page = project.page("linux/how/x")
    assert ('href="../../sim/index.html#do=server%20listen;client%20connect,deliver"'
            in page)
    assert 'href="../../sim/index.html#server_port=80&amp;do=client%20connect;deliver;deliver"'\
        in page


@pytest.mark.parametrize(("link", "error"), [
    ("[[sim#do=client conect]]", "[[sim#do=client conect]]: the simulator cannot open this "
     "scenario: step 1: unknown action 'client conect': an action is 'client VERB' or 'server "
     "VERB' with VERB one of listen, connect, send BYTES, close, abort, timeout; or the "
     "network's deliver or drop; did you mean 'client connect'?"),
    ("[[sim#do=deliver|x]]", "[[sim#do=deliver]]: the simulator cannot open this scenario: "
     "step 1 ('deliver'): nothing in flight to deliver: every segment sent so far has been "
     "delivered or dropped; remove this action, or have an endpoint send something first"),
    ("[[sim#server_port=0]]", "[[sim#server_port=0]]: the simulator cannot open this "
     "scenario: server_port must be an integer from 1 to 65535, got 0"),
    ("[[sim#intro]]", "[[sim#intro]]: content/linux/sim.md has no heading #intro; it has no "
     "headings"),
])
def test_a_scenario_link_the_simulator_would_refuse_fails_the_build(make_project, link: str,
                                                                      error: str) -> None:
    from stepwise.errors import ErrorList

    project = make_project({"linux/sim.md": SIMULATOR,
                            "linux/how/x.md": f"---\ntitle: X\n---\n\nSee {link}.\n"})
    with pytest.raises(ErrorList) as caught:
        project.build(search=False)
    assert [str(e) for e in caught.value] == [f"content/linux/how/x.md:5: {error}"]


def test_a_scenario_link_follows_the_simulators_settings(make_project) -> None:
    """The scenario is checked against the simulator's settings: when they change, a
    rebuild checks the links again, as a clean build would."""
    from stepwise.errors import ErrorList

    delayed = SIMULATOR.replace("port: 443}", "port: 443, delayed_ack: true}")
    sim = "linux/sim.md"
    project = make_project({sim: delayed, "linux/how/x.md": (
        "---\ntitle: X\n---\n[[sim#do=server listen;client connect;deliver;deliver;deliver;"
        "client send 10;deliver;server timeout|the delayed ACK]]\n")})
    build = SiteBuild(Project.at(project.root))
    build.full()
    project.write(sim, SIMULATOR)  # no delayed ACK: no timer for 'server timeout'
    with pytest.raises(ErrorList) as incremental:
        build.update()
    with pytest.raises(ErrorList) as fresh:
        SiteBuild(Project.at(project.root)).full()
    assert [str(e) for e in incremental.value] == [str(e) for e in fresh.value]
    assert "server: no timer is running in state ESTABLISHED" in str(fresh.value)


@pytest.mark.parametrize(("lock", "package", "problem"), [
    ("garbage", '{"version": "1.0.0"}', "is damaged (its package.json or pyodide-lock.json "
     "cannot be read)"),
    ("{}", '{"version": "1.0.0"}', "is damaged (its package.json or pyodide-lock.json "
     "cannot be read)"),
    ('{"info": 5}', '{"version": "1.0.0"}', "is damaged (its package.json or "
     "pyodide-lock.json cannot be read)"),
    ('{"info": {"python": "3.14.2"}}', '{"version": 5}', "has no usable version in its "
     "package.json ('5')"),
    (None, '{"version": "1.0.0"}', "is incomplete (no pyodide-lock.json)"),
])
def test_a_damaged_runtime_is_a_warning_not_a_crash(make_project, lock: str | None,
                                                   package: str, problem: str) -> None:
    project = make_project({"linux/sim.md": SIMULATOR})
    folder = project.root / "node_modules" / "pyodide"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(package)
    for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"):
        (folder / name).write_bytes(b"x")
    if lock is not None:
        (folder / "pyodide-lock.json").write_text(lock)
    result = project.build(search=False)
    assert [w.split(": ", 2)[2].split(";")[0] for w in result.warnings] == [
        f"the Pyodide runtime in node_modules/pyodide/ {problem}"]
    assert "not available in this build" in project.page("linux/sim")


@needs_runtime
def test_two_simulator_pages_say_which_one_lessons_open(make_project) -> None:
    project = make_project({"linux/sim.md": SIMULATOR, "linux/aaa.md": SIMULATOR,
                            "linux/how/tcp-handshake.md": LESSON})
    with_runtime(project)
    result = project.build(search=False)
    assert result.warnings == [
        "content/linux/sim.md:3: lessons of the tcp model link one simulator page, "
        "content/linux/aaa.md, not this one; keep one simulator page per model"]
    assert 'href="../../aaa/index.html#client=' in project.page("linux/how/tcp-handshake")


@needs_runtime
def test_every_word_the_script_writes_is_given_to_it(make_project) -> None:
    """simulator.js writes only words of the theme's strings: every key it formats is in
    the page's data-strings, with the theme's text (the site overrides none of them)."""
    project = make_project({"linux/sim.md": SIMULATOR})
    with_runtime(project)
    project.build(search=False)
    given = json.loads(html.unescape(
        project.page("linux/sim").split("data-strings='", 1)[1].split("'", 1)[0]))
    script = (THEME / "static" / "js" / "simulator.js").read_text()
    # the first argument of every fmt(...) and note(...), quoted words of it included
    # when it chooses (n ? 'announce' : 'announce_start')
    used = {word for arg in re.findall(r"\b(?:fmt|note)\(([^,)]*)", script)
            for word in re.findall(r"'([a-z_]+)'", arg)}
    assert used and used <= set(given), sorted(used - set(given))
    strings = yaml.safe_load((THEME / "theme.yaml").read_text())["strings"]["simulator"]
    assert all(given[key] == strings[key] for key in given)

"""The files a simulator page needs in the output: Pyodide and our own Python, packed.

The simulator (layout ``simulator``, ``static/js/simulator.js``) runs the project's TCP
model in the reader's browser. Two things make that possible, both written into the
output by the build, next to the pages:

* the Pyodide runtime (CPython compiled to WebAssembly), self-hosted: taken from the
  npm package ``pyodide`` that ``npm ci`` installs into ``node_modules/`` from the
  project's ``package-lock.json`` (``make build`` runs it), never from a CDN;
* :func:`pack`: a zip of the model's playground module (``Model.playground``, e.g.
  :mod:`stepwise.models.tcp.playground`) and every ``stepwise`` module it imports, read
  from the installed package, nothing else. Packing walks the imports
  and refuses any that is neither ours nor the standard library, so the site pipeline,
  Jinja, markdown-it or PyYAML can never end up in the page by accident.

A build without the runtime (no npm on the machine) still builds: it warns once, and
the simulator page says the simulator is not available in this build.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: The layout of the page where readers drive the model themselves.
SIMULATOR_LAYOUT = "simulator"
#: Where the runtime comes from, relative to the project folder.
RUNTIME_DIR = PurePosixPath("node_modules/pyodide")
#: The runtime's version the simulator is tested with (this repository's
#: package.json pins it; ``stepwise new`` tells a new site to install it).
PYODIDE_VERSION = "314.0.8"
#: The runtime's files a page loads, as the npm package ships them.
RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
#: Where the build writes them in the output (under the runtime's version and a hash of
#: their bytes, see :mod:`stepwise.assets`).
OUTPUT_DIR = "static/pyodide"
#: The worker script that loads them (a static file of the theme).
WORKER = "static/js/simworker.js"
#: A zip entry's time stamp: fixed, so that a build makes the same bytes every time.
_EPOCH = (1980, 1, 1, 0, 0, 0)


class BundleError(RuntimeError):
    """The browser's Python would import something it cannot have (a bug in stepwise)."""


@dataclass(frozen=True)
class Runtime:
    """A Pyodide runtime found on disk.

    Attributes:
        folder: the npm package's folder; ``version``: its version (``"314.0.8"``).
    """

    folder: Path
    version: str

    @property
    def url_dir(self) -> str:
        """Where the runtime goes in the output: ``static/pyodide/314.0.8/``."""
        return f"{OUTPUT_DIR}/{self.version}/"


def find_runtime(root: Path) -> tuple[Runtime | None, str]:
    """The Pyodide runtime installed for the project at ``root``.

    Returns:
        ``(runtime, "")``, or ``(None, why)`` with what is missing and how to get it.
    """
    folder = root / RUNTIME_DIR
    how = "install it with `npm ci` (make build does this when npm is on the machine)"
    if not (folder / "package.json").is_file():
        return None, f"no Pyodide runtime in {RUNTIME_DIR}/; {how}"
    again = "reinstall it with `npm ci`"
    missing = [name for name in RUNTIME_FILES + ("pyodide-lock.json",)
               if not (folder / name).is_file()]
    if missing:
        return None, (f"the Pyodide runtime in {RUNTIME_DIR}/ is incomplete (no "
                      f"{', '.join(missing)}); {again}")
    try:
        version = json.loads((folder / "package.json").read_text("utf-8"))["version"]
        info = json.loads((folder / "pyodide-lock.json").read_text("utf-8"))["info"]
        if not isinstance(info, dict) or not isinstance(info.get("python"), str):
            raise TypeError(info)
    except (OSError, ValueError, KeyError, TypeError):
        return None, (f"the Pyodide runtime in {RUNTIME_DIR}/ is damaged (its package.json "
                      f"or pyodide-lock.json cannot be read); {again}")
    if not isinstance(version, str) or not version.replace(".", "").isalnum():
        return None, (f"the Pyodide runtime in {RUNTIME_DIR}/ has no usable version in its "
                      f"package.json ({str(version)[:40]!r}); {again}")
    return Runtime(folder, version), ""


def lock_file(runtime: Runtime) -> bytes:
    """The runtime's ``pyodide-lock.json`` as the output has it: cut to its ``info``
    (the page installs no package of Pyodide's distribution, our archive needs only the
    standard library, so its 120 KB list is not sent). The build writes it with the
    runtime's files, all in one folder named by their content (:mod:`stepwise.assets`)."""
    lock = json.loads((runtime.folder / "pyodide-lock.json").read_text("utf-8"))
    return json.dumps({"info": lock["info"], "packages": {}}, sort_keys=True).encode("utf-8")


def download_size(runtime: Runtime, bundle: bytes) -> int:
    """Bytes a reader's browser loads to start the simulator (uncompressed): the
    runtime's files and our packed Python (``bundle``)."""
    return (sum((runtime.folder / name).stat().st_size for name in RUNTIME_FILES)
            + len(lock_file(runtime)) + len(bundle))


def _source(module: str) -> Path | None:
    """The source file of a ``stepwise`` module in the installed package, found on
    disk (nothing is imported), or None when there is no such module."""
    from importlib import util

    spec = util.find_spec("stepwise")
    assert spec is not None and spec.submodule_search_locations is not None
    base = Path(next(iter(spec.submodule_search_locations)))
    path = base.joinpath(*module.split(".")[1:])
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str, source: Path) -> set[str]:
    """Every module ``module`` imports (at any depth in the file), absolute names."""
    import ast  # here and in pack: a build without a simulator page needs neither

    package = module if source.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_bytes(), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            # `from . import x`, `from .tcp import actions`: x may be a module
            if base.partition(".")[0] == "stepwise":
                found.update(f"{base}.{alias.name}" for alias in node.names
                             if _source(f"{base}.{alias.name}") is not None)
    return found


def modules(entry: str) -> dict[str, Path]:
    """``entry`` and every ``stepwise`` module it imports, directly or not, with the
    packages that hold them: module name -> source file.

    Raises:
        BundleError: one of them imports a module that is neither ``stepwise``'s nor
            the standard library's (it would not load in the page).
    """
    todo, found = [entry], {}
    while todo:
        name = todo.pop()
        if name in found:
            continue
        source = _source(name)
        if source is None:
            raise BundleError(f"{name} is imported but has no Python source to pack")
        found[name] = source
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # its packages
        for imported in _imports(name, found[name]):
            top = imported.partition(".")[0]
            if top == "stepwise":
                todo.append(imported)
            elif top not in sys.stdlib_module_names and top != "__future__":
                raise BundleError(f"{name} imports {imported}, which the simulator's "
                                  f"Python cannot have: keep {entry}'s imports to the "
                                  f"standard library and the model's own pure modules")
    return dict(sorted(found.items()))


@functools.cache
def pack(entry: str) -> bytes:
    """A zip of :func:`modules`, with their package paths (``stepwise/tcp/network.py``),
    the same bytes for the same sources.

    Raises:
        BundleError: see :func:`modules`.
    """
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in modules(entry).items():
            path = name.replace(".", "/") + ("/__init__.py" if source.name == "__init__.py"
                                              else ".py")
            info = zipfile.ZipInfo(path, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, source.read_bytes())
    return buffer.getvalue()


def bundle_path(data: bytes) -> str:
    """The archive's path in the output, named by its content (a new build of changed
    code gets a new name, so a browser never runs a stale copy from its cache)."""
    return f"static/sim/stepwise-{hashlib.sha256(data).hexdigest()[:12]}.zip"

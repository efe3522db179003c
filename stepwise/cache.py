"""The build cache: a rebuild with nothing changed costs a scan, not a build.

After each successful build, ``.stepwise-cache/`` (beside ``site.yaml``) records the
build's inputs (every file of content/, of the site's and its theme's templates/ and
static/, ``site.yaml`` and the theme's ``theme.yaml``, and the simulator runtime's
``package.json``, by stamp and hash), the options, the version of
this package's code, and the id of the output it wrote (also in the output's marker
file). The next build with the same options first compares: when no input and no line of
stepwise changed and the output folder still holds that build, there is nothing to do.
Anything else runs the full build. Deliberately small: it imports nothing heavy, so the
check runs before Jinja or markdown-it are even loaded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .simulator import RUNTIME_DIR
from .snapshot import Snapshot, folder_names

if TYPE_CHECKING:
    from .project import Project

CACHE_DIR = ".stepwise-cache"
MARKER = ".stepwise-output"
PACKAGE = Path(__file__).resolve().parent


@functools.cache
def code_version() -> str:
    """A hash of the Python version and of this package's source and data files, each
    by its path, size and modification time (as the process found them the first time
    it asked): what Python itself checks before it reuses a module's bytecode. Reading
    and hashing the 700 KB of them instead cost 4.5 ms of every build, a fiftieth of
    a build after a one-page edit; an edit, a checkout or an upgrade changes the times."""
    digest = hashlib.blake2b(sys.version.encode(), digest_size=16)
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            stat = path.stat()
            digest.update(f"{path.relative_to(PACKAGE).as_posix()}\0{stat.st_size}\0"
                          f"{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def inputs(project: Project) -> list[str]:
    """Every file a build of ``project`` reads (captures included: they live in
    content/; the theme's files included: a theme upgraded in place changes them), and
    the simulator's runtime by its package.json (installed, upgraded or removed by
    npm); paths as text (see :class:`Snapshot`)."""
    config = project.config
    runtime = project.root / RUNTIME_DIR / "package.json"
    files = ([str(config)] if config.is_file() else []) + folder_names(project.content)
    for folder in project.template_dirs + project.static_dirs:
        files += folder_names(folder)
    return files + [str(p) for p in project.theme_files] + (
        [str(runtime)] if runtime.is_file() else [])


@dataclass
class CacheEntry:
    """What one successful build leaves for the next."""

    key: str
    code: str
    output_id: str
    summary: dict[str, object] = field(default_factory=dict)
    snapshot: Snapshot = field(default_factory=Snapshot)


def _path(root: Path, key: str) -> Path:
    return root / CACHE_DIR / f"{key}.json"


def entry_key(out: Path, options: dict[str, object]) -> str:
    """One cache entry per output folder and set of options."""
    text = json.dumps({"out": str(out.resolve()), **options}, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def output_id(out: Path) -> str | None:
    """The build id written in the output folder's marker, or None."""
    try:
        lines = (out / MARKER).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("build:")), None)


def unchanged(project: Project, out: Path, key: str) -> CacheEntry | None:
    """The cached entry when nothing changed since it was written, else None."""
    return scan(project, out, key)[0]


def scan(project: Project, out: Path, key: str) -> tuple[CacheEntry | None, Snapshot | None]:
    """Compare the inputs with the last build's.

    Returns:
        ``(entry, inputs)``: the cached entry when nothing changed since it was
        written (else None), and the inputs as they are now (None without an entry to
        compare with), their hashes taken from the entry for the files whose stamps
        did not change (see :meth:`Snapshot.compare`).
    """
    try:
        raw = json.loads(_path(project.root, key).read_text(encoding="utf-8"))
        snap = Snapshot(files={p: (int(v[0]), int(v[1]), str(v[2]))
                               for p, v in raw["files"].items()},
                        taken_ns=int(raw["taken_ns"]))
        entry = CacheEntry(raw["key"], raw["code"], raw["output_id"], raw["summary"], snap)
    except (OSError, ValueError, KeyError, TypeError):
        return None, None
    now, change = entry.snapshot.compare(inputs(project))
    if change or entry.code != code_version() or output_id(out) != entry.output_id:
        return None, now
    # the folder may have lost files since (deleted by hand): every one must be there
    for name, size in dict(entry.summary.get("sizes", {})).items():  # type: ignore[call-overload]
        try:
            if (out / name).stat().st_size != size:
                return None, now
        except OSError:
            return None, now
    return entry, now


def save(project: Project, key: str, out_id: str, summary: dict[str, object],
         snapshot: Snapshot) -> None:
    """Record a successful build (best effort: a read-only project just has no cache)."""
    data = {"key": key, "code": code_version(), "output_id": out_id, "summary": summary,
            "taken_ns": snapshot.taken_ns,
            "files": snapshot.files}
    try:
        folder = project.root / CACHE_DIR
        folder.mkdir(exist_ok=True)
        (folder / ".gitignore").write_text("*\n", encoding="utf-8")
        tmp = _path(project.root, key).with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(_path(project.root, key))
    except OSError:
        pass

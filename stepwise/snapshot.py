"""What changed on disk since the last build.

A :class:`Snapshot` keeps, per file, its size and modification time and a hash of its
bytes. Comparing a new scan with it finds edits cheaply (a ``stat`` per file) without
missing any: file times have coarse resolution (a few ms), so two saves of the same
size in quick succession can leave an identical stamp. As in git's "racily clean"
rule, a file whose mtime is not safely older than the previous scan is re-hashed
instead of trusted.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: A stamp newer than this before the previous scan is not trusted (nanoseconds).
RACY_WINDOW_NS = 2_000_000_000


#: A file's content hash (:func:`digest`) and size in bytes.
Digest = tuple[str, int]


def digest(data: bytes) -> str:
    """A short content hash (BLAKE2b, 128 bits, hex)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class Change:
    """The difference between two snapshots: paths ``added``, ``modified``, ``removed``."""

    added: list[Path] = field(default_factory=list)
    modified: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.removed)

    @property
    def touched(self) -> list[Path]:
        """Added and modified paths, sorted."""
        return sorted(self.added + self.modified)


@dataclass
class Snapshot:
    """Stamps and hashes of a set of files, taken at ``taken_ns`` (wall clock).

    ``files`` maps each file's path, as text (``str(path)``: a thousand ``Path``
    objects cost more than the rest of a scan), to ``(mtime_ns, size, hash)``.
    """

    files: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    taken_ns: int = 0

    @classmethod
    def take(cls, paths: Iterable[Path | str], known: Snapshot | None = None) -> Snapshot:
        """Stat and hash every file of ``paths``; with ``known``, a snapshot just taken
        by the same build, take the files it has from it instead of reading them
        again."""
        snap = cls(taken_ns=known.taken_ns if known is not None else time.time_ns())
        seen = known.files if known is not None else {}
        for path in paths:
            name = os.fspath(path)
            entry = seen.get(name)
            snap.files[name] = entry if entry is not None else _entry(name)
        return snap

    def compare(self, paths: Iterable[Path | str], known: Snapshot | None = None
                ) -> tuple[Snapshot, Change]:
        """Scan ``paths`` again: return the new snapshot and what changed since this
        one (the paths changed, as given; the removed ones as ``Path``).

        A file whose size and mtime match, and whose mtime is older than this
        snapshot by :data:`RACY_WINDOW_NS`, is not read again. With ``known``, a
        snapshot the same build just took, the files it has are taken from it.
        """
        new = Snapshot(taken_ns=known.taken_ns if known is not None else time.time_ns())
        change = Change()
        seen = known.files if known is not None else {}
        for path in paths:
            name = os.fspath(path)
            old = self.files.get(name)
            now = seen.get(name)
            if now is None:
                try:
                    st = os.stat(name)
                except OSError:
                    st = None
                if old is not None and st is not None \
                        and (old[0], old[1]) == (st.st_mtime_ns, st.st_size) \
                        and st.st_mtime_ns < self.taken_ns - RACY_WINDOW_NS:
                    now = old
                else:
                    now = _entry(name)
            new.files[name] = now
            if old is None:
                change.added.append(Path(path))
            elif old[2] != now[2]:
                change.modified.append(Path(path))
        change.removed = sorted(Path(p) for p in self.files if p not in new.files)
        return new, change


def _entry(path: str) -> tuple[int, int, str]:
    """``(mtime_ns, size, hash)``; a file that cannot be read (a broken symlink, a
    pipe, no permission) gets a marker instead of a hash, and the loader reports it."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return (st.st_mtime_ns, st.st_size, "not-a-file")
        with open(path, "rb") as f:
            return (st.st_mtime_ns, st.st_size, digest(f.read()))
    except OSError as err:
        return (0, 0, f"unreadable:{err.errno}")


def folder_files(folder: Path, pattern: str = "*") -> list[Path]:
    """Files under ``folder`` matching ``pattern`` (a file name pattern), sorted,
    hidden ones (and those in hidden folders) skipped; symlinks to files are files,
    symlinked folders are not entered (as ``Path.rglob`` does)."""
    return sorted(map(Path, folder_names(folder, pattern)))


def folder_names(folder: Path | str, pattern: str = "*") -> list[str]:
    """:func:`folder_files`, as text and in no particular order: what a scan of the
    inputs needs, at a third of the cost of ``Path.rglob`` (every build scans them)."""
    found: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # missing, or not a folder
        return found
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            found += folder_names(entry.path, pattern)
        elif entry.is_file() and (pattern == "*" or fnmatch.fnmatch(entry.name, pattern)):
            found.append(entry.path)
    return found

"""The build state kept between builds: what lets a ``build`` after an edit re-render
only the pages the edit affects, in a new process.

After each successful build, ``.stepwise-cache/KEY.db`` (one per cache entry, see
:mod:`stepwise.cache`) holds what :class:`stepwise.site.SiteBuild` knows after it
(:meth:`~stepwise.site.SiteBuild.export_state`): each page's frontmatter and compile
results, the dependency graph's facts (what each page links and reads, its facets),
the snapshots of the inputs it read and the digest of every output file. The next
build restores it (:meth:`~stepwise.site.SiteBuild.restore`) and runs the same
incremental :meth:`~stepwise.site.SiteBuild.update` as ``serve``.

It is an SQLite database (the standard library's ``sqlite3``): each page's heavy
results (HTML, trace: :data:`stepwise.parallel.BODY_FIELDS`) are a row of their own,
pickled, so a build reads only those of the pages it renders and writes only those of
the pages it compiled. The pages' records (frontmatter, links, facts) are pickled in
chunks of :data:`CHUNK` pages, in source order, and a build writes again only the
chunks in which a record changed (after a one-page edit, one: pickling all of them
took 8 ms of the 0.2 s such a build takes); everything else is one pickled row,
``index``. Every write is
one transaction: a killed build leaves the previous state or the new one (SQLite rolls
an unfinished transaction back when the file is next opened); a full build writes a
new file and renames it over the old. The header row is checked before anything is
unpickled: another version of stepwise (any change to its code, models included:
:func:`stepwise.cache.code_version`), of a library that shapes the output
(:data:`LIBRARIES`), another working folder (messages name files relative to it), or
an output folder that does not hold the build the state describes (its marker's build
id) all mean no state, and a full build. Like the rest of ``.stepwise-cache/`` it is
trusted as the project's own files are: unpickling runs code the file names, so
restore a CI cache only from jobs of the same repository (GitHub Actions scopes caches
by branch).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pickle
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .cache import CACHE_DIR, code_version

FORMAT = 4  # 3: a page's body has its highlighted code blocks; 4: records in chunks
#: pages' records a row of the ``pages`` table holds
CHUNK = 64
#: the libraries whose versions change what the same inputs build to
LIBRARIES = ("markdown_it", "mdit_py_plugins", "jinja2", "pygments", "yaml")
_SCHEMA = ("CREATE TABLE header (data TEXT);"
           "CREATE TABLE data (name TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;"
           "CREATE TABLE body (source TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;"
           "CREATE TABLE pages (chunk INTEGER PRIMARY KEY, value BLOB);")


def state_path(root: Path, key: str) -> Path:
    """Where the state of the cache entry ``key`` of the project at ``root`` lives."""
    return root / CACHE_DIR / f"{key}.db"


def library_versions() -> str:
    """The versions of :data:`LIBRARIES` (each imported if it was not yet: their
    packages' own modules are small)."""
    return " ".join(f"{name}={getattr(importlib.import_module(name), '__version__', '?')}"
                    for name in LIBRARIES)


def _header(output_id: str) -> str:
    return json.dumps({"format": FORMAT, "code": code_version(), "cwd": os.getcwd(),
                       "versions": library_versions(), "output_id": output_id},
                      sort_keys=True)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, timeout=5)
    # a cache: an unfinished transaction is rolled back (the journal), but nothing
    # waits for the disk (after a power cut a broken file is just no state)
    db.execute("PRAGMA synchronous=OFF")
    return db


class BuildState:
    """The state of one build, open for reading (:meth:`open`).

    Attributes:
        index: the pickled part (see ``SiteBuild.export_state``), its ``pages``
            put together from their chunks.
    """

    def __init__(self, path: Path, db: sqlite3.Connection, index: dict[str, Any],
                 chunks: list[list[Any]] | None = None):
        self.path, self._db, self.index = path, db, index
        #: the records of each stored chunk, as read: :meth:`update` writes again only
        #: the chunks that differ
        self._chunks = chunks or []

    @classmethod
    def open(cls, path: Path, output_id: str | None) -> BuildState | None:
        """The state saved for the output ``output_id`` (the output folder's marker),
        or None: none, written by other code, for another working folder or another
        output, or unreadable."""
        if output_id is None or not path.is_file():
            return None
        db = None
        try:
            db = _connect(path)
            row = db.execute("SELECT data FROM header").fetchone()
            if row is None or row[0] != _header(output_id):
                db.close()
                return None
            (blob,) = db.execute("SELECT value FROM data WHERE name = 'index'").fetchone()
            index = pickle.loads(blob)
            chunks = [pickle.loads(value) for (value,) in
                      db.execute("SELECT value FROM pages ORDER BY chunk")]
            if not isinstance(index, dict) or not all(isinstance(c, list) for c in chunks):
                db.close()
                return None
            index["pages"] = [record for chunk in chunks for record in chunk]
        except (sqlite3.Error, TypeError, ValueError, EOFError, pickle.UnpicklingError,
                AttributeError, ImportError, IndexError, KeyError):
            if db is not None:
                db.close()
            return None
        return cls(path, db, index, chunks)

    def body(self, source: str) -> bytes | None:
        """The pickled heavy results of the page whose source is ``source``."""
        try:
            row = self._db.execute("SELECT value FROM body WHERE source = ?",
                                   (source,)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row is not None else None

    def update(self, index: dict[str, Any], bodies: Mapping[str, bytes],
               removed: Iterable[str], output_id: str) -> bool:
        """Replace the index, write ``bodies`` and delete the ``removed`` ones, in one
        transaction, for the output ``output_id``. Returns whether it was written
        (best effort: a read-only project simply has no new state)."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                chunks = _write(db, index, bodies, output_id, self._chunks)
                db.executemany("DELETE FROM body WHERE source = ?", ((s,) for s in removed))
                db.execute("COMMIT")
                self._chunks = chunks  # what is stored now, and not before the commit
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error:
            return False
        return True

    def close(self) -> None:
        self._db.close()


def save_state(path: Path, index: dict[str, Any], bodies: Mapping[str, bytes],
               output_id: str) -> bool:
    """Write a new state file in place of ``path`` (written beside it, then renamed).
    Returns whether it was written (best effort, as :meth:`BuildState.update`)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        tmp.unlink(missing_ok=True)
        db = _connect(tmp)
        try:
            db.execute("PRAGMA journal_mode=OFF")  # a new file: renamed in only when whole
            db.executescript(_SCHEMA)
            db.execute("BEGIN")
            db.execute("INSERT INTO header VALUES ('')")
            _write(db, index, bodies, output_id)
            db.execute("COMMIT")
        finally:
            db.close()
        os.replace(tmp, path)
    except (OSError, sqlite3.Error):
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    return True


def _write(db: sqlite3.Connection, index: dict[str, Any], bodies: Mapping[str, bytes],
           output_id: str, stored: list[list[Any]] | None = None) -> list[list[Any]]:
    """Write ``index`` (its ``pages`` in chunks, those equal to the ``stored`` ones
    left as they are) and ``bodies``; returns the chunks now stored."""
    records = index["pages"]
    rest = {k: v for k, v in index.items() if k != "pages"}
    chunks = [records[at:at + CHUNK] for at in range(0, len(records), CHUNK)]
    stored = stored or []
    db.execute("UPDATE header SET data = ?", (_header(output_id),))
    db.execute("INSERT OR REPLACE INTO data VALUES ('index', ?)",
               (pickle.dumps(rest, protocol=pickle.HIGHEST_PROTOCOL),))
    # equal records are mostly the same objects: comparing them costs little
    db.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?)",
                   ((n, pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
                    for n, chunk in enumerate(chunks)
                    if n >= len(stored) or chunk != stored[n]))
    db.execute("DELETE FROM pages WHERE chunk >= ?", (len(chunks),))
    db.executemany("INSERT OR REPLACE INTO body VALUES (?, ?)", bodies.items())
    return chunks

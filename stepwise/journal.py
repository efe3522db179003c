"""Updating an output folder in place, all or nothing: what an incremental ``build``
writes.

A full build writes a new folder and swaps it in (:mod:`stepwise.output`); after a
one-page edit that would mean making a thousand folders and links to change a few
files. An incremental build changes the files in place instead, as a transaction:

1. the journal, ``.stepwise-journal`` in the folder, lists every change; it is written
   to a temporary name and renamed, so it exists whole or not at all;
2. every new file is written beside its target under a temporary name
   (``index.html.new-TOKEN``: no reader or indexer looks at it);
3. each target is hard-linked to ``NAME.old-TOKEN`` (the previous file stays
   reachable) and the new file renamed over it; a removed file is renamed to its
   ``.old`` name; a replaced folder (the search index) likewise;
4. the journal is deleted: from here on the update stands; the ``.old`` files and
   the folders left empty are removed.

Any failure before step 4 (a file that cannot be written, the search indexer
failing) puts every ``.old`` file back and removes the new ones: the folder is as it
was. A build killed before step 4 leaves the journal: the next build (or ``stepwise
clean``) rolls it back first (:func:`recover`). The folder is locked (``flock``) while
a build changes it, so a build never rolls back another's update in progress.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from .output import lock_folder as _lock

JOURNAL = ".stepwise-journal"


def recover(out: Path) -> bool:
    """Roll back the update a killed build left unfinished in ``out`` (its journal).

    Returns:
        True if there was one to roll back.
    """
    journal = out / JOURNAL
    # a journal being written (saved whole, then renamed) when its build was killed
    unsaved = list(out.glob(f"{JOURNAL}.*")) if out.is_dir() else []
    if not journal.is_file() and not unsaved:
        return False
    try:
        lock = _lock(out)
    except BlockingIOError:
        return False  # a build is updating it right now
    except OSError:
        lock = None
    try:
        for path in unsaved:
            path.unlink(missing_ok=True)
        if not journal.is_file():
            return False  # killed before its first rename: nothing else to undo
        try:
            data = json.loads(journal.read_text(encoding="utf-8"))
            update = InPlaceUpdate(out, token=str(data["token"]))
            update.entries = [(str(k), str(r), bool(o)) for k, r, o in data["entries"]]
        except (OSError, ValueError, KeyError, TypeError):
            journal.unlink(missing_ok=True)  # unreadable: nothing was renamed yet
            return True
        update.rollback()
        return True
    finally:
        if lock is not None:
            os.close(lock)


class InPlaceUpdate:
    """One transaction on the output folder ``out`` (see the module's description).

    Use: :meth:`apply` the changed files, then :meth:`replace_folder` (the search
    index) if any, then :meth:`commit`; on any error, :meth:`rollback`.

    Raises:
        BlockingIOError: another build is changing the folder.
    """

    def __init__(self, out: Path, token: str | None = None):
        self.out = out
        self.token = token or f"{os.getpid()}-{os.urandom(4).hex()}"
        #: (kind, path in the folder, whether a previous version exists): kind
        #: ``file`` (new content), ``remove``, ``folder`` (replaced whole)
        self.entries: list[tuple[str, str, bool]] = []
        self._lock: int | None = None
        if token is None:
            try:
                self._lock = _lock(out)
            except BlockingIOError:
                raise
            except OSError:  # a file system that cannot lock
                self._lock = None

    def _path(self, rel: str, suffix: str = "") -> str:
        return os.path.join(self.out, rel + suffix)

    def apply(self, files: Mapping[str, bytes | Path], removed: Iterable[str] = ()) -> None:
        """Put ``files`` (new content: bytes, or a file to copy) in place and remove
        ``removed`` (those that exist), journaled first.

        Raises:
            OSError: a file cannot be written; call :meth:`rollback`.
        """
        self.entries = [("file", rel, os.path.lexists(self._path(rel))) for rel in sorted(files)]
        self.entries += [("remove", rel, True) for rel in sorted(removed)
                         if rel not in files and os.path.lexists(self._path(rel))]
        self._save_journal()
        for rel in sorted(files):
            folder = os.path.dirname(self._path(rel))
            if not os.path.isdir(folder):
                os.makedirs(folder)
            data, new = files[rel], self._path(rel, f".new-{self.token}")
            if isinstance(data, Path):
                shutil.copyfile(data, new)
            else:
                with open(new, "wb") as f:
                    f.write(data)
        for kind, rel, old in self.entries:
            if kind == "file":
                self._replace(rel, old)
            else:
                os.rename(self._path(rel), self._path(rel, f".old-{self.token}"))

    def replace_folder(self, rel: str, new: Path) -> None:
        """Put the folder ``new`` (inside ``out``) in place of ``rel``, as part of the
        transaction."""
        os.rename(new, self._path(rel, f".new-{self.token}"))
        self.entries.append(("folder", rel, os.path.lexists(self._path(rel))))
        self._save_journal()
        if self.entries[-1][2]:
            os.rename(self._path(rel), self._path(rel, f".old-{self.token}"))
        os.rename(self._path(rel, f".new-{self.token}"), self._path(rel))

    def commit(self) -> None:
        """Make the update stand: delete the journal, then what it replaced."""
        try:
            os.unlink(self._path(JOURNAL))
            for kind, rel, old in self.entries:
                if old:
                    _delete(self._path(rel, f".old-{self.token}"))
                if kind == "remove":
                    self._prune(os.path.dirname(rel))
        finally:
            self._unlock()

    def rollback(self) -> None:
        """Put the folder back as it was before :meth:`apply`."""
        try:
            for kind, rel, old in reversed(self.entries):
                target, kept = self._path(rel), self._path(rel, f".old-{self.token}")
                if old and os.path.lexists(kept):
                    if kind == "folder" and os.path.lexists(target):
                        _delete(target)
                    if os.path.lexists(target) and os.path.samefile(kept, target):
                        os.unlink(kept)  # linked, not replaced yet (rename would keep both)
                    else:
                        os.rename(kept, target)  # over the new file, if it is there
                elif not old:
                    _delete(target)  # it did not exist before
                _delete(self._path(rel, f".new-{self.token}"))
                if not old:
                    self._prune(os.path.dirname(rel))  # the folders made for it
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(JOURNAL))
        finally:
            self._unlock()

    # -- internals --------------------------------------------------------------------

    def _replace(self, rel: str, old: bool) -> None:
        target = self._path(rel)
        if old:
            kept = self._path(rel, f".old-{self.token}")
            try:
                os.link(target, kept)
            except OSError:  # no hard links here: a moment without the file
                os.rename(target, kept)
        os.replace(self._path(rel, f".new-{self.token}"), target)

    def _prune(self, rel: str) -> None:
        """Remove ``rel`` and its parents while they are empty."""
        while rel:
            try:
                os.rmdir(self._path(rel))
            except OSError:
                return
            rel = os.path.dirname(rel)

    def _save_journal(self) -> None:
        text = json.dumps({"token": self.token, "entries": self.entries})
        tmp = self._path(f"{JOURNAL}.{self.token}")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self._path(JOURNAL))

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def _delete(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)



"""Writing the output folder, all or nothing.

A build writes into a fresh temporary folder beside the output folder and swaps it in
only when every file is written, so a failed or interrupted build leaves the previous
site untouched. Temporary folders left by a killed build are removed by the next one.
A folder that stepwise did not make is never replaced (a mistyped ``--out`` must not
delete someone's files): each output folder carries a marker file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

from .errors import OutputError, WorkerError, display_path

MARKER = ".stepwise-output"


def _siblings(out: Path, kind: str) -> list[Path]:
    """Leftovers of builds that are no longer running. Another build may be running
    now: its temporary folder (``build``) is locked while it writes (see
    :func:`_in_use`), and the previous site it sets aside for a moment (``old``)
    carries its live process id; those are left alone."""
    found = []
    for path in sorted(out.parent.glob(f".{out.name}.{kind}-*")):
        if kind == "build":
            if _in_use(path):
                continue
        else:
            pid = path.name.rsplit("-", 1)[-1]
            if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
                continue
        found.append(path)
    return found


def lock_folder(folder: Path) -> int:
    """Lock ``folder`` for this process and the workers it forks (they share the
    open file); the lock goes with the last of them, however they end. A process id
    would not do: another container or machine writing the same folder has its own
    process ids.

    Returns:
        The descriptor holding the lock (close it to release the lock).

    Raises:
        OSError: the folder cannot be opened or is locked.
    """
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def _in_use(folder: Path) -> bool:
    """Whether a running build holds the lock of its temporary ``folder``."""
    try:
        os.close(lock_folder(folder))
    except BlockingIOError:
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False  # gone already, or not a build's
    except OSError:
        # a file system that cannot lock (NFS without lock support): the process id
        # in the name is all there is to go by
        match = _BUILD_PID.search(folder.name)
        return match is None or _alive(int(match.group(1)))
    return False


_BUILD_PID = re.compile(r"\.build-(\d+)(?:-[0-9a-f]+)?$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def effective_output(out: Path) -> Path:
    """The folder a build replaces: the target of ``out`` when it is a symlink (the
    link itself stays, pointing at the new build).

    Raises:
        OutputError: the path runs into a symlink loop.
    """
    try:
        resolved = out.resolve()
    except (RuntimeError, OSError):  # RuntimeError: Python < 3.13's symlink loop
        raise OutputError("the output path runs into a symlink loop; fix the links or "
                          "choose another --out", display_path(out)) from None
    return resolved if out.is_symlink() else out


def recover(out: Path) -> None:
    """A build killed between its two renames leaves no ``out``, only the previous
    site set aside: put it back."""
    if out.exists() or out.is_symlink():
        return
    for old in reversed(_siblings(out, "old")):
        if (old / MARKER).exists():
            old.rename(out)
            return


def remove_leftovers(out: Path) -> None:
    """Remove the temporary folders that killed builds left beside ``out`` (a running
    build's are kept)."""
    for stale in _siblings(out, "build") + _siblings(out, "old"):
        _remove(stale)


def check_output_dir(out: Path, protected: list[Path]) -> None:
    """Refuse an output folder that would replace the project or a stranger's folder.

    Args:
        out: the requested output folder.
        protected: folders the output must neither be nor contain (project root,
            content, templates, static).

    Raises:
        OutputError: with the reason and the fix.
    """
    resolved = out.resolve()
    for folder in protected:
        f = folder.resolve()
        if resolved == f or f.is_relative_to(resolved):
            raise OutputError(
                f"output folder would replace {display_path(folder)}; choose another --out",
                display_path(out),
            )
        if folder is not protected[0] and resolved.is_relative_to(f):
            # inside static/ the next build would copy the output into itself
            raise OutputError(
                f"output folder is inside {display_path(folder)}, an input of the build; "
                "choose another --out", display_path(out))
    if out.exists() and not out.is_dir():
        raise OutputError("output path exists and is not a folder", display_path(out))
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise OutputError(
            "output folder exists and was not made by stepwise; choose another --out "
            "or empty it first",
            display_path(out),
        )


def marker_text(output_id: str) -> str:
    """The marker file of an output folder made by the build ``output_id``."""
    return f"made by stepwise; replaced on each build\nbuild: {output_id}\n"


#: The static folders of a build: one folder, or several in lookup order (the site's
#: own, then its theme's: the first that has a path wins), or none.
StaticDirs = Path | Sequence[Path] | None


def write_site(out: Path, files: Mapping[str, bytes], static_dir: StaticDirs,
               before_swap: Callable[[Path], object] | None = None,
               output_id: str = "") -> int:
    """Write ``files`` and the static folder to ``out`` atomically (an
    :class:`OutputStage` committed at once).

    Args:
        out: the output folder (created or replaced).
        files: generated files by POSIX path relative to ``out``.
        static_dir: copied as it is to ``out/static/``, or None; or several folders
            merged, the first that has a file winning (the site's over its theme's).
        before_swap: called with the finished temporary folder before it replaces
            ``out`` (the search indexer), so its output is part of the swap.
        output_id: recorded in the marker file (see :mod:`stepwise.cache`).

    Returns:
        The number of files written.

    Raises:
        OutputError: a static file would overwrite a generated file, or the folder
            cannot be written. The previous ``out`` is then left as it was.
    """
    return OutputStage(out).commit(files, static_dir, before_swap, output_id)


class OutputStage:
    """The next output folder, filled while the build runs.

    A temporary folder beside ``out``. Each page goes into it as soon as it is
    rendered (:meth:`write`), by the process that rendered it: in a parallel build
    the workers write their own pages, so creating a folder and a file per page (as
    costly as rendering a small page) is shared out too, instead of ending the build
    with one long serial stretch. :meth:`commit` checks the paths, adds the other
    files, the static folder and the marker, and swaps it in. Until then the previous
    output is untouched; :meth:`discard` removes the temporary folder (a failed build).

    Args:
        out: the output folder.

    Raises:
        OutputError: the folder beside ``out`` cannot be written.
    """

    def __init__(self, out: Path):
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            recover(out)
        except OSError as err:
            raise OutputError(f"cannot create the output folder: {err.strerror}",
                              display_path(out)) from None
        remove_leftovers(out)
        self.out = out
        # unique, not just the process id: builds in two containers may share one
        token = f"{os.getpid()}-{os.urandom(4).hex()}"
        self.tmp = out.parent / f".{out.name}.build-{token}"
        #: files already in the temporary folder, and the writes that failed
        #: (errno, message, filename), of every process
        self.staged: set[str] = set()
        self.failures: list[tuple[int, str, str]] = []
        self._written: list[str] = []  # by this process, since the last flush
        self._owner = os.getpid()
        # made and locked under a name other builds do not look at, then renamed:
        # they never see it unlocked
        hidden = out.parent / f".{out.name}.new-{token}"
        self._lock: int | None = None
        try:
            hidden.mkdir()
            with contextlib.suppress(OSError):  # a file system that cannot lock
                self._lock = lock_folder(hidden)
            hidden.rename(self.tmp)
        except OSError as err:
            self._unlock()
            _remove(hidden)
            raise OutputError(f"cannot write the output: {err.strerror}",
                              self._shown(self.tmp)) from None

    def write(self, rel: str, data: bytes) -> None:
        """Write ``data`` at ``rel`` (a POSIX path in the output). A failure is kept
        for :meth:`commit`, which first checks whether two paths clash (the better
        explanation); later writes are skipped."""
        if self.failures:
            return
        if os.getpid() != self._owner and os.getppid() != self._owner:
            # a forked worker whose build process died (killed): the next build
            # removes the folder, which this write would make again
            raise WorkerError("the build process is gone")
        try:
            _write_file(str(self.tmp), rel, data)
        except OSError as err:
            self.failures.append((err.errno or errno.EIO, err.strerror or str(err),
                                  str(err.filename or self.tmp / rel)))
            return
        self._written.append(rel)

    def flush(self) -> tuple[list[str], list[tuple[int, str, str]]]:
        """What this process wrote since the last call, and its failures: a parallel
        build's worker sends them to the build process, which adds them to
        :attr:`staged` and :attr:`failures` (a worker starts with empty ones: nothing
        is written before the pages render)."""
        written, self._written = self._written, []
        self.staged.update(written)
        return written, list(self.failures)

    def commit(self, files: Mapping[str, bytes], static_dir: StaticDirs,
               before_swap: Callable[[Path], object] | None = None,
               output_id: str = "", names: Collection[str] | None = None) -> int:
        """Complete the folder with ``files`` (those not staged yet) and
        ``static_dir``, and swap it in place of ``out``. Arguments as for
        :func:`write_site`; ``names``: the path of every generated file, staged or in
        ``files`` (default: ``files``' own), checked for clashes and counted.

        Returns:
            The number of files in the output (generated and static).

        Raises:
            OutputError: see :func:`write_site`; the temporary folder is removed.
        """
        try:
            self.flush()
            # a page written early may be gone by now (another program cleaning up):
            # never publish a site with holes
            missing = sorted(rel for rel in self.staged
                             if not os.path.isfile(os.path.join(self.tmp, rel)))
            if missing:
                raise OutputError(
                    f"{len(missing)} written files vanished from the temporary folder "
                    f"before it was complete ({missing[0]}, ...); did another program "
                    "remove it? Build again", self._shown(self.tmp))
            count = _write_tree(self.tmp, files, static_dir, self.staged, self.failures,
                                files.keys() if names is None else names)
            (self.tmp / MARKER).write_text(marker_text(output_id), encoding="utf-8")
            if before_swap is not None:
                before_swap(self.tmp)
            _swap(self.tmp, self.out)
            self._unlock()
        except OSError as err:
            self.discard()
            raise OutputError(f"cannot write the output: {err.strerror}",
                              self._shown(err.filename)) from None
        except BaseException:
            self.discard()
            raise
        return count

    def _shown(self, filename: object) -> str:
        """A file of the temporary folder as the output's file it was to become."""
        if not filename:
            return display_path(self.out)
        path = Path(str(filename))
        if path.is_relative_to(self.tmp):
            path = self.out / path.relative_to(self.tmp)
        return display_path(path)

    def discard(self) -> None:
        """Remove the temporary folder."""
        _remove(self.tmp)
        self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None and os.getpid() == self._owner:
            os.close(self._lock)
            self._lock = None


def _write_file(tmp: str, rel: str, data: bytes) -> None:
    """Write ``data`` to ``tmp/rel``, making its folder if needed.

    A system call per step, no more: most pages are ``NAME/index.html`` in a new
    folder whose parent exists (pages are written by URL, parents first), so one
    ``mkdir`` and one ``open``; ``os.makedirs`` would ``stat`` every parent first.
    """
    path = os.path.join(tmp, rel)
    folder = os.path.dirname(path)
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _static_sources(static_dir: StaticDirs) -> dict[str, tuple[Path, Path]]:
    """Output path (``static/...``) -> (source file, the static folder it is in), the
    first folder that has a path winning; hidden files and folders skipped."""
    if static_dir is None:
        return {}
    folders = [static_dir] if isinstance(static_dir, Path) else list(static_dir)
    found: dict[str, tuple[Path, Path]] = {}
    for folder in reversed(folders):
        if not folder.is_dir():
            continue
        for src in sorted(folder.rglob("*")):
            inside = src.relative_to(folder)
            if src.is_file() and not any(p.startswith(".") for p in inside.parts):
                found["static/" + inside.as_posix()] = (src, folder)
    return dict(sorted(found.items()))


def _write_tree(tmp: Path, files: Mapping[str, bytes], static_dir: StaticDirs,
                staged: set[str], failures: list[tuple[int, str, str]],
                names: Collection[str]) -> int:
    sources = _static_sources(static_dir)
    static_files = {rel: src for rel, (src, _folder) in sources.items()}
    generated = set(names)
    for rel, (src, folder) in sources.items():
        if rel in generated:
            raise OutputError(
                f"static file would overwrite the generated file {rel}; rename it",
                display_path(src),
            )
        if src.is_symlink() and not src.resolve().is_relative_to(folder.resolve()):
            raise OutputError("symlink points outside the static folder; copy the file in "
                              "instead", display_path(src))
    # before a failed staged write: a path clash explains it better than "Not a directory"
    check_paths([*generated, *static_files])
    if failures:
        number, message, filename = failures[0]
        raise OSError(number, message, filename)
    unwritten = sorted(generated - staged)
    missing = [rel for rel in unwritten if rel not in files]
    if missing:
        raise ValueError(f"no bytes for {len(missing)} generated files ({missing[0]}, ...)")
    for rel in unwritten:
        _write_file(str(tmp), rel, files[rel])
    for rel, src in static_files.items():
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    return len(generated) + len(static_files)


def check_paths(paths: list[str]) -> None:
    """A file and a folder may not share a path: a page ``sitemap.xml/`` next to the
    generated ``sitemap.xml``, a page ``static/css/site.css/`` next to the static file."""
    taken = set(paths)
    for path in sorted(paths):
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in taken:
                raise OutputError(
                    f"{folder} is written as a file and is also the folder of {path}; "
                    "rename the page or file that makes one of them",
                    "/" + folder)


def _swap(tmp: Path, out: Path) -> None:
    if not out.exists():
        tmp.rename(out)
        return
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def clean(root: Path, out: Path | None = None) -> list[Path]:
    """Remove what builds of the site at ``root`` leave: the output folder (``out``,
    default ``root/site``) and the server's ``.serve-site/`` (each only when stepwise
    made it: it carries the marker file), the temporary folders of killed builds beside
    them, and the build cache ``.stepwise-cache/``.

    Returns:
        The folders removed.

    Raises:
        OutputError: an output folder that stepwise did not make (it is left alone).
    """
    from .cache import CACHE_DIR

    removed: list[Path] = []
    for folder in (out or root / "site", root / ".serve-site"):
        folder = effective_output(folder)
        if folder.is_dir():
            if not (folder / MARKER).is_file():
                raise OutputError("not removed: this folder was not made by stepwise "
                                  "(it has no marker file); remove it yourself",
                                  display_path(folder))
            _remove(folder)
            removed.append(folder)
        for stale in _siblings(folder, "build") + _siblings(folder, "old"):
            _remove(stale)  # left by killed builds (a running build's are kept)
            removed.append(stale)
    cache = root / CACHE_DIR
    if cache.is_dir():
        _remove(cache)
        removed.append(cache)
    return removed

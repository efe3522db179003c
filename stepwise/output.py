"""Writing the output folder, all or nothing.

A build writes into a fresh temporary folder beside the output folder and swaps it in
only when every file is written, so a failed or interrupted build leaves the previous
site untouched. Temporary folders left by a killed build are removed by the next one.
A folder that stepwise did not make is never replaced (a mistyped ``--out`` must not
delete someone's files): each output folder carries a marker file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import OutputError, display_path

MARKER = ".stepwise-output"


def _siblings(out: Path, kind: str) -> list[Path]:
    """Leftovers of builds that are no longer running (another build may be running
    now: its folder carries its live process id and is left alone)."""
    found = []
    for path in sorted(out.parent.glob(f".{out.name}.{kind}-*")):
        pid = path.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        found.append(path)
    return found


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
    link itself stays, pointing at the new build)."""
    return out.resolve() if out.is_symlink() else out


def recover(out: Path) -> None:
    """A build killed between its two renames leaves no ``out``, only the previous
    site set aside: put it back."""
    if out.exists() or out.is_symlink():
        return
    for old in reversed(_siblings(out, "old")):
        if (old / MARKER).exists():
            old.rename(out)
            return


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


def write_site(out: Path, files: Mapping[str, bytes], static_dir: Path | None,
               before_swap: Callable[[Path], object] | None = None,
               output_id: str = "") -> int:
    """Write ``files`` and the static folder to ``out`` atomically.

    Args:
        out: the output folder (created or replaced).
        files: generated files by POSIX path relative to ``out``.
        static_dir: copied as it is to ``out/static/``, or None.
        before_swap: called with the finished temporary folder before it replaces
            ``out`` (the search indexer), so its output is part of the swap.
        output_id: recorded in the marker file (see :mod:`stepwise.cache`).

    Returns:
        The number of files written.

    Raises:
        OutputError: a static file would overwrite a generated file, or the folder
            cannot be written. The previous ``out`` is then left as it was.
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        recover(out)
    except OSError as err:
        raise OutputError(f"cannot create the output folder: {err.strerror}",
                          display_path(out)) from None
    for stale in _siblings(out, "build") + _siblings(out, "old"):
        _remove(stale)
    tmp = out.parent / f".{out.name}.build-{os.getpid()}"
    try:
        count = _write_tree(tmp, files, static_dir)
        (tmp / MARKER).write_text(f"made by stepwise; replaced on each build\nbuild: {output_id}\n",
                                  encoding="utf-8")
        if before_swap is not None:
            before_swap(tmp)
        _swap(tmp, out)
    except OSError as err:
        _remove(tmp)
        where = display_path(err.filename) if err.filename else display_path(out)
        raise OutputError(f"cannot write the output: {err.strerror}", where) from None
    except BaseException:
        _remove(tmp)
        raise
    return count


def _remove(path: Path) -> None:
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _write_tree(tmp: Path, files: Mapping[str, bytes], static_dir: Path | None) -> int:
    tmp.mkdir()
    static_files: dict[str, Path] = {}
    if static_dir is not None and static_dir.is_dir():
        for src in sorted(static_dir.rglob("*")):
            inside = src.relative_to(static_dir)
            if src.is_file() and not any(p.startswith(".") for p in inside.parts):
                static_files["static/" + inside.as_posix()] = src
    for rel, src in static_files.items():
        if rel in files:
            raise OutputError(
                f"static file would overwrite the generated file {rel}; rename it",
                display_path(src),
            )
        if src.is_symlink() and not src.resolve().is_relative_to(static_dir.resolve()):  # type: ignore[union-attr]
            raise OutputError("symlink points outside the static folder; copy the file in "
                              "instead", display_path(src))
    _check_paths([*files, *static_files])
    for rel in sorted(files):
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[rel])
    for rel, src in static_files.items():
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    return len(files) + len(static_files)


def _check_paths(paths: list[str]) -> None:
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

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
    return sorted(out.parent.glob(f".{out.name}.{kind}-*"))


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
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in _siblings(out, "build") + _siblings(out, "old"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = out.parent / f".{out.name}.build-{os.getpid()}"
    try:
        count = _write_tree(tmp, files, static_dir)
        (tmp / MARKER).write_text(f"made by stepwise; replaced on each build\nbuild: {output_id}\n",
                                  encoding="utf-8")
        if before_swap is not None:
            before_swap(tmp)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return count


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
    for rel in sorted(files):
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[rel])
    for rel, src in static_files.items():
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    return len(files) + len(static_files)


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

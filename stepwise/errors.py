"""The project's error types: every problem a build can report.

Each error knows where it comes from (a file path and, where it can, a 1-based line)
and prints as ``path:line: message``, the form editors and terminals make clickable.
A build collects errors instead of stopping at the first one (see :class:`ErrorList`),
so an author sees every problem of a build at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path


class BuildError(Exception):
    """A problem in the author's input that stops the build.

    Args:
        message: what is wrong and, where possible, how to fix it.
        path: the file it was found in (shown relative to the project), or None.
        line: 1-based line number in ``path``, or None when unknown.
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __reduce__(self) -> tuple[object, ...]:
        # the default pickling passes only ``args`` (the message) back to __init__;
        # build workers send errors to the parent process (stepwise.parallel)
        return (_rebuild, (type(self), self.__dict__))

    def located(self, path: str | Path | None, line: int | None = None) -> BuildError:
        """Return a copy of this error with ``path`` (and ``line``) filled in where unset."""
        err = type(self).__new__(type(self))
        err.__dict__.update(self.__dict__)
        BuildError.__init__(
            err,
            self.message,
            self.path if self.path is not None else path,
            self.line if self.line is not None else line,
        )
        return err

    def __str__(self) -> str:
        where = self.path or "<unknown>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        # file names and values come from authors: a control character must not move
        # the terminal's cursor or hide a line
        return _visible(f"{where}: {self.message}")


def _rebuild(cls: type[BuildError], state: dict[str, object]) -> BuildError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message"))
    err.__dict__.update(state)
    return err


class ConfigError(BuildError):
    """``site.yaml`` is missing, malformed or holds a wrong value."""


class FrontmatterError(BuildError):
    """A page's YAML frontmatter is malformed or misses a required key."""


class LinkError(BuildError):
    """A wiki-link, ``related:`` or ``labs:`` entry does not resolve to exactly one page."""


class TemplateError(BuildError):
    """A Jinja template has a syntax error, is missing, or fails while rendering."""


class TraceError(BuildError):
    """A lesson's simulation or steps cannot be compiled into a trace.

    ``keypath`` names the frontmatter value at fault, e.g. ``("steps", 2, "do", 0)``;
    the page loader turns it into the line of that value in the lesson file.
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        keypath: tuple[str | int, ...] = (),
    ):
        super().__init__(message, path, line)
        self.keypath = keypath


class OutputError(BuildError):
    """The output folder cannot be written, or two files would land on one path."""


class WorkerError(RuntimeError):
    """A build worker process died (killed, out of memory) or failed with an
    unexpected exception (a bug: the message then holds its traceback). Nothing is
    published."""


class ErrorList(Exception):
    """Several build errors, reported together.

    Iterating yields the :class:`BuildError` items sorted by path and line, without
    duplicates, so the report is stable from one build to the next.
    """

    def __init__(self, errors: Iterable[BuildError], warnings: Iterable[BuildError] = ()):
        # one broken template fails every page that uses it: report it once
        unique = {(e.path, e.line, e.message): e for e in errors}
        self.errors = sorted(unique.values(), key=lambda e: (e.path or "", e.line or 0, e.message))
        #: warnings found before the build failed: shown too, not lost with the build
        self.warnings = sorted({str(w): w for w in warnings}.values(), key=str)
        super().__init__(f"{len(self.errors)} error(s)")

    def __iter__(self) -> Iterator[BuildError]:
        return iter(self.errors)

    def __len__(self) -> int:
        return len(self.errors)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def _visible(text: str) -> str:
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def display_path(path: str | Path) -> str:
    """``path`` as an author would type it: relative to the working folder when inside it."""
    # abspath, not resolve: a symlink is named where it is, not where it points
    absolute = os.path.abspath(path)
    here = os.getcwd()
    if absolute.startswith(here.rstrip(os.sep) + os.sep):
        return os.path.relpath(absolute, here)
    return str(path)

"""Where a build's time goes: named spans, per process, for profiling.

Off unless ``STEPWISE_TIMINGS=FILE`` is set in the environment; then every process of
a build (the build process and the workers it forks) appends its spans to ``FILE``,
one JSON object per line::

    {"pid": 4242, "stage": "render", "start": 1234.567, "wall": 0.412, "cpu": 0.405,
     "bytes": 0}

``start`` is ``time.perf_counter()`` (the system's monotonic clock: comparable across
the processes of one machine), ``wall`` and ``cpu`` are seconds (``cpu``: this
process's CPU time, both user and system), ``bytes`` what the span sent or received
through a pipe (0 otherwise). A stage named ``wait:...`` is time spent blocked on
another process. ``bench/profile_build.py`` runs a build this way and prints the table.
When off, :func:`span` costs one attribute test.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator

#: the file spans are appended to, or None (off)
PATH = os.environ.get("STEPWISE_TIMINGS") or None

_spans: list[dict[str, object]] = []


class Span:
    """One measured stretch; :attr:`bytes` may be set while it runs."""

    __slots__ = ("bytes",)

    def __init__(self) -> None:
        self.bytes = 0


_OFF = Span()


@contextlib.contextmanager
def span(stage: str) -> Iterator[Span]:
    """Measure the ``with`` block as ``stage`` (nothing when timings are off)."""
    if PATH is None:
        yield _OFF
        return
    measured = Span()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield measured
    finally:
        _spans.append({"pid": os.getpid(), "stage": stage, "start": round(wall, 6),
                       "wall": round(time.perf_counter() - wall, 6),
                       "cpu": round(time.process_time() - cpu, 6), "bytes": measured.bytes})


def forget() -> None:
    """Drop the spans not flushed yet (a forked worker's copies of its parent's)."""
    _spans.clear()


def flush() -> None:
    """Append this process's spans to the file (one ``write`` of whole lines, so the
    processes' lines do not interleave), and forget them."""
    if PATH is None or not _spans:
        return
    text = "".join(json.dumps(s) + "\n" for s in _spans)
    _spans.clear()
    with contextlib.suppress(OSError):
        fd = os.open(PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)

"""A progress line on stderr while a long check runs, for someone watching a terminal.

Why a thread: the engines run the check in one call that returns only when it is done
(DuckDB and Polars release the GIL meanwhile), so progress can only be shown by polling
from beside that call. Why the delay: most checks end well under a second, and a bar
that flashes for an instant is noise, so nothing is written until ``delay`` seconds
after the check started; a check that ends before then writes nothing at all. Why
stderr: stdout carries the report, which programs parse (``--format json``). Why ``\\r``
and the final clear: the line is redrawn in place and erased at the end, leaving the
terminal as it was before the report is printed.

The percentage comes from a ``poll`` callable (DuckDB's ``query_progress``); where an
engine has no estimate (Polars, or DuckDB between statements) the bar shows a block
moving back and forth and the elapsed time instead of a made-up number.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import Callable, TextIO

Poll = Callable[[], "float | None"]

DELAY_S = 1.0  # nothing is drawn for checks that end sooner
INTERVAL_S = 0.2  # redraws per second: 5
WIDTH = 20  # cells of the bar
ENV = "DQ_PROGRESS"  # DQ_PROGRESS=0 turns the bar off everywhere


def wanted(quiet: bool, stream: TextIO | None = None) -> bool:
    """Whether ``dq`` should draw a bar: not ``--quiet``, not ``DQ_PROGRESS=0``, and stderr is a terminal
    (a log file or a pipe would only collect carriage returns)."""
    if quiet or os.environ.get(ENV, "").strip() == "0":
        return False
    try:
        return bool((sys.stderr if stream is None else stream).isatty())
    except (AttributeError, ValueError, OSError):  # replaced or closed stderr
        return False


def render(label: str, percent: float | None, elapsed: float, tick: int, width: int = WIDTH) -> str:
    """One frame: ``dq check  [#########...........]  47%  3.1 s``; an unknown
    ``percent`` shows a block at a position that moves with ``tick`` and no number."""
    if percent is None:
        block = min(3, width)
        travel = max(1, width - block)
        pos = tick % (2 * travel)
        pos = pos if pos <= travel else 2 * travel - pos
        bar = "." * pos + "#" * block + "." * (width - block - pos)
        shown = "    "
    else:
        filled = int(width * percent / 100)
        bar = "#" * filled + "." * (width - filled)
        shown = f"{percent:3.0f}%"
    return f"{label}  [{bar}]  {shown}  {elapsed:.1f} s"


class Bar:
    """Context manager: while its block runs, redraw a progress line on ``stream`` (stderr).

    With ``enabled`` false it does nothing. Otherwise a daemon thread waits until
    ``delay`` seconds after ``since`` (a :func:`time.perf_counter` value, default: now),
    then draws every ``interval`` seconds from ``poll()`` (percent 0..100; ``None`` or a
    negative number means unknown). Leaving the block stops the thread at once and
    erases the line if anything was drawn. Nothing here raises into the check: an error
    from ``poll`` reads as "unknown", an error writing ends the drawing.
    """

    def __init__(
        self,
        enabled: bool,
        poll: Poll | None = None,
        *,
        since: float | None = None,
        label: str = "dq check",
        stream: TextIO | None = None,
        delay: float = DELAY_S,
        interval: float = INTERVAL_S,
    ) -> None:
        self.enabled = enabled
        self.poll = poll
        self.since = time.perf_counter() if since is None else since
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.delay = delay
        self.interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()  # a frame is never written after (or during) the clear
        self._closed = False
        self._drawn = 0  # the longest frame written, to erase it
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Bar:
        if self.enabled:
            self._thread = threading.Thread(target=self._draw, name="dq-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=2.0)  # it waits on _stop, or is inside one poll() call
        with self._lock:
            self._closed = True
            if self._drawn:
                try:
                    self.stream.write("\r" + " " * self._drawn + "\r")
                    self.stream.flush()
                except Exception:  # noqa: BLE001  (a closed stderr must not fail the check)
                    pass

    def _percent(self) -> float | None:
        if self.poll is None:
            return None
        try:
            value = self.poll()
            if value is None or not value >= 0:  # negative or NaN: unknown
                return None
            return min(float(value), 100.0)
        except Exception:  # noqa: BLE001  (no estimate this time)
            return None

    def _draw(self) -> None:
        try:
            if self._stop.wait(max(0.0, self.since + self.delay - time.perf_counter())):
                return
            width = _bar_width(self.stream, self.label)
            tick = 0
            while True:
                line = render(self.label, self._percent(), time.perf_counter() - self.since, tick, width)
                with self._lock:
                    if self._closed:
                        return
                    self.stream.write("\r" + line)
                    self.stream.flush()
                    self._drawn = max(self._drawn, len(line))
                if self._stop.wait(self.interval):
                    return
                tick += 1
        except Exception:  # noqa: BLE001  (the check goes on without a bar)
            return


def _bar_width(stream: TextIO, label: str) -> int:
    """The bar's cells: :data:`WIDTH`, fewer on a narrow terminal so the line never wraps
    (a wrapped line cannot be redrawn in place). A terminal that tells no size (0
    columns, as a new pseudo-terminal) gets the full width."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return WIDTH
    if columns <= 0:
        return WIDTH
    rest = len(render(label, 100.0, 9999.9, 0, 0))
    return max(0, min(WIDTH, columns - 1 - rest))

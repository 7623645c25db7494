"""Progress of long work on standard error: phase, count, rate and (when the total is known) time left.

Shown only when standard error is a terminal and progress is not switched off (``--quiet`` on the
command line, :func:`set_enabled`), so that logs, pipes and tests see nothing. One line, rewritten
in place at most every :data:`MIN_INTERVAL` seconds, ended with a newline when the phase ends::

    reading edges: 4,200,000 rows (2.1M rows/s)
    simulating: 6,000 of 10,000 draws (1,234 draws/s, 3 s left)

Library code reports progress with a :class:`Progress` used as a context manager::

    with Progress("reading edges", unit="rows") as bar:
        for chunk in chunks:
            ...
            bar.update(len(chunk))
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["Progress", "set_enabled", "enabled", "MIN_INTERVAL"]

#: Seconds between two redraws of the line.
MIN_INTERVAL = 0.2

_ENABLED: bool | None = None       # None: decide by whether stderr is a terminal


def set_enabled(flag: bool | None) -> None:
    """Switch progress on (True), off (False), or back to "when stderr is a terminal" (None)."""
    global _ENABLED
    _ENABLED = flag


def enabled() -> bool:
    """Whether progress is shown now."""
    if _ENABLED is not None:
        return _ENABLED
    if os.environ.get("EXPOSURE_QUIET") == "1":
        return False
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


def _count(x: float) -> str:
    return f"{x / 1e6:.1f}M" if x >= 1e7 else f"{x:,.0f}"


class Progress:
    """A progress line for one phase of work (see the module documentation).

    Parameters
    ----------
    phase : str
        What is being done ("reading edges", "clearing", "simulating").
    total : int, optional
        How many units the phase has, when known (gives "of N" and the time left).
    unit : str
        The unit counted ("rows", "draws", "nodes").
    """

    def __init__(self, phase: str, total: int | None = None, unit: str = "rows"):
        self.phase, self.total, self.unit = phase, total, unit
        self.done = 0
        self.active = enabled()
        self._start = self._last = time.perf_counter()
        self._shown = False

    def __enter__(self) -> "Progress":
        return self

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done; redraw the line when it is time."""
        self.done += n
        if self.active:
            now = time.perf_counter()
            if now - self._last >= MIN_INTERVAL:
                self._last = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        text = f"{self.phase}: {_count(self.done)}"
        if self.total:
            text += f" of {_count(self.total)}"
        text += f" {self.unit} ({_count(rate)} {self.unit}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", {max(0.0, (self.total - self.done) / rate):.0f} s left"
        text += ")"
        sys.stderr.write("\r" + text + "\x1b[K")
        sys.stderr.flush()
        self._shown = True

    def __exit__(self, *exc) -> None:
        if self.active and (self._shown or time.perf_counter() - self._start >= MIN_INTERVAL):
            self._draw(time.perf_counter())
            sys.stderr.write("\n")
            sys.stderr.flush()

"""Progress of long work on standard error: phase, count, rate and (when the total is known) time left.

Shown only when standard error is a terminal and progress is not switched off (``--quiet`` on the
command line, ``EXPOSURE_QUIET=1``, :func:`set_enabled`), so that logs, pipes and tests see nothing.
One line, rewritten in place at most every :data:`MIN_INTERVAL` seconds (``EXPOSURE_PROGRESS_INTERVAL``
in the environment sets another interval), ended with a newline when the phase ends::

    reading graph: 10,064,124 edges (1.2M edges/s, 8.4 s)
    simulating: 6,000 of 10,000 draws (1,234 draws/s, 3 s left)

While a phase runs inside one long call (an Arrow read, a solve) and nothing is counted yet, a
clock thread redraws the line with the time spent so far (``clearing: 3 s``), so a long phase
never looks stalled.

Library code reports progress with a :class:`Progress` used as a context manager::

    with Progress("reading edges", unit="rows") as bar:
        for chunk in chunks:
            ...
            bar.update(len(chunk))
"""

from __future__ import annotations

import os
import sys
import threading
import time

__all__ = ["Progress", "set_enabled", "enabled", "MIN_INTERVAL"]

def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get("EXPOSURE_PROGRESS_INTERVAL", "0.2")))
    except ValueError:
        return 0.2


#: Seconds between two redraws of the line.
MIN_INTERVAL = _interval()

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
        self._ended = False
        self._lock = threading.Lock()

    def __enter__(self) -> "Progress":
        if self.active:
            self._stop = threading.Event()
            self._lock = threading.Lock()
            self._clock = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._clock.start()
        return self

    def _tick(self) -> None:
        """Redraw the line while the phase runs (see the module notes)."""
        while not self._stop.wait(max(MIN_INTERVAL, 0.05)):
            with self._lock:
                self._last = time.perf_counter()
                self._draw(self._last)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done; redraw the line when it is time."""
        self.done += n
        if self.active:
            now = time.perf_counter()
            if now - self._last >= MIN_INTERVAL:
                self._last = now
                with self._lock:
                    self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        if not self.done and not self.total:
            sys.stderr.write(f"\r{self.phase}: {elapsed:.0f} s\x1b[K")
            sys.stderr.flush()
            self._shown = True
            return
        rate = self.done / elapsed
        text = f"{self.phase}: {_count(self.done)}"
        if self.total:
            text += f" of {_count(self.total)}"
        text += f" {self.unit} ({_count(rate)} {self.unit}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", {max(0.0, (self.total - self.done) / rate):.0f} s left"
        elif self._ended:
            text += f", {elapsed:.1f} s"
        text += ")"
        sys.stderr.write("\r" + text + "\x1b[K")
        sys.stderr.flush()
        self._shown = True

    def __exit__(self, *exc) -> None:
        if not self.active:
            return
        self._stop.set()
        self._clock.join()
        self._ended = True
        if self._shown or time.perf_counter() - self._start >= MIN_INTERVAL:
            self._draw(time.perf_counter())
            sys.stderr.write("\n")
            sys.stderr.flush()

"""Writes that never leave a half-written file: write to a temporary file beside the target, rename.

:func:`atomic_write` is the one place where exposure writes a file; every writer (graphs,
tables, command output) goes through it. A reader sees either the old file or the whole new
one; a failed or interrupted write leaves the target untouched and removes the temporary file.
"""

from __future__ import annotations

import os
import tempfile
from typing import Callable

__all__ = ["atomic_write"]


def atomic_write(path, write: Callable, *, binary: bool = False) -> None:
    """Call ``write(fh)`` on a temporary file in the destination's directory, then rename it to ``path``.

    ``fh`` is a text file (UTF-8, no newline translation) or, with ``binary``, a binary file.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        if binary:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                write(fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

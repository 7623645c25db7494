"""Writes that never leave a half-written file: write to a temporary file beside the target, rename.

:func:`atomic_write` is the one place where exposure writes a file; every writer (graphs,
tables, command output) goes through it. A reader sees either the old file or the whole new
one; a failed or interrupted write leaves the target untouched and removes the temporary file.
:func:`atomic_directory` does the same for a directory of files (a report): every file is
written into a temporary directory beside the target, which is renamed into place at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Callable, Mapping

__all__ = ["atomic_write", "atomic_directory", "check_directory_target"]


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


def check_directory_target(path, *, may_replace: Callable[[str], bool] | None = None) -> str:
    """The absolute ``path``, or :class:`FileExistsError` when :func:`atomic_directory` may not write it:
    it exists and is neither an empty directory nor one that ``may_replace(path)`` accepts."""
    path = os.path.abspath(os.fspath(path))
    if os.path.lexists(path):
        empty = os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path)
        if not (empty or (os.path.isdir(path) and may_replace is not None and may_replace(path))):
            raise FileExistsError(17, "exists and is not a directory this command wrote; choose another "
                                      "directory or remove it", path)
    return path


def atomic_directory(path, files: Mapping[str, bytes], *, may_replace: Callable[[str], bool] | None = None) -> None:
    """Write ``files`` (relative path -> bytes) as the directory ``path``, all or nothing.

    The files are written into a temporary directory beside ``path``, which is then renamed to
    ``path``: a reader never sees a half-written directory, and on any error the temporary
    directory is removed and ``path`` is left as it was. An existing ``path`` is replaced only
    when it is an empty directory or ``may_replace(path)`` says so (the old directory is moved
    aside, the new one renamed into place, the old one removed); otherwise :class:`FileExistsError`.
    """
    path = check_directory_target(path, may_replace=may_replace)
    parent = os.path.dirname(path)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", dir=parent)
    try:
        for rel, data in files.items():
            rel = os.path.normpath(rel)
            if os.path.isabs(rel) or rel.startswith(os.pardir):
                raise ValueError(f"{rel!r} is not a path inside the directory")
            target = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as fh:
                fh.write(data)
        os.chmod(tmp, 0o755)
        if os.path.lexists(path):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old.", dir=parent)
            os.rmdir(old)
            os.rename(path, old)
            try:
                os.rename(tmp, path)
            except BaseException:
                os.rename(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

"""Exceptions and warnings raised by exposure.

Every error the library raises on purpose derives from :class:`ExposureError`.
Errors about bad input also derive from :class:`ValueError`, so ``except
ValueError`` keeps working for callers that do not know this hierarchy::

    ExposureError(Exception)
    ├── InvalidNetworkError(ExposureError, ValueError)   bad amounts, unknown ids, self-claims...
    │   └── GraphFormatError                             unreadable or malformed file (names file + line/path)
    ├── InvalidShockError(ExposureError, ValueError)     shocks and scenarios
    ├── InvalidParameterError(ExposureError, ValueError) a parameter of a function out of range or unknown
    ├── ConvergenceError(ExposureError, RuntimeError)    only under ``strict=True``; ``.result`` is the partial result
    └── MissingDependencyError(ExposureError, ImportError) an optional extra asked for and not installed
    ConvergenceWarning(UserWarning)                      non-convergence reported, not raised

Input problems are collected as :class:`Problem` records first, so that
``exposure validate`` can list every problem in a file rather than only the
first one; an :class:`InvalidNetworkError` carries all the errors found.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = [
    "ExposureError",
    "InvalidNetworkError",
    "GraphFormatError",
    "InvalidShockError",
    "InvalidParameterError",
    "ConvergenceError",
    "MissingDependencyError",
    "ConvergenceWarning",
    "Problem",
]


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Parameters
    ----------
    severity : {"error", "warning"}
        Errors make the input unusable; warnings are reported and the input is used.
    message : str
        A whole sentence: what is wrong, what was expected, what was found.
    file : str or None
        The file the problem is in (``"<stdin>"`` for standard input).
    location : str or None
        Where in the file: ``"line 12"`` for CSV, a JSON path such as
        ``"$.edges[3].amount"`` for JSON, an element for XML.
    table : str or None
        ``"nodes"``, ``"edges"`` (or another table) when the problem was found in a
        table before its position in a file was known.
    row : int or None
        0-based position of the record in ``table``.
    field : str or None
        The field (column, key) concerned.
    node : str or None
        The node id concerned, or ``"debtor->creditor"`` for an edge.
    """

    severity: str
    message: str
    file: str | None = None
    location: str | None = None
    table: str | None = None
    row: int | None = None
    field: str | None = None
    node: str | None = None

    def at(self, **changes) -> "Problem":
        """Return a copy with some fields replaced (used by loaders to add file and line)."""
        return replace(self, **changes)

    def __str__(self) -> str:
        where = ": ".join(x for x in (self.file, self.location) if x)
        if not where and self.table is not None and self.row is not None:
            where = f"{self.table}[{self.row}]"
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.severity}: {self.message}"


class ExposureError(Exception):
    """Base class of every error exposure raises on purpose."""


class InvalidNetworkError(ExposureError, ValueError):
    """The network data are invalid.

    ``problems`` lists every error found (a list of :class:`Problem`), the
    message shows them one per line.
    """

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem("error", problems)]
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"] or self.problems
        head = str(errors[0])
        if len(errors) > 1:
            head += "\n" + "\n".join(str(p) for p in errors[1:20])
            if len(errors) > 20:
                head += f"\n... and {len(errors) - 20} more errors"
        super().__init__(head)


class GraphFormatError(InvalidNetworkError):
    """A graph file cannot be read: bad encoding, truncated, wrong structure, unsafe XML."""


class InvalidShockError(ExposureError, ValueError):
    """A shock or a stress scenario is invalid (unknown node, out-of-range value, duplicate)."""


class InvalidParameterError(ExposureError, ValueError):
    """A parameter of a public function is out of its range, of the wrong type, or unknown to it.

    The message follows one template: ``The 'tol' parameter of clear_vectors must be a finite
    number > 0. Got 0.0 instead.`` (see :mod:`exposure._params`).
    """


class ConvergenceError(ExposureError, RuntimeError):
    """A solver did not converge and the caller asked for ``strict=True``.

    The partial result is available as ``result``.
    """

    def __init__(self, message: str, result=None):
        super().__init__(message)
        self.result = result


class MissingDependencyError(ExposureError, ImportError):
    """A feature needs an optional extra that is not installed; the message names the ``pip install``."""


class ConvergenceWarning(UserWarning):
    """A solver stopped before reaching its tolerance; the result says so (``converged=False``)."""

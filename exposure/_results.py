"""The result protocol: what every result object of exposure answers, and how non-convergence is told.

Every public function that computes something returns one result type, and every result type
derives from :class:`Result`:

``converged`` : bool
    The computation reached its tolerance (or was exact).
``status`` : int
    A code of :data:`STATUS` (SciPy's ``linprog`` style): 0 converged, 1 iteration limit reached,
    2 numerical failure, 3 not defined on this input. A result made of several runs (a stress run
    over scenarios, a ranking of every node) has the largest status of its runs.
``message`` : str
    What happened, in words: a whole clause a warning can quote.
``summary()`` : dict
    Scalars and the solver record as plain Python values, ``converged`` included.
``to_frame()`` : pandas.DataFrame
    The main table of the result.

Non-convergence is never silent: :func:`report` warns with
:class:`~exposure.exceptions.ConvergenceWarning` and returns the result (``converged`` is
False), or, under ``strict=True``, raises :class:`~exposure.exceptions.ConvergenceError`
carrying the partial result as ``err.result``.
"""

from __future__ import annotations

import abc
import warnings
from types import MappingProxyType
from typing import Any, Mapping, TypeVar

import pandas as pd

from .exceptions import ConvergenceError, ConvergenceWarning

__all__ = ["STATUS", "Result", "report", "combined_status"]

#: Status codes shared by every result.
STATUS: Mapping[int, str] = MappingProxyType({
    0: "converged",
    1: "iteration limit reached",
    2: "numerical failure",
    3: "not defined on this input",
})


class Result(abc.ABC):
    """Base of every result object (see the module documentation for the protocol)."""

    __slots__ = ()

    converged: bool
    status: int
    message: str

    @abc.abstractmethod
    def summary(self) -> dict[str, Any]:
        """Scalars and the solver record as plain Python values."""

    @abc.abstractmethod
    def to_frame(self) -> pd.DataFrame:
        """The main table of the result."""

    @property
    def status_text(self) -> str:
        """The meaning of ``status`` (:data:`STATUS`)."""
        return STATUS.get(int(self.status), "unknown status")

    def _record(self) -> dict[str, Any]:
        """``converged``, ``status`` and ``message`` as plain values, for a :meth:`summary`."""
        return {"converged": bool(self.converged), "status": int(self.status), "message": str(self.message)}


def combined_status(statuses) -> int:
    """The status of a result made of several runs: the largest of theirs (0 when there is none)."""
    return max((int(s) for s in statuses), default=0)


R = TypeVar("R", bound=Result)


def report(result: R, *, strict: bool, what: str | None = None, stacklevel: int = 2) -> R:
    """Return ``result``; when it did not converge, warn (default) or raise under ``strict``.

    The text is ``f"{what}: {result.message}"`` (the message alone without ``what``), e.g.
    ``Clearing did not converge: fixed-point did not converge within 10 iterations (...)``;
    ``stacklevel`` counts from the caller of ``report`` (2: the warning points at whoever called
    the public function that calls this).
    """
    if not result.converged:
        text = f"{what}: {result.message}" if what else str(result.message)
        if strict:
            raise ConvergenceError(text, result)
        warnings.warn(text, ConvergenceWarning, stacklevel=stacklevel + 1)
    return result

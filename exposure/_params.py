"""One checker for the parameters of public functions, with one wording.

Every message reads ``"<subject> must be <constraint>. Got <value> instead."`` (scikit-learn's
template), where the subject is ``The 'tol' parameter of clear_vectors`` unless the caller names
the quantity in words (``The precision``). Constraints are described the same way everywhere:

* ``a number in [0, 1]``, ``a number in (0, 1]`` (both bounds finite),
* ``a finite number ≥ 0``, ``a finite number > 0`` (no upper bound),
* ``an integer ≥ 1``,
* ``one of a, b, c``,
* ``n finite and non-negative numbers`` (vectors).

Bad input *data* (graph files, scenario files) is reported by the validators as
:class:`~exposure.exceptions.Problem` records instead, with file, line and node.

>>> check_number(0.5, "alpha", "clear", lo=0.0, hi=1.0)
0.5
>>> check_number(1.5, "alpha", "clear", lo=0.0, hi=1.0)
Traceback (most recent call last):
...
exposure.exceptions.InvalidParameterError: The 'alpha' parameter of clear must be a number in [0, 1]. Got 1.5 instead.
>>> check_number(0, "top", "rank", lo=1, integer=True)
Traceback (most recent call last):
...
exposure.exceptions.InvalidParameterError: The 'top' parameter of rank must be an integer ≥ 1. Got 0 instead.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .exceptions import InvalidParameterError

__all__ = ["Interval", "check_number", "check_choice", "check_vector", "describe_interval"]


def _subject(name: str, owner: str | None, subject: str | None) -> str:
    if subject is not None:
        return subject
    return f"The {name!r} parameter of {owner}" if owner else f"The {name!r} parameter"


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:g}"


def describe_interval(lo: float = -math.inf, hi: float = math.inf, *, lo_open: bool = False,
                      hi_open: bool = False, integer: bool = False) -> str:
    """The words for an interval of allowed values (see the module documentation)."""
    return Interval(lo, hi, lo_open, hi_open, integer).describe()


@dataclass(frozen=True)
class Interval:
    """An interval of allowed values; ``describe()`` says it in words, ``notation()`` in brackets.

    >>> Interval(-1.0, 0.0).describe(), Interval(0.0, math.inf, lo_open=True).describe()
    ('a number in [-1, 0]', 'a finite number > 0')
    >>> Interval(0.0, math.inf).notation()
    'in [0, inf)'
    """

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False

    def contains(self, x: float) -> bool:
        """True for a finite ``x`` inside the interval."""
        return (math.isfinite(x) and (x > self.lo if self.lo_open else x >= self.lo)
                and (x < self.hi if self.hi_open else x <= self.hi) and (not self.integer or x == int(x)))

    def describe(self) -> str:
        what = "an integer" if self.integer else "a number"
        lo, hi = self.lo, self.hi
        if math.isfinite(lo) and math.isfinite(hi):
            return f"{what} in {self.notation()[3:]}"
        head = "an integer" if self.integer else "a finite number"
        if math.isfinite(lo):
            return f"{head} {'>' if self.lo_open else '≥'} {_fmt(lo)}"
        if math.isfinite(hi):
            return f"{head} {'<' if self.hi_open else '≤'} {_fmt(hi)}"
        return head

    def notation(self) -> str:
        """``in [lo, hi]`` with ``(``/``)`` for open or infinite ends."""
        left = "(" if self.lo_open or math.isinf(self.lo) else "["
        right = ")" if self.hi_open or math.isinf(self.hi) else "]"
        return f"in {left}{_fmt(self.lo)}, {_fmt(self.hi)}{right}"


def check_number(value, name: str, owner: str | None = None, *, lo: float = -math.inf, hi: float = math.inf,
                 lo_open: bool = False, hi_open: bool = False, integer: bool = False, subject: str | None = None,
                 error: type[Exception] = InvalidParameterError):
    """``value`` as a float (an int with ``integer``) when it lies in the interval, else ``error``.

    Booleans, text, NaN and (unless a bound is infinite and the value equals it) infinities are
    rejected; so is a float with a fractional part when ``integer`` is set.
    """
    interval = Interval(lo, hi, lo_open, hi_open, integer)
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    x = float(value) if ok else math.nan
    if not (ok and interval.contains(x)):
        raise error(f"{_subject(name, owner, subject)} must be {interval.describe()}. Got {value!r} instead.")
    return int(x) if integer else x


def check_choice(value, name: str, owner: str | None, choices: Iterable[str], *, subject: str | None = None,
                 error: type[Exception] = InvalidParameterError) -> str:
    """``value`` when it is one of ``choices``, else ``error`` listing them."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise error(f"{_subject(name, owner, subject)} must be one of {', '.join(choices)}. Got {value!r} instead.")
    return value


def check_vector(values, name: str, owner: str | None, n: int, *, nonnegative: bool = True,
                 subject: str | None = None, error: type[Exception] = InvalidParameterError) -> np.ndarray:
    """``values`` as a float64 vector of length ``n``, finite (and non-negative), else ``error``."""
    try:
        v = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        v = None
    what = f"{n} finite{' and non-negative' if nonnegative else ''} numbers"
    if v is None or v.shape != (n,):
        shape = "values that are not numbers" if v is None else f"shape {np.shape(values)}"
        raise error(f"{_subject(name, owner, subject)} must be {what}. Got {shape} instead.")
    bad = ~np.isfinite(v) | ((v < 0) if nonnegative else False)
    if bad.any():
        raise error(f"{_subject(name, owner, subject)} must be {what}. Got {float(v[np.argmax(bad)])!r} at "
                    f"position {int(np.argmax(bad))} instead.")
    return v

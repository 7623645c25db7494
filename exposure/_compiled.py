"""Whether compiled (numba) kernels are available, and when a run uses them.

numba is an optional extra (``pip install exposure[fast]``). Without it, or with the
environment variable ``EXPOSURE_NO_NUMBA=1``, every model runs its numpy/scipy kernels, which
give the same results (to rounding: sums run in another order). numba itself is imported only by
the modules that hold compiled kernels, and those only when a run uses them, so ``import
exposure`` and every command that needs no compiled kernel neither import numba nor compile
anything; a run compiles only the kernels it calls, once per installation (numba caches the
machine code next to the package).
"""

from __future__ import annotations

import importlib.util
import os
import sys

__all__ = ["HAVE_NUMBA", "use_compiled", "n_threads"]

#: numba is installed and not switched off with ``EXPOSURE_NO_NUMBA=1``.
HAVE_NUMBA = importlib.util.find_spec("numba") is not None and os.environ.get("EXPOSURE_NO_NUMBA", "") != "1"

def use_compiled(compiled: bool | None = None) -> bool:
    """Whether a run uses the compiled kernels: when numba is available, unless ``compiled=False``
    (``True`` asks for them and falls back to numpy without numba)."""
    return HAVE_NUMBA and compiled is not False


def n_threads() -> int:
    """Threads the compiled kernels use: numba's setting when numba is loaded, else the cores."""
    numba = sys.modules.get("numba")
    if numba is not None:
        return int(numba.get_num_threads())
    return int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1))

"""Collection rules for the doctests of the package (``pytest --doctest-modules``, see pyproject.toml).

The compiled kernels' module imports numba at its top, so it is collected only where numba is
installed (the ``fast`` extra); without numba the package never imports it either.
"""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("numba") else ["exposure/contagion/_numba_kernels.py"]

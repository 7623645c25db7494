"""Stress runs over named scenarios, and reverse stress: the smallest shock that breaks a target.

Stress runs
-----------
:func:`run_scenarios` solves the joint fixed point of clearing, liquidations
and fire sales (:func:`exposure.defi.solve_system`) once per scenario and
collects three tables:

* summary, one row per scenario: ``scenario, total_loss, bad_debt, liquidated,
  n_defaults, external_creditor_loss, rounds, converged``;
* nodes: ``scenario, node, kind, equity_before, equity_after, loss, bad_debt,
  liquidated, defaulted, default_round``;
* tokens: ``scenario, token, price_before, price_after, redemption_value, liquidated``.

Reverse stress
--------------
For a shock type ``T`` on a node ``v``, let ``s ∈ [0, S]`` be the size of the
shock (the fall of a price for ``price`` and ``depeg``: ``change = −s``; the
fraction for ``asset_loss`` and ``forged_supply``) and ``y(s)`` a summary
metric of the solved system (``bad_debt``, ``total_loss``, ``n_defaults`` or
``external_creditor_loss``). Losses, bad debt and defaults do not decrease
when a shock grows, so the set of sizes that breach a target ``y(s) > c`` is an
interval ``(s*, S]`` (or ``[s*, S]``). :func:`reverse_stress` finds ``s*`` by
bisection:

1. ``y(0)`` (one solve shared by every node): if it already breaches, ``s* = 0``;
2. ``y(S)``: if it does not breach, no shock of this type on ``v`` breaks the
   target (``breaking_shock`` is null, and ``v`` is ranked last);
3. otherwise keep ``lo`` (does not breach) and ``hi`` (breaches), halve
   ``[lo, hi]`` until ``hi − lo ≤ precision · S``, and report ``hi``: the
   smallest size known to breach, within ``precision · S`` of ``s*``. This
   takes ``⌈log2(1 / precision)⌉`` solves (14 at the default 1e-4).

With ``scan = N > 0``, the sizes ``S·k/N`` are evaluated first in increasing
order and the bisection runs inside the first cell that breaches, which finds
the smallest breaching cell even where the response is not monotone (a price
fall of an asset that is also borrowed lowers that debt). Nodes are ranked by
breaking shock, smallest (most fragile) first.

References
----------
.. [1] Eisenberg, L. and Noe, T. H. (2001). Systemic risk in financial systems.
   *Management Science* 47(2):236–249. https://doi.org/10.1287/mnsc.47.2.236.9835
.. [2] Grigat, D. and Caccioli, F. (2017). Reverse stress testing interbank networks.
   *Scientific Reports* 7:15616. https://doi.org/10.1038/s41598-017-15668-7
"""

from ._reverse import (REVERSE_COLUMNS, REVERSE_SHOCKS, TARGET_METRICS, Breaking, ReverseStressResult, Target,
                       bisect_breaking_shock, parse_target, reverse_stress)
from ._scenarios import NODE_COLUMNS, SUMMARY_COLUMNS, TOKEN_COLUMNS, StressResult, run_scenarios

__all__ = [
    "SUMMARY_COLUMNS", "NODE_COLUMNS", "TOKEN_COLUMNS", "REVERSE_COLUMNS", "TARGET_METRICS", "REVERSE_SHOCKS",
    "StressResult", "run_scenarios", "Target", "parse_target", "ReverseStressResult", "reverse_stress",
    "bisect_breaking_shock", "Breaking",
]

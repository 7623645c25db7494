"""Metrics of a network: what ``exposure info`` reports (:func:`summarize`), and the supervisory
metrics of ``exposure metrics`` (:func:`supervisory_metrics`).

The supervisory metrics come in sections, each computed by one public function whose docstring
gives its formulas and the reports that ask for it (FSB 2023, ESRB 2023, ESMA 2023, IMF C-RAM,
Luo et al. 2024); ``docs/metrics.md`` collects them:

* ``size`` — :func:`size_metrics`: gross TVL, netted value (TVR), double-counting ratio, money
  multiplier per base asset, per protocol (:func:`tvl_table`);
* ``leverage`` — :func:`leverage_metrics`: assets / equity per protocol, collateral loops;
* ``concentration`` — :func:`concentration_metrics`: top-3 / top-10 shares, Herfindahl index,
  largest single exposures;
* ``interconnectedness`` — :func:`interconnectedness_metrics`;
* ``liquidity_mismatch`` — :func:`liquidity_mismatch` and :func:`liquidation_curves`;
* ``oracle_dependency`` — :func:`oracle_dependency`;
* ``offchain_dependency`` — :func:`offchain_dependency`;
* ``loss_absorption`` — :func:`loss_absorption`; and ``stress`` — :func:`stress_section`.

See :mod:`exposure.metrics._summary` for the definitions behind ``info`` (double counting,
cycles, leverage).
"""

from ._absorption import loss_absorption, stress_section
from ._common import MetricSection, protocol_mask
from ._leverage import leverage_metrics
from ._liquidation import liquidation_curves, liquidity_mismatch, oracle_dependency
from ._size import base_composition, size_metrics, tvl_table
from ._structure import concentration_metrics, interconnectedness_metrics, offchain_dependency
from ._summary import NetworkSummary, double_counting, exposure_graph, shortest_cycles, summarize
from ._supervisory import SECTIONS, SupervisoryMetrics, supervisory_metrics

__all__ = ["summarize", "NetworkSummary", "exposure_graph", "double_counting", "shortest_cycles",
           "supervisory_metrics", "SupervisoryMetrics", "SECTIONS", "MetricSection", "protocol_mask",
           "size_metrics", "tvl_table", "base_composition", "leverage_metrics", "concentration_metrics",
           "interconnectedness_metrics", "liquidation_curves", "liquidity_mismatch", "oracle_dependency",
           "offchain_dependency", "loss_absorption", "stress_section"]

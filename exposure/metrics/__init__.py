"""Metrics of a network: what ``exposure info`` reports (:func:`summarize`), and next the
supervisory metrics of ``exposure metrics``.

See :mod:`exposure.metrics._summary` for the definitions (double counting, cycles, leverage).
"""

from ._summary import NetworkSummary, double_counting, exposure_graph, shortest_cycles, summarize

__all__ = ["summarize", "NetworkSummary", "exposure_graph", "double_counting", "shortest_cycles"]

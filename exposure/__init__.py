"""exposure: graph-based systemic exposure analysis for cross-collateralized DeFi tokens.

The network model and its direction convention live in :mod:`exposure.network`:
``L[i, j]`` is what node i owes node j.
"""

from .exceptions import (ConvergenceError, ConvergenceWarning, ExposureError, GraphFormatError,
                         InvalidNetworkError, InvalidShockError, Problem)
from .clearing import ClearingResult, clear, eisenberg_noe, loss_amplification, rogers_veraart, sensitivities
from .io import check_graph, from_networkx, read_graph, to_frames, to_networkx, write_graph
from .mechanics import MarketShock, SystemResult, solve_system
from .network import EDGE_KINDS, NODE_KINDS, ExposureNetwork
from .ranking import RankingResult, rank
from .scenarios import Scenario, read_scenarios
from .stress import ReverseStressResult, StressResult, reverse_stress, run_scenarios

__version__ = "0.1.0"

__all__ = [
    "ExposureNetwork", "EDGE_KINDS", "NODE_KINDS",
    "ExposureError", "InvalidNetworkError", "GraphFormatError", "InvalidShockError",
    "ConvergenceError", "ConvergenceWarning", "Problem",
    "ClearingResult", "clear", "eisenberg_noe", "rogers_veraart", "sensitivities", "loss_amplification",
    "MarketShock", "SystemResult", "solve_system",
    "RankingResult", "rank",
    "read_graph", "write_graph", "check_graph", "to_frames", "to_networkx", "from_networkx",
    "Scenario", "read_scenarios", "run_scenarios", "reverse_stress", "StressResult", "ReverseStressResult",
]

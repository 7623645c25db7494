"""exposure: graph-based systemic exposure analysis for cross-collateralized DeFi tokens.

The direction convention is stated once, in :mod:`exposure.schema`: ``L[i, j]`` is what node i
owes node j. ``docs/architecture.md`` describes the layers of the package and which way their
imports point.
"""

from .clearing import ClearingResult, eisenberg_noe, loss_amplification, rogers_veraart, sensitivities
from .contagion import RankingResult, rank
from .defi import SystemResult, clear, solve_system
from .exceptions import (ConvergenceError, ConvergenceWarning, ExposureError, GraphFormatError,
                         InvalidNetworkError, InvalidParameterError, InvalidShockError, MissingDependencyError,
                         Problem)
from .executor import Executor
from .io import check_graph, from_networkx, import_graph, read_graph, to_frames, to_networkx, write_graph
from .io.scenarios import Scenario, read_scenarios
from .network import ExposureNetwork
from .schema import EDGE_KINDS, NODE_KINDS
from .shocks import MarketShock
from .stress import ReverseStressResult, StressResult, reverse_stress, run_scenarios

__version__ = "0.1.0"

__all__ = [
    "ExposureNetwork", "EDGE_KINDS", "NODE_KINDS",
    "ExposureError", "InvalidNetworkError", "GraphFormatError", "InvalidShockError", "InvalidParameterError",
    "ConvergenceError", "ConvergenceWarning", "MissingDependencyError", "Problem", "Executor",
    "ClearingResult", "clear", "eisenberg_noe", "rogers_veraart", "sensitivities", "loss_amplification",
    "MarketShock", "SystemResult", "solve_system",
    "RankingResult", "rank",
    "read_graph", "write_graph", "check_graph", "to_frames", "to_networkx", "from_networkx", "import_graph",
    "Scenario", "read_scenarios", "run_scenarios", "reverse_stress", "StressResult", "ReverseStressResult",
]

r"""Monte Carlo: joint shock models, batched clearing of draws, loss distributions, VaR and ES.

:func:`simulate` draws ``N`` joint shocks from a :class:`ShockModel` (a JSON shock-model file, a
document, or :func:`default_model` from the graph's node kinds), clears every draw with the
mechanics of :func:`~exposure.defi.solve_system` (Eisenberg–Noe or Rogers–Veraart on the claims,
token prices, liquidations and fire sales on a version-2 graph), a stream block of draws at once
(:func:`~exposure.defi.solve_block`: sparse × dense block products, not a Python loop per draw),
and returns a :class:`SimulationResult`: the distribution of total loss, bad debt, defaults and
external creditor loss, VaR and ES at the chosen levels with standard errors, and per node the
probability of default, expected loss, contribution to ES and probability of a contagious
(round ≥ 2) default. docs/simulate.md gives the model file's schema and the estimators.

Determinism
-----------
The draws are numbered ``0 … N − 1`` and cut into stream blocks of ``B`` draws
(:func:`block_size`: a function of the network alone). Block ``b`` takes its random numbers from
``numpy.random.default_rng(SeedSequence(seed).spawn(...)[b])`` (always a whole block's worth, in a
fixed order) and is cleared by one :func:`~exposure.defi.solve_block` call; a chunk of work is a run
of whole blocks. The per-draw results are concatenated and the per-node sums added block by
block, in block order; the tail is chosen by total loss with ties to the lower draw index and
summed in draw order. So the result depends on the network, the model, the seed and ``N`` only:
bit for bit the same whatever the chunk size, in process, on a local Dask cluster of any size or
on a scheduler, and after a worker is lost (its chunk is recomputed from its own seeds).

Examples
--------
>>> import exposure
>>> from exposure.simulate import simulate
>>> net = exposure.read_graph("graphs/chain.json")
>>> model = {"jumps": [{"node": "a", "probability": 0.5,
...                     "severity": {"distribution": "fixed", "value": 0.5}}]}
>>> r = simulate(net, model, draws=1000, seed=7)
>>> nodes = r.to_frame().set_index("node")
>>> nodes.loc[["a", "b"], "pd"].tolist(), nodes.loc[["a", "b"], "contagious_pd"].tolist()
([0.48, 0.48], [0.0, 0.48])

In about half of the draws ``a`` loses half of its assets, defaults in round 1 and takes ``b`` with it in
round 2 (the cascade of chain.json).
"""

from ._model import (DEFAULTS, FACTOR_FIELDS, JUMP_FIELDS, MODEL_FORMAT, SEVERITIES, ShockModel, default_model,
                     read_model)
from ._simulate import (BLOCK_ENTRIES, MAX_BLOCK, NODE_COLUMNS, SAMPLE_COLUMNS, STATISTICS, SimulationResult,
                        block_size, simulate, tail_weights)

__all__ = ["simulate", "SimulationResult", "ShockModel", "read_model", "default_model", "block_size",
           "tail_weights", "NODE_COLUMNS", "SAMPLE_COLUMNS", "STATISTICS", "MODEL_FORMAT", "FACTOR_FIELDS",
           "JUMP_FIELDS", "SEVERITIES", "DEFAULTS", "MAX_BLOCK", "BLOCK_ENTRIES"]

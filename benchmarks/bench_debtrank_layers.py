"""How far a DebtRank run must go before a sound bound could prune it (``--top`` pruning study).

For a sample of seeds of the seeded benchmark network (benchmarks/network.py) this runs DebtRank
round by round (the textbook loop: one sparse mat-vec per round) and records after each round

* the work done so far: links leaving the nodes that have propagated, as a fraction of the run's
  total;
* the lower bound: the score so far (``h`` only grows, so a truncated run bounds from below);
* the reach upper bound: score so far ``+ Σ v_j (1 − h_j)`` over the receivers ``j`` that can
  still gain, i.e. the creditors of the nodes reachable from the next frontier through nodes
  that have not propagated yet (inactive nodes never propagate again);
* the inflow upper bound, tighter: score so far ``+ Σ_j v_j min(1 − h_j, f_j + u_j)`` with
  ``f = Wᵀ h_F`` what the next frontier ``F`` sends (exactly) and ``u_j = Σ W[i, j]`` over the
  other nodes ``i`` of that reachable set, each of which propagates at most once an ``h ≤ 1``.

The threshold ``T`` is the exact ``top``-th score (from a full ranking, or ``--threshold``). A
run could stop, pruned, at the first round where its upper bound falls below ``T``; the study
reports, over the sample, the fraction of the run's links processed by then (1.0: never). This
measures the best that truncation with this bound could save, whatever the order of the seeds.
Usage::

    python3 benchmarks/bench_debtrank_layers.py --quick      # 10^4 nodes, T from a full ranking
    python3 benchmarks/bench_debtrank_layers.py --sizes 100000 --threshold 0.1354

Prints a table and writes ``benchmarks/results/bench_debtrank_layers.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_ranking import write_results  # noqa: E402


def rounds_of(W: sp.csr_array, Wt: sp.csr_array, v: np.ndarray, seed: int, psi: float = 1.0):
    """Per round: (links processed so far, score so far, reach upper bound); and the final score."""
    n = W.shape[0]
    outdeg = np.diff(W.indptr)
    h = np.zeros(n)
    h[seed] = psi
    front = np.zeros(n, bool)
    front[seed] = True
    seen = front.copy()                          # distressed at some round (h > 0)
    rows, work = [], 0
    while front.any():
        work += int(outdeg[front].sum())
        h = np.minimum(1.0, h + Wt @ np.where(front, h, 0.0))
        front = (h > 0) & ~seen
        seen |= front
        lb = float(v @ h - v[seed] * psi)
        rows.append((work, lb) + tuple(lb + g for g in remaining_gain(W, Wt, v, h, front, seen)))
    return rows, float(v @ h - v[seed] * psi)


def remaining_gain(W, Wt, v, h, front, seen):
    """Bounds on what the rest of the run can add: (reach bound, inflow bound)."""
    if not front.any():
        return 0.0, 0.0
    can = front | ~seen                          # the next frontier, and nodes never distressed
    keep = np.flatnonzero(can)
    sub = sp.csr_array(W[keep][:, keep])
    hub = sub.shape[0]                           # a virtual source linked to the whole frontier
    src = np.flatnonzero(front[keep])
    coo = sub.tocoo()
    G = sp.csr_array((np.concatenate([coo.data, np.ones(src.size)]),
                      (np.concatenate([coo.row, np.full(src.size, hub)]), np.concatenate([coo.col, src]))),
                     shape=(hub + 1, hub + 1))
    reach = breadth_first_order(G, hub, directed=True, return_predecessors=False)
    reach = keep[reach[reach < hub]]
    receivers = np.unique(W[reach].indices) if reach.size else np.zeros(0, int)
    others = np.zeros(W.shape[0])
    others[reach] = 1.0
    others[front] = 0.0
    inflow = Wt @ np.where(front, h, 0.0) + Wt @ others
    room = 1.0 - h[receivers]
    return float(v[receivers] @ room), float(v[receivers] @ np.minimum(room, inflow[receivers]))


def measure(n, seed, sample_size, threshold, top):
    from exposure.contagion import _kernels as K
    from exposure.contagion import economic_value, impact_weights
    from network import benchmark_network

    net = benchmark_network(n, seed=seed)
    W, v = impact_weights(net), economic_value(net)
    W.eliminate_zeros()
    if threshold is None:
        scores = K.debtrank_seeds(W, v, np.arange(n), 1.0)[0]
        threshold = float(np.sort(scores)[::-1][top - 1])
    Wt = sp.csr_array(W.T)
    seeds = np.random.default_rng(1).choice(n, size=min(n, sample_size), replace=False)
    stop, stop2, finals, half = [], [], [], []
    for s in seeds:
        rows, final = rounds_of(W, Wt, v, int(s))
        total = rows[-1][0]
        finals.append(final)
        stop.append(next((w / total for w, _, ub, _ in rows if ub < threshold), 1.0))
        stop2.append(next((w / total for w, _, _, ub in rows if ub < threshold), 1.0))
        half.append(next((lb / final if final > 0 else 1.0 for w, lb, _, _ in rows if w >= total / 2), 1.0))
    stop, stop2, finals, half = np.array(stop), np.array(stop2), np.array(finals), np.array(half)
    return {"n": n, "seed": seed, "top": top, "threshold": threshold, "sample": int(seeds.size),
            "score_quantiles": {q: float(np.quantile(finals, q)) for q in (0.5, 0.9, 0.99)},
            "fraction_below_threshold": float((finals < threshold).mean()),
            "links_before_prune_quantiles": {q: float(np.quantile(stop, q)) for q in (0.1, 0.5, 0.9)},
            "mean_links_before_prune": float(stop.mean()),
            "inflow_links_before_prune_quantiles": {q: float(np.quantile(stop2, q)) for q in (0.1, 0.5, 0.9)},
            "inflow_mean_links_before_prune": float(stop2.mean()),
            "score_share_at_half_the_links": float(np.median(half))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^4 nodes only")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sample", type=int, default=32, help="seeds followed round by round")
    ap.add_argument("--top", type=int, default=100)
    ap.add_argument("--threshold", type=float, default=None,
                    help="the exact top-th score, if known (else a full ranking computes it)")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([10_000] if args.quick else [10_000, 100_000])
    results = []
    print(f"{'n':>7} {'T':>8} {'median score':>13} {'below T':>8} {'bound':>7} "
          f"{'links before prune (p10/p50/p90)':>34} {'mean':>6} {'score share at half the links':>30}")
    for n in sizes:
        r = measure(n, args.seed, args.sample, args.threshold if len(sizes) == 1 else None, args.top)
        results.append(r)
        for name, key in (("reach", ""), ("inflow", "inflow_")):
            q = r[f"{key}links_before_prune_quantiles"]
            print(f"{n:>7} {r['threshold']:8.4f} {r['score_quantiles'][0.5]:13.4f} "
                  f"{r['fraction_below_threshold']:8.2f} {name:>7} {q[0.1]:>12.2f} {q[0.5]:>10.2f} {q[0.9]:>10.2f} "
                  f"{r[f'{key}mean_links_before_prune']:6.2f} {r['score_share_at_half_the_links']:30.2f}")
    write_results("bench_debtrank_layers", results)


if __name__ == "__main__":
    main()

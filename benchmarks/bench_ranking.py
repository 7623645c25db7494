"""Benchmark of the contagion-hub rankings on the seeded benchmark network (benchmarks/network.py).

For each size, in one process:

* baselines: one sparse matrix–vector product ``Wᵀx`` (best of many), and a plain
  one-seed-at-a-time scipy DebtRank (sparse mat-vec rounds, the textbook loop), timed on a
  sample of seeds and extrapolated to all of them;
* every method of every node (``rank(network, method)``, the whole public call: weights,
  renumbering, base clearing included), best of a few runs; for the per-seed methods also
  one single-node run (the mean over a sample of seeds of the same kernel);
* DebtRank's ``--top 100``, checked row for row against the first 100 ranks of the full ranking.

Each time is reported as a multiple of one mat-vec and, where it applies, of one
single-node run. Usage::

    python3 benchmarks/bench_ranking.py            # 10^4 and 10^5 nodes
    python3 benchmarks/bench_ranking.py --quick    # 10^4 nodes
    python3 benchmarks/bench_ranking.py --sizes 3000 --repeats 1

Prints a table and writes ``benchmarks/results/bench_ranking.json``. The machine is shared
and has 2 cores: times are the best of several repeats.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_clearing import best_of  # noqa: E402  (best of several repeats, and the result)

PER_SEED = ("debtrank", "differential-debtrank", "furfine", "impact")
WHOLE = ("vulnerability", "amplification", "pagerank", "katz", "eigenvector")


def plain_debtrank(W, v, seed, psi=1.0):
    """The textbook loop: one seed, dense state vectors, one sparse mat-vec per round."""
    import numpy as np
    Wt = W.T.tocsr()
    n = W.shape[0]
    h = np.zeros(n)
    h[seed] = psi
    distressed = h > 0
    seen = distressed.copy()
    while distressed.any():
        h = np.minimum(1.0, h + Wt @ np.where(distressed, h, 0.0))
        distressed = (h > 0) & ~seen
        seen |= distressed
    return float(v @ h - v[seed] * psi)


def single_runs(net, method, sample):
    """Mean time of one seed of ``method``'s kernel over ``sample`` seeds."""
    from exposure.contagion import _kernels as K
    from exposure.contagion._debtrank import differential_debtrank_scores
    from exposure.contagion._impact import impact_scores
    from exposure.contagion import economic_value, impact_weights
    v = economic_value(net)
    if method == "debtrank":
        W = impact_weights(net)
        run = lambda: K.debtrank_seeds(W, v, sample, 1.0)                      # noqa: E731
    elif method == "differential-debtrank":
        W = impact_weights(net, cap=False)
        run = lambda: differential_debtrank_scores(W, v, 1.0, seeds=sample)    # noqa: E731
    elif method == "furfine":
        run = lambda: K.furfine_seeds(net.liabilities, net.equity(), sample)   # noqa: E731
    else:
        run = lambda: impact_scores(net, seeds=sample)                         # noqa: E731
    run()
    t, _ = best_of(run, 2)
    return t / len(sample)


def measure(n, seed, repeats, plain_sample):
    import numpy as np

    from exposure.contagion import _kernels as K
    from exposure.contagion import economic_value, impact_weights, rank
    from network import benchmark_network

    net = benchmark_network(n, seed=seed)
    W = impact_weights(net)
    v = economic_value(net)
    x = np.random.default_rng(0).random(n)
    Wt = W.T.tocsr()
    matvec, _ = best_of(lambda: Wt @ x, 200)
    rng = np.random.default_rng(1)
    sample = np.sort(rng.choice(n, size=min(n, 64), replace=False))

    rank(benchmark_network(2000, seed=1), "all")            # compile the kernels outside the timings
    rows, full_rankings = [], {}
    t_plain, _ = best_of(lambda: [plain_debtrank(W, v, s) for s in sample[:plain_sample]], 1)
    t_plain_one = t_plain / plain_sample
    rows.append({"n": n, "what": "debtrank, plain scipy loop (extrapolated)", "seconds": t_plain_one * n,
                 "x_matvec": t_plain_one * n / matvec, "x_single": n * 1.0, "single_s": t_plain_one})
    for method in PER_SEED + WHOLE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, res = best_of(lambda: rank(net, method), repeats if n <= 20_000 else 1)
        full_rankings[method] = res.ranking
        single = single_runs(net, method, sample) if method in PER_SEED else None
        rows.append({"n": n, "what": method, "seconds": t, "x_matvec": t / matvec,
                     "x_single": (t / single) if single else None, "single_s": single,
                     "converged": res.converged, "iterations": res.iterations,
                     "top": res.ranking["node"].head(3).tolist()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, res = best_of(lambda: rank(net, "debtrank", top=100), 1)
    single = single_runs(net, "debtrank", sample)
    full = full_rankings["debtrank"]
    same = res.ranking.equals(full[full["rank"] <= 100].reset_index(drop=True))
    rows.append({"n": n, "what": "debtrank --top 100", "seconds": t, "x_matvec": t / matvec,
                 "x_single": t / single, "single_s": single, "converged": res.converged,
                 "equals_full_first_100": same})
    return {"n": n, "seed": seed, "matvec_s": matvec, "threads": K.n_threads(), "numba": K.HAVE_NUMBA,
            "rows": rows}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^4 nodes only")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--plain-sample", type=int, default=16, help="seeds timed for the plain scipy loop")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([10_000] if args.quick else [10_000, 100_000])
    results = []
    print(f"{'n':>7} {'what':<44} {'seconds':>9} {'x mat-vec':>11} {'x single run':>13}  note")
    for n in sizes:
        res = measure(n, args.seed, args.repeats, args.plain_sample)
        results.append(res)
        for r in res["rows"]:
            single = f"{r['x_single']:13.0f}" if r.get("x_single") else " " * 13
            note = "" if r.get("converged", True) else "did not converge (reported)"
            if "equals_full_first_100" in r:
                note += f"same rows as the full ranking's first 100 ranks: {r['equals_full_first_100']}"
            print(f"{n:>7} {r['what']:<44} {r['seconds']:9.3f} {r['x_matvec']:11.0f} {single}  {note}")
        print(f"{n:>7} {'(one mat-vec, seconds)':<44} {res['matvec_s']:9.2e}   threads={res['threads']} "
              f"numba={res['numba']}")
    write_results("bench_ranking", results)


def write_results(name: str, results) -> None:
    """Write ``benchmarks/results/NAME.json`` and say where."""
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {out / f'{name}.json'}")


if __name__ == "__main__":
    main()

"""Benchmark of the clearing engine on the seeded benchmark network (benchmarks/network.py).

For each size, in a fresh process (so that its peak memory is its own):

* baseline: one sparse matrix–vector product ``Πᵀp`` over the whole network (best of many);
* each method (fictitious default rounds, Picard) under Eisenberg–Noe (α = β = 1) and under
  Rogers–Veraart (α = 0.9, β = 0.95), on raw vectors (``clear_vectors``), as a multiple of the
  baseline measured just before each run (best ratio of several pairs); rounds, sweeps, defaults, residual, agreement between methods;
* the stopping rule: each run again with ``stopping="largest"`` (the rule relative to the largest
  obligation that the componentwise rule replaced), paired the same way, as the ratio of the two
  times; and the error of every node's payment relative to its own obligations,
  ``|p_i − p*_i| / p̄_i``, against a reference ``p*`` from Picard iteration to ``tol = 1e-12``
  (componentwise): the largest error and how many nodes are off by more than 1e-9 and 1e-6;
* the whole ``clear(network, shock)`` call (building ``Π`` and ``p̄`` included);
* the loss-amplification table (sensitivities on the default set);
* the same ``clear`` call with the loss-bearing fields (seeded: 30% of nodes owe shares, 20% have
  first-loss capital of 2% of their assets, half of it provided by another node): the cost of the
  buffer passes, against the plain call measured in the same process;
* peak resident memory of the process, and the peak of memory allocated by one clearing.

Usage::

    python3 benchmarks/bench_clearing.py            # 10^4, 10^5, 10^6 nodes
    python3 benchmarks/bench_clearing.py --quick    # 10^4, 10^5
    python3 benchmarks/bench_clearing.py --sizes 300000 --load   # also write and read the CSV files

Prints a table and writes ``benchmarks/results/bench_clearing.json``. The machine is shared:
times are the best of several repeats and are reported as ratios to the baseline measured
in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from network import best_of  # noqa: E402

MODELS = {"EN": (1.0, 1.0), "RV": (0.9, 0.95)}
METHODS = ("fictitious-default", "fixed-point")


def paired(fn, baseline, repeats):
    """Time ``fn`` against the baseline measured just before it, ``repeats`` times.

    Returns ``(best seconds, best ratio, result)``: on a loaded machine a ratio of two runs made
    moments apart is steadier than the ratio of two minima taken minutes apart.
    """
    best_t, best_ratio, out = float("inf"), float("inf"), None
    for _ in range(repeats):
        base, _ = best_of(baseline, 3)
        t, out = best_of(fn, 1)
        best_t, best_ratio = min(best_t, t), min(best_ratio, t / base)
    return best_t, best_ratio, out


def measure(n: int, seed: int, load: bool) -> dict:
    import numpy as np

    from exposure import clear
    from exposure.clearing import clear_vectors, loss_amplification
    from exposure.shocks import apply_shock
    from network import benchmark_network, benchmark_shock, write_csv

    t0 = time.perf_counter()
    net = benchmark_network(n, seed)
    build = time.perf_counter() - t0
    shock = benchmark_shock(net, seed)
    Pi, pbar = net.relative_liabilities(), net.total_obligations()
    e = apply_shock(net, shock).external_assets
    PiT_csr = Pi.T.tocsr()
    mv_repeats = 30 if n <= 100_000 else 12
    mv_view, _ = best_of(lambda: Pi.T @ pbar, mv_repeats)
    mv_csr, _ = best_of(lambda: PiT_csr @ pbar, mv_repeats)
    baseline = min(mv_view, mv_csr)
    if mv_view <= mv_csr:                          # the faster form is the baseline
        del PiT_csr
        matvec = lambda: Pi.T @ pbar  # noqa: E731
    else:
        matvec = lambda: PiT_csr @ pbar  # noqa: E731
    repeats = 9 if n <= 100_000 else 5
    out = {"n": n, "claims": int(net.n_claims), "seed": seed, "build_s": build, "shocked": len(shock),
           "matvec_s": baseline, "matvec_csc_view_s": mv_view, "matvec_csr_s": mv_csr, "runs": {}}
    for model, (alpha, beta) in MODELS.items():
        payments = {}
        ref = clear_vectors(Pi, pbar, e, alpha=alpha, beta=beta, method="fixed-point", tol=1e-12,
                            max_iter=10**6)
        owed = np.where(pbar > 0, pbar, 1.0)

        def errors(p):
            err = np.abs(p - ref.payments) / owed
            return {"max_rel_error": float(err.max()), "nodes_above_1e-9": int((err > 1e-9).sum()),
                    "nodes_above_1e-6": int((err > 1e-6).sum()), "pbar_of_worst": float(pbar[err.argmax()])}
        for method in METHODS:
            t, ratio, r = paired(lambda: clear_vectors(Pi, pbar, e, alpha=alpha, beta=beta, method=method),
                                 matvec, repeats)
            t_old, ratio_old, r_old = paired(
                lambda: clear_vectors(Pi, pbar, e, alpha=alpha, beta=beta, method=method, stopping="largest"),
                matvec, repeats)
            payments[method] = r.payments
            rounds = np.bincount(r.default_round[r.defaulted]).tolist()[1:]
            out["runs"][f"{model}/{method}"] = {
                "seconds": t, "x_matvec": ratio, "defaults": int(r.defaulted.sum()),
                "rounds": int(r.n_rounds), "defaults_by_round": rounds, "sweeps": int(r.iterations),
                "residual": float(r.residual), "converged": bool(r.converged), "n_floor": int(r.n_floor),
                "errors": errors(r.payments),
                "largest_rule": {"seconds": t_old, "x_matvec": ratio_old, "sweeps": int(r_old.iterations),
                                 "errors": errors(r_old.payments)},
                "ratio_to_largest_rule": ratio / ratio_old, "reference_converged": bool(ref.converged)}
        scale = max(1.0, float(pbar.max()))
        out["runs"][f"{model}/fixed-point"]["max_diff_vs_rounds"] = float(
            np.max(np.abs(payments["fictitious-default"] - payments["fixed-point"])) / scale)
    t, ratio, r = paired(lambda: clear(net, shock), matvec, repeats)
    out["clear_call_s"] = t
    out["clear_call_x_matvec"] = ratio
    t, ratio, _ = paired(lambda: loss_amplification(net, shock, result=r), matvec, 2 if n > 100_000 else 3)
    out["loss_amplification_s"] = t
    out["loss_amplification_x_matvec"] = ratio
    bearing = loss_bearing(net, seed)
    t, ratio, rb = paired(lambda: clear(bearing, shock), lambda: clear(net, shock), 3)
    out["loss_bearing"] = {"seconds": t, "x_plain_clear": ratio, "defaults": int(rb.n_defaults),
                           "impaired": int(rb.n_impaired), "buffer_used": float(rb.buffer_used.sum()),
                           "defaults_plain": int(r.n_defaults), "converged": bool(rb.converged),
                           "message": rb.message}
    tracemalloc.start()
    clear_vectors(Pi, pbar, e)
    out["clearing_alloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    if load:
        from exposure.io import read_graph
        with tempfile.TemporaryDirectory(dir=HERE / "data" if (HERE / "data").exists() else None) as tmp:
            t0 = time.perf_counter()
            write_csv(net, tmp)
            out["write_csv_s"] = time.perf_counter() - t0
            del net, Pi
            t0 = time.perf_counter()
            again = read_graph(tmp)
            out["read_csv_s"] = time.perf_counter() - t0
            out["read_csv_nodes"] = again.n
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def loss_bearing(net, seed: int):
    """The network with seeded loss-bearing fields (see the module docstring)."""
    import dataclasses

    import numpy as np

    rng = np.random.default_rng(seed + 11)
    n = net.n
    nodes = net.nodes.copy()
    nodes["liability_type"] = np.where(rng.random(n) < 0.3, "shares", "debt").astype(object)
    buffered = rng.random(n) < 0.2
    nodes["first_loss"] = np.where(buffered, 0.02 * net.total_assets(), 0.0)
    provider = np.where(buffered & (rng.random(n) < 0.5), rng.integers(0, n, n), -1)
    provider[provider == np.arange(n)] = -1
    ids = net.node_ids.to_numpy(dtype=object)
    nodes["first_loss_provider"] = np.where(provider >= 0, ids[np.maximum(provider, 0)], None)
    return dataclasses.replace(net, nodes=nodes)


def table(results: list[dict]) -> str:
    lines = [f"{'nodes':>9} {'claims':>10} {'matvec ms':>9} {'run':<22} {'x matvec':>8} {'rounds':>6} "
             f"{'sweeps':>6} {'defaults':>8} {'residual':>9} {'max err':>8} {'largest rule':>20} {'peak MB':>8}"]
    for res in results:
        for name, run in res["runs"].items():
            old = run["largest_rule"]
            lines.append(f"{res['n']:>9} {res['claims']:>10} {res['matvec_s'] * 1e3:>9.2f} {name:<22} "
                         f"{run['x_matvec']:>8.1f} {run['rounds']:>6} {run['sweeps']:>6} {run['defaults']:>8} "
                         f"{run['residual']:>9.1e} {run['errors']['max_rel_error']:>8.1e} "
                         f"{old['x_matvec']:>6.1f}x {old['errors']['max_rel_error']:>7.1e} "
                         f"{run['ratio_to_largest_rule']:>4.2f} {res['peak_rss_mb']:>8.0f}")
        extra = (f"{'':>9} clear(network, shock): {res['clear_call_x_matvec']:.1f}x matvec; "
                 f"loss amplification: {res['loss_amplification_x_matvec']:.1f}x; "
                 f"defaults by round (EN): {res['runs']['EN/fictitious-default']['defaults_by_round']}; "
                 f"clearing allocates {res['clearing_alloc_peak_mb']:.0f} MB")
        if "loss_bearing" in res:
            lb = res["loss_bearing"]
            extra += (f"; with loss bearing: {lb['x_plain_clear']:.2f}x the plain clear, {lb['defaults']} defaults "
                      f"+ {lb['impaired']} impaired (plain {lb['defaults_plain']})")
        if "read_csv_s" in res:
            extra += f"; CSV write {res['write_csv_s']:.1f} s, read {res['read_csv_s']:.1f} s"
        lines.append(extra)
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10^4 and 10^5 nodes only")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--load", action="store_true", help="also time writing and reading the CSV files")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.child, args.seed, args.load)))
        return
    sizes = args.sizes or ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    results = []
    for n in sizes:
        cmd = [sys.executable, __file__, "--child", str(n), "--seed", str(args.seed)] + (["--load"] if args.load else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(table(results[-1:]), flush=True)
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / "bench_clearing.json"
    path.write_text(json.dumps({"results": results, "cpu_count": os.cpu_count()}, indent=2), encoding="utf-8")
    print(f"\n{table(results)}\n\nwritten {path}")


if __name__ == "__main__":
    main()

"""Benchmark of the executor (exposure.executor): local Dask clusters of 2 workers against 1 worker.

* DebtRank of every node of the seeded 100,000-node benchmark network (``benchmarks/network.py``)
  through the kernel of ``exposure rank --method debtrank`` (the same set-up and fixed blocks of
  seeds), on a cluster of 1 worker and one of 2 workers; the scores must be identical.
* ``reverse_stress(..., node="all")`` (``exposure stress --reverse --node all``) on the bundled DeFi
  graph (``graphs/defi.json``, asset-loss shocks on its 29 owners, target ``bad_debt>0``), on the same two
  clusters; the tables must be identical.

Both clusters are started before any timing (starting one takes about a second; its first run also
loads the compiled kernels, so one untimed warm-up run precedes the timings) and the 1- and
2-worker runs alternate, so that both see the same load from other jobs. Reported: the best of
``--repeat`` wall times of each, their ratio (the speed-up of 2 workers over 1), the load average.
Usage::

    python3 benchmarks/bench_executor.py                  # 100,000 nodes, every seed
    python3 benchmarks/bench_executor.py --quick          # 100,000 nodes, 8,192 seeds
    python3 benchmarks/bench_executor.py --seeds 20000 --repeat 2

Prints a table and writes ``benchmarks/results/bench_executor.json``. Needs dask.distributed
(``pip install exposure[distributed]``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

from network import benchmark_network  # noqa: E402
from exposure import Executor, read_graph  # noqa: E402
from exposure.contagion import _kernels as K  # noqa: E402
from exposure.contagion import economic_value, impact_weights  # noqa: E402
from exposure.stress import reverse_stress  # noqa: E402


def alternate(fns: dict, repeat: int):
    """Best wall time and last result of each ``fns[k]()``, the calls alternating ``repeat`` times."""
    times = {k: [] for k in fns}
    out = {}
    for _ in range(repeat):
        for k, fn in fns.items():
            t = time.perf_counter()
            out[k] = fn()
            times[k].append(time.perf_counter() - t)
    return {k: min(v) for k, v in times.items()}, times, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--seeds", type=int, default=None, help="DebtRank of this many seeds (default: every node)")
    ap.add_argument("--quick", action="store_true", help="8,192 seeds")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--skip-debtrank", action="store_true")
    ap.add_argument("--skip-reverse", action="store_true")
    args = ap.parse_args()
    seeds_n = args.seeds or (8192 if args.quick else args.nodes)

    clusters = {1: Executor(workers=1), 2: Executor(workers=2)}
    out = {"cpu_count": os.cpu_count(), "repeat": args.repeat}
    rows = []
    try:
        if not args.skip_debtrank:
            t0 = time.perf_counter()
            net = benchmark_network(args.nodes).claims_view()
            W, v = impact_weights(net), economic_value(net, "assets")
            counted = ~net.is_shares()
            build = time.perf_counter() - t0
            seeds = np.arange(net.n) if seeds_n >= net.n else np.sort(
                np.random.default_rng(1).choice(net.n, seeds_n, replace=False))

            def debtrank(ex):
                return lambda: K.debtrank_seeds(W, v, seeds, 1.0, counted=counted, executor=ex)
            for ex in clusters.values():          # warm-up: kernels loaded, not timed
                K.debtrank_seeds(W, v, seeds[:64], 1.0, counted=counted, executor=ex)
            load0 = os.getloadavg()[0]
            best, every, res = alternate({k: debtrank(ex) for k, ex in clusters.items()}, args.repeat)
            same = all(np.array_equal(a, b) for a, b in zip(res[1], res[2]))
            assert same, "DebtRank scores differ between 1 and 2 workers"
            ratio = best[1] / best[2]
            rows += [(f"DebtRank, {seeds.size:,} seeds of {net.n:,} nodes, 1 worker", best[1], 1.0),
                     (f"DebtRank, {seeds.size:,} seeds of {net.n:,} nodes, 2 workers", best[2], ratio)]
            out["debtrank"] = {"nodes": net.n, "claims": int(W.nnz), "seeds": int(seeds.size), "build_seconds": build,
                               "blocks": len(K.seed_blocks(seeds.size)), "seconds_1": every[1],
                               "seconds_2": every[2], "speedup_2_over_1": ratio, "identical": same,
                               "load_average_before": load0, "load_average_after": os.getloadavg()[0]}
        if not args.skip_reverse:
            defi = read_graph(ROOT / "graphs" / "defi.json")

            def search(ex):
                return lambda: reverse_stress(defi, "asset_loss", "all", "bad_debt>0", executor=ex)
            for ex in clusters.values():
                reverse_stress(defi, "price", "all", "bad_debt>0", precision=0.1, executor=ex)
            load0 = os.getloadavg()[0]
            best, every, res = alternate({k: search(ex) for k, ex in clusters.items()}, args.repeat)
            same = res[1].table.equals(res[2].table)
            assert same, "reverse stress tables differ between 1 and 2 workers"
            ratio = best[1] / best[2]
            n = len(res[1].table)
            rows += [(f"reverse stress asset_loss --node all ({n} nodes), 1 worker", best[1], 1.0),
                     (f"reverse stress asset_loss --node all ({n} nodes), 2 workers", best[2], ratio)]
            out["reverse"] = {"nodes": n, "solves": int(res[1].table["evaluations"].sum()) + 1,
                              "seconds_1": every[1], "seconds_2": every[2], "speedup_2_over_1": ratio,
                              "identical": same, "load_average_before": load0,
                              "load_average_after": os.getloadavg()[0]}
    finally:
        for ex in clusters.values():
            ex.close()
    print(f"{'measure':64s} {'seconds':>10s} {'speed-up':>9s}  (2 workers over 1, best of {args.repeat})")
    for name, t, r in rows:
        print(f"{name:64s} {t:10.2f} {r:9.2f}")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other jobs share them)")
    results = HERE / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "bench_executor.json").write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()

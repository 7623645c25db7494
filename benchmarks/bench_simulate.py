"""Benchmark of Monte Carlo: ``python3 benchmarks/bench_simulate.py [--draws N] [--big-draws N] [--cluster]``.

* ``defi``: ``--draws`` (100,000) draws of the default shock model on ``graphs/defi.json`` in process;
* ``big``: ``--big-draws`` (10,000) draws on the seeded 100,000-node heavy-tailed network of
  ``benchmarks/network.py`` in process, under its default model (a hack of each protocol with
  probability 0.001, severity Beta(1, 2));
* with ``--cluster``: the ``big`` run again on local Dask clusters of 1 and 2 workers (speed-up).

Each run reports its time, draws per second, and the cost of one draw as a multiple of one clearing
of the same network measured in the same run (``solve_system`` of one draw on the DeFi graph,
``exposure.clear`` of one draw on the 100,000-node network). Writes ``benchmarks/results/bench_simulate.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import exposure  # noqa: E402
from exposure.defi import solve_system  # noqa: E402
from exposure.simulate import default_model, simulate  # noqa: E402
from network import benchmark_network, best_of  # noqa: E402


def one_draw_shock(net, model, seed=0):
    """The MarketShock of draw 0 of the model (the clearing baseline clears the same kind of draw)."""
    import numpy as np
    block = model.draw(np.random.default_rng(seed), 1)
    ids = list(net.node_ids)
    neutral = {"depth_factor": 1.0}
    return exposure.MarketShock(**{name: {ids[i]: float(v) for i, v in enumerate(a[0]) if v != neutral.get(name, 0.0)}
                                   for name, a in block.items()})


def measure(name, net, draws, baseline_s, **kw):
    t0 = time.perf_counter()
    r = simulate(net, draws=draws, seed=1, **kw)
    t = time.perf_counter() - t0
    return {"run": name, "draws": draws, "seconds": t, "draws_per_s": draws / t, "ms_per_draw": t / draws * 1e3,
            "clearing_ms": baseline_s * 1e3, "draw_over_clearing": t / draws / baseline_s,
            "mean_defaults": r.summary()["mean_defaults"], "var_0.99": r.var[0.99], "mode": r.mode}, r


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=100_000)
    ap.add_argument("--big-draws", type=int, default=10_000)
    ap.add_argument("--cluster", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    defi = exposure.read_graph(ROOT / "graphs" / "defi.json")
    shock = one_draw_shock(defi, default_model(defi))
    base, _ = best_of(lambda: solve_system(defi, shock), 5)
    row, _ = measure("defi in process", defi, args.draws, base)
    rows.append(row)
    if args.big_draws:
        big = benchmark_network(100_000, seed=0)
        bshock = one_draw_shock(big, default_model(big))
        loss = dict(bshock.asset_loss)
        bbase, _ = best_of(lambda: exposure.clear(big, loss), 3)
        row, ref = measure("100k nodes in process", big, args.big_draws, bbase)
        rows.append(row)
        if args.cluster:
            for w in (1, 2):
                row, got = measure(f"100k nodes, {w} worker(s)", big, args.big_draws, bbase, workers=w)
                row["identical"] = bool(got.samples.equals(ref.samples) and got.nodes.equals(ref.nodes))
                rows.append(row)
            rows[-1]["speedup_2_over_1"] = rows[-2]["seconds"] / rows[-1]["seconds"]
    for r in rows:
        print(f"{r['run']:28} {r['draws']:>8} draws {r['seconds']:8.1f} s {r['draws_per_s']:9.1f} draws/s "
              f"{r['ms_per_draw']:8.3f} ms/draw  clearing {r['clearing_ms']:7.2f} ms  ratio {r['draw_over_clearing']:.3f}"
              + (f"  identical {r['identical']}" if "identical" in r else ""))
    if rows and "speedup_2_over_1" in rows[-1]:
        print(f"2 workers over 1: {rows[-1]['speedup_2_over_1']:.2f}x")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_simulate.json").write_text(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()

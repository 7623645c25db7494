"""Benchmark of the supervisory metrics: ``python3 benchmarks/bench_metrics.py [--quick] [--repeat N]``.

Network: the seeded position-level network of ``bench_mechanics.py`` (1,000,000 secured positions
on 2,000 tokens and 10,000 protocols, 50,000 claims, 200,000 holdings; ``--quick``: 100,000
positions), written once as a CSV pair to ``benchmarks/data/``.

Measured, best of ``--repeat`` runs (other jobs share the 2 cores):

* baseline: a bare Arrow read of the same files (``pyarrow.csv.read_csv`` of ``nodes.csv`` and
  ``edges.csv``), the unit every ratio refers to;
* ``read_graph`` of the same files (for reference: the metrics start from a network in memory);
* :func:`exposure.metrics.supervisory_metrics` — all eight sections, liquidation curves included
  (target: under 20 s at 1,000,000 positions);
* :func:`exposure.metrics.liquidation_curves` of every collateral token at 101 price points
  (target: under 10 s);
* peak resident memory of the process.

Prints a table and writes ``benchmarks/results/bench_metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pyarrow.csv as pacsv  # noqa: E402

from bench_mechanics import mechanics_network  # noqa: E402
from network import best_of  # noqa: E402
from exposure import read_graph, write_graph  # noqa: E402
from exposure.metrics import liquidation_curves, supervisory_metrics  # noqa: E402

DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results"


def ensure_data(n_positions: int) -> Path:
    d = DATA / f"metrics-{n_positions}"
    if not (d / "edges.csv").exists():
        d.mkdir(parents=True, exist_ok=True)
        write_graph(mechanics_network(n_positions=n_positions), d)
    return d


def bare_read(d: Path):
    return pacsv.read_csv(d / "nodes.csv"), pacsv.read_csv(d / "edges.csv")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 positions instead of 1,000,000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    n_positions = 100_000 if args.quick else 1_000_000
    d = ensure_data(n_positions)
    t_base, _ = best_of(lambda: bare_read(d), args.repeat)
    t_read, net = best_of(lambda: read_graph(d), 1)
    t_all, m = best_of(lambda: supervisory_metrics(net), args.repeat)
    t_curves, curves = best_of(lambda: liquidation_curves(net, points=101), args.repeat)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("bare Arrow read of nodes.csv + edges.csv (baseline)", t_base, 1.0),
        ("read_graph (CSV pair)", t_read, t_read / t_base),
        ("supervisory_metrics: all sections", t_all, t_all / t_base),
        (f"liquidation_curves: {curves['token'].nunique()} tokens x 101 points", t_curves, t_curves / t_base),
    ]
    print(f"{len(net.positions):,} positions, {net.n:,} nodes, {len(net.claims):,} claims, "
          f"{len(net.holdings):,} holdings; composition iterations {m.composition['iterations']}")
    for name, t, r in rows:
        print(f"{name:<60} {t:8.2f} s  {r:7.2f} x baseline")
    print(f"peak memory {peak:,.0f} MB")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"positions": int(len(net.positions)), "nodes": int(net.n), "repeat": args.repeat,
           "python": platform.python_version(), "peak_mb": peak,
           "times": {name: {"seconds": t, "x_baseline": r} for name, t, r in rows},
           "targets": {"supervisory_metrics_s": 20.0, "liquidation_curves_s": 10.0}}
    (RESULTS / "bench_metrics.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

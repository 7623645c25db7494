"""Load benchmark: read the seeded benchmark network from CSV (nodes.csv + edges.csv).

Usage::

    python3 benchmarks/bench_load.py            # 1,000,000 nodes, ~10,000,000 edges
    python3 benchmarks/bench_load.py --quick    # 100,000 nodes, ~1,000,000 edges

The network comes from ``benchmarks/network.py`` (``benchmark_network``, ``write_csv``) and is
written once to ``benchmarks/data/net-N-seed0/`` (git-ignored; reused when present). Each load
runs in a fresh Python process, so its peak memory is the load's own: the parent samples the
child's resident set size every 5 ms (psutil; no thread inside the measured process), and the
figure reported is the peak minus the process's size after ``import exposure``. Loads and
baseline parses are interleaved and repeated; the best time of each is taken.

Times are also given as ratios to two baselines measured in the same run, on the same machine
and files: a bare ``pandas.read_csv`` of ``edges.csv`` (C parser, default options: the cost of
parsing alone) and one sparse mat-vec ``L @ x`` on the loaded network.
Results are printed as a table and written to ``benchmarks/results/bench_load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

CHILD = r"""
import json, os, sys, time
import psutil
sys.path.insert(0, {root!r})
import numpy as np, pandas as pd
import exposure.io
base = psutil.Process().memory_info().rss
what = {what!r}
t0 = time.perf_counter()
if what == "load":
    net = exposure.io.read_graph({path!r})
    elapsed = time.perf_counter() - t0
    out = {{"nodes": net.n, "edges": net.n_claims, "problems": len(net.problems)}}
    x = np.ones(net.n)
    best = float("inf")
    for _ in range(5):
        s = time.perf_counter()
        y = net.liabilities @ x
        best = min(best, time.perf_counter() - s)
    out["matvec_s"] = best
    out["result_bytes"] = int(net.liabilities.data.nbytes + net.liabilities.indices.nbytes
                              + net.liabilities.indptr.nbytes
                              + sum(int(net.claims[c].memory_usage(index=False, deep=False))
                                    for c in net.claims.columns) + net.claims.index.nbytes)
else:
    frame = pd.read_csv(os.path.join({path!r}, "edges.csv"))
    elapsed = time.perf_counter() - t0
    out = {{"rows": len(frame)}}
out.update(seconds=elapsed, base_rss=base)
print(json.dumps(out))
"""


def ensure_data(n: int, seed: int = 0) -> Path:
    sys.path.insert(0, str(HERE))
    from network import benchmark_network, write_csv

    d = HERE / "data" / f"net-{n}-seed{seed}"
    if (d / "nodes.csv").exists() and (d / "edges.csv").exists():
        return d
    t0 = time.perf_counter()
    net = benchmark_network(n, seed)
    t1 = time.perf_counter()
    write_csv(net, d)
    print(f"generated {net!r} in {t1 - t0:.1f} s, wrote CSV in {time.perf_counter() - t1:.1f} s", file=sys.stderr)
    return d


def child(what: str, path: Path) -> dict:
    """Run one measurement in a fresh interpreter (see :func:`run_child`)."""
    return run_child(CHILD.format(root=str(ROOT), what=what, path=str(path)), what)


def run_child(code: str, what: str) -> dict:
    """Run ``code`` in a fresh interpreter; its resident set size is sampled from here (every 5 ms),
    so that sampling takes nothing from the measured process. The code prints one JSON line with
    at least ``base_rss``; ``peak_rss`` is added."""
    import psutil

    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    watch = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, watch.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.005)
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{what} failed:\n{err}")
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_rss"] = max(peak, res["base_rss"])
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 nodes instead of 1,000,000")
    ap.add_argument("--n", type=int, default=None, help="number of nodes (overrides --quick)")
    ap.add_argument("--repeat", type=int, default=None, help="repetitions (default 3, 2 at full size)")
    args = ap.parse_args(argv)
    n = args.n or (100_000 if args.quick else 1_000_000)
    repeat = args.repeat or (3 if n <= 200_000 else 2)
    d = ensure_data(n)
    sizes = {p.name: p.stat().st_size for p in (d / "nodes.csv", d / "edges.csv")}
    loads, parses = [], []
    for _ in range(repeat):  # interleaved, so that both see the same machine load
        parses.append(child("parse", d))
        loads.append(child("load", d))
    load = min(loads, key=lambda r: r["seconds"])
    parse = min(parses, key=lambda r: r["seconds"])
    peak = min(r["peak_rss"] - r["base_rss"] for r in loads)
    parse_peak = min(r["peak_rss"] - r["base_rss"] for r in parses)
    matvec = min(r["matvec_s"] for r in loads)
    result = {
        "nodes": load["nodes"], "edges": load["edges"], "repeat": repeat, "cpu_count": os.cpu_count(),
        "file_bytes": sizes,
        "load_seconds": load["seconds"], "load_seconds_all": [r["seconds"] for r in loads],
        "load_peak_rss_bytes": peak, "network_bytes": load["result_bytes"],
        "baseline_read_csv_seconds": parse["seconds"], "baseline_read_csv_peak_rss_bytes": parse_peak,
        "baseline_matvec_seconds": matvec,
        "ratio_load_to_read_csv": load["seconds"] / parse["seconds"],
        "ratio_load_to_matvec": load["seconds"] / matvec,
    }
    gb = 1024 ** 3
    rows = [
        ("network", f"{result['nodes']:,} nodes, {result['edges']:,} edges"),
        ("CSV size", f"{sum(sizes.values()) / gb:.2f} GiB"),
        ("load (read_graph), best of %d" % repeat, f"{result['load_seconds']:.2f} s"),
        ("  peak RSS above interpreter", f"{peak / gb:.2f} GiB"),
        ("  loaded network (L + claims table)", f"{result['network_bytes'] / gb:.2f} GiB"),
        ("baseline: pandas.read_csv(edges.csv)", f"{parse['seconds']:.2f} s, peak {parse_peak / gb:.2f} GiB"),
        ("baseline: one mat-vec L @ x", f"{matvec * 1e3:.1f} ms"),
        ("ratio load / read_csv", f"{result['ratio_load_to_read_csv']:.2f}"),
        ("ratio load / mat-vec", f"{result['ratio_load_to_matvec']:.0f}"),
    ]
    w = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a:<{w}}  {b}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    name = "bench_load.json" if n == 1_000_000 else f"bench_load-{n}.json"
    (out / name).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

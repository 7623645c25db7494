"""Load benchmark: the seeded benchmark network read from CSV and from Parquet, and the commands
that read it, against bare Arrow reads of the same files.

Usage::

    python3 benchmarks/bench_load.py                    # 1,000,000 nodes, ~10,000,000 edges
    python3 benchmarks/bench_load.py --quick            # 100,000 nodes, ~1,000,000 edges
    python3 benchmarks/bench_load.py --data /tmp/bench  # where the generated graphs are kept
    python3 benchmarks/bench_load.py --no-cli           # read_graph only, not the commands

The network comes from ``benchmarks/network.py`` (``benchmark_network``, ``write_csv``) and is
written once to ``DATA/net-N-seed0/`` (CSV pair) and ``DATA/net-N-seed0-parquet/`` (the same
graph through ``write_graph(..., format="parquet")``); both are reused when present. ``DATA`` is
``benchmarks/data`` (git-ignored) unless ``--data`` says otherwise.

Every measurement runs in a fresh Python process, so its peak memory is its own: the parent
samples the child's resident set size every 5 ms (psutil; no thread inside the measured
process). Measurements are interleaved and repeated; the best time of each is taken.

Baselines, measured in the same run on the same files:

* ``pyarrow.csv.read_csv`` of ``nodes.csv`` and of ``edges.csv`` (multithreaded, default options);
* ``pyarrow.parquet.read_table`` of ``nodes.parquet`` and of ``edges.parquet``;
* one sparse mat-vec ``L @ x`` on the loaded network.

``read_graph`` of each form is given as a ratio to the bare read of the same form. The commands
(``exposure clear DIR --shock-file F -o out.parquet`` and ``-o out.csv``, ``exposure info DIR``,
``exposure validate DIR``) are timed from process start to exit (the output file closed), with
their peak resident set, and also given as ratios to the bare read of their input's form. The
shock is :func:`network.benchmark_shock` (2% of the nodes lose all external assets).
Results are printed as a table and written to ``benchmarks/results/bench_load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
import numpy as np
import exposure.io
base = psutil.Process().memory_info().rss
what, path = {what!r}, {path!r}
t0 = time.perf_counter()
if what == "load":
    net = exposure.io.read_graph(path)
    elapsed = time.perf_counter() - t0
    out = {{"nodes": net.n, "edges": net.n_claims + len(net.holdings) + len(net.positions), "problems": len(net.problems)}}
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
elif what == "csv":
    import pyarrow.csv as pacsv
    rows = [pacsv.read_csv(os.path.join(path, f)).num_rows for f in ("nodes.csv", "edges.csv")]
    elapsed = time.perf_counter() - t0
    out = {{"rows": rows}}
else:
    import pyarrow.parquet as pq
    rows = [pq.read_table(os.path.join(path, f)).num_rows for f in ("nodes.parquet", "edges.parquet")]
    elapsed = time.perf_counter() - t0
    out = {{"rows": rows}}
out.update(seconds=elapsed, base_rss=base)
print(json.dumps(out))
"""


def ensure_data(n: int, data: Path, seed: int = 0) -> tuple[Path, Path]:
    """The CSV and Parquet directories of the benchmark network (generated once)."""
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    from network import benchmark_network, write_csv

    d = data / f"net-{n}-seed{seed}"
    if not ((d / "nodes.csv").exists() and (d / "edges.csv").exists()):
        t0 = time.perf_counter()
        net = benchmark_network(n, seed)
        t1 = time.perf_counter()
        write_csv(net, d)
        print(f"generated {net!r} in {t1 - t0:.1f} s, wrote CSV in {time.perf_counter() - t1:.1f} s",
              file=sys.stderr)
    p = data / f"net-{n}-seed{seed}-parquet"
    if not ((p / "nodes.parquet").exists() and (p / "edges.parquet").exists()):
        import exposure.io

        exposure.io.write_graph(exposure.io.read_graph(d), p, format="parquet")
    return d, p


def ensure_shock(n: int, data: Path, csv_dir: Path, seed: int = 0) -> Path:
    """The benchmark shock as a ``--shock-file`` (JSON list of ``{"node", "fraction"}``)."""
    path = data / f"shock-{n}-seed{seed}.json"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        import exposure.io
        from network import benchmark_shock

        shock = benchmark_shock(exposure.io.read_graph(csv_dir), seed)
        path.write_text(json.dumps([{"node": k, "fraction": v} for k, v in shock.items()]))
    return path


def child(what: str, path: Path) -> dict:
    """Run one measurement in a fresh interpreter (see :func:`run_child`)."""
    return run_child([sys.executable, "-c", CHILD.format(root=str(ROOT), what=what, path=str(path))], what)


def run_child(cmd: list[str], what: str, *, json_out: bool = True) -> dict:
    """Run ``cmd`` in a fresh process; its resident set size is sampled from here (every 5 ms), so
    that sampling takes nothing from the measured process. With ``json_out`` the process prints
    one JSON line with at least ``base_rss``; otherwise the wall time from start to exit is taken.
    ``peak_rss`` is added."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, watch.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.005)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{what} failed:\n{err}")
    if not json_out:
        return {"seconds": wall, "peak_rss": peak, "base_rss": 0}
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_rss"] = max(peak, res["base_rss"])
    return res


def commands(csv_dir: Path, pq_dir: Path, shock: Path, out: Path) -> dict[str, tuple[str, list[str]]]:
    """The commands timed end to end: name -> (form of the input, argv)."""
    exe = [sys.executable, "-m", "exposure"]
    cmds = {}
    for form, d in (("parquet", pq_dir), ("csv", csv_dir)):
        for suffix in ("parquet", "csv"):
            cmds[f"clear {form} -o out.{suffix}"] = (form, [*exe, "clear", str(d), "--shock-file", str(shock),
                                                            "-o", str(out / f"clear-{form}.{suffix}")])
    cmds["info csv"] = ("csv", [*exe, "info", str(csv_dir)])
    cmds["info parquet"] = ("parquet", [*exe, "info", str(pq_dir)])
    cmds["validate csv"] = ("csv", [*exe, "validate", str(csv_dir)])
    cmds["validate parquet"] = ("parquet", [*exe, "validate", str(pq_dir)])
    return cmds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 nodes instead of 1,000,000")
    ap.add_argument("--n", type=int, default=None, help="number of nodes (overrides --quick)")
    ap.add_argument("--repeat", type=int, default=None, help="repetitions (default 3, 2 at full size)")
    ap.add_argument("--data", type=Path, default=HERE / "data", help="where the generated graphs are kept")
    ap.add_argument("--no-cli", action="store_true", help="time read_graph only, not the commands")
    args = ap.parse_args(argv)
    n = args.n or (100_000 if args.quick else 1_000_000)
    repeat = args.repeat or (3 if n <= 200_000 else 2)
    csv_dir, pq_dir = ensure_data(n, args.data)
    sizes = {str(p.relative_to(args.data)): p.stat().st_size
             for p in (csv_dir / "nodes.csv", csv_dir / "edges.csv", pq_dir / "nodes.parquet", pq_dir / "edges.parquet")}
    runs: dict[str, list[dict]] = {k: [] for k in ("csv", "parquet", "load csv", "load parquet")}
    cli = {} if args.no_cli else commands(csv_dir, pq_dir, ensure_shock(n, args.data, csv_dir), args.data / "out")
    if cli:
        (args.data / "out").mkdir(exist_ok=True)
    runs.update({k: [] for k in cli})
    for _ in range(repeat):  # interleaved, so that every measurement sees the same machine load
        runs["csv"].append(child("csv", csv_dir))
        runs["load csv"].append(child("load", csv_dir))
        runs["parquet"].append(child("parquet", pq_dir))
        runs["load parquet"].append(child("load", pq_dir))
        for name, (_, cmd) in cli.items():
            runs[name].append(run_child(cmd, name, json_out=False))
    if cli:
        shutil.rmtree(args.data / "out", ignore_errors=True)
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in runs.items()}
    peak = {k: min(r["peak_rss"] - r["base_rss"] for r in v) for k, v in runs.items()}
    load = best["load csv"]
    gb = 1024 ** 3
    result = {
        "nodes": load["nodes"], "edges": load["edges"], "repeat": repeat, "cpu_count": os.cpu_count(),
        "file_bytes": sizes,
        "baseline_arrow_csv_seconds": best["csv"]["seconds"],
        "baseline_arrow_parquet_seconds": best["parquet"]["seconds"],
        "baseline_matvec_seconds": min(r["matvec_s"] for r in runs["load csv"]),
        "network_bytes": load["result_bytes"],
        "seconds": {k: best[k]["seconds"] for k in runs},
        "seconds_all": {k: [r["seconds"] for r in v] for k, v in runs.items()},
        "peak_rss_bytes": peak,
        "ratio_to_arrow": {},
    }
    rows = [
        ("network", f"{result['nodes']:,} nodes, {result['edges']:,} edges"),
        ("files", ", ".join(f"{k} {v / gb:.2f} GiB" for k, v in sizes.items())),
        (f"baseline: pyarrow.csv.read_csv of both files, best of {repeat}", f"{best['csv']['seconds']:.2f} s"),
        ("baseline: pyarrow.parquet.read_table of both files", f"{best['parquet']['seconds']:.2f} s"),
        ("baseline: one mat-vec L @ x", f"{result['baseline_matvec_seconds'] * 1e3:.1f} ms"),
        ("loaded network (L + claims table)", f"{result['network_bytes'] / gb:.2f} GiB"),
    ]
    forms = {"load csv": "csv", "load parquet": "parquet", **{k: f for k, (f, _) in cli.items()}}
    for name, form in forms.items():
        ratio = best[name]["seconds"] / best[form]["seconds"]
        result["ratio_to_arrow"][name] = ratio
        label = name.replace("load ", "read_graph ") if name.startswith("load") else f"exposure {name}"
        extra = "above interpreter" if name.startswith("load") else "of the process"
        rows.append((label, f"{best[name]['seconds']:.2f} s = {ratio:.2f}x Arrow ({form}), "
                            f"peak {peak[name] / gb:.2f} GiB {extra}"))
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

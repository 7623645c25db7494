"""Import benchmark: ``exposure import --from aave-subgraph`` of an export with 1,000,000 user reserves.

Usage::

    python3 benchmarks/bench_import.py            # 1,000,000 user reserves (about 280 MB of JSON)
    python3 benchmarks/bench_import.py --quick    # 100,000

The export comes from ``benchmarks/aave_export.py`` (seeded; written once to
``benchmarks/data/aave-N-seed0.json``, git-ignored). Each measurement runs in a fresh Python process
whose resident set is sampled from outside every 5 ms (``bench_load.run_child``); peak memory is
reported above the interpreter's size after ``import exposure``. Measured, interleaved and repeated
(best time of each):

* ``import``: ``import_graph(..., "aave-subgraph")`` with positions aggregated per (collateral, debt,
  e-mode), then ``write_graph`` of the result to JSON — the whole command's work;
* ``import --positions user``: the same with one position per account;
* the baseline: a bare ``json.load`` of the same file (the cost of parsing alone).

Targets (docs/import.md): import under 30 s and under 3 GB at 1,000,000 user reserves. Results are
printed and written to ``benchmarks/results/bench_import.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from aave_export import write_aave_export  # noqa: E402
from bench_load import run_child  # noqa: E402

CHILD = r"""
import json, os, sys, time
import psutil
sys.path.insert(0, {root!r})
import exposure
from exposure.io import import_graph, write_graph
base = psutil.Process().memory_info().rss
what, path, out = {what!r}, {path!r}, {out!r}
t0 = time.perf_counter()
if what == "json":
    with open(path, "rb") as fh:
        doc = json.load(fh)
    res = {{"records": len(doc["data"]["userReserves"])}}
else:
    r = import_graph([path], "aave-subgraph", positions="user" if what == "user" else "aggregate")
    write_graph(r.network, out)
    net = r.network
    res = {{"nodes": net.n, "positions": len(net.positions), "warnings": len(r.problems),
           "out_bytes": os.path.getsize(out)}}
res.update(seconds=time.perf_counter() - t0, base_rss=base)
print(json.dumps(res))
"""


def measure(what: str, path: Path, out: Path) -> dict:
    return run_child(CHILD.format(root=str(ROOT), what=what, path=str(path), out=str(out)), what)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 user reserves instead of 1,000,000")
    ap.add_argument("--n", type=int, default=None, help="number of user reserves (overrides --quick)")
    ap.add_argument("--repeat", type=int, default=2, help="repetitions of each measurement")
    args = ap.parse_args(argv)
    n = args.n or (100_000 if args.quick else 1_000_000)
    path = HERE / "data" / f"aave-{n}-seed0.json"
    if not path.exists():
        write_aave_export(n, path)
    runs: dict[str, list[dict]] = {"json": [], "aggregate": [], "user": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "graph.json"
        for _ in range(args.repeat):           # interleaved: every measurement sees the same machine load
            for what in runs:
                runs[what].append(measure(what, path, out))
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in runs.items()}
    peak = {k: min(r["peak_rss"] - r["base_rss"] for r in v) for k, v in runs.items()}
    gb = 1024 ** 3
    result = {
        "user_reserves": best["json"]["records"], "file_bytes": path.stat().st_size, "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        "baseline_json_load_seconds": best["json"]["seconds"], "baseline_json_load_peak_rss_bytes": peak["json"],
    }
    for k in ("aggregate", "user"):
        result[f"import_{k}_seconds"] = best[k]["seconds"]
        result[f"import_{k}_seconds_all"] = [r["seconds"] for r in runs[k]]
        result[f"import_{k}_peak_rss_bytes"] = peak[k]
        result[f"import_{k}_nodes"] = best[k]["nodes"]
        result[f"import_{k}_positions"] = best[k]["positions"]
        result[f"ratio_import_{k}_to_json_load"] = best[k]["seconds"] / best["json"]["seconds"]
    rows = [("export", f"{result['user_reserves']:,} user reserves, {result['file_bytes'] / 1e6:.0f} MB")]
    rows.append(("baseline: json.load", f"{best['json']['seconds']:.2f} s, peak {peak['json'] / gb:.2f} GiB"))
    for k, label in (("aggregate", "import (aggregate positions)"), ("user", "import --positions user")):
        rows.append((f"{label}, best of {args.repeat}",
                     f"{best[k]['seconds']:.2f} s, peak {peak[k] / gb:.2f} GiB, {best[k]['nodes']:,} nodes, "
                     f"{best[k]['positions']:,} positions; x{result[f'ratio_import_{k}_to_json_load']:.2f} "
                     "json.load"))
    w = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a:<{w}}  {b}")
    res_dir = HERE / "results"
    res_dir.mkdir(exist_ok=True)
    name = "bench_import.json" if n == 1_000_000 else f"bench_import-{n}.json"
    (res_dir / name).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

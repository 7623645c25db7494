"""Benchmark of the block solver: ``python3 benchmarks/bench_block.py [--quick] [--repeat N]``.

Per-draw cost of :func:`exposure.defi.solve_block` (vectorised) on the bundled DeFi graph
(``graphs/defi.json``: 113 nodes, 44 claims, 30 holdings, 31 secured positions, first-loss
buffers, share-type nodes, ETH-denominated tokens and claims) for blocks of 1, 64, 256 and
1,024 draws, against **one** :func:`~exposure.defi.solve_system` call on a draw of the same
block, measured in the same run (the baseline: the cost of clearing one draw one at a time).

Two seeded shock blocks:

* ``market``: a one-factor market, as a Monte Carlo model draws it: ETH and BTC returns
  ``0.12·Z + 0.03·ε`` (``Z`` a common Student-t(4) factor scaled to unit variance), every token
  and stable asset a depeg ``−|0.005·ε|`` and with probability 0.002 a jump to a depeg Beta(1, 2);
  every protocol with probability 0.001 loses a fraction Beta(1, 2) of its assets. Most draws clear
  in a few rounds;
* ``crash``: the random blocks of the tests (``tests/test_defi_block.py``: asset losses,
  price moves, depegs, forged supply, depth cuts on 8% of the entries; one draw in eight an ETH
  crash of 40-80% with depth cut to 1-10%), which liquidate, fire-sell and default for up to
  tens of rounds: a stress test, not a typical Monte Carlo.

Reported, best of ``--repeat`` runs: time per draw, its ratio to one ``solve_system`` call, the
mean rounds per draw, and the projected time of 100,000 draws in blocks of 1,024 on one core.

Prints a table and writes ``benchmarks/results/bench_block.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import exposure  # noqa: E402
from exposure.defi import MarketShock, solve_block, solve_system  # noqa: E402
from exposure.exceptions import ConvergenceWarning  # noqa: E402
from test_defi_block import random_block  # noqa: E402  (the crash blocks of the tests)


def market_block(net, k: int, seed: int) -> dict:
    """The ``market`` block (module docstring)."""
    rng = np.random.default_rng(seed)
    n = net.n
    kinds = np.asarray(net.kinds)
    ids = net.node_ids
    z = rng.standard_t(4, k) / np.sqrt(2.0)                 # unit variance
    change = np.zeros((k, n))
    for asset in ("ETH", "BTC"):
        change[:, ids.get_loc(asset)] = np.maximum(-0.95, 0.12 * z + 0.03 * rng.standard_normal(k))
    priced = (kinds == "token") | (kinds == "asset")
    priced[[ids.get_loc("ETH"), ids.get_loc("BTC")]] = False
    depeg = -np.abs(0.005 * rng.standard_normal((k, n)))
    jump = rng.random((k, n)) < 0.002
    depeg = np.where(jump, -rng.beta(1.0, 2.0, (k, n)), depeg) * priced
    protocol = kinds != "token"
    protocol &= kinds != "asset"
    hit = (rng.random((k, n)) < 0.001) & protocol
    loss = np.where(hit, rng.beta(1.0, 2.0, (k, n)), 0.0)
    return {"price_change": change, "depeg": depeg, "asset_loss": loss}


def row_shock(net, block, j):
    ids = list(net.node_ids)
    neutral = {"depth_factor": 1.0}
    return MarketShock(**{name: {ids[i]: float(v) for i, v in enumerate(arr[j]) if v != neutral.get(name, 0.0)}
                          for name, arr in block.items()})


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="blocks of 1, 64 and 256 draws only")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    net = exposure.read_graph(ROOT / "graphs" / "defi.json")
    sizes = [1, 64, 256] if args.quick else [1, 64, 256, 1024]
    rows = []
    for name, make in (("market", market_block), ("crash", lambda net, k, seed: random_block(net, k, seed))):
        big = make(net, max(sizes), 2026)
        # the baseline: one solve_system call per draw, on the first 16 draws of the block (mean)
        probe = 16
        t_single, _ = best(lambda: [solve_system(net, row_shock(net, big, j)) for j in range(probe)], args.repeat)
        t_single /= probe
        solve_block(net, {f: a[:2] for f, a in big.items()})   # build the network's arrays once
        for k in sizes:
            block = {f: a[:k] for f, a in big.items()}
            t, out = best(lambda: solve_block(net, block), args.repeat)
            per = t / k
            rows.append({"block": name, "draws": k, "ms_per_draw": per * 1e3, "solve_system_ms": t_single * 1e3,
                         "ratio_to_solve_system": per / t_single, "mean_rounds": float(out.rounds.mean()),
                         "max_rounds": int(out.rounds.max()), "fallback": int(out.fallback.sum()),
                         "projected_100k_s": per * 100_000})
    print(f"{'block':8} {'draws':>6} {'ms/draw':>9} {'solve_system ms':>16} {'ratio':>7} {'rounds':>7} "
          f"{'max':>4} {'100k draws s':>13}")
    for r in rows:
        print(f"{r['block']:8} {r['draws']:6d} {r['ms_per_draw']:9.3f} {r['solve_system_ms']:16.3f} "
              f"{r['ratio_to_solve_system']:7.3f} {r['mean_rounds']:7.2f} {r['max_rounds']:4d} "
              f"{r['projected_100k_s']:13.1f}")
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench_block.json").write_text(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()

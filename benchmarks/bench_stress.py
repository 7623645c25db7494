"""Benchmark of stress runs and reverse stress: ``python3 benchmarks/bench_stress.py [--quick]``.

Network (seeded, version 2): base assets ETH, USDC, BTC; ``T`` issuers, each
holding base assets and owing its token 90–99% of them; ``T`` tokens with
market depth; ``V`` lending venues funded by outside suppliers (equity 3–8%);
``P`` secured positions of random borrowers on random tokens (Zipf-weighted),
LTV 0.5–0.9, threshold LTV + 0.03, oracle drawn among the four types.

Measured, best of ``--repeat`` runs (other jobs share the 2 cores):

* unit costs: one sparse mat-vec ``Πᵀp`` and one vectorised pass over the
  positions (health of every position), the baselines every ratio refers to;
* one :func:`solve_system` with no shock and with a 20% depeg of the largest token;
* :func:`run_scenarios` over 5 scenarios;
* :func:`reverse_stress` of a depeg on the largest tokens in this process and on a
  local Dask cluster of 2 workers (:mod:`exposure.executor`, started once, before the
  timings), alternating: time per solve, solves per node, speed-up of 2 workers
  (wall time). Without dask.distributed the 2-worker column repeats the in-process run.

Prints a table and writes ``benchmarks/results/bench_stress.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from network import best_of  # noqa: E402

from exposure.defi import MarketShock, solve_system  # noqa: E402
from exposure.network import ORACLES, ExposureNetwork  # noqa: E402
from exposure.io.scenarios import Scenario  # noqa: E402
from exposure.executor import Executor  # noqa: E402
from exposure.stress import reverse_stress, run_scenarios  # noqa: E402


def stress_network(n_tokens: int, n_venues: int, n_positions: int, seed: int = 0) -> ExposureNetwork:
    """The seeded version-2 network described in the module docstring."""
    rng = np.random.default_rng(seed)
    assets = ["ETH", "USDC", "BTC"]
    issuers = [f"iss{k}" for k in range(n_tokens)]
    tokens = [f"tok{k}" for k in range(n_tokens)]
    venues = [f"venue{k}" for k in range(n_venues)]
    n_borrowers = max(10, n_positions // 20)
    borrowers = [f"b{k}" for k in range(n_borrowers)]
    backing = rng.lognormal(18, 1.5, n_tokens)                         # USD held by each issuer
    weights = 1.0 / np.arange(1, n_tokens + 1) ** 1.1                  # Zipf popularity of tokens
    weights /= weights.sum()
    ctoken = rng.choice(n_tokens, n_positions, p=weights)
    collateral = rng.lognormal(12, 1.5, n_positions)
    # Positions on a token cannot exceed its supply (what the issuer owes the token): scale down.
    per_token = np.bincount(ctoken, weights=collateral, minlength=n_tokens)
    supply = backing * rng.uniform(0.90, 0.99, n_tokens)
    scale = np.minimum(1.0, 0.8 * supply / np.maximum(per_token, 1.0))
    collateral *= scale[ctoken]
    ltv = rng.uniform(0.5, 0.9, n_positions)
    debt = collateral * ltv
    lender = rng.integers(0, n_venues, n_positions)
    lent = np.bincount(lender, weights=debt, minlength=n_venues)
    nodes = pd.DataFrame({
        "id": assets + issuers + tokens + venues + borrowers,
        "kind": ["asset"] * 3 + ["protocol"] * n_tokens + ["token"] * n_tokens + ["venue"] * n_venues
        + ["protocol"] * n_borrowers,
        "issuer": [None] * (3 + n_tokens) + issuers + [None] * (n_venues + n_borrowers),
        "external_liabilities": np.r_[np.zeros(3 + 2 * n_tokens), lent * rng.uniform(0.92, 0.97, n_venues),
                                      np.zeros(n_borrowers)],
        "depth": np.r_[[5e8, 2e9, 3e8], np.full(n_tokens, np.nan), rng.lognormal(16, 1.5, n_tokens),
                       np.full(n_venues + n_borrowers, np.nan)],
        "depth_slippage": np.r_[[0.04, 0.01, 0.04], np.full(n_tokens, np.nan), np.full(n_tokens, 0.02),
                                np.full(n_venues + n_borrowers, np.nan)],
    })
    for c in ("issuer", "depth", "depth_slippage"):
        nodes[c] = nodes[c].astype(object).where(nodes[c].notna(), None)
    asset_of = rng.integers(0, 3, n_tokens)
    edges = pd.concat([
        pd.DataFrame({"kind": "holding", "holder": issuers, "token": np.array(assets)[asset_of], "amount": backing}),
        pd.DataFrame({"kind": "claim", "debtor": issuers, "creditor": tokens, "amount": supply}),
        pd.DataFrame({"kind": "collateral", "lender": np.array(venues)[lender],
                      "borrower": np.array(borrowers)[rng.integers(0, n_borrowers, n_positions)],
                      "collateral_token": np.array(tokens)[ctoken], "collateral": collateral,
                      "debt_token": np.where(rng.random(n_positions) < 0.7, "USDC", "ETH"), "debt": debt,
                      "liquidation_threshold": np.minimum(ltv + 0.03, 0.97), "liquidation_bonus": 0.05,
                      "close_factor": 0.5, "oracle": rng.choice(list(ORACLES), n_positions)}),
    ], ignore_index=True)
    edges = edges.astype(object).where(edges.notna(), None)
    return ExposureNetwork.from_frames(nodes, edges, meta={"version": 2, "name": f"stress-bench-{seed}"})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small network, one repeat")
    ap.add_argument("--repeat", type=int, default=None)
    args = ap.parse_args(argv)
    if args.quick:
        n_tokens, n_venues, n_positions, repeat, n_reverse = 20, 10, 2_000, 1, 20
    else:
        n_tokens, n_venues, n_positions, repeat, n_reverse = 200, 100, 100_000, 3, 8
    repeat = args.repeat or repeat
    t0 = time.perf_counter()
    net = stress_network(n_tokens, n_venues, n_positions, seed=0)
    build = time.perf_counter() - t0

    Pi = net.relative_liabilities()
    p = net.total_obligations()
    t_matvec, _ = best_of(lambda: [Pi.T @ p for _ in range(100)], repeat)
    t_matvec /= 100
    pos = net.positions
    C, D, lt = (pos[c].to_numpy(dtype=np.float64) for c in ("collateral", "debt", "liquidation_threshold"))
    o = np.random.default_rng(1).uniform(0.8, 1.0, len(C))
    t_pass, _ = best_of(lambda: [np.where(D > 0, C * o * lt / np.maximum(D, 1e-300), np.inf) for _ in range(20)],
                        repeat)
    t_pass /= 20

    big = f"tok{0}"
    t_base, base = best_of(lambda: solve_system(net), repeat)
    t_shock, shocked = best_of(lambda: solve_system(net, MarketShock(depeg={big: -0.2})), repeat)
    scenarios = [Scenario.from_dict({"name": f"s{k}", "shocks": sh}) for k, sh in enumerate([
        [{"type": "depeg", "node": "tok0", "change": -0.2}],
        [{"type": "price", "node": "ETH", "change": -0.3}],
        [{"type": "asset_loss", "node": "iss1", "fraction": 0.5}],
        [{"type": "forged_supply", "node": "tok2", "fraction": 0.2}, {"type": "liquidity", "node": "tok2",
                                                                       "depth_factor": 0.2}],
        [{"type": "price", "node": "BTC", "change": -0.4}, {"type": "depeg", "node": "tok1", "change": -0.1}]])]
    t_run, res = best_of(lambda: run_scenarios(net, scenarios), repeat)

    nodes = [f"tok{k}" for k in range(min(n_reverse, n_tokens))]
    target = "bad_debt>1e6"
    # In process and two workers alternate, so that both see the same load from other jobs; wall time is the
    # best of the runs; CPU time is this process's (the workers' time is not counted in it).
    wall = {1: [], 2: []}
    cpu = {1: [], 2: []}
    tables = {}
    try:
        import distributed  # noqa: F401
        executors = {1: Executor(), 2: Executor(workers=2)}
    except ImportError:
        executors = {1: Executor(), 2: Executor()}
    for _ in range(repeat):
        for jobs in (1, 2):
            c0, t = os.times(), time.perf_counter()
            tables[jobs] = reverse_stress(net, "depeg", nodes, target, precision=1e-3, executor=executors[jobs])
            wall[jobs].append(time.perf_counter() - t)
            c1 = os.times()
            cpu[jobs].append(c1.user + c1.system + c1.children_user + c1.children_system
                             - (c0.user + c0.system + c0.children_user + c0.children_system))
    executors[2].close()
    rev1, rev2 = tables[1], tables[2]
    assert rev1.table.equals(rev2.table), "the parallel search must give the same table"
    t_rev1, t_rev2 = min(wall[1]), min(wall[2])
    solves = int(rev1.table["evaluations"].sum()) + 1

    rows = [
        ("build network", build, build / t_matvec),
        ("sparse mat-vec Πᵀp (unit)", t_matvec, 1.0),
        ("one pass over positions", t_pass, t_pass / t_matvec),
        ("solve_system, no shock", t_base, t_base / t_matvec),
        (f"solve_system, depeg 20% ({shocked.summary()['rounds']} rounds)", t_shock, t_shock / t_matvec),
        ("  per round, in passes over positions", t_shock / max(1, shocked.summary()["rounds"]),
         t_shock / max(1, shocked.summary()["rounds"]) / t_pass),
        ("run_scenarios, 5 scenarios", t_run, t_run / t_shock),
        (f"reverse_stress depeg, {len(nodes)} tokens, in process", t_rev1, t_rev1 / t_shock),
        (f"reverse_stress depeg, {len(nodes)} tokens, 2 workers", t_rev2, t_rev2 / t_shock),
    ]
    print(f"network: {net.n} nodes, {len(net.positions)} positions, {len(net.holdings)} holdings, "
          f"{net.n_claims} claims (cpu count {os.cpu_count()})")
    print(f"{'measure':58s} {'seconds':>10s} {'ratio':>12s}  "
          "(ratio: to the mat-vec; run/reverse: to one shocked solve)")
    for name, t, r in rows:
        print(f"{name:58s} {t:10.4f} {r:12.1f}")
    print(f"reverse stress: {solves} solves ({solves / len(nodes):.1f} per node), "
          f"{t_rev1 / solves * 1e3:.1f} ms per solve, speed-up of 2 workers {t_rev1 / t_rev2:.2f}x "
          f"(wall, best of {repeat}; every run: in process {[round(x, 2) for x in wall[1]]}, "
          f"2 workers {[round(x, 2) for x in wall[2]]}); CPU time of this process, 2 workers / in process "
          f"{min(cpu[2]) / min(cpu[1]):.2f}; load average {os.getloadavg()[0]:.1f}")
    out = {
        "network": {"nodes": net.n, "positions": len(net.positions), "holdings": len(net.holdings),
                    "claims": net.n_claims, "tokens": n_tokens, "venues": n_venues},
        "repeat": repeat, "quick": args.quick,
        "seconds": {name: t for name, t, _ in rows},
        "ratios": {name: r for name, _, r in rows},
        "reverse": {"nodes": len(nodes), "solves": solves, "seconds_per_solve": t_rev1 / solves,
                    "speedup_2_workers": t_rev1 / t_rev2, "wall_1": wall[1], "wall_2": wall[2],
                    "cpu_1": cpu[1], "cpu_2": cpu[2], "load_average": os.getloadavg()[0],
                    "breaking": rev1.to_frame().to_dict("records")},
        "scenarios": res.summary_frame().to_dict("records"),
    }
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "bench_stress.json").write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()

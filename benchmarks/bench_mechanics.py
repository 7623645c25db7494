"""Benchmark of the joint fixed point: ``python3 benchmarks/bench_mechanics.py [--quick] [--repeat N]``.

Synthetic position-level network (seeded): 2,000 tokens and 10,000 protocol nodes
carrying 1,000,000 secured positions (``--quick``: 100,000).

* 5 base assets (kind ``asset``: ETH, BTC, USD, EUR, SOL) and 1,995 tokens, 1,500 of
  them issued by a protocol that holds base assets worth 100–105% of what it owes its
  token (an LST, an LRT, a stablecoin); every token has market depth, lognormal, and
  the base assets are deep ($10B moves them by the 5% slippage);
* 1,000 of the 10,000 protocols are lenders funded by outside suppliers (equity 4%);
  50,000 claims among protocols; 200,000 holdings of tokens by protocols;
* positions: lender uniform, borrower uniform among protocols, collateral token
  Zipf-weighted, debt in USD or ETH, LTV 0.5–0.85, threshold LTV + 0.02–0.10,
  bonus 2–10%, close factor 0.5 or 1, oracle drawn among the four types;
* denominations: each issued token is redeemable in the base asset its issuer holds
  (``denomination`` ETH, BTC or SOL), so its backing claim is counted in that asset;
  each lender owes what it lent in ETH to an ETH supplier node by a claim denominated
  in ETH (the rest of its funding, lent in USD, is its external liabilities). ETH is
  itself posted as collateral and fire-sold, so the denominated obligations move in
  every round in which ETH's price moves, and those rounds clear cold (the table
  counts them). The same network without any denomination (every amount in USD) is
  solved as well.

Shock: ETH −35%, the 20 largest issuers lose 40% of their assets, depth of every
token halved. It liquidates for several rounds (falling redemption values reach
exchange-rate oracles a round later, close factors of 0.5 liquidate in steps, fire
sales lower market prices).

Measured, best of ``--repeat`` runs (other jobs share the 2 cores):

* baseline: one vectorised pass over the positions (oracle ratio, health, position
  values, aggregation by lender and borrower), the unit every ratio refers to;
* :func:`solve_system` (shocked and unshocked states), its time per round of the
  shocked run, and peak memory (resident set size of the process), on the network with
  denominations and on the same network without them.

Prints a table and writes ``benchmarks/results/bench_mechanics.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exposure.defi import MechanicsModel, PositionState  # noqa: E402
from exposure.defi._model import health, oracle_ratio, position_values  # noqa: E402  (the baseline's kernels)
from exposure.defi import MarketShock, solve_system  # noqa: E402
from exposure.network import ORACLES, ExposureNetwork  # noqa: E402

BASE = ["ETH", "BTC", "USD", "EUR", "SOL"]


def base_depth(depth: np.ndarray) -> np.ndarray:
    """Base assets (the first entries) are deep: $10B moves them by the slippage (5%)."""
    depth = depth.copy()
    depth[:len(BASE)] = 1e10
    return depth


def mechanics_network(n_positions=1_000_000, n_tokens=2000, n_protocols=10_000, n_lenders=1000,
                      n_issued=1500, seed=0, denominated=True) -> ExposureNetwork:
    """The seeded network of the module docstring (``denominated=False``: every amount in USD)."""
    rng = np.random.default_rng(seed)
    tok = BASE + [f"t{k}" for k in range(n_tokens - len(BASE))]
    pro = [f"p{k}" for k in range(n_protocols)]
    ids = np.array(tok + pro, dtype=object)
    nt = len(tok)
    issuer_of = np.full(nt, None, dtype=object)
    issued = np.arange(len(BASE), len(BASE) + n_issued)
    issuers = rng.choice(np.arange(n_lenders, n_protocols), n_issued, replace=False)   # not lenders
    issuer_of[issued] = np.array(pro, dtype=object)[issuers]
    # positions
    popularity = 1.0 / np.arange(1, nt + 1) ** 0.9
    ctok = rng.choice(nt, n_positions, p=popularity / popularity.sum())
    dtok = np.where(rng.random(n_positions) < 0.7, BASE.index("USD"), BASE.index("ETH"))
    same = ctok == dtok
    ctok[same] = BASE.index("BTC")
    C = rng.lognormal(10, 1.2, n_positions)
    ltv = rng.uniform(0.5, 0.85, n_positions)
    D = C * ltv
    lender = rng.integers(0, n_lenders, n_positions)
    borrower = rng.integers(n_lenders, n_protocols, n_positions)
    lent = np.bincount(lender, weights=D, minlength=n_protocols)
    # issuers owe their token the supply used as collateral plus what is held (5x headroom)
    supply = np.bincount(ctok, weights=C, minlength=nt) * 1.5 + 1e6
    backing = supply[issued]
    # external assets: lenders keep 4% equity in cash; issuers hold base assets
    e = np.zeros(nt + n_protocols)
    e[nt:nt + n_lenders] = 0.04 * lent[:n_lenders]
    x = np.zeros(nt + n_protocols)
    x[nt:nt + n_lenders] = lent[:n_lenders]
    nodes = pd.DataFrame({
        "id": ids,
        "kind": ["asset"] * len(BASE) + ["token"] * (nt - len(BASE)) + ["protocol"] * n_protocols,
        "issuer": pd.Series(np.r_[issuer_of, np.full(n_protocols, None, dtype=object)], dtype=object),
        "external_assets": e, "external_liabilities": x,
        "depth": np.r_[base_depth(rng.lognormal(18, 1.0, nt)), np.full(n_protocols, np.nan)],
        "depth_slippage": np.r_[np.full(nt, 0.05), np.full(n_protocols, np.nan)],
        "impact_exponent": np.r_[rng.choice([0.5, 1.0], nt), np.full(n_protocols, np.nan)],
    })
    for c in ("depth", "depth_slippage", "impact_exponent"):
        nodes[c] = nodes[c].astype(object).where(nodes[c].notna(), None)
    n_claims, n_hold = 50_000, 200_000
    cd, cc = rng.integers(0, n_protocols, n_claims), rng.integers(0, n_protocols, n_claims)
    ok = cd != cc
    claims = pd.DataFrame({"kind": "claim", "debtor": np.array(pro, dtype=object)[cd[ok]],
                           "creditor": np.array(pro, dtype=object)[cc[ok]],
                           "amount": rng.lognormal(8, 1.0, int(ok.sum()))})
    backs = pd.DataFrame({"kind": "claim", "debtor": np.array(pro, dtype=object)[issuers],
                          "creditor": np.array(tok, dtype=object)[issued], "amount": backing})
    base_of = rng.choice([0, 1, 4], n_issued)     # ETH, BTC or SOL behind each issued token
    reserves = pd.DataFrame({"kind": "holding", "holder": np.array(pro, dtype=object)[issuers],
                             "token": np.array(BASE, dtype=object)[base_of],
                             "amount": backing * rng.uniform(1.0, 1.05, n_issued)})
    hold = pd.DataFrame({"kind": "holding",
                         "holder": np.array(pro, dtype=object)[rng.integers(n_lenders, n_protocols, n_hold)],
                         "token": np.array(tok, dtype=object)[rng.choice(nt, n_hold, p=popularity / popularity.sum())],
                         "amount": rng.lognormal(9, 1.0, n_hold)})
    positions = pd.DataFrame({
        "kind": "collateral", "lender": np.array(pro, dtype=object)[lender],
        "borrower": np.array(pro, dtype=object)[borrower - 0], "collateral_token": np.array(tok, dtype=object)[ctok],
        "collateral": C, "debt_token": np.array(tok, dtype=object)[dtok], "debt": D,
        "liquidation_threshold": np.minimum(0.97, ltv + rng.uniform(0.02, 0.10, n_positions)),
        "liquidation_bonus": rng.uniform(0.02, 0.10, n_positions),
        "close_factor": rng.choice([0.5, 1.0], n_positions),
        "oracle": np.array(ORACLES, dtype=object)[rng.choice(4, n_positions, p=[0.45, 0.35, 0.15, 0.05])],
    })
    parts = [claims, backs, reserves, hold, positions]
    if denominated:
        den = np.full(len(ids), None, dtype=object)
        den[issued] = np.array(BASE, dtype=object)[base_of]
        nodes["denomination"] = den
        lent_eth = np.bincount(lender, weights=D * (dtok == BASE.index("ETH")), minlength=n_protocols)[:n_lenders]
        nodes = pd.concat([nodes, pd.DataFrame({"id": ["suppliers/ETH"], "kind": ["external"]})], ignore_index=True)
        for c in ("depth", "depth_slippage", "impact_exponent", "issuer", "denomination"):
            nodes[c] = nodes[c].astype(object).where(nodes[c].notna(), None)
        nodes[["external_assets", "external_liabilities"]] = nodes[["external_assets",
                                                                    "external_liabilities"]].fillna(0.0)
        nodes.loc[nt:nt + n_lenders - 1, "external_liabilities"] = lent[:n_lenders] - lent_eth
        parts.append(pd.DataFrame({"kind": "claim", "debtor": np.array(pro, dtype=object)[:n_lenders],
                                   "creditor": "suppliers/ETH", "amount": lent_eth, "denomination": "ETH"}))
    edges = pd.concat(parts, ignore_index=True)
    return ExposureNetwork.from_frames(nodes, edges, meta={"version": 2, "name": "bench-mechanics"})


def mechanics_shock(net: ExposureNetwork) -> MarketShock:
    """ETH −35%, the 20 largest issuers lose 40%, every token's depth halved."""
    owed = pd.Series(net.total_obligations(), index=net.node_ids)
    issuers = net.nodes["issuer"].dropna().unique()
    top = owed[list(issuers)].nlargest(20).index
    tokens = net.node_ids[np.isin(net.kinds, ["asset", "token"])]
    return MarketShock(price_change={"ETH": -0.35}, asset_loss={k: 0.4 for k in top},
                       depth_factor={t: 0.5 for t in tokens})


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def one_pass(model: MechanicsModel):
    """One vectorised pass over the positions: oracle ratio, health, values, aggregation by node."""
    m = np.ones(model.n)
    st = PositionState.initial(model)
    o = oracle_ratio(model, m, m)
    h = health(model, st, o)
    lv, bv, bad = position_values(model, st, m)
    return (np.bincount(model.lender, weights=lv, minlength=model.n)
            + np.bincount(model.borrower, weights=bv, minlength=model.n), h)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 positions instead of 1,000,000")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best is kept")
    args = ap.parse_args(argv)
    n_pos = 100_000 if args.quick else 1_000_000
    t0 = time.perf_counter()
    net = mechanics_network(n_pos)
    build = time.perf_counter() - t0
    shock = mechanics_shock(net)
    model = MechanicsModel.from_network(net)
    t_pass, _ = best_of(lambda: one_pass(model), max(5, args.repeat))
    t_model, _ = best_of(lambda: MechanicsModel.from_network(net), args.repeat)
    t_solve, res = best_of(lambda: solve_system(net, shock), args.repeat)
    usd_net = mechanics_network(n_pos, denominated=False)
    t_usd, res_usd = best_of(lambda: solve_system(usd_net, mechanics_shock(usd_net)), args.repeat)
    rounds = res.rounds_frame()
    s = res.summary()
    s_usd = res_usd.summary()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    per_round = t_solve / max(1, res.rounds + 1)  # shocked rounds + the unshocked run (1 round here)
    per_round_usd = t_usd / max(1, res_usd.rounds + 1)
    cold = int((~rounds["warm_start"]).sum()) - 1  # the first round has nothing to start from
    rows = [
        ("network", f"{net.n:,} nodes, {len(net.positions):,} positions, {len(net.holdings):,} holdings, "
                    f"{net.n_claims:,} claims ({int(net.claims['denomination'].notna().sum()):,} denominated)"),
        ("build network (from_frames, validation)", f"{build:.2f} s"),
        ("one vectorised pass over the positions", f"{t_pass * 1e3:.1f} ms  (= 1 pass)"),
        ("extract model arrays", f"{t_model:.2f} s  ({t_model / t_pass:.0f} passes)"),
        ("solve_system (shocked + unshocked)", f"{t_solve:.2f} s  ({t_solve / t_pass:.0f} passes)"),
        ("rounds of the shocked run", f"{res.rounds} (converged={s['converged']}, residual {s['residual']:.2g}); "
                                      f"{cold} cleared cold after round 1"),
        ("time per round", f"{per_round * 1e3:.0f} ms  ({per_round / t_pass:.1f} passes)"),
        ("liquidations per round", " ".join(str(v) for v in rounds["liquidations"].tolist())),
        ("total loss / bad debt / liquidated (USD)",
         f"{s['total_loss']:.4g} / {s['bad_debt']:.4g} / {s['liquidated']:.4g}"),
        ("defaults", f"{s['n_defaults']}"),
        ("conservation residual", f"{s['conservation_residual']:.2g}"),
        ("same network, every amount in USD: solve_system",
         f"{t_usd:.2f} s  ({t_usd / t_pass:.0f} passes), {res_usd.rounds} rounds, "
         f"{per_round_usd * 1e3:.0f} ms per round ({per_round_usd / t_pass:.1f} passes)"),
        ("  ... its defaults / total loss (USD)", f"{s_usd['n_defaults']} / {s_usd['total_loss']:.4g}"),
        ("peak memory (RSS of the process)", f"{peak_gb:.2f} GB"),
    ]
    width = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a:<{width}}  {b}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    data = {"positions": n_pos, "nodes": net.n, "build_s": build, "pass_s": t_pass, "model_s": t_model,
            "solve_s": t_solve, "solve_passes": t_solve / t_pass, "rounds": res.rounds, "cold_rounds": cold,
            "per_round_s": per_round, "per_round_passes": per_round / t_pass, "peak_rss_gb": peak_gb,
            "summary": s, "rounds_table": rounds.to_dict(orient="list"),
            "usd_only": {"solve_s": t_usd, "solve_passes": t_usd / t_pass, "rounds": res_usd.rounds,
                         "per_round_s": per_round_usd, "summary": s_usd}}
    (out / "bench_mechanics.json").write_text(json.dumps(data, indent=2, default=float))


if __name__ == "__main__":
    main()

"""Supervisory metrics: hand-derived cases, an independent check of the liquidation curves, and the
internal consistency of the bundled DeFi graph's metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import exposure
from cli import cli
from exposure import ExposureNetwork, MarketShock, solve_system
from exposure.metrics import (SECTIONS, liquidation_curves, loss_absorption, supervisory_metrics)

GRAPHS = Path(__file__).resolve().parent.parent / "graphs"


# ------------------------------------------------------------------ the two-layer graph
def two_layer(oracle="market", first_loss=None, liability_type=None) -> ExposureNetwork:
    """LST -> LRT -> lender.

    lido holds 100 of ETH and backs stETH (100). kelp holds 40 of stETH and 20 of ETH and backs
    rsETH (60). A looper posts 50 of rsETH at pool and owes 40 of ETH (ltv 0.85, liquidation
    threshold 0.9, bonus 5%); pool is funded by 40 of outside suppliers. fund holds 10 of rsETH.
    """
    nodes = pd.DataFrame({
        "id": ["ETH", "lido", "stETH", "kelp", "rsETH", "pool", "looper", "fund"],
        "kind": ["asset", "protocol", "token", "protocol", "token", "protocol", "position", "protocol"],
        "issuer": [None, None, "lido", None, "kelp", None, None, None],
        "denomination": [None, None, "ETH", None, "ETH", None, None, None],
        "external_liabilities": [0, 0, 0, 0, 0, 40.0, 0, 0],
    })
    if first_loss is not None:
        nodes["first_loss"] = [first_loss.get(i, 0.0) for i in nodes["id"]]
    if liability_type is not None:
        nodes["liability_type"] = [liability_type.get(i, "debt") for i in nodes["id"]]
    edges = pd.DataFrame([
        {"kind": "holding", "holder": "lido", "token": "ETH", "amount": 100.0},
        {"kind": "claim", "debtor": "lido", "creditor": "stETH", "amount": 100.0},
        {"kind": "holding", "holder": "kelp", "token": "stETH", "amount": 40.0},
        {"kind": "holding", "holder": "kelp", "token": "ETH", "amount": 20.0},
        {"kind": "claim", "debtor": "kelp", "creditor": "rsETH", "amount": 60.0},
        {"kind": "holding", "holder": "fund", "token": "rsETH", "amount": 10.0},
        {"kind": "collateral", "lender": "pool", "borrower": "looper", "collateral_token": "rsETH",
         "collateral": 50.0, "debt_token": "ETH", "debt": 40.0, "liquidation_threshold": 0.9,
         "liquidation_bonus": 0.05, "oracle": oracle, "ltv": 0.85},
    ])
    return ExposureNetwork.from_frames(nodes, edges, meta={"version": 2})


def test_two_layer_size():
    # TVL: lido 100 (ETH) + kelp 40 (stETH) + 20 (ETH) + pool 50 (rsETH locked) + fund 10 (rsETH) = 220.
    # Netted (TVR): only what sits in ETH itself: lido 100 + kelp 20 = 120. Ratio 220 / 120 = 11/6.
    # Every token rests on ETH (stETH on lido's ETH, rsETH on kelp's stETH and ETH), so the ETH
    # money multiplier is also 220 / 120.
    m = supervisory_metrics(two_layer())
    size = m["size"]
    assert size.values["gross_tvl"] == pytest.approx(220.0, rel=1e-12)
    assert size.values["netted_value"] == pytest.approx(120.0, rel=1e-12)
    assert size.values["double_counting_ratio"] == pytest.approx(11 / 6, rel=1e-12)
    mm = size.tables["money_multiplier"].set_index("base_asset")
    assert list(mm.index) == ["ETH"]
    assert mm.at["ETH", "multiplier"] == pytest.approx(11 / 6, rel=1e-12)
    prot = size.tables["protocols"].set_index("node")
    # kelp: 60 of TVL, 40 of it stETH -> derivative share 2/3
    assert prot.at["kelp", "derivative_share"] == pytest.approx(2 / 3, rel=1e-12)
    assert prot.at["pool", "netted_value"] == 0.0


def test_two_layer_leverage_loops():
    # The looper's rsETH redeems into ETH (rsETH's denomination; kelp holds ETH), and it owes ETH:
    # an aggregate looping position with lambda = ltv 0.85, effective leverage 1 / (1 - 0.85) = 20/3;
    # the position itself shows 50 / (50 - 40) = 5.
    loops = supervisory_metrics(two_layer())["leverage"].tables["loops"]
    pos = loops[loops["kind"] == "position"]
    assert pos["cycle"].tolist() == ["rsETH -> ETH -> rsETH"]
    assert pos["ltv_product"].iat[0] == pytest.approx(0.85, rel=1e-12)
    assert pos["effective_leverage"].iat[0] == pytest.approx(20 / 3, rel=1e-12)
    assert pos["position_leverage"].iat[0] == pytest.approx(5.0, rel=1e-12)
    # Token cycles: borrow rsETH -> ETH (0.85), mint ETH -> rsETH, or ETH -> stETH -> rsETH
    # (lido turns ETH into stETH, kelp stETH into rsETH): both have lambda 0.85.
    cyc = loops[loops["kind"] == "cycle"]
    assert sorted(cyc["cycle"]) == ["ETH -> rsETH -> ETH", "ETH -> stETH -> rsETH -> ETH"]
    np.testing.assert_allclose(cyc["ltv_product"], 0.85, rtol=1e-12)


def test_two_layer_concentration():
    # shares 100/220, 60/220, 50/220, 10/220: top 3 = 210/220, HHI = (100² + 60² + 50² + 10²) / 220²
    c = supervisory_metrics(two_layer())["concentration"].values
    assert c["top3_share"] == pytest.approx(210 / 220, rel=1e-12)
    assert c["top10_share"] == pytest.approx(1.0, rel=1e-12)
    assert c["herfindahl"] == pytest.approx(16200 / 48400, rel=1e-12)


def test_two_layer_liquidation_curve_by_hand():
    # s* = 1 - 40 / (50 * 0.9) = 1/9: liquidatable from a fall of 12% on (11% is still healthy).
    # Bad debt from 1 - 1.05 * 40 / 50 = 0.16 on, 40 - 50 (1 - s) / 1.05: at s = 0.5, 40 - 25/1.05.
    curve = liquidation_curves(two_layer(), tokens=["rsETH"]).set_index("price_fall")
    assert len(curve) == 101
    assert curve["liquidatable_collateral"].iat[11] == 0.0 and curve["liquidatable_collateral"].iat[12] == 50.0
    assert curve["bad_debt"].iat[16] == pytest.approx(0.0, abs=1e-12)
    assert curve["bad_debt"].iat[50] == pytest.approx(40 - 25 / 1.05, rel=1e-12)
    assert curve["bad_debt"].iat[100] == pytest.approx(40.0, rel=1e-12)
    # a hardcoded oracle never liquidates: bad debt 40 - 50 (1 - s) from s = 0.2 on, 15 at s = 0.5
    stuck = liquidation_curves(two_layer(oracle="hardcoded"))
    assert stuck["liquidatable_collateral"].max() == 0.0
    assert stuck["bad_debt"].iat[50] == pytest.approx(15.0, rel=1e-12)
    # an exchange-rate oracle sees a fall of value, not a market depeg
    er = two_layer(oracle="exchange_rate")
    assert liquidation_curves(er)["liquidatable_collateral"].iat[50] == 50.0
    assert liquidation_curves(er, move="depeg")["liquidatable_collateral"].iat[50] == 0.0


@pytest.mark.parametrize("fall", [0.05, 0.13, 0.3, 0.5, 0.9])
def test_liquidation_curve_matches_the_mechanics(fall):
    # Independent method: the joint fixed point of exposure.defi under a market depeg of rsETH
    # (market oracle, no market depth so no price impact) leaves the same bad debt at the pool.
    net = two_layer()
    points = 101
    curve = liquidation_curves(net, points=points, tokens=["rsETH"])
    k = int(round(fall * (points - 1)))
    r = solve_system(net, MarketShock(depeg={"rsETH": -fall}))
    pool = net.index_of("pool")
    assert r.bad_debt[pool] == pytest.approx(curve["bad_debt"].iat[k], rel=1e-9, abs=1e-9)
    liquidated = r.liquidated[net.index_of("looper")] > 0
    assert liquidated == (curve["liquidatable_collateral"].iat[k] > 0)


def _reference_curves(net, grid, move="value"):
    """Position by position, point by point (the dense reference of the sorted pass)."""
    p = net.positions
    rows = {}
    for _, q in p.iterrows():
        c, d = str(q["collateral_token"]), str(q["debt_token"])
        if c == d or q["debt"] <= 0:
            continue
        C, D, LT, b = q["collateral"], q["debt"], q["liquidation_threshold"], q["liquidation_bonus"]
        sees = q["oracle"] == "market" or (q["oracle"] == "exchange_rate" and move == "value")
        for s in grid:
            liq = sees and C * (1 - s) * LT < D * (1 - 1e-15)
            if liq:
                bad = max(0.0, D - C * (1 - s) / (1 + b))
            elif sees:
                bad = 0.0
            else:
                bad = max(0.0, D - C * (1 - s))
            acc = rows.setdefault((c, s), [0.0, 0.0])
            acc[0] += C if liq else 0.0
            acc[1] += bad
    return rows


@pytest.mark.parametrize("move", ["value", "depeg"])
def test_sorted_pass_matches_the_position_by_position_reference(move):
    rng = np.random.default_rng(7)
    k, tokens = 300, ["A", "B", "C", "USD"]
    nodes = pd.DataFrame({"id": tokens + ["pool", "b"], "kind": ["asset"] * 4 + ["protocol", "position"]})
    C = rng.lognormal(3, 1, k)
    edges = pd.DataFrame({
        "kind": "collateral", "lender": "pool", "borrower": "b",
        "collateral_token": rng.choice(tokens, k), "debt_token": rng.choice(["USD", "A"], k),
        "collateral": C, "debt": C * rng.uniform(0.0, 1.2, k),
        "liquidation_threshold": rng.uniform(0.5, 0.97, k), "liquidation_bonus": rng.uniform(0, 0.15, k),
        "oracle": rng.choice(["market", "exchange_rate", "hardcoded", "linear_discount"], k)})
    net = ExposureNetwork.from_frames(nodes, edges, meta={"version": 2})
    curve = liquidation_curves(net, points=41, move=move)
    ref = _reference_curves(net, np.linspace(0, 1, 41), move)
    got = {(t, s): (lq, bd) for t, s, lq, bd in curve.itertuples(index=False, name=None)}
    assert set(got) == set(ref)
    for key, (lq, bd) in ref.items():
        assert got[key][0] == pytest.approx(lq, rel=1e-9, abs=1e-9), key
        assert got[key][1] == pytest.approx(bd, rel=1e-9, abs=1e-9), key


def test_loss_absorption_reads_the_node_fields():
    net = two_layer(first_loss={"lido": 3.0}, liability_type={"kelp": "shares"})
    s = loss_absorption(net)
    table = s.tables["nodes"].set_index("node")
    assert table.at["lido", "first_loss"] == 3.0 and table.at["pool", "first_loss"] == 0.0
    assert table.at["kelp", "liability_type"] == "shares"
    # value held as rsETH (issuer kelp is shares): pool 50 + fund 10 of the 220 of TVL
    assert s.values["value_in_shares"] == pytest.approx(60.0, rel=1e-12)
    assert s.values["share_in_shares"] == pytest.approx(60 / 220, rel=1e-12)


def _rseth_depeg():
    return exposure.Scenario.from_dict({"name": "rsETH-50", "shocks": [
        {"type": "depeg", "node": "rsETH", "change": -0.5}]})


def test_loss_absorption_against_a_scenario():
    # rsETH depegs 50%: the pool seizes all 50 of collateral for 25/1.05 of repayment and owes its
    # suppliers 40: shortfall 40 - 25/1.05 = 16.19..., no first-loss capital to draw.
    m = supervisory_metrics(two_layer(), [_rseth_depeg()])
    row = m["loss_absorption"].tables["nodes"].set_index("node").loc["pool"]
    assert row["worst_scenario"] == "rsETH-50"
    assert row["shortfall_before_buffer"] == pytest.approx(40 - 25 / 1.05, rel=1e-9)
    assert row["shortfall"] == pytest.approx(40 - 25 / 1.05, rel=1e-9)
    assert row["buffer_used"] == 0.0 and row["buffer_coverage"] == 0.0
    stress = m["stress"].tables["scenarios"]
    assert list(stress.columns[:2]) == ["scenario", "total_shortfall"]
    assert stress["bad_debt"].iat[0] == pytest.approx(40 - 25 / 1.05, rel=1e-9)


def test_first_loss_capital_against_the_worst_scenario():
    # The same scenario with 5 of first-loss capital at the pool: the buffer pays 5 of the 16.19...
    # shortfall first, 11.19... reaches the suppliers; coverage 5 / 16.19... .
    m = supervisory_metrics(two_layer(first_loss={"pool": 5.0}), [_rseth_depeg()])
    la = m["loss_absorption"]
    row = la.tables["nodes"].set_index("node").loc["pool"]
    short = 40 - 25 / 1.05
    assert row["first_loss"] == 5.0
    assert row["shortfall_before_buffer"] == pytest.approx(short, rel=1e-9)
    assert row["buffer_used"] == pytest.approx(5.0, rel=1e-12)
    assert row["shortfall"] == pytest.approx(short - 5.0, rel=1e-9)
    assert row["buffer_coverage"] == pytest.approx(5.0 / short, rel=1e-9)
    assert la.values["worst_buffer_used"] == pytest.approx(5.0, rel=1e-12)
    assert la.values["first_loss_to_worst_shortfall"] == pytest.approx(5.0 / short, rel=1e-9)


# --------------------------------------------------------------- the bundled DeFi graph
@pytest.fixture(scope="module")
def defi_metrics():
    return supervisory_metrics(exposure.read_graph(GRAPHS / "defi.json"))


def test_defi_metrics_are_consistent(defi_metrics):
    m = defi_metrics
    size = m["size"]
    assert 0 < size.values["netted_value"] <= size.values["gross_tvl"]
    assert size.values["double_counting_ratio"] >= 1
    mm = size.tables["money_multiplier"]
    assert mm["tvl_resting"].sum() == pytest.approx(size.values["gross_tvl"], rel=1e-9)
    assert mm["netted_value"].sum() == pytest.approx(size.values["netted_value"], rel=1e-9)
    assert mm["share_of_netted"].sum() == pytest.approx(1.0, rel=1e-12)
    prot = size.tables["protocols"]
    assert prot["share_of_tvl"].sum() == pytest.approx(1.0, rel=1e-12)
    assert (prot["netted_value"] <= prot["tvl"] + 1e-6).all()
    assert m["concentration"].tables["tvl_shares"]["share_of_tvl"].sum() == pytest.approx(1.0, rel=1e-12)
    oracles = m["oracle_dependency"].tables["oracles"]
    assert oracles["share_of_collateral"].sum() == pytest.approx(1.0, rel=1e-12)
    c = m["concentration"].values
    assert 0 < c["herfindahl"] <= 1 and c["top3_share"] <= c["top10_share"] <= 1 + 1e-12
    share = m["interconnectedness"].tables["nodes"]["interconnected_share"].dropna()
    assert ((share >= 0) & (share <= 1)).all()
    assert m.converged and m.status == 0


def test_defi_curves_are_monotone_and_bounded(defi_metrics):
    curves = defi_metrics["liquidity_mismatch"].tables["curves"]
    posted = defi_metrics["liquidity_mismatch"].tables["tokens"].set_index("token")["collateral"]
    for token, g in curves.groupby("token"):
        assert len(g) == 101
        assert (np.diff(g["liquidatable_collateral"]) >= -1e-6).all(), token
        assert (np.diff(g["bad_debt"]) >= -1e-6).all(), token
        assert g["liquidatable_collateral"].max() <= posted[token] * (1 + 1e-12)


def test_json_keys_are_fixed(defi_metrics):
    d = defi_metrics.to_dict()
    assert list(d) == [s for s in SECTIONS if s != "stress"]
    assert {"gross_tvl", "netted_value", "double_counting_ratio"} <= set(d["size"])
    assert set(d["leverage"]["protocols"].columns) == {"node", "assets", "equity", "leverage"}
    assert list(d["leverage"]["loops"].columns[:3]) == ["cycle", "ltv_product", "effective_leverage"]


# ------------------------------------------------------------------------------ CLI
def test_cli_json_and_csv(tmp_path):
    r = CliRunner().invoke(cli, ["metrics", str(GRAPHS / "defi.json"), str(GRAPHS / "scenarios.json"),
                                 "--scenario", "steth-depeg-2022", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert list(d) == list(SECTIONS)
    assert d["stress"]["n_scenarios"] == 1 and d["stress"]["worst_scenario"] == "steth-depeg-2022"
    assert list(d["leverage"]["loops"][0])[:3] == ["cycle", "ltv_product", "effective_leverage"]
    out = tmp_path / "m.csv"
    r = CliRunner().invoke(cli, ["metrics", str(GRAPHS / "defi.json"), "--format", "csv", "-o", str(out)])
    assert r.exit_code == 0 and r.stdout == ""
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["section", "metric", "value"]
    assert float(frame.set_index(["section", "metric"]).at[("size", "gross_tvl"), "value"]) == pytest.approx(
        d["size"]["gross_tvl"], rel=1e-15)


def test_cli_one_wide_table():
    r = CliRunner().invoke(cli, ["metrics", str(GRAPHS / "defi.json"), "--table", "liquidity_mismatch.curves",
                                 "--points", "11", "--format", "csv"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "token,price_fall,liquidatable_collateral,bad_debt"
    assert (len(lines) - 1) % 11 == 0
    r = CliRunner().invoke(cli, ["metrics", str(GRAPHS / "defi.json"), "--format", "table"])
    assert r.exit_code == 0 and "size.money_multiplier" in r.stdout and "stress" not in r.stdout.split("\n")[0]

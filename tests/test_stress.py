"""Stress runs over scenarios: tables checked against hand derivations on small version-2 networks."""

import json

import numpy as np
import pandas as pd
import pytest
from test_stress_cases import loop_network, two_token_network

from exposure import InvalidShockError
from exposure.defi import MarketShock, solve_system
from exposure.io.scenarios import Scenario, parse_scenarios
from exposure.stress import NODE_COLUMNS, SUMMARY_COLUMNS, TOKEN_COLUMNS, StressResult, run_scenarios


def scenario(name, *shocks):
    return Scenario.from_dict({"name": name, "shocks": list(shocks)})


ETH_30 = scenario("eth-30", {"type": "price", "node": "ETH", "change": -0.3})
NOTHING = scenario("baseline")


def test_summary_of_an_eth_price_fall_by_hand():
    # loop_network (see its docstring) with s = 0.3: collateral worth 70 against a debt of 80, bad debt 10;
    # pool's assets 70 < 75 owed: it defaults and its suppliers lose 75 - 70 = 5; lido pays 70 of 100
    # and defaults too; total loss = looper 20 + pool 5 + suppliers 5 = 30 = the ETH value lost (100 x 0.3).
    res = run_scenarios(loop_network("hardcoded"), [ETH_30, NOTHING])
    summary = res.summary_frame()
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert list(summary["scenario"]) == ["eth-30", "baseline"]
    row = summary.iloc[0]
    np.testing.assert_allclose(row[["total_loss", "bad_debt", "liquidated", "external_creditor_loss"]]
                               .to_numpy(dtype=float), [30.0, 10.0, 0.0, 5.0], rtol=1e-12, atol=1e-9)
    assert row["n_defaults"] == 2 and bool(row["converged"]) and row["rounds"] >= 1
    # The baseline scenario changes nothing.
    base = summary.iloc[1]
    assert (base["total_loss"], base["bad_debt"], base["liquidated"], base["n_defaults"]) == (0.0, 0.0, 0.0, 0)
    assert res.converged


def test_exchange_rate_oracle_liquidates_the_same_loss():
    # Same fall under an exchange-rate oracle (LT 0.9, no bonus, close factor 1): the oracle follows stETH's
    # redemption value 0.7, health 100 x 0.7 x 0.9 / 80 = 0.79 < 1, so the position is liquidated: repaid
    # min(80, 100 x 0.7) = 70 against all 100 of collateral (the whole position is seized: liquidated = 100),
    # leaving 10 of debt unsecured: the same bad debt and losses as the hardcoded oracle.
    res = run_scenarios(loop_network("exchange_rate"), [ETH_30])
    row = res.summary_frame().iloc[0]
    np.testing.assert_allclose(row[["total_loss", "bad_debt", "liquidated", "external_creditor_loss"]]
                               .to_numpy(dtype=float), [30.0, 10.0, 100.0, 5.0], rtol=1e-12, atol=1e-9)


def test_nodes_and_tokens_tables_by_hand():
    res = run_scenarios(loop_network("hardcoded"), [ETH_30])
    nodes = res.nodes_frame().set_index("node")
    assert list(res.nodes_frame().columns) == list(NODE_COLUMNS)
    assert set(nodes["scenario"]) == {"eth-30"}
    # looper: 100 - 80 = 20 of equity before, nothing after (collateral 70 < debt 80).
    # pool: 80 - 75 = 5 before, 0 after; it holds the bad debt 10.
    np.testing.assert_allclose(nodes.loc[["looper", "pool", "lido"], ["equity_before", "equity_after", "loss"]]
                               .to_numpy(dtype=float), [[20, 0, 20], [5, 0, 5], [0, 0, 0]], atol=1e-9)
    assert nodes.loc["pool", "bad_debt"] == pytest.approx(10.0)
    assert nodes.loc["looper", "bad_debt"] == 0.0
    assert list(nodes["defaulted"]) == [False, False, True, False, True, False]
    assert nodes.loc["pool", "default_round"] > 0 and nodes.loc["looper", "default_round"] == 0
    tokens = res.tokens_frame().set_index("token")
    assert list(res.tokens_frame().columns) == list(TOKEN_COLUMNS)
    # ETH falls 30%; stETH redeems at lido's recovery rate 70 / 100 and trades there; USDC does not move.
    np.testing.assert_allclose(tokens.loc[["ETH", "stETH", "USDC"], ["price_before", "price_after"]]
                               .to_numpy(dtype=float), [[1, 0.7], [1, 0.7], [1, 1]], atol=1e-12)
    assert tokens.loc["stETH", "redemption_value"] == pytest.approx(0.7)


def test_tables_equal_solve_system_run_by_hand():
    # Independent path: build the MarketShock by hand and call solve_system directly.
    net = two_token_network()
    sc = scenario("mix", {"type": "depeg", "node": "tokA", "change": -0.25},
                  {"type": "asset_loss", "node": "issB", "fraction": 0.6})
    res = run_scenarios(net, [sc])
    direct = solve_system(net, MarketShock(depeg={"tokA": -0.25}, asset_loss={"issB": 0.6}))
    s = direct.summary()
    assert res.summary_frame().iloc[0].drop("scenario").to_dict() == {c: s[c] for c in SUMMARY_COLUMNS[1:]}
    pd.testing.assert_frame_equal(res.nodes_frame().drop(columns="scenario"),
                                  direct.nodes_frame()[list(NODE_COLUMNS[1:])])


def test_to_frame_and_detail_names():
    res = run_scenarios(loop_network(), [ETH_30])
    pd.testing.assert_frame_equal(res.to_frame("tokens"), res.tokens_frame())
    with pytest.raises(ValueError, match="must be one of summary, nodes, tokens. Got 'edges' instead."):
        res.to_frame("edges")


def test_json_holds_every_detail():
    res = run_scenarios(loop_network("exchange_rate"), [ETH_30, NOTHING], alpha=0.9, beta=0.8)
    d = res.to_dict()
    assert (d["alpha"], d["beta"]) == (0.9, 0.8)
    first = d["scenarios"][0]
    assert first["name"] == "eth-30" and first["shocks"] == [{"type": "price", "node": "ETH", "change": -0.3}]
    assert set(SUMMARY_COLUMNS[1:]) <= set(first["summary"])
    assert {"conservation_residual", "residual", "iterations"} <= set(first["summary"])
    assert len(first["nodes"]) == 6 and len(first["tokens"]) == 3 and len(first["positions"]) == 1
    assert len(first["rounds"]) == first["summary"]["rounds"]


def test_every_scenario_is_checked_before_any_is_solved():
    bad1 = scenario("a", {"type": "depeg", "node": "nope", "change": -0.1})
    bad2 = scenario("b", {"type": "price", "node": "stETH", "change": -0.1})
    with pytest.raises(InvalidShockError) as info:
        run_scenarios(loop_network(), [ETH_30, bad1, bad2])
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("scenario 'a', shock 0 (depeg): unknown node 'nope'")
    assert lines[1].startswith("scenario 'b', shock 0 (price): node 'stETH' is not a base asset")


@pytest.mark.parametrize("change", [0.0, -0.1, -0.2, -0.3, -0.6, -1.0])
def test_loss_of_the_loop_equals_the_eth_value_lost(change):
    # Conservation (loop_network docstring): every dollar of ETH lost is somebody's loss: total_loss = 100 s.
    res = run_scenarios(loop_network(), [scenario("x", {"type": "price", "node": "ETH", "change": change})])
    row = res.summary_frame().iloc[0]
    assert row["total_loss"] == pytest.approx(-100 * change, abs=1e-9)
    assert row["bad_debt"] == pytest.approx(max(0.0, -100 * change - 20), abs=1e-9)


def test_alpha_beta_reach_the_clearing():
    # With alpha = 0.5 a defaulting node passes on half of its external assets. At s = 0.3, lido (70 of ETH,
    # owes 100) defaults and pays 35, so stETH redeems at 0.35; the collateral is worth 35; pool (35 < 75)
    # defaults and pays its suppliers 17.5: they lose 75 - 17.5 = 57.5 (hand), instead of 5 under alpha = 1.
    res = run_scenarios(loop_network(), [ETH_30], alpha=0.5, beta=1.0)
    row = res.summary_frame().iloc[0]
    assert row["external_creditor_loss"] == pytest.approx(57.5)
    assert row["bad_debt"] == pytest.approx(80 - 35)


def test_read_and_run_a_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"format": "exposure-scenario", "version": 1, "scenarios": [ETH_30.to_dict()]}))
    (sc,) = parse_scenarios(json.loads(path.read_text()))
    assert isinstance(run_scenarios(loop_network(), [sc]), StressResult)

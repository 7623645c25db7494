"""The table importer: the long exposure table with parameter and market columns (hand-made fixture).

table_exposures.csv: Lido backs stETH with 33B of ETH; aave_core holds 3.23B of stETH collateral (1.1M
stETH native) borrowed against by 2.7B of ETH debt, LT 0.95, bonus 0.01, close factor 0.5, exchange-rate
oracle, stETH depth 750M at 0.36%; the isolated market morpho_market holds 500M of stETH against 400M of
ETH, LT 0.945, supplied by morpho_vaults; spark's stETH row has a threshold but no debt; a fund deposits
100M in aave_core. Price table: stETH 2950.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exposure.io.importers import import_graph

DATA = Path(__file__).resolve().parent / "data" / "importers"
FILES = [DATA / "table_exposures.csv", DATA / "table_nodes.csv"]


@pytest.fixture(scope="module")
def result():
    return import_graph(FILES, "table")


def test_parameter_rows_become_secured_positions(result):
    net = result.network
    p = net.positions.assign(lender=net.positions["lender"].astype(str)).set_index("lender")
    a = p.loc["aave_core"]
    assert (str(a["borrower"]), str(a["collateral_token"]), str(a["debt_token"])) == \
        ("aave_core/stETH-borrowers", "stETH", "ETH")
    assert (a["collateral"], a["debt"], a["liquidation_threshold"], a["liquidation_bonus"], a["close_factor"]) == \
        (3.23e9, 2.7e9, 0.95, 0.01, 0.5)
    assert a["oracle"] == "exchange_rate"
    m = p.loc["morpho_market"]
    # empty cells take the format's defaults: bonus 0, close factor 1, oracle market
    assert (str(m["borrower"]), m["collateral"], m["debt"], m["liquidation_bonus"], m["close_factor"], m["oracle"]) \
        == ("morpho_market/stETH-loopers", 5e8, 4e8, 0.0, 1.0, "market")
    # the isolated market's supplier has lent what its borrowers owe; its losses fall on its suppliers
    c = net.claims.assign(d=net.claims["debtor"].astype(str), c=net.claims["creditor"].astype(str))
    sup = c[c["relation"] == "supply"]
    assert sup[["d", "c", "amount"]].values.tolist() == [["morpho_market", "morpho_vaults", 4e8]]
    assert net.nodes.loc["morpho_market", "liability_type"] == "shares"
    # the plain rows keep the exposure-table mapping: Lido's backing, the deposit, stETH's issuer
    assert net.nodes.loc["stETH", "issuer"] == "lido"
    assert net.external_assets[net.index_of("lido")] == 33e9
    assert ["aave_core", "fund", 1e8] in c[["d", "c", "amount"]].values.tolist()


def test_market_columns_and_warnings(result):
    net = result.network
    assert (net.nodes.loc["stETH", "depth"], net.nodes.loc["stETH", "depth_slippage"]) == (7.5e8, 0.0036)
    text = " | ".join(p.message for p in result.problems)
    assert "two different depth values (the first is kept): 1 (stETH)" in text
    assert "kept as holdings: 1 (spark->stETH)" in text
    h = net.holdings
    assert h[["amount"]].values.tolist() == [[8e8]] and str(h["holder"].iloc[0]) == "spark"


def test_native_amounts_repriced():
    net = import_graph(FILES, "table", prices=DATA / "prices.csv").network
    a = net.positions[net.positions["lender"] == "aave_core"].iloc[0]
    # 1.1M stETH x 2950 = 3.245B instead of the row's 3.23B
    assert a["collateral"] == pytest.approx(3.245e9)

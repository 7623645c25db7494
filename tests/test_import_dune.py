"""The Dune lending importer on its hand-made fixtures: every number derived by hand below.

lending.borrow (aave v3): WETH +100 (2025-09-01), +50 (2025-10-05), repay -30 (2025-10-20), borrow_liquidation
-5 (2025-11-02); USDC +200,000, repay -50,000. lending.supply: WETH +400, withdraw -100 (2025-10-10),
deposit_liquidation -5 (2025-11-02); USDC +1,000,000; wstETH +50; XYZ +1000 (usd_amount 500) and +1000 (700).
The signs are already in the amounts: the stock is their sum. Prices: WETH 4000, wstETH 4800; USDC and XYZ
are not in the table and keep sum(usd_amount).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exposure.io.importers import import_graph

DATA = Path(__file__).resolve().parent / "data" / "importers"
FILES = [DATA / "dune_lending_borrow.csv", DATA / "dune_lending_supply.csv"]


def _tables(net):
    h = net.holdings.assign(token=net.holdings["token"].astype(str)).set_index("token")["amount"]
    c = net.claims.assign(debtor=net.claims["debtor"].astype(str)).set_index("debtor")["amount"]
    return h.to_dict(), c.to_dict()


def test_flows_summed_to_stocks_and_repriced():
    r = import_graph(FILES, "dune-lending", prices=DATA / "prices.csv")
    cash, loans = _tables(r.network)
    # borrow WETH 100 + 50 - 30 - 5 = 115 -> x 4000 = 460,000; USDC 200,000 - 50,000 = 150,000 (usd sum)
    assert loans == pytest.approx({"aave-v3/borrowers-WETH": 460_000, "aave-v3/borrowers-USDC": 150_000})
    # supply WETH 400 - 100 - 5 = 295 -> 1,180,000, cash 1,180,000 - 460,000 = 720,000; USDC 1,000,000 - 150,000;
    # wstETH 50 x 4800; XYZ 500 + 700 (event-time USD)
    assert cash == pytest.approx({"WETH": 720_000, "USDC": 850_000, "wstETH": 240_000, "XYZ": 1_200})
    # suppliers are owed 1,180,000 + 1,000,000 + 240,000 + 1,200
    assert r.network.nodes.loc["aave-v3", "external_liabilities"] == pytest.approx(2_421_200)
    assert "sum of usd_amount" in r.problems[0].message and ": 2 (USDC, XYZ)" in r.problems[0].message


def test_as_of_keeps_the_flows_up_to_that_day():
    net = import_graph(FILES, "dune-lending", prices=DATA / "prices.csv", as_of="2025-10-31").network
    cash, loans = _tables(net)
    # the 2025-11-02 liquidation rows drop out: borrow WETH 120 x 4000, supply 300 x 4000 (cash unchanged)
    assert loans["aave-v3/borrowers-WETH"] == pytest.approx(480_000)
    assert cash["WETH"] == pytest.approx(1_200_000 - 480_000)
    assert set(net.holdings["as_of"]) == {"2025-10-31"}


def test_per_account_borrowers():
    net = import_graph(FILES, "dune-lending", prices=DATA / "prices.csv", positions="user").network
    a, b = "aave-v3/0x" + "a" * 40, "aave-v3/0x" + "b" * 40
    # A: WETH (100 - 30) x 4000 = 280,000 and USDC 150,000; B: WETH (50 - 5) x 4000 = 180,000
    assert net.claims.groupby(net.claims["debtor"].astype(str))["amount"].sum().to_dict() == \
        pytest.approx({a: 430_000, b: 180_000})

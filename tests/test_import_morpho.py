"""The Morpho Blue subgraph importer on its hand-made fixture: every number derived by hand below.

Fixture (tests/data/importers/morpho_blue.json), lastPriceUSD: wstETH 4700, WETH 3900, cbBTC 100,000, USDC 1.
Market 1: wstETH collateral / WETH loan, LLTV 0.945, supply 1000 WETH, borrow 800 WETH; the vault steakETH
supplies 600 WETH, another account 400; accounts X (200 wstETH, owes 220 WETH) and Y (300 wstETH, owes 300
WETH) borrow, Z holds 10 wstETH of collateral and owes nothing.
Market 2: cbBTC / USDC, LLTV 0.86, supply 5,000,000, borrow 3,000,000; steakUSDC supplies 2,000,000; W posts
30 cbBTC and owes 2,000,000; V owes 1,000 with no collateral. One position names a market not in the export.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exposure.io.importers import import_graph
from exposure.io.importers._venues import morpho_liquidation_incentive

DATA = Path(__file__).resolve().parent / "data" / "importers"
M1, M2 = "morpho/wstETH-WETH-94.5", "morpho/cbBTC-USDC-86"


@pytest.fixture(scope="module")
def net():
    return import_graph([DATA / "morpho_blue.json"], "morpho-subgraph").network


def test_liquidation_incentive_formula():
    # LIF = min(1.15, 1 / (1 - 0.3 (1 - LLTV))): the values docs/domain.md derives
    for lltv, bonus in ((0.77, 0.074), (0.86, 0.044), (0.915, 0.026), (0.945, 0.017), (0.965, 0.011)):
        assert morpho_liquidation_incentive(lltv) - 1 == pytest.approx(bonus, abs=5e-4)
    assert morpho_liquidation_incentive(0.3) == 1.15     # 1 / 0.79 = 1.266 is capped


def test_markets_are_isolated_lenders_with_their_positions(net):
    p = net.positions.assign(lender=net.positions["lender"].astype(str)).set_index("lender")
    # market 1: collateral (200 + 300) x 4700 = 2,350,000; debt (220 + 300) x 3900 = 2,028,000; Z left out
    a = p.loc[M1]
    assert (a["collateral"], a["debt"], a["accounts"]) == pytest.approx((2_350_000, 2_028_000, 2))
    assert a["liquidation_threshold"] == 0.945 and a["close_factor"] == 1.0
    assert a["liquidation_bonus"] == pytest.approx(1 / (1 - 0.3 * 0.055) - 1)   # 0.016777
    assert a["oracle"] == "exchange_rate"
    # market 2: 30 x 100,000 = 3,000,000 against 2,000,000; LIF 1 / 0.958; oracle not sourced: market, assumed
    b = p.loc[M2]
    assert (b["collateral"], b["debt"]) == pytest.approx((3_000_000, 2_000_000))
    assert b["liquidation_bonus"] == pytest.approx(1 / 0.958 - 1) and b["oracle"] == "market" and b["oracle_assumed"]
    m1 = net.nodes.loc[M1]
    assert (m1["liability_type"], m1["first_loss"], bool(m1["isolated"])) == ("shares", 0.0, True)


def test_vaults_hold_market_supply_and_balance_sheets_close(net):
    c = net.claims.assign(debtor=net.claims["debtor"].astype(str), creditor=net.claims["creditor"].astype(str))
    supply = c[c["relation"] == "supply"].set_index("creditor")["amount"]
    # the vaults' SUPPLIER positions: 600 x 3900 = 2,340,000 and 2,000,000
    assert supply.to_dict() == pytest.approx({"morpho-vault/steakETH": 2_340_000, "morpho-vault/steakUSDC": 2_000_000})
    assert net.nodes.loc["morpho-vault/steakETH", "liability_type"] == "shares"
    assert net.nodes.loc["morpho-vault/steakETH", "external_liabilities"] == pytest.approx(2_340_000)
    h = net.holdings.assign(holder=net.holdings["holder"].astype(str)).set_index("holder")["amount"]
    for market, supplied, cash, other_supply, other_loans in (
            # 1000 x 3900; (1000 - 800) x 3900; 3,900,000 - 2,340,000; (800 - 520) x 3900
            (M1, 3_900_000, 780_000, 1_560_000, 1_092_000),
            # 5,000,000; 2,000,000; 5,000,000 - 2,000,000; 3,000,000 - 2,000,000 - 1,000 (unsecured)
            (M2, 5_000_000, 2_000_000, 3_000_000, 999_000)):
        node = net.nodes.loc[market]
        assert h[market] == pytest.approx(cash)
        assert node["external_liabilities"] == pytest.approx(other_supply)
        assert node["external_assets"] == pytest.approx(other_loans)
        lent = net.positions.loc[net.positions["lender"] == market, "debt"].sum() + \
            c.loc[(c["creditor"] == market), "amount"].sum()
        assert cash + lent + other_loans == pytest.approx(supplied)


def test_unmapped_positions_are_counted():
    r = import_graph([DATA / "morpho_blue.json"], "morpho-subgraph")
    text = " | ".join(p.message for p in r.problems)
    assert "not in 'markets'" in text and "no collateral" in text and len(r.problems) == 2
    u = r.network.claims[r.network.claims["debtor"].astype(str) == M2 + "/unsecured"]
    assert u["amount"].tolist() == [1_000]


def test_positions_per_account():
    net = import_graph([DATA / "morpho_blue.json"], "morpho-subgraph", positions="user").network
    p = net.positions[net.positions["lender"] == M1]
    # X: 200 x 4700 against 220 x 3900; Y: 300 x 4700 against 300 x 3900
    got = sorted(zip(p["collateral"].tolist(), p["debt"].tolist()))
    assert [v for pair in got for v in pair] == pytest.approx([940_000, 858_000, 1_410_000, 1_170_000])

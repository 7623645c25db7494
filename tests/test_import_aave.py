"""The Aave v3 subgraph importer on its hand-made fixture: every number derived by hand below.

Fixture (tests/data/importers/aave_core.json), prices priceInEth / 1e8: WETH 3900, wstETH 4700, USDC 1.
Reserves (raw / 10**decimals): WETH supply 1000, available 400, debt 600; wstETH supply 500, available 500,
debt 0; USDC supply 2,000,000, available 1,500,000, debt 500,000. E-mode 1 "ETH correlated" (WETH, wstETH):
LT 9500 bp, bonus 10100 bp (1% once the principal is taken off). Base: wstETH LT 8100 / bonus 10600,
USDC LT 7800 / bonus 10450.
Accounts: A (e-mode 1) 100 wstETH collateral, 100 WETH debt; B (no e-mode) 50 wstETH + 100,000 USDC
collateral, 20 WETH + 50,000 USDC debt; C supplies only; D owes 10,000 USDC with no collateral; F names a
reserve not in the export.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exposure.io.importers import import_graph

DATA = Path(__file__).resolve().parent / "data" / "importers"
AAVE = DATA / "aave_core.json"


@pytest.fixture(scope="module")
def result():
    return import_graph([AAVE], "aave-subgraph")


def _pos(net):
    return net.positions.assign(borrower=net.positions["borrower"].astype(str)).set_index("borrower")


def test_positions_aggregated_per_collateral_debt_and_emode(result):
    p = _pos(result.network)
    # A: C = 100 x 4700 = 470,000, D = 100 x 3900 = 390,000, one pair, in e-mode 1 (wstETH is in it)
    a = p.loc["aave_core/wstETH-WETH-emode1"]
    assert (a["collateral"], a["debt"]) == pytest.approx((470_000, 390_000))
    assert (a["liquidation_threshold"], a["liquidation_bonus"]) == pytest.approx((0.95, 0.01))
    # B: C = 50 x 4700 + 100,000 = 335,000; D = 20 x 3900 + 50,000 = 128,000. Pair (c, d):
    # collateral C_c D_d / D, debt D_d C_c / C
    expect = {
        "aave_core/wstETH-WETH": (235_000 * 78_000 / 128_000, 78_000 * 235_000 / 335_000, 0.81, 0.06),  # 143,203.125
        "aave_core/wstETH-USDC": (235_000 * 50_000 / 128_000, 50_000 * 235_000 / 335_000, 0.81, 0.06),  # 91,796.875
        "aave_core/USDC-WETH": (100_000 * 78_000 / 128_000, 78_000 * 100_000 / 335_000, 0.78, 0.045),  # 60,937.5
        "aave_core/USDC-USDC": (100_000 * 50_000 / 128_000, 50_000 * 100_000 / 335_000, 0.78, 0.045),  # 39,062.5
    }
    for borrower, (coll, debt, lt, bonus) in expect.items():
        r = p.loc[borrower]
        assert (r["collateral"], r["debt"], r["liquidation_threshold"], r["liquidation_bonus"]) == \
            pytest.approx((coll, debt, lt, bonus)), borrower
    # the pairs add up to B's account: 335,000 of collateral and 128,000 of debt
    b = p.drop(index="aave_core/wstETH-WETH-emode1")
    assert (b["collateral"].sum(), b["debt"].sum()) == pytest.approx((335_000, 128_000))
    assert set(p["close_factor"]) == {0.5}
    # CAPO exchange-rate oracle for wstETH (a sourced fact); USDC keeps the default and says so
    assert set(p.loc[p["collateral_token"] == "wstETH", "oracle"]) == {"exchange_rate"}
    assert set(p.loc[p["collateral_token"] == "USDC", "oracle"]) == {"market"}
    assert p.loc[p["collateral_token"] == "USDC", "oracle_assumed"].all()


def test_lender_cash_liabilities_and_loans_outside_the_export(result):
    net = result.network
    h = net.holdings.assign(token=net.holdings["token"].astype(str)).set_index("token")["amount"]
    # cash = available liquidity less the collateral the positions post in the reserve:
    # WETH 400 x 3900 = 1,560,000; wstETH 500 x 4700 - 150 x 4700 = 1,645,000; USDC 1,500,000 - 100,000
    assert h.to_dict() == pytest.approx({"WETH": 1_560_000, "wstETH": 1_645_000, "USDC": 1_400_000})
    lender = net.nodes.loc["aave_core"]
    # suppliers: 1000 x 3900 + 500 x 4700 + 2,000,000 = 8,250,000, less 805,000 of posted collateral
    assert lender["external_liabilities"] == pytest.approx(7_445_000)
    # reserve debt 600 x 3900 + 500,000 = 2,840,000, less 518,000 (positions) and 10,000 (unsecured)
    assert lender["external_assets"] == pytest.approx(2_312_000)
    # the balance sheet closes: 4,605,000 + 518,000 + 10,000 + 2,312,000 = 7,445,000
    assert h.sum() + net.positions["debt"].sum() + net.claims["amount"].sum() + lender["external_assets"] == \
        pytest.approx(lender["external_liabilities"])
    assert lender["liability_type"] == "debt" and lender["category"] == "pooled_lender"
    # first loss (Umbrella offset + stakes) at the export's prices: USDC 94.63M x 1 + WETH 35,237 x 3900;
    # USDT and GHO have no price in the export and are left out with a warning
    assert lender["first_loss"] == pytest.approx(94_630_000 + 35_237 * 3900)
    assert net.nodes.loc["WETH", "price"] == 3900 and net.nodes.loc["WETH", "kind"] == "asset"


def test_unmapped_records_are_warnings_with_counts(result):
    net = result.network
    c = net.claims.iloc[0]
    assert (str(c["debtor"]), str(c["creditor"]), c["amount"]) == ("aave_core/USDC-unsecured", "aave_core", 10_000)
    text = [p.message for p in result.problems]
    assert any("not in 'reserves'" in m and ": 1." in m for m in text)
    assert any("no collateral" in m and ": 1." in m for m in text)
    assert any("first_loss" in m and "2 (USDT, GHO)" in m for m in text)
    assert net.meta["as_of"] == "2025-10-31"          # _meta.block.timestamp 1761868800
    assert set(net.positions["as_of"]) == {"2025-10-31"}


def test_positions_per_user_add_up_to_the_aggregate(result):
    user = import_graph([AAVE], "aave-subgraph", positions="user").network
    p = user.positions
    assert sorted(set(p["borrower"].astype(str))) == ["aave_core/0x" + "a" * 40, "aave_core/0x" + "b" * 40]
    assert len(p) == 5            # A: 1 pair, B: 2 x 2 pairs
    agg = result.network.positions
    assert (p["collateral"].sum(), p["debt"].sum()) == pytest.approx((agg["collateral"].sum(), agg["debt"].sum()))


def test_price_table_reprices_reserves(tmp_path):
    prices = tmp_path / "prices.csv"
    prices.write_text("token,price_usd,as_of\nWETH,4000,2025-10-31\n", encoding="utf-8")
    net = import_graph([AAVE], "aave-subgraph", prices=prices).network
    p = _pos(net)
    # A's debt at the table's price: 100 x 4000
    assert p.loc["aave_core/wstETH-WETH-emode1", "debt"] == pytest.approx(400_000)
    assert net.nodes.loc["WETH", "price_as_of"] == "2025-10-31"

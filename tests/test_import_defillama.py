"""The DeFiLlama importer on its hand-made fixtures: every number derived by hand below.

Fixture defillama_protocol_aave-v3.json, points of 2025-09-30 (T1) and 2025-10-31 (T2), USD millions:
Ethereum tokensInUsd T2 WETH 1000, wstETH 600, USDC 400 (T1 900, 500, 300); Arbitrum T2 WETH 100, USDC 50;
Ethereum-borrowed T2 WETH 700, USDC 350 (T1 650, 300); Arbitrum-borrowed T2 USDC 20; the aggregate
'borrowed' repeats the chains (700, 370); Ethereum-staking and 'staking' 250 (T1 240). Native amounts
(tokens) T2: Ethereum WETH 260,000, wstETH 125,000; Arbitrum WETH 26,000; Ethereum-borrowed WETH 180,000
(T1: 230,000, 110,000, borrowed 170,000). Price table: WETH 3600 (2025-09-30) and 4000 (2025-10-31),
wstETH 4800 (2025-10-31), no USDC.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from exposure.io.importers import import_graph

DATA = Path(__file__).resolve().parent / "data" / "importers"
PROTOCOL = DATA / "defillama_protocol_aave-v3.json"
ALL = [PROTOCOL, DATA / "defillama_protocols.json", DATA / "defillama_lendBorrow.json", DATA / "defillama_pools.json"]
M = 1e6


def _holdings(net):
    h = net.holdings
    return h.assign(token=h["token"].astype(str)).set_index("token")


def _loans(net):
    c = net.claims
    return c.assign(debtor=c["debtor"].astype(str)).set_index("debtor")["amount"]


def test_holdings_loans_and_sections_at_the_latest_point():
    r = import_graph(ALL, "defillama")
    net = r.network
    h = _holdings(net)
    # holdings summed over chains: WETH 1000 + 100, wstETH 600, USDC 400 + 50
    assert h["amount"].to_dict() == pytest.approx({"WETH": 1100 * M, "wstETH": 600 * M, "USDC": 450 * M})
    # loans per token from the per-chain borrowed keys (the aggregate key is not added again):
    # WETH 700, USDC 350 + 20
    assert _loans(net).to_dict() == pytest.approx({"aave-v3/borrowers-WETH": 700 * M, "aave-v3/borrowers-USDC": 370 * M})
    aave = net.nodes.loc["aave-v3"]
    # staking counted once (per chain, not again by the aggregate key) and never in holdings
    assert aave["staking_usd"] == pytest.approx(250 * M)
    # depositors are owed supply = cash + borrowed = 2150 + 1070
    assert aave["external_liabilities"] == pytest.approx(3220 * M)
    assert net.nodes.loc["aave-v3/borrowers-WETH", "external_assets"] == pytest.approx(700 * M)
    # /lendBorrow joined to /pools on the UUID: WETH of aave-v3 gets its base LTV and totals
    assert (h.loc["WETH", "ltv"], h.loc["WETH", "supply_usd"], h.loc["WETH", "borrow_usd"]) == (0.805, 1500 * M, 700 * M)
    # double counting: by category (Yield Aggregator) and by adapter flag; Lido neither
    assert net.nodes.loc["yearn-finance", "doublecounted"] is True
    assert net.nodes.loc["ether.fi-stake", "doublecounted"] is True
    assert net.nodes.loc["lido", "doublecounted"] is not True
    # /protocols only: TVL kept as external assets (and owed to depositors)
    assert net.nodes.loc["lido", "external_assets"] == net.nodes.loc["lido", "external_liabilities"] == 33_000 * M
    text = " | ".join(p.message for p in r.problems)
    assert "/protocols only" in text and ": 3 (lido, yearn-finance, ether.fi-stake)" in text
    assert "match no imported holding (left out): 1 (aave-v3:GHO)" in text
    assert "not in the /pools file (left out): 1." in text


def test_price_table_and_as_of():
    net = import_graph([PROTOCOL], "defillama", prices=DATA / "prices.csv").network
    h = _holdings(net)["amount"]
    # native x price: WETH (260,000 + 26,000) x 4000, wstETH 125,000 x 4800; USDC keeps tokensInUsd
    assert h.to_dict() == pytest.approx({"WETH": 1144 * M, "wstETH": 600 * M, "USDC": 450 * M})
    assert _loans(net)["aave-v3/borrowers-WETH"] == pytest.approx(180_000 * 4000)
    r = import_graph([PROTOCOL], "defillama", prices=DATA / "prices.csv", as_of="2025-10-01")
    h = _holdings(r.network)
    # the 2025-09-30 point (Arbitrum has none then): WETH 230,000 x 3600, wstETH 110,000 x 4800 (its only
    # price is later: a warning), USDC 300
    assert h["amount"].to_dict() == pytest.approx({"WETH": 828 * M, "wstETH": 528 * M, "USDC": 300 * M})
    assert set(h["as_of"]) == {"2025-09-30"} and h.loc["WETH", "price_as_of"] == "2025-09-30"
    assert _loans(r.network)["aave-v3/borrowers-WETH"] == pytest.approx(170_000 * 3600)
    text = " | ".join(p.message for p in r.problems)
    assert "dated after --as-of" in text and ": 1 (wstETH)" in text
    assert "does not price" in text and "1 (USDC)" in text

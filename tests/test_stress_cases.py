"""Small version-2 networks used by the stress tests, and checks of their balance sheets by hand.

Other stress test modules import the builders from here (``from test_stress_cases import ...``).
"""

import numpy as np
import pandas as pd

from exposure import ExposureNetwork


def v2_network(nodes: list[dict], edges: list[dict], name: str = "case", as_document: bool = False):
    """A version-2 network from node and edge records (absent fields are left out, not NaN).

    With ``as_document``, the JSON graph document (format ``exposure-graph``) instead.
    """
    if as_document:
        return {"format": "exposure-graph", "version": 2, "name": name, "nodes": nodes, "edges": edges}
    node_frame = pd.DataFrame(nodes)
    edge_frame = pd.DataFrame(edges)
    for frame in (node_frame, edge_frame):
        for c in frame.columns:
            if frame[c].dtype.kind not in "fiub":
                frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return ExposureNetwork.from_frames(node_frame, edge_frame, meta={"version": 2, "name": name})


def roles_network() -> ExposureNetwork:
    """One node of each role a shock can name (used by the scenario reader tests).

    ETH (base asset with depth), stream and kelp (issuers), xUSD and rsETH
    (tokens with issuers), stETH (token with depth, no issuer), pool (a holder).
    """
    return v2_network(
        [{"id": "ETH", "kind": "asset", "depth": 1e9, "depth_slippage": 0.04, "impact_exponent": 1.0},
         {"id": "stream", "kind": "protocol", "external_assets": 100.0},
         {"id": "kelp", "kind": "protocol", "external_assets": 50.0},
         {"id": "xUSD", "kind": "token", "issuer": "stream"},
         {"id": "rsETH", "kind": "token", "issuer": "kelp"},
         {"id": "stETH", "kind": "token", "depth": 7.5e8, "depth_slippage": 0.01, "impact_exponent": 1.0},
         {"id": "pool", "kind": "venue", "external_assets": 10.0}],
        [{"kind": "claim", "debtor": "stream", "creditor": "xUSD", "amount": 80.0},
         {"kind": "claim", "debtor": "kelp", "creditor": "rsETH", "amount": 40.0},
         {"kind": "holding", "holder": "pool", "token": "xUSD", "amount": 80.0}],
        name="roles")


def test_roles_network_balance_sheets():
    net = roles_network()
    assert net.version == 2
    # Claims stream -> xUSD (80) and kelp -> rsETH (40): the issuers owe their tokens.
    L = net.liabilities.toarray()
    i = {k: net.index_of(k) for k in net.node_ids}
    assert L[i["stream"], i["xUSD"]] == 80.0 and L[i["kelp"], i["rsETH"]] == 40.0 and L.sum() == 120.0
    # Declared external assets, unchanged by claims between protocols and tokens.
    np.testing.assert_array_equal(net.external_assets[[i["stream"], i["kelp"], i["pool"]]], [100.0, 50.0, 10.0])
    assert list(net.nodes["issuer"].fillna("-")) == ["-", "-", "-", "stream", "kelp", "-", "-"]


def loop_network(oracle: str = "hardcoded", *, lt: float = 0.9, bonus: float = 0.0, close: float = 1.0,
                 pool_liabilities: float = 75.0, as_document: bool = False):
    """A staking token used as collateral at a lending pool funded by outside suppliers.

    lido holds 100 of ETH and owes its token stETH 100 (the whole supply).
    looper has posted 100 of stETH at pool and borrowed 80 of USDC against it
    (liquidation threshold ``lt``, bonus, close factor, ``oracle``). pool owes
    its suppliers ``pool_liabilities`` (outside the network): equity 80 − 75 = 5.

    Hand derivation for an ETH price fall ``s`` (or an asset loss ``s`` at
    lido, or a stETH depeg ``s``): lido pays ``100(1 − s)`` of 100, so stETH
    redeems and trades at ``1 − s``; the collateral is worth ``100(1 − s)``;
    bad debt ``max(0, 80 − 100(1 − s)) = max(0, 100 s − 20)`` (positive above
    s = 0.2); pool defaults when its assets ``min(80, 100(1 − s)) < 75``, i.e.
    above s = 0.25; total loss ``100 s`` (the value of ETH lost: looper loses
    ``min(20, 100 s)``, pool's equity and then its suppliers the rest). A
    forged supply ``f`` of stETH gives ``1 − s = 1 / (1 + f)``: bad debt above f = 0.25.
    """
    return v2_network(
        [{"id": "ETH", "kind": "asset"}, {"id": "USDC", "kind": "asset"},
         {"id": "lido", "kind": "protocol"},
         {"id": "stETH", "kind": "token", "issuer": "lido"},
         {"id": "pool", "kind": "venue", "external_liabilities": pool_liabilities},
         {"id": "looper", "kind": "protocol"}],
        [{"kind": "holding", "holder": "lido", "token": "ETH", "amount": 100.0},
         {"kind": "claim", "debtor": "lido", "creditor": "stETH", "amount": 100.0},
         {"kind": "collateral", "lender": "pool", "borrower": "looper", "collateral_token": "stETH",
          "collateral": 100.0, "debt_token": "USDC", "debt": 80.0, "liquidation_threshold": lt,
          "liquidation_bonus": bonus, "close_factor": close, "oracle": oracle}],
        name=f"loop-{oracle}", as_document=as_document)


def two_token_network(as_document: bool = False):
    """Three tokens with different cushions, for ranking by breaking shock.

    * tokA (market oracle, LT 0.9, bonus 5%, close factor 1): lent 80 against
      100. A depeg ``s`` liquidates at once and repays ``min(80, 100(1 − s)/1.05)``;
      bad debt ``80 − 100(1 − s)/1.05`` is positive above s = 1 − 0.84 = 0.16.
    * tokB (hardcoded oracle): lent 50 against 100; bad debt ``50 − 100(1 − s)``,
      positive above s = 0.5.
    * tokC: held, never lent against: no bad debt at any depeg.
    """
    return v2_network(
        [{"id": "USDC", "kind": "asset"},
         {"id": "issA", "kind": "protocol", "external_assets": 100.0},
         {"id": "issB", "kind": "protocol", "external_assets": 100.0},
         {"id": "issC", "kind": "protocol", "external_assets": 10.0},
         {"id": "tokA", "kind": "token", "issuer": "issA"},
         {"id": "tokB", "kind": "token", "issuer": "issB"},
         {"id": "tokC", "kind": "token", "issuer": "issC"},
         {"id": "lender", "kind": "venue"}, {"id": "bob", "kind": "protocol"}],
        [{"kind": "claim", "debtor": "issA", "creditor": "tokA", "amount": 100.0},
         {"kind": "claim", "debtor": "issB", "creditor": "tokB", "amount": 100.0},
         {"kind": "claim", "debtor": "issC", "creditor": "tokC", "amount": 10.0},
         {"kind": "holding", "holder": "bob", "token": "tokC", "amount": 10.0},
         {"kind": "collateral", "lender": "lender", "borrower": "bob", "collateral_token": "tokA",
          "collateral": 100.0, "debt_token": "USDC", "debt": 80.0, "liquidation_threshold": 0.9,
          "liquidation_bonus": 0.05, "close_factor": 1.0, "oracle": "market"},
         {"kind": "collateral", "lender": "lender", "borrower": "bob", "collateral_token": "tokB",
          "collateral": 100.0, "debt_token": "USDC", "debt": 50.0, "liquidation_threshold": 0.9,
          "liquidation_bonus": 0.05, "close_factor": 1.0, "oracle": "hardcoded"}],
        name="three-tokens", as_document=as_document)


def fire_sale_network(as_document: bool = False):
    """Market-oracle loops on a shallow token: liquidations push the price down in rounds.

    Used where the response has no closed form (bisection against a brute-force grid).
    """
    positions = [
        {"kind": "collateral", "lender": "pool", "borrower": f"b{k}", "collateral_token": "LRT",
         "collateral": 100.0, "debt_token": "ETH", "debt": 100.0 * ltv, "liquidation_threshold": lt,
         "liquidation_bonus": 0.05, "close_factor": 0.5, "oracle": "market"}
        for k, (ltv, lt) in enumerate([(0.9, 0.93), (0.8, 0.85), (0.7, 0.8), (0.6, 0.75)])]
    return v2_network(
        [{"id": "ETH", "kind": "asset"},
         {"id": "restaker", "kind": "protocol", "external_assets": 400.0},
         {"id": "LRT", "kind": "token", "issuer": "restaker", "depth": 100.0, "depth_slippage": 0.05,
          "impact_exponent": 1.0},
         {"id": "pool", "kind": "venue", "external_liabilities": 290.0},
         *[{"id": f"b{k}", "kind": "protocol"} for k in range(4)]],
        [{"kind": "claim", "debtor": "restaker", "creditor": "LRT", "amount": 400.0}, *positions],
        name="fire-sale", as_document=as_document)


def test_loop_network_balance_sheets():
    net = loop_network()
    i = {k: net.index_of(k) for k in net.node_ids}
    # lido's holding of ETH is a holding edge, not a claim: L holds only lido -> stETH.
    assert net.liabilities.toarray()[i["lido"], i["stETH"]] == 100.0 and net.liabilities.sum() == 100.0
    assert net.total_obligations()[i["pool"]] == 75.0
    pos = net.positions.iloc[0]
    assert (pos["collateral"], pos["debt"], pos["oracle"]) == (100.0, 80.0, "hardcoded")


def test_fire_sale_network_is_solvent_before_the_shock():
    net = fire_sale_network()
    pos = net.positions
    # Every loop is healthy at reference prices: H = C·LT/D = LT/LTV > 1.
    assert ((pos["collateral"] * pos["liquidation_threshold"] / pos["debt"]) > 1).all()
    # pool lent 90 + 80 + 70 + 60 = 300 and owes 290 to its suppliers.
    assert pos["debt"].sum() == 300.0

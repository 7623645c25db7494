"""Cross-collateral mechanics: hand-derived cases, each with its derivation in a comment.

Conventions in these networks: ``USD`` and ``ETH`` are base assets (kind ``asset``,
price ratio 1 at the reference date); a lender's suppliers are its external
liabilities ``x`` unless said otherwise; borrowers have no other assets, so a
borrower's equity is the value of its positions.
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from exposure import ExposureNetwork
from exposure.exceptions import ConvergenceError, ConvergenceWarning, InvalidShockError
from exposure.defi import MarketShock, solve_system

TOL = 1e-9


def make(nodes, edges=(), version=2):
    """A network from lists of records (object columns, so that ``None`` stays missing)."""
    def frame(records):
        cols = []
        for r in records:
            cols += [c for c in r if c not in cols]
        return pd.DataFrame({c: pd.Series([r.get(c) for r in records], dtype=object) for c in cols})
    edges = list(edges)
    return ExposureNetwork.from_frames(frame(nodes), frame(edges) if edges else None, meta={"version": version})


def node(id, kind="protocol", **kw):
    return {"id": id, "kind": kind, **kw}


def claim(debtor, creditor, amount):
    return {"kind": "claim", "debtor": debtor, "creditor": creditor, "amount": float(amount)}


def holding(holder, token, amount):
    return {"kind": "holding", "holder": holder, "token": token, "amount": float(amount)}


def position(lender, borrower, ctoken, C, D, *, debt_token="USD", lt=0.8, bonus=0.05, close=1.0,
             oracle="market"):
    return {"kind": "collateral", "lender": lender, "borrower": borrower, "collateral_token": ctoken,
            "collateral": float(C), "debt_token": debt_token, "debt": float(D), "liquidation_threshold": lt,
            "liquidation_bonus": bonus, "close_factor": close, "oracle": oracle}


def val(result, array, node_id):
    return float(getattr(result, array)[result.node_ids.get_loc(node_id)])


# ------------------------------------------------------------------ MarketShock
@pytest.mark.parametrize("field,value,fragment", [
    ("asset_loss", 1.5, "in [0, 1]"),
    ("asset_loss", -0.1, "in [0, 1]"),
    ("asset_loss_amount", -5.0, "in [0, inf)"),
    ("price_change", -1.2, "in [-1, inf)"),
    ("depeg", 0.1, "in [-1, 0]"),
    ("forged_supply", float("nan"), "in [0, inf)"),
    ("depth_factor", 0.0, "in (0, inf)"),
    ("depth_factor", "half", "in (0, inf)"),
    ("asset_loss", True, "in [0, 1]"),
])
def test_market_shock_rejects_out_of_range_values_naming_field_and_node(field, value, fragment):
    with pytest.raises(InvalidShockError) as err:
        MarketShock(**{field: {"stETH": value}})
    msg = str(err.value)
    assert field in msg and "'stETH'" in msg and fragment in msg and "Got" in msg


def test_market_shock_unknown_node_names_field_and_node():
    net = make([node("a", external_assets=1.0)])
    with pytest.raises(InvalidShockError, match=r"depeg: unknown node 'ghost'"):
        solve_system(net, MarketShock(depeg={"ghost": -0.1}))


def test_market_shock_is_frozen_and_coerces_a_plain_mapping():
    s = MarketShock(asset_loss={"a": 0.5})
    with pytest.raises(Exception):
        s.asset_loss = {}
    with pytest.raises(TypeError):
        s.asset_loss["b"] = 0.1
    assert MarketShock.coerce({"a": 0.25}).asset_loss == {"a": 0.25}
    assert MarketShock.coerce(None).is_empty and not s.is_empty
    with pytest.raises(InvalidShockError, match="mapping"):
        MarketShock(depeg=[("a", -0.1)])
    with pytest.raises(InvalidShockError):
        MarketShock.coerce(0.3)


# ------------------------------------------------------- one loop at LTV lambda
def loop_network(lam=0.75, C0=10.0, lt=0.8, bonus=0.05, close=0.5):
    """bob loops C0 of ETH at LTV λ: deposit, borrow λ, buy, deposit... C = C0/(1−λ), D = λ·C0/(1−λ)."""
    C, D = C0 / (1 - lam), lam * C0 / (1 - lam)
    return make([node("ETH", "asset"), node("USD", "asset"), node("pool", external_liabilities=D),
                 node("bob")],
                [position("pool", "bob", "ETH", C, D, lt=lt, bonus=bonus, close=close, oracle="market")])


def test_one_loop_at_ltv_lambda_amplifies_a_price_fall_by_the_leverage():
    # λ = 0.75: C = 10/0.25 = 40 ETH, D = 30 USD, leverage 1/(1−λ) = 4. bob's equity before:
    # 40 − 30 = 10 = C0. ETH −5%: health 40·0.95·0.8/30 = 1.0133 ≥ 1, no liquidation;
    # bob's equity 38 − 30 = 8: the loss 2 = 4 × 5% × C0 (leverage times the unlevered loss).
    net = loop_network()
    res = solve_system(net, MarketShock(price_change={"ETH": -0.05}))
    assert res.converged and res.summary()["liquidated"] == 0.0
    assert val(res, "equity_before", "bob") == pytest.approx(10.0, rel=1e-12)
    assert val(res, "loss", "bob") == pytest.approx(4 * 0.05 * 10.0, rel=1e-12)
    assert res.total_loss == pytest.approx(2.0, rel=1e-12)
    assert res.total_bad_debt == 0.0


@pytest.mark.parametrize("delta,liquidated", [(0.06, False), (0.07, True)])
def test_one_loop_is_liquidated_exactly_past_one_minus_lambda_over_lt(delta, liquidated):
    # H = (1−δ)·C·LT/D = (1−δ)·LT/λ < 1  ⇔  δ > 1 − λ/LT = 1 − 0.75/0.8 = 0.0625.
    res = solve_system(loop_network(), MarketShock(price_change={"ETH": -delta}))
    assert (res.total_liquidated > 0) is liquidated


def test_one_loop_liquidation_costs_the_bonus_and_restores_health():
    # ETH −7%: H = 40·0.93·0.8/30 = 0.992 < 1. Close factor 0.5: R = min(15, 40·0.93/1.05) = 15,
    # S = 15·1.05/0.93 = 16.935 ETH; C' = 23.065, D' = 15, H' = 23.065·0.93·0.8/15 = 1.144 (healed).
    # bob: 23.065·0.93 − 15 = 6.45 = (37.2 − 30) − 0.05·15 (the bonus paid to the liquidator);
    # pool: 15 repaid + min(15, 21.45) = 30, no loss. total_loss = 10 − 6.45 = 3.55.
    res = solve_system(loop_network(), MarketShock(price_change={"ETH": -0.07}))
    pos = res.positions_frame().iloc[0]
    assert pos["repaid"] == pytest.approx(15.0, rel=1e-12)
    assert pos["seized"] == pytest.approx(15 * 1.05 / 0.93, rel=1e-12)
    assert pos["health_after"] == pytest.approx((40 - 15 * 1.05 / 0.93) * 0.93 * 0.8 / 15, rel=1e-12)
    assert pos["liquidated_round"] == 1 and pos["bad_debt_round"] == 0
    assert val(res, "equity_after", "bob") == pytest.approx(7.2 - 0.75, rel=1e-12)
    assert val(res, "loss", "pool") == pytest.approx(0.0, abs=1e-12)
    assert res.total_loss == pytest.approx(3.55, rel=1e-12)
    assert val(res, "liquidated", "bob") == pytest.approx(15 * 1.05 / 0.93, rel=1e-12)
    # round 1 liquidates, round 2 finds nothing left to do
    assert res.rounds == 2 and res.rounds_frame()["liquidations"].tolist() == [1, 0]


# ------------------------------------------------------------- oracle types
def oracle_network(oracle):
    """iss holds 100 and backs tok with 100; pool lends 70 USD to bob against 100 tok (LT 0.8, bonus 5%)."""
    return make([node("iss", external_assets=100.0), node("tok", "token", issuer="iss"), node("USD", "asset"),
                 node("pool", external_liabilities=70.0), node("bob")],
                [claim("iss", "tok", 100.0), position("pool", "bob", "tok", 100, 70, oracle=oracle)])


def test_market_oracle_depeg_liquidates():
    # depeg −20%: m = o = 0.8, H = 100·0.8·0.8/70 = 0.914 < 1. R = min(70, 80/1.05 = 76.19) = 70,
    # S = 70·1.05/0.8 = 91.875, C' = 8.125, D' = 0: no bad debt. bob: 8.125·0.8 = 6.5, loss 30 − 6.5 = 23.5
    # = 20 (depeg) + 3.5 (bonus 5% of 70).
    res = solve_system(oracle_network("market"), MarketShock(depeg={"tok": -0.2}))
    assert res.total_liquidated == pytest.approx(91.875, rel=1e-12)
    assert res.total_bad_debt == 0.0
    assert val(res, "loss", "bob") == pytest.approx(23.5, rel=1e-12)
    assert val(res, "redemption_value", "tok") == 1.0 and val(res, "price_after", "tok") == pytest.approx(0.8)


@pytest.mark.parametrize("oracle", ["exchange_rate", "hardcoded", "linear_discount"])
def test_same_depeg_does_not_liquidate_an_exchange_rate_or_hardcoded_oracle(oracle):
    # exchange_rate: o = r/m_d = 1 (the issuer pays in full); hardcoded: o = 1. H = 100·0.8/70 = 1.14:
    # no liquidation; bob holds 80 − 70 = 10, loss 20; the pool is covered (80 ≥ 70).
    res = solve_system(oracle_network(oracle), MarketShock(depeg={"tok": -0.2}))
    assert res.total_liquidated == 0.0 and res.total_bad_debt == 0.0
    assert val(res, "loss", "bob") == pytest.approx(20.0, rel=1e-12)
    assert res.total_loss == pytest.approx(20.0, rel=1e-12)


def test_issuer_loss_liquidates_exchange_rate_but_is_bad_debt_under_hardcoded():
    # iss loses 40%: pays 60 of 100, r = m = 0.6.
    # hardcoded: o = 1, H = 100·0.8/70 > 1, never liquidated; bad debt = 70 − 100·0.6 = 10 (pool defaults,
    #   its suppliers recover 60/70).
    # exchange_rate: o = 0.6, H = 0.686 < 1: R = min(70, 60/1.05 = 57.143), S = 100 (everything);
    #   bad debt = 70 − 57.143 = 12.857 (worse, by the bonus on a collateral that cannot cover it).
    hard = solve_system(oracle_network("hardcoded"), MarketShock(asset_loss={"iss": 0.4}))
    assert hard.total_liquidated == 0.0
    assert hard.total_bad_debt == pytest.approx(10.0, rel=1e-12)
    assert val(hard, "recovery", "pool") == pytest.approx(60 / 70, rel=1e-12)
    assert hard.external_creditor_loss == pytest.approx(10.0, rel=1e-12)
    ex = solve_system(oracle_network("exchange_rate"), MarketShock(asset_loss={"iss": 0.4}))
    assert ex.total_liquidated == pytest.approx(100.0, rel=1e-12)
    assert ex.total_bad_debt == pytest.approx(70 - 60 / 1.05, rel=1e-12)
    pos = ex.positions_frame().iloc[0]
    # round 1: the issuer defaults (positions still see r = 1); round 2: the oracle sees r = 0.6
    assert val(ex, "default_round", "iss") == 1 and pos["liquidated_round"] == 2 and pos["bad_debt_round"] == 2
    assert val(ex, "default_round", "pool") == 2


# --------------------------------------------------------------- forged supply
@pytest.mark.parametrize("oracle,liquidated,bad", [
    # hardcoded: no liquidation, bad debt = 85 − 100/1.25 = 5.
    ("hardcoded", 0.0, 5.0),
    # exchange_rate follows r = 0.8: H = 100·0.8·0.9/85 = 0.847 → R = min(85, 80/1.05), S = 100,
    # bad debt = 85 − 76.190 = 8.810.
    ("exchange_rate", 100.0, 85 - 80 / 1.05),
])
def test_forged_supply_dilutes_the_token_and_leaves_bad_debt_at_its_lender(oracle, liquidated, bad):
    # kelp holds 100 and backs rsETH with 100. 25% forged supply: every unit redeems at
    # R/(1 + 0.25) = 0.8 though kelp itself pays in full (the loss falls on the holders).
    net = make([node("kelp", external_assets=100.0), node("rsETH", "token", issuer="kelp"), node("USD", "asset"),
                node("pool", external_liabilities=85.0), node("bob")],
               [claim("kelp", "rsETH", 100.0),
                position("pool", "bob", "rsETH", 100, 85, lt=0.9, oracle=oracle)])
    res = solve_system(net, MarketShock(forged_supply={"rsETH": 0.25}))
    assert val(res, "redemption_value", "rsETH") == pytest.approx(0.8, rel=1e-12)
    assert val(res, "recovery", "kelp") == 1.0
    assert res.total_liquidated == pytest.approx(liquidated, rel=1e-12)
    assert val(res, "bad_debt", "pool") == pytest.approx(bad, rel=1e-12)
    assert res.external_creditor_loss == pytest.approx(bad, rel=1e-12)  # the pool's suppliers take it


# --------------------------------------------------------- pooled vs isolated
def lending_network(pooled: bool, receipts: bool = False):
    """Two loans of 80 against 100 of tokA and of tokB (hardcoded oracles): one pool, or two markets."""
    nodes = [node("USD", "asset"), node("tokA", "token"), node("tokB", "token"), node("bob1"), node("bob2"),
             node("S1"), node("S2")]
    if pooled:
        nodes.append(node("P"))
        edges = [position("P", "bob1", "tokA", 100, 80, oracle="hardcoded"),
                 position("P", "bob2", "tokB", 100, 80, oracle="hardcoded")]
        if receipts:
            nodes.append(node("aUSD", "token", issuer="P"))
            edges += [claim("P", "aUSD", 160), holding("S1", "aUSD", 80), holding("S2", "aUSD", 80)]
        else:
            edges += [claim("P", "S1", 80), claim("P", "S2", 80)]
    else:
        nodes += [node("MA"), node("MB")]
        edges = [position("MA", "bob1", "tokA", 100, 80, oracle="hardcoded"),
                 position("MB", "bob2", "tokB", 100, 80, oracle="hardcoded"),
                 claim("MA", "S1", 80), claim("MB", "S2", 80)]
    return make(nodes, edges)


@pytest.mark.parametrize("receipts", [False, True])
def test_pooled_lender_shares_bad_debt_among_all_suppliers(receipts):
    # tokA −50%: loan 1 is backed by 50 < 80, bad debt 30. The pool holds 80 + 50 = 130 against 160
    # owed: recovery 130/160 = 0.8125, each supplier gets 65 of 80 and loses 15 (pro rata), whether it
    # is a creditor of the pool or holds its receipt token (redeeming at the pool's recovery rate).
    res = solve_system(lending_network(True, receipts), MarketShock(depeg={"tokA": -0.5}))
    assert res.total_bad_debt == pytest.approx(30.0, rel=1e-12)
    assert val(res, "loss", "S1") == pytest.approx(15.0, rel=1e-12)
    assert val(res, "loss", "S2") == pytest.approx(15.0, rel=1e-12)
    if receipts:
        assert val(res, "redemption_value", "aUSD") == pytest.approx(130 / 160, rel=1e-12)


def test_isolated_market_keeps_bad_debt_with_its_own_suppliers():
    # Same shock, two isolated markets: market A holds 50 against 80 owed, S1 loses 30; S2 loses nothing.
    res = solve_system(lending_network(False), MarketShock(depeg={"tokA": -0.5}))
    assert val(res, "loss", "S1") == pytest.approx(30.0, rel=1e-12)
    assert val(res, "loss", "S2") == 0.0
    assert val(res, "defaulted", "MA") and not val(res, "defaulted", "MB")


# --------------------------------------------------------------------- fire sale
def fire_sale_network(scale, depth=1000.0):
    """One position of C = 1000·scale T against D = 850·scale USD, market oracle; T has depth 1000 at 10%."""
    return make([node("USD", "asset"), node("T", "token", depth=depth, depth_slippage=0.1, impact_exponent=1.0),
                 node("pool", external_liabilities=850.0 * scale), node("bob"), node("fund")],
                [position("pool", "bob", "T", 1000 * scale, 850 * scale, lt=0.9, close=1.0),
                 holding("fund", "T", 500.0)])


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_fire_sale_price_follows_the_impact_of_the_volume_sold(scale):
    # depeg −10%: m = 0.9, H = 1000·0.9·0.9/850 = 0.953 < 1. Close factor 1: R = min(850s, 900s/1.05) = 850s,
    # S = 850s·1.05/0.9 = 991.667s sold. impact = 0.1·S/1000; m = 0.9·(1 − 0.1·S/1000)
    # (s = 1: 0.81075; s = 2: 0.7215). The position is closed, nothing more is sold.
    res = solve_system(fire_sale_network(scale), MarketShock(depeg={"T": -0.1}))
    S = 850 * scale * 1.05 / 0.9
    assert val(res, "sold", "T") == pytest.approx(S, rel=1e-12)
    assert val(res, "price_after", "T") == pytest.approx(0.9 * (1 - 0.1 * S / 1000), rel=1e-12)
    # the fund's 500 of T are marked at the fire-sale price
    assert val(res, "equity_after", "fund") == pytest.approx(500 * 0.9 * (1 - 0.1 * S / 1000), rel=1e-12)


def test_larger_fire_sale_gives_a_lower_price_and_thin_markets_a_lower_one_still():
    small = solve_system(fire_sale_network(1.0), MarketShock(depeg={"T": -0.1}))
    large = solve_system(fire_sale_network(2.0), MarketShock(depeg={"T": -0.1}))
    thin = solve_system(fire_sale_network(1.0), MarketShock(depeg={"T": -0.1}, depth_factor={"T": 0.5}))
    p = lambda r: val(r, "price_after", "T")  # noqa: E731
    assert p(large) < p(small)
    # depth ×0.5 doubles the impact at α = 1: 0.9·(1 − 0.2·991.667/1000) = 0.72150
    assert p(thin) == pytest.approx(0.9 * (1 - 0.2 * 991.6666666666666 / 1000), rel=1e-12)
    assert p(thin) < p(small)


# --------------------------------------------------------------- two-layer chain
def chain_network():
    """iss backs tok1; L1 lends 80 against 100 tok1 and is funded by its receipt token rt1;
    L2 lends 60 against 80 rt1 and is funded by sup. Exchange-rate oracles, bonus 5%, close factor 1."""
    return make([node("USD", "asset"), node("iss", external_assets=100.0), node("tok1", "token", issuer="iss"),
                 node("L1"), node("rt1", "token", issuer="L1"), node("L2"), node("sup"), node("bob1"),
                 node("bob2")],
                [claim("iss", "tok1", 100), claim("L1", "rt1", 80), claim("L2", "sup", 60),
                 position("L1", "bob1", "tok1", 100, 80, lt=0.9, oracle="exchange_rate"),
                 position("L2", "bob2", "rt1", 80, 60, lt=0.9, oracle="exchange_rate")])


def test_two_layer_chain_issuer_loss_reaches_the_second_lenders_suppliers():
    # Round 1: iss loses 50%, pays 50: r(tok1) = 0.5.
    # Round 2: pos1 H = 100·0.5·0.9/80 = 0.5625: R = 100·0.5/1.05 = 47.619, all collateral seized, bad
    #   debt 32.381; L1 holds 47.619 of 80 owed: r(rt1) = 47.619/80 = 0.595238.
    # Round 3: pos2 H = 80·0.595·0.9/60 = 0.714: R = 80·0.595238/1.05 = 45.351 = 100·0.5/1.05², all
    #   seized, bad debt 14.649; L2 pays 45.351 of 60: sup loses 60 − 50/1.05² = 14.6485.
    # Round 4: nothing changes.
    res = solve_system(chain_network(), MarketShock(asset_loss={"iss": 0.5}))
    assert res.converged and res.rounds == 4
    assert val(res, "loss", "sup") == pytest.approx(60 - 50 / 1.05**2, rel=1e-12)
    assert val(res, "bad_debt", "L1") == pytest.approx(80 - 50 / 1.05, rel=1e-12)
    assert val(res, "bad_debt", "L2") == pytest.approx(60 - 50 / 1.05**2, rel=1e-12)
    assert val(res, "redemption_value", "rt1") == pytest.approx(50 / 1.05 / 80, rel=1e-12)
    # the cascade, wave by wave
    assert [val(res, "default_round", x) for x in ("iss", "L1", "L2")] == [1, 2, 3]
    assert res.positions_frame()["liquidated_round"].tolist() == [2, 3]
    assert [val(res, "price_round", x) for x in ("tok1", "rt1")] == [1, 2]
    rounds = res.rounds_frame()
    assert rounds["liquidations"].tolist() == [0, 1, 1, 0]
    assert rounds["new_defaults"].tolist() == [1, 1, 1, 0]
    # every dollar lost: iss's 50 of assets; bob1, bob2 lose their 20 + 20 of equity; the bonuses
    # 0.05·47.619 + 0.05·45.351 go to outside liquidators. Token nodes are left out of total_loss.
    assert res.conservation_residual < 1e-12


# --------------------------------------------------------------- convergence
def test_round_limit_is_reported_warned_and_raised_under_strict():
    # the chain needs 4 rounds (see above); 2 is not enough
    net, shock = chain_network(), MarketShock(asset_loss={"iss": 0.5})
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = solve_system(net, shock, max_iter=2)
    assert not res.converged and res.status == 1 and res.iterations == 2 and res.residual > TOL
    with pytest.raises(ConvergenceError) as err:
        solve_system(net, shock, max_iter=2, strict=True)
    assert err.value.result is not None and not err.value.result.converged


def test_bad_parameters_are_value_errors():
    net = chain_network()
    for kw in ({"alpha": 1.5}, {"tol": 0.0}, {"max_iter": 0}):
        with pytest.raises(ValueError):
            solve_system(net, **kw)


# --------------------------------------------------------------------- frames
def test_frames_have_the_agreed_columns():
    res = solve_system(chain_network(), MarketShock(asset_loss={"iss": 0.5}))
    assert list(res.nodes_frame().columns)[:9] == ["node", "kind", "equity_before", "equity_after", "loss",
                                                   "bad_debt", "liquidated", "defaulted", "default_round"]
    assert list(res.tokens_frame().columns)[:5] == ["token", "price_before", "price_after",
                                                    "redemption_value", "liquidated"]
    assert set(res.tokens_frame()["token"]) == {"USD", "tok1", "rt1"}
    assert list(res.to_frame().columns) == ["node", "obligations", "payments", "recovery", "assets", "equity",
                                            "defaulted", "default_round", "impaired", "buffer_used", "bad_debt",
                                            "liquidated", "equity_before", "loss"]
    assert set(res.summary()) == {"total_loss", "bad_debt", "liquidated", "n_defaults", "n_impaired", "buffer_used",
                                  "external_creditor_loss", "rounds", "converged", "iterations", "residual",
                                  "conservation_residual"}
    assert len(res.rounds_frame()) == res.rounds
    assert len(res.positions_frame()) == 2
    assert math.isfinite(res.summary()["total_loss"])
    assert "SystemResult" in repr(res)


def test_tokens_frame_prices_are_in_usd_per_unit():
    # a token with reference price 2000 USD per unit depegged by 10%: 1800 USD per unit
    net = make([node("T", "token", price=2000.0), node("h")], [holding("h", "T", 100.0)])
    res = solve_system(net, MarketShock(depeg={"T": -0.1}))
    row = res.tokens_frame().set_index("token").loc["T"]
    assert row["price_before"] == 2000.0 and row["price_after"] == pytest.approx(1800.0)
    assert row["price_ratio"] == pytest.approx(0.9) and row["price_round"] == 1
    # the holding is 100 USD at reference price: worth 90 now
    assert val(res, "loss", "h") == pytest.approx(10.0, rel=1e-12)


def test_asset_loss_amount_is_capped_at_what_the_node_owns_and_spares_its_positions():
    # bob owns 30 outright plus a position worth 100 − 70 = 30: an asset loss of 50 takes the 30 only.
    net = make([node("USD", "asset"), node("ETH", "asset"), node("pool", external_liabilities=70.0),
                node("bob", external_assets=30.0)],
               [position("pool", "bob", "ETH", 100, 70)])
    res = solve_system(net, MarketShock(asset_loss_amount={"bob": 50.0}))
    assert val(res, "equity_after", "bob") == pytest.approx(30.0, rel=1e-12)
    res = solve_system(net, MarketShock(asset_loss={"bob": 0.5}))
    assert val(res, "equity_after", "bob") == pytest.approx(45.0, rel=1e-12)


def test_no_shock_leaves_every_equity_unchanged():
    res = solve_system(chain_network())
    assert res.converged and res.total_loss == 0.0 and res.rounds == 1
    np.testing.assert_array_equal(res.equity_before, res.equity_after)


def test_warnings_are_not_emitted_on_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solve_system(chain_network(), MarketShock(asset_loss={"iss": 0.3}))

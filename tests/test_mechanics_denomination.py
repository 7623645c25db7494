"""Asset-denominated obligations: tokens redeemable in ETH and claims whose face value follows ETH.

Each numeric expectation is derived by hand in a comment, or checked against an independent
computation (the clearing engine on a network whose amounts were rescaled by hand).
"""

import numpy as np
import pandas as pd
import pytest

from exposure import ExposureNetwork
from exposure import clear
from exposure.exceptions import InvalidNetworkError
from exposure.defi import MarketShock, solve_system

from test_mechanics import claim, holding, make, node, position, val

ETH_DOWN = MarketShock(price_change={"ETH": -0.3})


def denominated(debtor, creditor, amount, asset="ETH"):
    return {**claim(debtor, creditor, amount), "denomination": asset}


def lst_network(*, token_denomination="ETH"):
    """lido holds 100 of ETH and owes its token stETH 100; alice holds all the stETH."""
    tok = node("stETH", "token", issuer="lido")
    if token_denomination:
        tok["denomination"] = token_denomination
    return make([node("ETH", "asset"), node("lido"), tok, node("alice", "external")],
                [holding("lido", "ETH", 100), claim("lido", "stETH", 100), holding("alice", "stETH", 100)])


# ------------------------------------------------------------------ an LST issuer
def test_lst_issuer_owing_eth_stays_solvent_when_eth_falls():
    # lido's assets: 100 of ETH at 0.7 = 70. Its obligation to stETH is denominated in ETH (the
    # token's denomination passes to the backing claim): p̄ = 100·0.7 = 70. 70 ≥ 70: lido pays in full,
    # R = 1, and stETH redeems at r = R·m_ETH = 0.7, 30% below its reference. alice's equity 100 -> 70.
    res = solve_system(lst_network(), ETH_DOWN, tol=1e-12)
    assert res.converged
    assert not res.defaulted.any()
    assert val(res, "obligations", "lido") == pytest.approx(70.0)
    assert val(res, "recovery", "lido") == pytest.approx(1.0)
    assert val(res, "redemption_value", "stETH") == pytest.approx(0.7)
    assert val(res, "price_after", "stETH") == pytest.approx(0.7)
    assert val(res, "loss", "alice") == pytest.approx(30.0)
    assert val(res, "loss", "lido") == pytest.approx(0.0, abs=1e-9)
    # the whole loss is alice's: total 30 (token nodes are pass-through)
    assert res.total_loss == pytest.approx(30.0)
    assert res.n_defaults == 0
    assert res.conservation_residual < 1e-12


def test_without_denomination_the_same_issuer_defaults():
    # control: the obligation stays 100 USD against 70 of ETH; lido defaults (R = 0.7), stETH's price is
    # the same 0.7 but reached through a default, the reading the denomination removes
    res = solve_system(lst_network(token_denomination=None), ETH_DOWN, tol=1e-12)
    assert bool(res.defaulted[res.node_ids.get_loc("lido")])
    assert val(res, "recovery", "lido") == pytest.approx(0.7)
    assert val(res, "price_after", "stETH") == pytest.approx(0.7)


def test_claim_denomination_on_the_edge_alone():
    # the backing claim itself says ETH, the token says nothing: the issuer owes 100·0.7 = 70 against
    # 70 of ETH and stays solvent. The token's redemption value is R·m_den = 1·1 (no denomination of
    # its own), so a token must carry the denomination for its USD price to follow ETH
    # (docs/mechanics.md says so); the edge alone only fixes the issuer's obligation.
    net = make([node("ETH", "asset"), node("lido"), node("stETH", "token", issuer="lido")],
               [holding("lido", "ETH", 100), denominated("lido", "stETH", 100)])
    res = solve_system(net, ETH_DOWN, tol=1e-12)
    assert val(res, "obligations", "lido") == pytest.approx(70.0)
    assert not res.defaulted.any()
    assert val(res, "redemption_value", "stETH") == pytest.approx(1.0)


def test_edge_denomination_overrides_the_token_denomination():
    # stETH says ETH but its backing claim says USD (a base asset whose price is not shocked): the
    # obligation stays 100 against 70 of ETH, lido defaults with R = 0.7 and r = 0.7·m_ETH = 0.49
    net = make([node("ETH", "asset"), node("USD", "asset"), node("lido"),
                node("stETH", "token", issuer="lido", denomination="ETH")],
               [holding("lido", "ETH", 100), denominated("lido", "stETH", 100, asset="USD")])
    res = solve_system(net, ETH_DOWN, tol=1e-12)
    assert val(res, "obligations", "lido") == pytest.approx(100.0)
    assert val(res, "recovery", "lido") == pytest.approx(0.7)
    assert val(res, "redemption_value", "stETH") == pytest.approx(0.49)


# ------------------------------------------------------------------ positions under an ETH fall
def loop_network(*, debt_token, oracle, supplier_denomination="ETH"):
    """pool lends 80 of debt_token to bob against 100 of stETH; pool owes its suppliers 80."""
    sup = claim("pool", "suppliers", 80)
    if supplier_denomination:
        sup["denomination"] = supplier_denomination
    return make([node("ETH", "asset"), node("USDC", "asset"), node("lido"),
                 node("stETH", "token", issuer="lido", denomination="ETH"), node("pool"), node("bob"),
                 node("suppliers", "external")],
                [holding("lido", "ETH", 100), claim("lido", "stETH", 100), sup,
                 position("pool", "bob", "stETH", 100, 80, debt_token=debt_token, lt=0.95, bonus=0.05,
                          close=0.5, oracle=oracle)])


def test_steth_eth_loop_on_exchange_rate_oracle_is_untouched():
    # ETH -30%: r_stETH = 0.7, m_ETH = 0.7; exchange-rate oracle o = r_c / m_d = 0.7/0.7 = 1, so
    # H = 100·1·0.95/80 = 1.1875 ≥ 1: no liquidation. Bad debt max(0, 80·0.7 − 100·0.7) = 0.
    # The pool's position is worth min(56, 70) = 56 and it owes its ETH suppliers 80·0.7 = 56: solvent.
    # bob's equity (100 − 80)·0.7 = 14, down from 20.
    res = solve_system(loop_network(debt_token="ETH", oracle="exchange_rate"), ETH_DOWN, tol=1e-12)
    assert res.converged
    assert res.total_liquidated == 0.0
    assert res.total_bad_debt == 0.0
    assert not res.defaulted.any()
    assert res.health_after[0] == pytest.approx(1.1875)
    assert val(res, "obligations", "pool") == pytest.approx(56.0)
    assert val(res, "equity_after", "bob") == pytest.approx(14.0)
    # the suppliers' claim is worth 56 USD: their loss is the ETH price move, 24
    assert val(res, "loss", "suppliers") == pytest.approx(24.0)


def test_eth_pool_owing_usd_to_its_suppliers_defaults():
    # control: the suppliers' claim in USD (80) against a position worth 56: the pool defaults and the
    # suppliers receive 56 (the same USD as above, now as a default)
    res = solve_system(loop_network(debt_token="ETH", oracle="exchange_rate", supplier_denomination=None),
                       ETH_DOWN, tol=1e-12)
    assert bool(res.defaulted[res.node_ids.get_loc("pool")])
    assert val(res, "payments", "pool") == pytest.approx(56.0)


def test_steth_usdc_loop_on_market_oracle_is_liquidated():
    # USDC debt, market oracle: o = m_stETH / m_USDC = 0.7, H = 100·0.7·0.95/80 = 0.83125 < 1:
    # liquidated in round 1: repaid R = min(0.5·80, 100·0.7/1.05) = 40, seized S = 40·1.05/0.7 = 60.
    res = solve_system(loop_network(debt_token="USDC", oracle="market", supplier_denomination=None),
                       ETH_DOWN, tol=1e-12)
    rounds = res.rounds_frame()
    assert res.liquidated_round[0] == 1
    assert rounds.loc[0, "repaid"] == pytest.approx(40.0)
    assert rounds.loc[0, "sold"] == pytest.approx(60.0)
    assert res.health_before[0] == pytest.approx(100 * 0.95 / 80)
    # round 2: C' = 40, D' = 40, H = 40·0.7·0.95/40 = 0.665 < 1: R = min(20, 40·0.7/1.05) = 20, S = 30;
    # round 3: C' = 10, D' = 20: R = min(10, 10·0.7/1.05 = 6.667) = 6.667, S = 10 (all the collateral);
    # bad debt 20 − 6.667 = 13.333 (no price impact: stETH has no depth)
    assert res.total_liquidated == pytest.approx(100.0)
    assert res.total_bad_debt == pytest.approx(20 - 7 / 1.05)


# ------------------------------------------------------------------ claims only: the clearing engine
def random_claims(seed, scale_eth=1.0):
    """A random claims-only network with some claims denominated in ETH and ETH held as claims on ETH.

    With ``scale_eth`` the ETH-denominated amounts are multiplied by hand and the denomination dropped:
    the network the clearing engine sees after an ETH move.
    """
    rng = np.random.default_rng(seed)
    n = 25
    ids = [f"n{i}" for i in range(n)]
    nodes = [{"id": "ETH", "kind": "asset"}] + [
        {"id": i, "kind": "protocol", "external_assets": float(rng.uniform(0, 20)),
         "external_liabilities": float(rng.uniform(0, 10))} for i in ids]
    edges = []
    for _ in range(80):
        a, b = rng.choice(n, 2, replace=False)
        amt = float(rng.uniform(1, 30))
        eth = rng.random() < 0.4
        rec = {"kind": "claim", "debtor": ids[a], "creditor": ids[b], "amount": amt * (scale_eth if eth else 1)}
        if eth and scale_eth == 1.0:
            rec["denomination"] = "ETH"
        edges.append(rec)
    for i in rng.choice(n, 8, replace=False):
        edges.append({"kind": "claim", "debtor": "ETH", "creditor": ids[i],
                      "amount": float(rng.uniform(5, 40)) * scale_eth})
    frame = lambda recs: pd.DataFrame.from_records(recs)  # noqa: E731  (records: missing -> NaN)
    return ExposureNetwork.from_frames(frame(nodes), frame(edges), meta={"version": 1})


@pytest.mark.parametrize("seed", range(4))
def test_claims_only_network_equals_clearing_of_the_rescaled_network(seed):
    # independent method: the clearing engine on the same network with every ETH amount multiplied
    # by hand by 0.6 (ETH −40%) must give the payments and equities of the mechanics on the original
    net = random_claims(seed)
    ref = clear(random_claims(seed, scale_eth=0.6))
    res = solve_system(net, MarketShock(price_change={"ETH": -0.4}), tol=1e-12)
    np.testing.assert_allclose(res.obligations, ref.obligations, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(res.payments, ref.payments, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(res.equity_after, ref.equity, rtol=1e-9, atol=1e-8)
    assert res.n_defaults == ref.n_defaults
    assert res.conservation_residual < 1e-9


def test_denominated_claims_without_a_price_move_equal_the_clearing_engine():
    # no ETH move: every factor is 1, and the model is the clearing engine on the network as declared
    net = random_claims(7)
    res, ref = solve_system(net, {"n3": 0.8}), clear(net, {"n3": 0.8})
    np.testing.assert_allclose(res.payments, ref.payments, rtol=1e-9, atol=1e-9)
    assert res.n_defaults == ref.n_defaults


# ------------------------------------------------------------------ monotonicity
def mixed_network():
    """Two issuers (one owing its token in ETH, one in USD), an ETH pool with an exchange-rate loop,
    a USDC market on stETH with a market oracle, and the holders of both tokens."""
    return make(
        [node("ETH", "asset"), node("USDC", "asset"), node("lido"),
         node("stETH", "token", issuer="lido", denomination="ETH", depth=50.0, depth_slippage=0.05),
         node("usdx-issuer"), node("USDX", "token", issuer="usdx-issuer"), node("pool"), node("market"),
         node("bob"), node("carol"), node("suppliers", "external"), node("holders", "external")],
        [holding("lido", "ETH", 100), claim("lido", "stETH", 100),
         holding("usdx-issuer", "ETH", 30), holding("usdx-issuer", "stETH", 20), holding("usdx-issuer", "USDC", 20),
         claim("usdx-issuer", "USDX", 60),
         denominated("pool", "suppliers", 70), claim("market", "suppliers", 40),
         holding("holders", "stETH", 40), holding("holders", "USDX", 60),
         position("pool", "bob", "stETH", 30, 25, debt_token="ETH", lt=0.95, bonus=0.01, close=0.5,
                  oracle="exchange_rate"),
         position("market", "carol", "stETH", 10, 7, debt_token="USDC", lt=0.86, bonus=0.04, close=1.0,
                  oracle="market"),
         holding("pool", "ETH", 45)])


def test_losses_are_monotone_in_the_eth_price():
    # property: a deeper ETH fall never lowers total loss, bad debt or the number of defaults
    net = mixed_network()
    prev = None
    for change in np.linspace(0.0, -0.9, 19):
        res = solve_system(net, MarketShock(price_change={"ETH": float(change)}), tol=1e-12)
        assert res.converged
        assert res.conservation_residual < 1e-9
        # every dollar lost is somebody's: total + token nodes' loss = external value destroyed
        token_loss = float(res.loss[res.kinds == "token"].sum())
        assert res.total_loss + token_loss == pytest.approx(res.value_lost, abs=1e-8)
        cur = (res.total_loss, res.total_bad_debt, res.n_defaults)
        if prev is not None:
            assert cur[0] >= prev[0] - 1e-9
            assert cur[1] >= prev[1] - 1e-9
            assert cur[2] >= prev[2]
        prev = cur


def test_losses_are_monotone_in_an_issuer_loss_with_eth_down():
    # property: with ETH −20%, a larger loss at lido never lowers total loss or bad debt
    net = mixed_network()
    prev = None
    for f in np.linspace(0.0, 1.0, 21):
        res = solve_system(net, MarketShock(price_change={"ETH": -0.2}, asset_loss={"lido": float(f)}), tol=1e-12)
        cur = (res.total_loss, res.total_bad_debt)
        if prev is not None:
            assert cur[0] >= prev[0] - 1e-9 and cur[1] >= prev[1] - 1e-9
        prev = cur


def test_fire_sale_of_the_denomination_asset_restarts_clearing_cold(monkeypatch):
    # When ETH itself is sold (it has depth and is posted as collateral), its price and with it the
    # ETH-denominated obligations move from round to round; those rounds must clear from p̄ (cold)
    # and give the state of a run that always starts cold.
    import exposure.defi._system as mech
    net = make(
        [node("ETH", "asset", depth=20.0, depth_slippage=0.1), node("USDC", "asset"), node("lido"),
         node("stETH", "token", issuer="lido", denomination="ETH"), node("market"), node("dave"),
         node("suppliers", "external"), node("holders", "external")],
        [holding("lido", "ETH", 50), claim("lido", "stETH", 50), holding("holders", "stETH", 50),
         denominated("market", "suppliers", 60),
         position("market", "dave", "ETH", 100, 60, debt_token="USDC", lt=0.8, bonus=0.05, oracle="market")])
    warm = solve_system(net, ETH_DOWN, tol=1e-12)
    cold_clear = mech._clear
    monkeypatch.setattr(mech, "_clear", lambda Pi, pbar, e, **kw: cold_clear(Pi, pbar, e, **{**kw, "start": None}))
    cold = solve_system(net, ETH_DOWN, tol=1e-12)
    assert warm.total_liquidated > 0 and warm.rounds > 2
    np.testing.assert_allclose(warm.payments, cold.payments, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(warm.price_after, cold.price_after, rtol=1e-12, atol=1e-12)
    # the ETH fire sale lowers ETH below 0.7, and stETH follows it exactly (its issuer stays solvent)
    m_eth = val(warm, "price_after", "ETH")
    assert m_eth < 0.7
    assert val(warm, "price_after", "stETH") == pytest.approx(m_eth, rel=1e-9)


# ------------------------------------------------------------------ validation
def test_node_denomination_must_name_a_base_asset():
    with pytest.raises(InvalidNetworkError, match=r"denomination' of node 'stETH' must name a base asset"):
        make([node("lido"), node("stETH", "token", issuer="lido", denomination="lido")])
    with pytest.raises(InvalidNetworkError, match=r"denomination' of node 'stETH' must be the id of a node"):
        make([node("lido"), node("stETH", "token", issuer="lido", denomination="WETH")])


def test_claim_denomination_must_name_a_base_asset():
    nodes = [node("ETH", "asset"), node("pool"), node("sup")]
    with pytest.raises(InvalidNetworkError, match=r"claim 'pool->sup' must be the id of a base asset.*'WETH'"):
        make(nodes, [denominated("pool", "sup", 10, asset="WETH")])
    with pytest.raises(InvalidNetworkError, match=r"claim 'pool->sup' must name a base asset.*'sup'"):
        make(nodes, [denominated("pool", "sup", 10, asset="sup")])
    net = make(nodes, [denominated("pool", "sup", 10)])
    assert net.claims["denomination"].tolist() == ["ETH"]


def test_records_with_missing_issuer_and_denomination_load_under_pandas_3():
    # DataFrame.from_records turns a missing issuer into NaN (string dtype in pandas 3); NaN is absent
    nodes = pd.DataFrame.from_records([
        {"id": "ETH", "kind": "asset"}, {"id": "lido", "kind": "protocol", "external_assets": 10.0},
        {"id": "stETH", "kind": "token", "issuer": "lido", "denomination": "ETH"}])
    edges = pd.DataFrame.from_records([
        {"kind": "claim", "debtor": "lido", "creditor": "stETH", "amount": 10.0},
        {"kind": "claim", "debtor": "ETH", "creditor": "lido", "amount": 5.0, "denomination": None}])
    net = ExposureNetwork.from_frames(nodes, edges, meta={"version": 2})
    assert net.nodes["issuer"].isna().tolist() == [True, True, False]
    assert net.nodes["denomination"].isna().tolist() == [True, True, False]
    res = solve_system(net, ETH_DOWN)
    # lido: 10 external + 5 of ETH at 0.7 = 13.5 against an ETH obligation of 7: solvent
    assert val(res, "obligations", "lido") == pytest.approx(7.0)
    assert not res.defaulted.any()

"""Properties of the mechanics engine.

* against a slow, obvious reference implementation (Python loops over positions and
  holdings, dense Picard clearing) on random networks;
* without holdings and positions, exactly the clearing engine;
* losses and bad debt monotone in every kind of shock;
* value conserved (the residual is reported and small).
"""

import numpy as np
import pandas as pd
import pytest

from exposure import ExposureNetwork
from exposure import clear
from exposure.defi import MarketShock, solve_system
from exposure.defi import price_impact

ORACLES = ("market", "exchange_rate", "hardcoded", "linear_discount")


def random_network(seed, n_positions=12, denominated=False):
    """Issuers backing tokens, lenders funded by receipt tokens, suppliers and borrowers, two base assets.

    ``denominated``: T0 is redeemable in ETH and its issuer holds ETH instead of cash; lender L0 owes
    its receipt token in ETH; one person's claim on I0 is in ETH (ETH is posted and fire-sold, so
    the denominated obligations move from round to round).
    """
    rng = np.random.default_rng(seed)
    nodes = [{"id": "USD", "kind": "asset"},
             {"id": "ETH", "kind": "asset", "depth": float(rng.uniform(50, 500)), "depth_slippage": 0.1,
              "impact_exponent": float(rng.choice([0.5, 1.0]))}]
    edges = []
    tokens = ["ETH"]
    e0 = None
    for i in range(3):
        e = float(rng.uniform(50, 150))
        e0 = e if e0 is None else e0
        nodes += [{"id": f"I{i}", "kind": "protocol", "external_assets": e},
                  {"id": f"T{i}", "kind": "token", "issuer": f"I{i}", "depth": float(rng.uniform(20, 300)),
                   "depth_slippage": float(rng.uniform(0.02, 0.3)), "impact_exponent": 1.0}]
        edges.append({"kind": "claim", "debtor": f"I{i}", "creditor": f"T{i}",
                      "amount": e * float(rng.uniform(0.85, 1.0))})
        tokens.append(f"T{i}")
    for j in range(2):
        nodes += [{"id": f"L{j}", "kind": "protocol", "external_assets": float(rng.uniform(0, 20))},
                  {"id": f"R{j}", "kind": "token", "issuer": f"L{j}", "depth": float(rng.uniform(20, 200)),
                   "depth_slippage": 0.05}]
        tokens.append(f"R{j}")
    people = [f"P{k}" for k in range(4)]
    nodes += [{"id": p, "kind": "protocol", "external_assets": float(rng.uniform(0, 10))} for p in people]
    lent = np.zeros(2)
    if denominated:
        nodes[2]["external_assets"] = 0.0
        nodes[3]["denomination"] = "ETH"
        edges.append({"kind": "holding", "holder": "I0", "token": "ETH", "amount": e0})
    for _ in range(n_positions):
        lender = int(rng.integers(2))
        ctok = str(rng.choice([t for t in tokens if t != f"R{lender}"]))
        C = float(rng.uniform(5, 60))
        ltv = float(rng.uniform(0.4, 0.85))
        lent[lender] += C * ltv
        edges.append({"kind": "collateral", "lender": f"L{lender}", "borrower": str(rng.choice(people)),
                      "collateral_token": ctok, "collateral": C, "debt_token": str(rng.choice(["USD", "ETH"])),
                      "debt": C * ltv, "liquidation_threshold": float(min(0.95, ltv + rng.uniform(0.03, 0.12))),
                      "liquidation_bonus": float(rng.uniform(0.0, 0.1)), "close_factor": float(rng.choice([0.5, 1.0])),
                      "oracle": str(rng.choice(ORACLES))})
    for j in range(2):
        edges.append({"kind": "claim", "debtor": f"L{j}", "creditor": f"R{j}", "amount": float(lent[j]),
                      **({"denomination": "ETH"} if denominated and j == 0 else {})})
        for p in people[:2]:
            edges.append({"kind": "holding", "holder": p, "token": f"R{j}", "amount": float(lent[j] / 2)})
    for p in people:
        edges.append({"kind": "holding", "holder": p, "token": str(rng.choice(tokens)),
                      "amount": float(rng.uniform(1, 30))})
        edges.append({"kind": "claim", "debtor": p, "creditor": "I0", "amount": float(rng.uniform(0, 5)),
                      **({"denomination": "ETH"} if denominated and p == "P1" else {})})

    def frame(records):
        cols = []
        for r in records:
            cols += [c for c in r if c not in cols]
        return pd.DataFrame({c: pd.Series([r.get(c) for r in records], dtype=object) for c in cols})
    return ExposureNetwork.from_frames(frame(nodes), frame(edges), meta={"version": 2})


def random_shock(seed):
    rng = np.random.default_rng(seed + 1000)
    return MarketShock(asset_loss={f"I{rng.integers(3)}": float(rng.uniform(0.1, 0.7))},
                       price_change={"ETH": float(rng.uniform(-0.4, 0.0))},
                       depeg={f"T{rng.integers(3)}": float(rng.uniform(-0.3, 0.0))},
                       forged_supply={f"T{rng.integers(3)}": float(rng.uniform(0.0, 0.3))},
                       depth_factor={"ETH": float(rng.uniform(0.2, 1.0))})


# ---------------------------------------------------------------- reference implementation
def reference_solve(net, shock, *, alpha=1.0, beta=1.0, rounds=500):
    """The agreed semantics written out with Python loops and a dense Picard clearing.

    Returns (payments, market prices, bad debt per position, sold per node, rounds).
    """
    ids = list(net.node_ids)
    n = len(ids)
    ix = {x: i for i, x in enumerate(ids)}
    nodes = net.nodes
    kind = nodes["kind"].tolist()
    issuer = [ix.get(v, -1) if isinstance(v, str) else -1 for v in
              (nodes["issuer"].tolist() if "issuer" in nodes else [None] * n)]
    col = lambda c, d: [float(v) if v == v else d for v in nodes[c].tolist()] if c in nodes else [d] * n  # noqa
    depth, slip, expo = col("depth", np.nan), col("depth_slippage", np.nan), col("impact_exponent", 1.0)
    den = [ix.get(v, -1) if isinstance(v, str) else -1 for v in
           (nodes["denomination"].tolist() if "denomination" in nodes else [None] * n)]
    e_decl = nodes["external_assets"].tolist()
    asset_claims, claims_in_L = [], []
    for _, c in net.claims.iterrows():
        d, cr = ix[c["debtor"]], ix[c["creditor"]]
        if kind[d] == "asset":
            asset_claims.append((cr, d, c["amount"]))
        else:
            own = c.get("denomination")
            # a claim's denomination: its own, else its creditor's (an issuer's backing of its token)
            claims_in_L.append((d, cr, c["amount"], ix[own] if isinstance(own, str) else den[cr]))
    x = np.array(net.external_liabilities)

    def obligations(m):
        L = np.zeros((n, n))
        for d, cr, amt, a in claims_in_L:
            L[d, cr] += amt * (m[a] if a >= 0 else 1.0)
        pbar = L.sum(axis=1) + x
        return pbar, np.divide(L, pbar[:, None], out=np.zeros_like(L), where=pbar[:, None] > 0)

    m_den = lambda m, i: m[den[i]] if den[i] >= 0 else 1.0  # noqa: E731
    hold = [(ix[h["holder"]], ix[h["token"]], h["amount"]) for _, h in net.holdings.iterrows()]
    pos = [dict(l=ix[p["lender"]], b=ix[p["borrower"]], c=ix[p["collateral_token"]], d=ix[p["debt_token"]],
                C=p["collateral"], D=p["debt"], lt=p["liquidation_threshold"], bonus=p["liquidation_bonus"],
                cf=p["close_factor"], oracle=p["oracle"], repaid=0.0)
           for _, p in net.positions.iterrows()]
    g = lambda field, i, d: getattr(shock, field).get(ids[i], d)  # noqa: E731
    chg = [g("price_change", i, 0.0) for i in range(n)]
    # base assets: the price change is fundamental (in r); issued tokens: a market move
    fund = [1.0 if issuer[i] >= 0 else 1 + chg[i] for i in range(n)]
    pf = [(1 + g("depeg", i, 0.0)) * (1 + chg[i] if issuer[i] >= 0 else 1.0) for i in range(n)]
    forged = [g("forged_supply", i, 0.0) for i in range(n)]
    dfac = [g("depth_factor", i, 1.0) for i in range(n)]

    def impact(i, Q):
        if not (depth[i] == depth[i] and slip[i] == slip[i]) or Q <= 0:
            return 0.0
        return min(1.0, slip[i] * (Q / (depth[i] * dfac[i])) ** expo[i])

    r = [fund[i] / (1 + forged[i]) for i in range(n)]
    Q = [0.0] * n
    m = [r[i] * pf[i] for i in range(n)]
    r = [r[i] * m_den(m, i) for i in range(n)]  # a token redeemable in an asset starts at its price
    m = [r[i] * pf[i] for i in range(n)]
    pbar, Pi = obligations(m)
    p = pbar.copy()
    bad = [0.0] * len(pos)
    for k in range(1, rounds + 1):
        # 1. one liquidation step per position
        moved = 0.0
        for q in pos:
            o = {"market": m[q["c"]] / m[q["d"]], "exchange_rate": r[q["c"]] / m[q["d"]]}.get(q["oracle"], 1.0)
            pays = (1 + q["bonus"]) * m[q["c"]] >= o * m[q["d"]] * (1 - 1e-12)
            if q["oracle"] in ("market", "exchange_rate") and q["D"] > 0 and 0 < o < np.inf and pays:
                if q["C"] * o * q["lt"] / q["D"] < 1 - 1e-12:
                    R = min(q["cf"] * q["D"], q["C"] * o / (1 + q["bonus"]))
                    S = min(R * (1 + q["bonus"]) / o, q["C"])
                    q["C"] -= S
                    q["D"] -= R
                    q["repaid"] += R
                    Q[q["c"]] += S
                    moved = max(moved, S / q["C0"] if "C0" in q else S)
        # 2. revalue
        e = []
        for i in range(n):
            f = g("asset_loss", i, 0.0)
            a = g("asset_loss_amount", i, 0.0)
            own = e_decl[i] + sum(amt * m[t] for h, t, amt in asset_claims if h == i) \
                + sum(amt * m[t] for h, t, amt in hold if h == i)
            e.append(max(0.0, (1 - f) * own - a))
        for j, q in enumerate(pos):
            cv, dv = q["C"] * m[q["c"]], q["D"] * m[q["d"]]
            e[q["l"]] += q["repaid"] * m[q["d"]] + min(dv, cv)
            e[q["b"]] += max(0.0, cv - dv)
            bad[j] = max(0.0, dv - cv)
        e = np.array(e)
        pbar, Pi = obligations(m)  # denominated claims at this round's prices
        # 3. dense Picard clearing from p̄ (the greatest clearing vector)
        p_new = pbar.copy()
        for _ in range(100000):
            a = e + Pi.T @ p_new
            nxt = np.where(a >= pbar * (1 - 1e-13), pbar, np.minimum(pbar, alpha * e + beta * (Pi.T @ p_new)))
            if np.max(np.abs(nxt - p_new), initial=0.0) < 1e-15 * max(1.0, pbar.max()):
                p_new = nxt
                break
            p_new = nxt
        # 4. prices
        R_ = np.divide(p_new, pbar, out=np.ones(n), where=pbar > 0)
        rec = [(min(1.0, R_[issuer[i]]) if issuer[i] >= 0 else fund[i]) / (1 + forged[i]) for i in range(n)]
        r_new = [min(r[i], rec[i] * m_den(m, i)) for i in range(n)]
        m_new = [min(m[i], r_new[i] * pf[i] * (1 - impact(i, Q[i]))) for i in range(n)]
        # the denomination asset's own price may have moved this round: once more with the new prices
        r_new = [min(r_new[i], rec[i] * m_den(m_new, i)) for i in range(n)]
        m_new = [min(m_new[i], r_new[i] * pf[i] * (1 - impact(i, Q[i]))) for i in range(n)]
        change = max([abs(a - b) for a, b in zip(m_new, m)] + [abs(a - b) for a, b in zip(r_new, r)]
                     + [moved] + list(np.abs(p_new - p) / np.maximum(pbar, 1e-300)))
        p, m, r = p_new, m_new, r_new
        if change <= 1e-12:
            break
    return p, np.array(m), np.array(bad), np.array(Q), k


@pytest.mark.parametrize("seed,alpha,beta", [(s, 1.0, 1.0) for s in range(8)] + [(s, 0.7, 0.9) for s in range(3)])
def test_vectorised_engine_matches_the_reference_implementation(seed, alpha, beta):
    # Independent method: the same semantics written with Python loops and a dense clearing.
    net = random_network(seed)
    shock = random_shock(seed)
    res = solve_system(net, shock, tol=1e-12, alpha=alpha, beta=beta)
    p, m, bad, Q, _ = reference_solve(net, shock, alpha=alpha, beta=beta)
    assert res.converged
    np.testing.assert_allclose(res.payments, p, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(res.price_after, m, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.position_bad_debt, bad, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(res.sold, Q, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("seed", range(6))
def test_denominated_engine_matches_the_reference_implementation(seed):
    # Independent method, with an ETH-redeemable token, ETH-denominated claims and ETH fire sales: the
    # reference rebuilds the dense L from the current prices each round and always clears from p̄.
    net = random_network(seed, denominated=True)
    shock = random_shock(seed)
    res = solve_system(net, shock, tol=1e-12)
    p, m, bad, Q, _ = reference_solve(net, shock)
    assert res.converged
    np.testing.assert_allclose(res.payments, p, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(res.price_after, m, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(res.position_bad_debt, bad, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(res.sold, Q, rtol=1e-7, atol=1e-7)
    # guard against a vacuous case: ETH moved and the obligations with it
    assert res.price_after[res.node_ids.get_loc("ETH")] < 1.0
    assert not np.allclose(res.obligations, net.total_obligations())


def test_random_networks_do_liquidate_and_default():
    # guard against a vacuous comparison above: the random cases exercise every mechanism
    results = [solve_system(random_network(s), random_shock(s)) for s in range(8)]
    assert sum(r.total_liquidated > 0 for r in results) >= 4
    assert sum(r.total_bad_debt > 0 for r in results) >= 2
    assert sum(r.n_defaults > 0 for r in results) >= 4
    assert max(r.rounds for r in results) >= 3


# ------------------------------------------------- without positions: the clearing engine
def claims_only(seed, n=40):
    rng = np.random.default_rng(seed)
    ids = [f"n{i}" for i in range(n)] + ["ETH"]
    nodes = pd.DataFrame({"id": ids, "kind": ["protocol"] * n + ["asset"],
                          "external_assets": np.r_[rng.uniform(0, 10, n), 0.0],
                          "external_liabilities": np.r_[rng.uniform(0, 5, n), 0.0]})
    d, c = rng.integers(0, n, 200), rng.integers(0, n, 200)
    keep = d != c
    pairs = pd.DataFrame({"debtor": np.array(ids)[d[keep]], "creditor": np.array(ids)[c[keep]]}).drop_duplicates()
    edges = pairs.assign(amount=rng.uniform(0.5, 8, len(pairs)))
    # some nodes hold ETH as a claim on the base asset (version-1 form of a holding)
    edges = pd.concat([edges, pd.DataFrame({"debtor": ["ETH"] * 5, "creditor": ids[:5], "amount": 3.0})])
    return ExposureNetwork.from_frames(nodes, edges)


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.6, 0.9)])
@pytest.mark.parametrize("seed", range(3))
def test_without_holdings_or_positions_results_equal_the_clearing_engine(seed, alpha, beta):
    net = claims_only(seed)
    shock = {f"n{i}": 0.5 for i in range(0, 40, 3)}
    ref = clear(net, shock, alpha=alpha, beta=beta)
    res = solve_system(net, shock, alpha=alpha, beta=beta)
    assert ref.n_defaults > 0
    for f in ("payments", "assets", "equity", "defaulted", "default_round", "recovery", "obligations"):
        np.testing.assert_array_equal(getattr(res, f), getattr(ref, f), err_msg=f)
    assert res.n_defaults == ref.n_defaults and res.rounds == 1
    assert res.external_creditor_loss == ref.external_creditor_loss
    assert res.total_shortfall == ref.total_shortfall


def test_base_asset_price_shock_on_claims_only_network_is_a_clearing_with_revalued_assets():
    # ETH −40%: the 3 ETH held by n0..n4 are worth 1.8: the same as clearing with e lowered by 1.2 each
    net = claims_only(7)
    res = solve_system(net, MarketShock(price_change={"ETH": -0.4}))
    e = net.external_assets.copy()
    e[:5] -= 3.0 * 0.4
    ref = clear(net.with_external_assets(e))
    np.testing.assert_allclose(res.payments, ref.payments, rtol=1e-12)
    np.testing.assert_allclose(res.equity, ref.equity, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------ monotonicity
def _check_monotone(results, what):
    for field in ("total_loss", "total_bad_debt"):
        v = [getattr(r, field) for r in results]
        assert all(b >= a - 1e-9 * max(1.0, abs(a)) for a, b in zip(v, v[1:])), (what, field, v)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["asset_loss", "price_change", "depeg", "forged_supply", "depth_factor"])
def test_losses_and_bad_debt_are_monotone_in_every_shock(seed, kind):
    net = random_network(seed)
    base = {"depeg": {"T1": -0.1}, "price_change": {"ETH": -0.15}}
    sizes = {"asset_loss": np.linspace(0, 1, 11), "price_change": -np.linspace(0, 0.9, 11),
             "depeg": -np.linspace(0, 0.9, 11), "forged_supply": np.linspace(0, 2, 11),
             "depth_factor": np.linspace(1.0, 0.05, 11)}[kind]
    target = {"asset_loss": "I0", "price_change": "ETH", "depeg": "T0", "forged_supply": "T2"}.get(kind)
    if kind == "depth_factor":
        # a harder base shock, and the token sold most under it, so that its depth matters
        base = {"depeg": {"T0": -0.3, "T1": -0.3, "T2": -0.3}, "price_change": {"ETH": -0.3}}
        first = solve_system(net, MarketShock(**base))
        sold = pd.Series(first.sold, index=first.node_ids)[["ETH", "T0", "T1", "T2", "R0", "R1"]]
        target = sold.idxmax()
        assert sold.max() > 0
    results = []
    for s in sizes:
        fields = {k: dict(v) for k, v in base.items()}
        fields.setdefault(kind, {})[target] = float(s)
        results.append(solve_system(net, MarketShock(**fields)))
    assert all(r.converged for r in results)
    _check_monotone(results, kind)
    assert results[-1].total_loss > results[0].total_loss


# ------------------------------------------------------------------------ conservation
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, 0.8)])
@pytest.mark.parametrize("seed", range(6))
def test_value_is_conserved(seed, alpha, beta):
    # Σ e = Σ equity + what external creditors receive + default costs, to the clearing's tolerance
    res = solve_system(random_network(seed), random_shock(seed), alpha=alpha, beta=beta)
    assert res.conservation_residual < 1e-8
    # loss side: every dollar lost is somebody's. The losses of the non-token nodes and of the external
    # creditors (total_loss) and of the token nodes (their holders' value, held through the price) are
    # the external value destroyed (shock, price falls, bonuses to outside liquidators) plus what
    # defaults destroy on top (Rogers–Veraart default costs; zero under Eisenberg–Noe).
    token_loss = float(res.loss[res.kinds == "token"].sum())
    destroyed = res.value_lost + (res.default_costs - res.default_costs_before)
    assert res.value_lost > 0
    assert res.total_loss + token_loss == pytest.approx(destroyed, rel=1e-8, abs=1e-8)


def test_price_impact_formula():
    # s·(Q/D)^α: selling 400 into depth 100 at 5% slippage and α = 0.5 moves the price 5%·2 = 10%;
    # capped at 1; no depth → no impact; zero depth → impact 1 as soon as something is sold.
    Q = np.array([400.0, 1e9, 50.0, 10.0, 0.0])
    D = np.array([100.0, 100.0, np.nan, 0.0, 0.0])
    out = price_impact(Q, D, np.full(5, 0.05), np.full(5, 0.5))
    np.testing.assert_allclose(out, [0.1, 1.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize("seed,denominated", [(s, False) for s in range(4)] + [(s, True) for s in range(4)])
def test_warm_started_clearings_give_the_cold_started_state(seed, denominated, monkeypatch):
    # Each round's clearing starts from the previous payments (an upper bound when the obligations did
    # not move and external assets only fell); solving every round from p̄ instead must give the same state.
    import exposure.defi._system as mech
    net, shock = random_network(seed, denominated=denominated), random_shock(seed)
    warm = solve_system(net, shock, tol=1e-12)
    cold_clear = mech._clear
    monkeypatch.setattr(mech, "_clear", lambda Pi, pbar, e, **kw: cold_clear(Pi, pbar, e, **{**kw, "start": None}))
    cold = solve_system(net, shock, tol=1e-12)
    np.testing.assert_allclose(warm.payments, cold.payments, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(warm.price_after, cold.price_after, rtol=1e-9, atol=1e-12)
    assert warm.rounds == cold.rounds


def test_degenerate_positions_are_harmless():
    # a position with no debt is never liquidated and is worth its collateral to the borrower; one with
    # no collateral is all bad debt; a debt token at price 0 makes the oracle ratio infinite (never
    # liquidated, no bad debt: the debt is worth nothing)
    def frame(records):
        return pd.DataFrame({c: pd.Series([r.get(c) for r in records], dtype=object)
                             for c in dict.fromkeys(k for r in records for k in r)})
    nodes = [{"id": "A", "kind": "asset"}, {"id": "B", "kind": "asset"}, {"id": "pool"}, {"id": "bob"}]
    pos = dict(kind="collateral", lender="pool", borrower="bob", liquidation_threshold=0.8, oracle="market")
    edges = [dict(pos, collateral_token="A", collateral=10.0, debt_token="B", debt=0.0),
             dict(pos, collateral_token="A", collateral=0.0, debt_token="B", debt=5.0),
             dict(pos, collateral_token="B", collateral=10.0, debt_token="A", debt=5.0)]
    net = ExposureNetwork.from_frames(frame(nodes), frame(edges), meta={"version": 2})
    res = solve_system(net, MarketShock(price_change={"A": -1.0}))
    pf = res.positions_frame()
    assert res.converged
    assert pf["repaid"].tolist() == [0.0, 0.0, 0.0]
    # position 1: collateral 10 of A now worth 0, no debt; position 2: 5 of B owed against nothing
    assert pf["bad_debt"].tolist() == [0.0, 5.0, 0.0]
    assert res.total_bad_debt == 5.0

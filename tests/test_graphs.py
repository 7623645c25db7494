"""The bundled graphs: reproducible from their sources, loadable, faithful to the sample, and (for the
textbook networks) cleared exactly as derived by hand in graphs/README.md."""

from __future__ import annotations

import importlib.util
import json
import math
import pathlib

import numpy as np
import pytest

from exposure.io import read_graph

ROOT = pathlib.Path(__file__).resolve().parent.parent
GRAPHS = ROOT / "graphs"
SAMPLE = GRAPHS / "sources" / "sample_graph.json"
SMALL = ("chain", "ring", "star", "complete")
ALL_GRAPHS = ("defi", "defi-v1") + SMALL


def _load_builder():
    spec = importlib.util.spec_from_file_location("graphs_build", GRAPHS / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def build():
    return _load_builder()


@pytest.fixture(scope="module")
def sample():
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def _doc(name):
    return json.loads((GRAPHS / f"{name}.json").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- reproducible
def test_bundled_files_are_what_the_build_gives(build):
    for name, text in build.outputs().items():
        assert (GRAPHS / name).read_text(encoding="utf-8") == text, f"graphs/{name} is out of date: run graphs/build.py"


def test_build_reads_only_its_sources():
    text = (GRAPHS / "build.py").read_text(encoding="utf-8")
    assert "../shared" not in text and "/work/" not in text
    assert 'SOURCES = HERE / "sources"' in text


# ----------------------------------------------------------------------------- loading
@pytest.mark.parametrize("name", ALL_GRAPHS)
def test_graph_loads_without_problems(name):
    net = read_graph(GRAPHS / f"{name}.json")
    assert [p for p in net.problems if p.severity == "error"] == []
    assert [str(p) for p in net.problems] == []
    assert net.meta["name"] == name
    assert net.meta.get("description")


@pytest.mark.parametrize("name", ("defi", "defi-v1"))
def test_every_edge_has_as_of_and_source(name):
    for k, e in enumerate(_doc(name)["edges"]):
        assert isinstance(e.get("as_of"), str) and e["as_of"], f"edge {k} has no as_of"
        assert isinstance(e.get("source"), str) and e["source"].startswith("https://"), f"edge {k} has no source"


def test_builder_check_mode_agrees(build, tmp_path):
    assert build.main(["--check"]) == 0
    (tmp_path / "chain.json").write_text("{}")
    assert build.main(["--check", "--out", str(tmp_path)]) == 1


def test_estimates_say_how_they_were_made():
    for k, e in enumerate(_doc("defi")["edges"]):
        if e.get("estimate"):
            assert e.get("method"), f"edge {k} is an estimate without a method"
        if e.get("params_estimate"):
            assert e.get("params_note"), f"edge {k} has assumed parameters without a note"
    for n in _doc("defi")["nodes"]:
        if "external_assets" in n or "external_liabilities" in n:
            assert n.get("external_assets_note") or n.get("external_liabilities_note"), n["id"]


# ----------------------------------------------------------------------------- defi-v1
def test_v1_keeps_every_sample_node_id_in_order(sample):
    net = read_graph(GRAPHS / "defi-v1.json")
    assert list(net.node_ids) == [n["id"] for n in sample["nodes"]]
    doc = _doc("defi-v1")
    for n, m in zip(sample["nodes"], doc["nodes"]):
        assert m["label"] == n["name"]
        assert {k: v for k, v in n.items() if k != "name"}.items() <= m.items()


def test_v1_maps_every_sample_edge_to_one_claim(sample):
    doc = _doc("defi-v1")
    assert len(doc["edges"]) == len(sample["edges"]) == 73
    for e, c in zip(sample["edges"], doc["edges"]):
        # holder = creditor, token_or_issuer = debtor for all four kinds (the sample's edge_semantics for debt)
        assert c["kind"] == "claim"
        assert (c["debtor"], c["creditor"], c["amount"]) == (e["token_or_issuer"], e["holder"], e["amount_usd"])
        assert c["relation"] == e["kind"]
        for k in ("as_of", "source", "note", "derived"):
            assert c.get(k) == e.get(k)


def test_v1_balance_sheets_follow_the_direction_convention():
    net = read_graph(GRAPHS / "defi-v1.json")
    i = net.index_of
    L = net.liabilities
    # sample: "stETH backing lido 33e9" -> lido owes stETH; "lido backing ETH 33e9" -> lido holds ETH (external asset)
    assert L[i("lido"), i("stETH")] == 33e9
    assert net.external_assets[i("lido")] == 33e9
    # sample debt row: holder elixir, token_or_issuer stream, 68e6 -> stream owes elixir
    assert L[i("stream"), i("elixir")] == 68e6
    # base assets owe nothing and are owed nothing inside L
    for a in ("ETH", "USDC", "BTC", "TBILLS"):
        assert L[[i(a)], :].sum() == 0 and L[:, [i(a)]].sum() == 0
    # total of claims = total of the sample's amounts (no row dropped or summed)
    total = float(net.liabilities.sum()) + float(net.external_assets.sum())
    assert math.isclose(total, sum(float(e["amount_usd"]) for e in json.loads(SAMPLE.read_text())["edges"]))


def test_v1_marks_the_two_sided_pairs(build):
    doc = _doc("defi-v1")
    marked = {(e["creditor"], e["debtor"]): e["same_funds_as"] for e in doc["edges"] if "same_funds_as" in e}
    assert len(marked) == 2 * len(build.SAME_FUNDS) == 6
    for a, b in build.SAME_FUNDS:
        assert marked[a] == "->".join(b) and marked[b] == "->".join(a)


# ----------------------------------------------------------------------------- textbook networks
def _reference_clearing(net, shock):
    """Dense fictitious-default algorithm (Eisenberg & Noe 2001, section 3), written independently of
    exposure.clearing: returns (payments, default_round)."""
    L = net.liabilities.toarray()
    pbar = L.sum(axis=1) + net.external_liabilities
    Pi = np.divide(L, pbar[:, None], out=np.zeros_like(L), where=pbar[:, None] > 0)
    e = net.external_assets.copy()
    for node, f in shock.items():
        e[net.index_of(node)] *= 1.0 - f
    n = len(e)
    rounds = np.zeros(n, dtype=int)
    p = pbar.copy()
    k = 0
    while True:
        k += 1
        D = rounds > 0
        # defaulted nodes pay e + Πᵀp over the defaulted set, the others pay p̄
        if D.any():
            A = np.eye(D.sum()) - Pi[np.ix_(D, D)].T
            b = e[D] + Pi[np.ix_(~D, D)].T @ pbar[~D]
            p = pbar.copy()
            p[D] = np.linalg.solve(A, b)
        assets = e + Pi.T @ p
        new = (~D) & (assets < pbar - 1e-12)
        if not new.any():
            return p, rounds
        rounds[new] = k


# Expected values are the hand derivations in graphs/README.md (and in each file's description).
HAND = {
    # chain, shock a=0.5: a pays 6, b has 3+6=9 and pays 9, c has 8+9=17 and pays 10; rounds 1, 2
    "chain": ({"a": 0.5}, [6, 9, 10, 0], [1, 2, 0, 0], [0, 0, 7, 11], 0.0),
    # ring, shock a=0.5: p_a = 6 + p_a/2 = 12, p_b = p_c = p_d = 6; rounds 1..4; outside creditors get 6 of 10
    "ring": ({"a": 0.5}, [12, 6, 6, 6], [1, 2, 3, 4], [0, 0, 0, 0], 4.0),
    # star, shock hub=0.5: hub pays 55 pro rata (0.55); s4 has 22 < 30 and pays 22; outside loss 8
    "star": ({"hub": 0.5}, [55, 5, 5, 10, 22], [1, 0, 0, 0, 2], [0, 0.5, 6, 6.5, 0], 8.0),
    # complete, shock a=1: a pays 3*10 = 30 of 32; others receive 9.375 from a, equity 4+29.375-32 = 1.375
    "complete": ({"a": 1.0}, [30, 32, 32, 32], [1, 0, 0, 0], [0, 1.375, 1.375, 1.375], 0.125),
}


@pytest.mark.parametrize("name", SMALL)
def test_textbook_equity_before_shock(name):
    net = read_graph(GRAPHS / f"{name}.json")
    # equity e + Lᵀ1 − p̄, from the numbers in each file's description
    expected = {"chain": [2, 3, 8, 11], "ring": [2, 0, 0, 0], "star": [10, 5, 15, 20, 10],
                "complete": [2, 2, 2, 2]}[name]
    np.testing.assert_allclose(net.equity(), expected)


@pytest.mark.parametrize("name", SMALL)
def test_hand_derivation_matches_an_independent_reference(name):
    shock, payments, rounds, equity_after, outside_loss = HAND[name]
    net = read_graph(GRAPHS / f"{name}.json")
    p, r = _reference_clearing(net, shock)
    np.testing.assert_allclose(p, payments, rtol=0, atol=1e-12)
    assert r.tolist() == rounds
    e = net.external_assets.copy()
    for node, f in shock.items():
        e[net.index_of(node)] *= 1 - f
    pbar = net.total_obligations()
    Pi = net.relative_liabilities().toarray()
    assets = e + Pi.T @ p
    np.testing.assert_allclose(np.maximum(assets - pbar, 0), equity_after, atol=1e-12)
    x = net.external_liabilities
    ratio = np.divide(p, pbar, out=np.ones_like(p), where=pbar > 0)
    np.testing.assert_allclose((x * (1 - ratio)).sum(), outside_loss, atol=1e-12)
    # conservation: equity lost + outside creditors' loss = the shock
    lost = net.equity().sum() - np.maximum(assets - pbar, 0).sum() + outside_loss
    assert math.isclose(lost, (net.external_assets - e).sum(), abs_tol=1e-12)


def test_engine_clears_the_textbook_networks_as_derived_by_hand():
    from exposure.clearing import eisenberg_noe

    for name, (shock, payments, rounds, equity_after, outside_loss) in HAND.items():
        r = eisenberg_noe(read_graph(GRAPHS / f"{name}.json"), shock)
        assert r.converged
        np.testing.assert_allclose(r.payments, payments, atol=1e-9)
        assert np.asarray(r.default_round).tolist() == rounds
        np.testing.assert_allclose(r.equity, equity_after, atol=1e-9)
        assert math.isclose(r.external_creditor_loss, outside_loss, abs_tol=1e-9)
        assert r.n_defaults == sum(1 for k in rounds if k)


# ----------------------------------------------------------------------------- defi.json (version 2)
@pytest.fixture(scope="module")
def v2():
    return read_graph(GRAPHS / "defi.json")


def test_v2_keeps_every_sample_node_id_and_splits_with_a_slash(v2, sample):
    ids = [n["id"] for n in sample["nodes"]]
    assert list(v2.node_ids[: len(ids)]) == ids
    for extra in v2.node_ids[len(ids):]:
        parent, sep, part = extra.partition("/")
        assert sep and part and parent in ids, extra
    assert v2.version == 2 and len(v2.holdings) and len(v2.positions)


def test_v2_accounts_for_every_sample_edge(sample):
    doc = _doc("defi")
    seen = set()
    for e in doc["edges"]:
        for ref in e.get("from_sample", "").split(", ") + e.get("merged", "").split(", "):
            seen.add(ref)
    assert {f"{e['holder']}->{e['token_or_issuer']}" for e in sample["edges"]} <= seen


def test_v2_other_holders_hold_the_untracked_supply(v2):
    h = v2.holdings
    held = {str(t): a for t, a, who in zip(h["token"], h["amount"], h["holder"]) if str(who).endswith("/other-holders")}
    # stETH: Lido owes stETH 33B; the graph holds or posts 9.275B of it (Kelp 1B, Ethena 0.5B, Curve 0.375B,
    # Balancer 0.1B; collateral at Aave Core 3.2B, Prime 0.7B, Spark 1.5B, Morpho 1.5B, Fluid 0.4B)
    assert held["stETH"] == 33e9 - 9.275e9
    # rsETH: 1.6B of supply; collateral 1B + 0.37B + 1M + 50M + 30M + 30M = 1.481B
    assert math.isclose(held["rsETH"], 1.6e9 - 1.481e9)
    assert "USDe" not in held and "PT_Ethena" not in held  # tracked beyond supply: no residual holder


def test_v2_tokens_have_issuer_price_and_consistent_depth(v2):
    nodes = v2.nodes
    tokens = nodes[nodes["kind"] == "token"]
    assert tokens["issuer"].notna().all()
    assert (tokens["price"] > 0).all()
    deep = tokens[tokens["depth"].notna()]
    assert {"stETH", "weETH", "ezETH", "rsETH", "USDe", "sUSDe", "USDtb"} == set(deep.index)
    assert deep["depth_slippage"].between(0, 1).all() and (deep["impact_exponent"] > 0).all()
    assert deep["depth_source"].str.startswith("https://").all()
    # weETH: 15,000 weETH within 7.5% at the $3,900 ETH reference price
    assert deep.at["weETH", "depth"] == 15000 * 3900 and deep.at["weETH", "depth_slippage"] == 0.075


def test_v2_positions_carry_parameters_and_flag_estimates(v2):
    pos = v2.positions
    assert len(pos) == 31
    assert pos["liquidation_threshold"].between(0.5, 1).all()
    assert (pos["debt"] <= pos["collateral"] * pos["liquidation_threshold"]).all()  # healthy at reference
    assert pos["params_source"].str.startswith("https://").all()
    assert pos.loc[pos["method"].notna(), "estimate"].eq(True).all()
    assert set(pos["oracle"]) == {"market", "exchange_rate", "hardcoded", "linear_discount"}
    lenders = set(pos["lender"].astype(str))
    assert {"aave_core", "spark", "fluid", "compound"} <= lenders  # pooled
    assert {"morpho/wstETH-ETH", "morpho/deUSD-USDC", "euler/yield-PT"} <= lenders  # isolated
    # sourced debts: ezETH on Aave Prime 520M, Morpho PT markets 420M, Elixir's loan to Stream 68M
    by = {(str(r.lender), str(r.collateral_token)): r.debt for r in pos.itertuples()}
    assert by[("aave_prime", "ezETH")] == 520e6 and by[("morpho/PT-USDC", "PT_Ethena")] == 420e6
    assert by[("morpho/xUSD-USDC", "xUSD")] == 68e6


def test_v2_balance_sheets_are_closed(v2, build):
    from exposure.defi import solve_system

    # No shock: nobody defaults and nothing is lost (independent check of the closure in build.py).
    r = solve_system(v2)
    s = r.summary()
    assert s["n_defaults"] == 0 and s["bad_debt"] == 0 and s["total_loss"] == 0 and s["converged"]
    doc = _doc("defi")
    nodes = {n["id"]: n for n in doc["nodes"]}
    bal = build.face_balance(nodes, doc["edges"])
    for i in build.POOLED:  # pooled lenders own nothing: every dollar belongs to their suppliers
        a, o = bal[i]
        assert math.isclose(a, o, rel_tol=1e-12), i


def test_v2_eth_tokens_and_eth_lenders_are_denominated_in_eth(v2, build):
    nodes = v2.nodes
    den = nodes["denomination"].dropna()
    assert dict(den) == {t: "ETH" for t in ("stETH", "weETH", "ezETH", "rsETH")}
    assert nodes.loc[["USDe", "sUSDe", "USDS", "xUSD"], "denomination"].isna().all()  # dollar tokens stay USD
    claims = v2.claims
    eth = claims[claims["denomination"].notna()]
    assert set(eth["denomination"]) == {"ETH"}
    # every lender of ETH owes ETH suppliers in ETH exactly what it lent or holds in ETH beyond its other
    # ETH obligations (Aave Core: 2.68B + 3.01B of ETH and 0.837B of wstETH lent = 6.5286B)
    sup = {str(d): a for d, c, a in zip(eth["debtor"], eth["creditor"], eth["amount"]) if str(c).endswith("/ETH-suppliers")}
    assert set(sup) == set(build.ETH_FUNDED)
    assert math.isclose(sup["aave_core"], 0.9 * 0.93 * (3.2e9 + 3.6e9 + 1.0e9), rel_tol=1e-12)
    # EigenLayer: 19.7B of ETH, 6B of it ether.fi's (a claim in ETH): restakers are owed the other 13.7B
    assert sup["eigenlayer"] == 13.7e9


def _eth_net_exposure(v2):
    """Independent of the mechanics: each non-token node's ETH assets minus ETH obligations, from the tables."""
    nodes, claims, hold, pos = v2.nodes, v2.claims, v2.holdings, v2.positions
    in_eth = set(nodes.index[nodes["denomination"].eq("ETH")]) | {"ETH"}
    net = dict.fromkeys(nodes.index, 0.0)
    for d, c, a, den in zip(claims["debtor"], claims["creditor"], claims["amount"], claims["denomination"]):
        if den == "ETH" or str(c) in in_eth or str(d) == "ETH":
            net[str(c)] += a
            net[str(d)] -= a
    for h, t, a in zip(hold["holder"], hold["token"], hold["amount"]):
        if str(t) in in_eth:
            net[str(h)] += a
    for r in pos.itertuples():
        if str(r.collateral_token) in in_eth:
            net[str(r.borrower)] += r.collateral
        if str(r.debt_token) in in_eth:
            net[str(r.borrower)] -= r.debt
            net[str(r.lender)] += r.debt
    kinds = nodes["kind"]
    return sum(v for k, v in net.items() if kinds[k] not in ("token", "asset"))


@pytest.mark.parametrize("change", [-0.16, -0.3, -0.5])
def test_an_eth_fall_is_a_loss_of_eth_holders_not_a_default(v2, change):
    from exposure.defi import MarketShock, solve_system

    r = solve_system(v2, MarketShock(price_change={"ETH": change}))
    s = r.summary()
    # Every ETH-denominated balance sheet (issuers of ETH tokens, lenders of ETH, EigenLayer, DEX pools,
    # Ethena's hedged stETH) moves with ETH on both sides: nobody defaults, nothing is liquidated
    # (every LST loop borrows ETH or stETH on an exchange-rate oracle: o = r_c/m_d = 1), no bad debt.
    assert s["n_defaults"] == 0 and s["bad_debt"] == 0 and s["liquidated"] == 0 and s["converged"]
    tok = r.tokens_frame().set_index("token")
    for t in ("stETH", "weETH", "ezETH", "rsETH"):
        assert math.isclose(tok.at[t, "price_ratio"], 1 + change, rel_tol=1e-12)
    # total loss = |change| x the net ETH exposure of the end holders, summed from the edge tables
    # (holders outside the graph, ETH suppliers, restakers, LPs, loopers' equity, the perp longs): 56.975B
    assert math.isclose(_eth_net_exposure(v2), 56.975e9, rel_tol=1e-9)
    assert math.isclose(s["total_loss"], -change * _eth_net_exposure(v2), rel_tol=1e-9)


# ----------------------------------------------------------------------------- scenarios
@pytest.fixture(scope="module")
def scenarios():
    from exposure.io.scenarios import read_scenarios

    return read_scenarios(GRAPHS / "scenarios.json")


def test_scenarios_parse_and_apply_to_the_defi_graph(scenarios, v2):
    assert len(scenarios) >= 5
    assert {"steth-depeg-2022", "ezeth-depeg-2024", "stream-elixir-2025", "kelp-forged-supply",
            "usde-eth-crash-2025"} <= {s.name for s in scenarios}
    for s in scenarios:
        assert s.description and s.source.startswith("https://")
        s.check(v2)
        assert not s.to_market_shock(v2).is_empty


def _solve(v2, scenarios, name):
    from exposure.defi import solve_system

    (s,) = [x for x in scenarios if x.name == name]
    r = solve_system(v2, s.to_market_shock(v2))
    assert r.summary()["converged"]
    return r


def test_stream_scenario_by_hand(v2, scenarios):
    r = _solve(v2, scenarios, "stream-elixir-2025")
    tok = r.tokens_frame().set_index("token")
    # After the $93M loss Stream owns its $63M of USDC and nothing else of value: its xUSD-collateral
    # positions (debt/collateral = 0.9 x 0.915 = 0.8235) are under water once xUSD is worth less than
    # 0.8235, and the deUSD position (61.76 owed on 75 of deUSD) once deUSD is worth less than 0.8235.
    # So Stream pays 63 of the 160 it owes its xUSD holders: r_xUSD = 63/160 = 0.39375.
    r_x = 63 / 160
    assert math.isclose(tok.at["xUSD", "redemption_value"] / 1.27, r_x, rel_tol=1e-6)
    # Elixir owes deUSD 105 and owns 37 (closure) + its market's recovery on the $68M loan, whose
    # collateral is 68/0.8235 = 82.58 of xUSD: r_deUSD = (37 + 82.58 x 0.39375) / 105 = 0.66205.
    r_d = (37 + 68e6 / (0.9 * 0.915) / 1e6 * r_x) / 105
    assert math.isclose(tok.at["deUSD", "redemption_value"], r_d, rel_tol=1e-6)
    # Hardcoded oracles never liquidate: the whole loss arrives as bad debt.
    assert r.summary()["liquidated"] == 0 and r.summary()["bad_debt"] > 0


def test_kelp_scenario_dilutes_rseth_by_the_forged_fraction(v2, scenarios):
    r = _solve(v2, scenarios, "kelp-forged-supply")
    tok = r.tokens_frame().set_index("token")
    # forged supply 18% of the real supply: r = R_kelp / 1.18 with Kelp itself untouched (R_kelp = 1)
    assert math.isclose(tok.at["rsETH", "redemption_value"], 3900 / 1.18, rel_tol=1e-9)
    assert tok.at["rsETH", "price_after"] < tok.at["rsETH", "redemption_value"]  # fire sales below redemption
    bad = r.nodes_frame().set_index("node")["bad_debt"]
    assert bad["aave_core"] > 0  # exchange-rate oracle follows the diluted redemption value


def test_ezeth_depeg_liquidates_market_oracles_only(v2, scenarios):
    r = _solve(v2, scenarios, "ezeth-depeg-2024")
    pos = r.positions_frame()
    seized = {(str(a), str(b)): x for a, b, x in zip(pos["lender"], pos["collateral_token"], pos["seized"])}
    assert seized[("gearbox", "ezETH")] > 0  # market oracle: the depeg triggers liquidation
    assert seized[("aave_prime", "ezETH")] == 0  # exchange-rate oracle: a market depeg does not
    tok = r.tokens_frame().set_index("token")
    assert tok.at["ezETH", "redemption_value"] == 3900  # Renzo itself lost nothing


@pytest.mark.parametrize("fmt", ["csv", "graphml", "gexf"])
def test_bundled_defi_graph_survives_every_file_format(v2, tmp_path, fmt):
    from exposure.io import write_graph

    dest = tmp_path / ("graph" if fmt == "csv" else f"graph.{fmt}")
    write_graph(v2, dest, fmt)
    back = read_graph(dest)
    assert back.equals(v2)  # nodes, claims, external assets and liabilities

    def rows(net, table, cols):  # edge order may differ between formats (GraphML groups edges by node)
        return sorted(tuple(str(x) for x in r) for r in getattr(net, table)[cols].itertuples(index=False))

    pcols = ["lender", "borrower", "collateral_token", "debt_token", "collateral", "debt", "liquidation_threshold",
             "liquidation_bonus", "close_factor", "oracle", "as_of", "source"]
    assert rows(back, "positions", pcols) == rows(v2, "positions", pcols)
    hcols = ["holder", "token", "amount", "as_of", "source"]
    assert rows(back, "holdings", hcols) == rows(v2, "holdings", hcols)


# ------------------------------------------------------------------------------ who bears a loss
def test_v2_wrappers_vaults_and_tokenizers_owe_shares(v2, build):
    shares = set(v2.node_ids[v2.is_shares()])
    # the issuers of exchange-rate tokens, the tokenizer, the vault layers and curators, the pools of LP
    # shares, and every Morpho market and Euler cluster (graphs/README.md, "Who bears a loss")
    assert {"lido", "etherfi", "renzo", "kelp", "eigenlayer", "pendle", "stream", "morpho", "euler", "telosc",
            "mev_capital", "re7", "gearbox", "curve", "balancer"} <= shares
    cat = v2.nodes["category"].astype(object)
    assert set(v2.node_ids[cat.isin(["isolated_market", "isolated_cluster"]).to_numpy()]) - shares == \
        set(build.DEBT_ISOLATED)
    # 1:1 claims stay debt: lending pools, stablecoin issuers, custodians
    for node in ("aave_core", "aave_prime", "aave_l2", "spark", "fluid", "compound", "ethena", "sky", "usual",
                 "elixir", "stablelabs", "cex_perp_venues", "ethena/usdtb-reserve"):
        assert node not in shares, node
    doc = {n["id"]: n for n in _doc("defi")["nodes"]}
    for node in shares:
        assert doc[node]["liability_note"] and doc[node]["liability_source"].startswith("https://"), node


def test_v2_first_loss_capital_is_sourced_or_zero_with_a_reason(v2):
    amount, provider = v2.first_loss()
    got = {str(i): float(a) for i, a in zip(v2.node_ids, amount) if a > 0}
    # by hand from graphs/sources/loss-bearing.md (ETH at $3,900):
    # Aave Core: Umbrella 35,160 WETH = 137.124M + 93.33M + 120.84M + 14.43M, deficit offset 1.3M + 1.6M
    #            + 77 WETH = 0.3003M + 0.115M: 369.0393M
    # Spark: Sky's backstop 37M; Ethena: reserve fund 41.8M + 19.9M = 61.7M;
    # Compound: 4.64M + 681 WETH = 2.6559M: 7.2959M; Gearbox: 1M
    assert got == pytest.approx({"aave_core": 369.0393e6, "spark": 37e6, "ethena": 61.7e6, "compound": 7.2959e6,
                                 "gearbox": 1e6})
    assert [str(v2.node_ids[k]) for k in provider if k >= 0] == ["sky"]
    doc = {n["id"]: n for n in _doc("defi")["nodes"]}
    for node in got:
        assert doc[node]["first_loss_source"].startswith("https://") and doc[node]["first_loss_as_of"]
    for node in ("aave_prime", "aave_l2", "fluid", "morpho", "euler", "eigenlayer", "kelp", "pendle", "lido"):
        assert doc[node]["first_loss_note"].startswith("first_loss 0: "), node


def test_a_65_bp_usde_depeg_defaults_nobody(v2, scenarios):
    # October 2025 on-chain: USDe at 0.9935 everywhere. Spark holds 1.1B of USDe directly: it loses
    # 1.1B x 0.0065 = 7.15M, within the 37M of Sky's backstop, which pays it (Spark does not default, Sky
    # loses 7.15M). Pendle holds 4.3B of USDe and owes it to the PTs: it pays 0.9935 per PT, impaired, not in
    # default. Aave's PT and USDe positions have oracles that do not move: no liquidation, no bad debt.
    r = _solve(v2, scenarios, "usde-onchain-2025")
    s = r.summary()
    assert s["n_defaults"] == 0 and s["bad_debt"] == 0 and s["liquidated"] == 0
    nodes = r.nodes_frame().set_index("node")
    assert nodes.at["spark", "buffer_used"] == pytest.approx(7.15e6, rel=1e-9) and not nodes.at["spark", "defaulted"]
    assert nodes.at["pendle", "impaired"] and not nodes.at["pendle", "defaulted"]
    assert nodes.at["pendle", "recovery"] == pytest.approx(0.9935, rel=1e-12)
    assert s["n_impaired"] == 1 and s["buffer_used"] == pytest.approx(7.15e6, rel=1e-9)
    assert nodes.at["sky", "equity_before"] - nodes.at["sky", "equity_after"] == pytest.approx(7.15e6, rel=1e-9)

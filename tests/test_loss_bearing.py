"""Who bears a loss: share-like liabilities, first-loss buffers, and what counts as a default.

Every number below is derived by hand in the comments (Eisenberg–Noe clearing, p = min(p̄, e + b + Πᵀp)
with b the first-loss buffer that can be drawn), except the property-based tests, which compare the
model with the loss-bearing fields set to their defaults against the model without them (same code
path as before the fields existed), and check conservation of value against the shock.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exposure
from exposure import ExposureNetwork
from exposure.clearing import eisenberg_noe
from exposure.contagion import debtrank, differential_debtrank, furfine, impact
from exposure.defi import MarketShock, solve_system
from exposure.io import check_graph, read_graph, write_graph


def net(nodes, edges, version=2):
    return ExposureNetwork.from_frames(pd.DataFrame(nodes), pd.DataFrame(edges), meta={"version": version})


def row(result, node):
    frame = result.to_frame().set_index("node")
    return frame.loc[node]


# ------------------------------------------------------------------------- hand-derived cases
def test_a_vault_losing_ten_percent_is_impaired_not_in_default():
    # vault v (shares) holds 100 outside and owes its holder h 100. Shock v=0.1: v holds 90 < 100 and pays
    # all it has, 90: holders recover 0.9. v is impaired (value per share 0.9), not in default, and has no
    # default round; h, which owes nothing, loses 10 of equity (100 -> 90).
    g = net([{"id": "v", "external_assets": 100.0, "liability_type": "shares"}, {"id": "h"}],
            [{"debtor": "v", "creditor": "h", "amount": 100.0}])
    r = eisenberg_noe(g, {"v": 0.1})
    assert r.recovery.tolist() == [0.9, 1.0]
    assert r.defaulted.tolist() == [False, False] and r.n_defaults == 0
    assert r.impaired.tolist() == [True, False] and r.n_impaired == 1
    assert r.default_round.tolist() == [0, 0]
    assert r.equity.tolist() == [0.0, 90.0]
    s = r.summary()
    # the algorithm took one round (the vault's shortfall), in which nobody defaulted
    assert s["n_defaults"] == 0 and s["n_impaired"] == 1 and s["defaults_by_round"] == [0]


def _pool(buffer):
    # pool p (debt) holds 100 and owes 100 to suppliers outside the network; first-loss capital `buffer`
    # from a provider outside the network. Shock p=0.1: it holds 90, a shortfall of 10.
    return net([{"id": "p", "external_assets": 100.0, "external_liabilities": 100.0, "first_loss": buffer},
                {"id": "q", "external_assets": 1.0}], [{"debtor": "q", "creditor": "p", "amount": 0.0}])


def test_a_buffer_smaller_than_the_shortfall_is_used_in_full_and_the_rest_reaches_suppliers():
    # buffer 5 < shortfall 10: the buffer pays 5, p pays 90 + 5 = 95, recovery 0.95, one default (round 1);
    # its suppliers lose 100 − 95 = 5.
    r = eisenberg_noe(_pool(5.0), {"p": 0.1})
    assert r.buffer_used[0] == 5.0 and r.payments[0] == 95.0 and r.recovery[0] == 0.95
    assert r.n_defaults == 1 and r.defaulted[0] and r.default_round[0] == 1
    assert r.external_creditor_loss == pytest.approx(5.0, abs=1e-12)
    assert r.assets[0] == 90.0 and r.equity[0] == 0.0                 # the buffer is not p's own asset
    assert r.summary()["buffer_used"] == 5.0


def test_a_buffer_larger_than_the_shortfall_prevents_the_default():
    # buffer 20 > shortfall 10: it pays the 10, p pays 100 in full, no default, buffer used = shortfall.
    r = eisenberg_noe(_pool(20.0), {"p": 0.1})
    assert r.buffer_used[0] == pytest.approx(10.0, abs=1e-12) and r.payments[0] == 100.0
    assert r.n_defaults == 0 and not r.defaulted[0] and r.default_round[0] == 0
    assert r.external_creditor_loss == 0.0
    # no shock: nothing is drawn
    assert eisenberg_noe(_pool(20.0)).buffer_used.tolist() == [0.0, 0.0]


def _chain(buffer=0.0, provider=None, provider_assets=50.0, provider_owes=0.0):
    # issuer i (debt) holds 100 and owes the vault v (shares) 100; v owes the lender l (debt) 100; l owes its
    # suppliers outside the network 100. Optionally l has first-loss capital from the node k.
    nodes = [{"id": "i", "external_assets": 100.0}, {"id": "v", "liability_type": "shares"},
             {"id": "l", "external_liabilities": 100.0, "first_loss": buffer,
              "first_loss_provider": provider},
             {"id": "k", "external_assets": provider_assets, "external_liabilities": provider_owes}]
    edges = [{"debtor": "i", "creditor": "v", "amount": 100.0}, {"debtor": "v", "creditor": "l", "amount": 100.0}]
    return net(nodes, edges)


def test_an_issuers_default_reaches_the_lenders_suppliers_through_the_vault():
    # Shock i=0.4: i holds 60 < 100, defaults in round 1 and pays 60. The vault receives 60 and passes it on
    # (round 2 of the algorithm: impaired, no default round); l receives 60 < 100 and defaults in round 3;
    # its suppliers recover 0.6 and lose 40.
    r = eisenberg_noe(_chain(), {"i": 0.4})
    assert r.payments[:3].tolist() == [60.0, 60.0, 60.0]
    assert r.defaulted.tolist() == [True, False, True, False] and r.n_defaults == 2
    assert r.impaired.tolist() == [False, True, False, False] and r.n_impaired == 1
    assert r.default_round.tolist() == [1, 0, 3, 0]
    assert r.external_creditor_loss == pytest.approx(40.0, abs=1e-12)


def test_a_node_provider_loses_what_the_buffer_pays_out():
    # As above, with 10 of first-loss capital at l provided by k (k holds 50, owes nothing). l draws all 10
    # (shortfall 40), pays 70, still defaults; k's equity falls 50 -> 40; suppliers lose 30.
    # Conservation: the shock (40) = k's 10 + the suppliers' 30.
    r = eisenberg_noe(_chain(10.0, "k"), {"i": 0.4})
    assert r.buffer_used.tolist() == [0.0, 0.0, 10.0, 0.0]
    assert r.payments[2] == 70.0 and r.defaulted[2]
    assert r.equity[3] == 40.0 and r.external_assets[3] == 40.0
    assert r.external_creditor_loss == pytest.approx(30.0, abs=1e-12)


def test_a_provider_pushed_into_default_by_its_buffer():
    # k holds 50 and owes 45 outside (equity 5); it provides l's 10. l draws 10, so k holds 40 < 45: k
    # defaults, pays 40 and its creditors lose 5. Losses: k's equity 5 + its creditors 5 + l's suppliers 30
    # = 40 = the shock.
    r = eisenberg_noe(_chain(10.0, "k", provider_owes=45.0), {"i": 0.4})
    assert r.converged and r.buffer_used[2] == 10.0
    assert r.defaulted.tolist() == [True, False, True, True]
    assert r.payments[3] == 40.0
    assert r.external_creditor_loss == pytest.approx(35.0, abs=1e-12)


def test_a_buffer_is_only_as_good_as_its_providers_capital():
    # k holds only 4 but promises l 10: the buffer is cut to 4, l draws 4 and pays 64; k ends with nothing.
    r = eisenberg_noe(_chain(10.0, "k", provider_assets=4.0), {"i": 0.4})
    assert r.buffer_used[2] == 4.0 and r.payments[2] == 64.0 and r.external_assets[3] == 0.0
    assert r.external_creditor_loss == pytest.approx(36.0, abs=1e-12)


def test_the_mechanics_classify_the_same_way_and_count_outside_buffers_as_losses():
    # The chain through the joint fixed point (no holdings: the clearing engine) with 10 from outside at l:
    # total_loss = equity lost (0: every node had zero equity) + suppliers' 30 + the outside buffer's 10 = 40.
    r = solve_system(_chain(10.0, None), MarketShock(asset_loss={"i": 0.4}))
    s = r.summary()
    assert (s["n_defaults"], s["n_impaired"], s["buffer_used"]) == (2, 1, 10.0)
    assert s["total_loss"] == pytest.approx(40.0, abs=1e-9) and r.value_lost == pytest.approx(40.0)
    assert r.to_frame().columns[6:10].tolist() == ["defaulted", "default_round", "impaired", "buffer_used"]
    assert r.conservation_residual < 1e-12


def test_rankings_count_debt_defaults_only():
    # Furfine from i (lgd 1): v loses 100 ≥ its equity 0 and fails, l loses 100 and fails: one default caused
    # (l); the vault passes the loss on but is not a default. With 10 of buffer at l and l's threshold 0 + 10,
    # l still fails. DebtRank from i: h_v = 1, h_l = 1; again one default caused.
    g = _chain()
    f = furfine(g).ranking.set_index("node")
    assert f.loc["i", "defaults_caused"] == 1 and f.loc["i", "score"] == 0.0
    d = debtrank(g).ranking.set_index("node")
    assert d.loc["i", "defaults_caused"] == 1
    dd = differential_debtrank(g).ranking.set_index("node")
    assert dd.loc["i", "defaults_caused"] == 1
    # impact of i losing everything: l's suppliers lose 100, nothing else; one default caused (l)
    im = impact(g).ranking.set_index("node")
    assert im.loc["i", "n_defaults"] == 1 and im.loc["i", "score"] == pytest.approx(100.0)


def test_furfine_thresholds_include_the_buffer():
    # a owes b 10; b holds 2 outside and owes 10 outside: equity 2 + 10 − 10 = 2. With 9 of buffer a's
    # default costs b 10 < 2 + 9: b survives; with 7, 10 ≥ 2 + 7: b fails.
    g = net([{"id": "a"}, {"id": "b", "external_assets": 2.0, "external_liabilities": 10.0, "first_loss": 9.0}],
            [{"debtor": "a", "creditor": "b", "amount": 10.0}])
    assert furfine(g).ranking.set_index("node").loc["a", "defaults_caused"] == 0
    g2 = net([{"id": "a"}, {"id": "b", "external_assets": 2.0, "external_liabilities": 10.0, "first_loss": 7.0}],
             [{"debtor": "a", "creditor": "b", "amount": 10.0}])
    assert furfine(g2).ranking.set_index("node").loc["a", "defaults_caused"] == 1


# ------------------------------------------------------------------------------- the format
FIELDS = [{"id": "i", "external_assets": 100.0}, {"id": "v", "liability_type": "shares"},
          {"id": "l", "external_liabilities": 100.0, "first_loss": 10.5, "first_loss_provider": "k"},
          {"id": "k", "external_assets": 50.0, "liability_type": "debt"}]


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet", "graphml", "gexf"])
def test_every_format_reads_and_writes_the_fields(tmp_path, fmt):
    g = net(FIELDS, [{"debtor": "i", "creditor": "v", "amount": 100.0},
                     {"debtor": "v", "creditor": "l", "amount": 100.0}])
    dest = tmp_path / ("graph" if fmt in ("csv", "parquet") else f"graph.{fmt}")
    write_graph(g, dest, format=fmt)
    back = read_graph(dest, format=fmt)
    assert back.is_shares().tolist() == [False, True, False, False]
    amount, provider = back.first_loss()
    assert amount.tolist() == [0.0, 0.0, 10.5, 0.0] and provider.tolist() == [-1, -1, 3, -1]
    assert back.version == 2


def test_a_csv_node_table_with_a_liability_type_is_version_2(tmp_path):
    (tmp_path / "nodes.csv").write_text("id,liability_type,first_loss\na,shares,\nb,,3\n", encoding="utf-8")
    (tmp_path / "edges.csv").write_text("debtor,creditor,amount\na,b,1\n", encoding="utf-8")
    g = read_graph(tmp_path)
    assert g.version == 2 and g.is_shares().tolist() == [True, False]
    assert g.first_loss()[0].tolist() == [0.0, 3.0]


@pytest.mark.parametrize("field, value, expected", [
    ("liability_type", "equity", "Field 'liability_type' of node 'a' must be one of debt, shares. "
                                 "Got the string 'equity' instead."),
    ("first_loss", -1, "Field 'first_loss' of node 'a' must be a finite non-negative number. Got -1.0 instead."),
    ("first_loss_provider", "zz", "Field 'first_loss_provider' of node 'a' must be the id of a node in the graph. "
                                  "Got the string 'zz' instead."),
    ("first_loss_provider", "a", "Node 'a' cannot be its own first_loss_provider."),
])
def test_bad_values_name_the_file_the_field_and_the_node(field, value, expected):
    doc = {"format": "exposure-graph", "version": 2, "nodes": [{"id": "a", field: value}, {"id": "b"}],
           "edges": [{"kind": "claim", "debtor": "a", "creditor": "b", "amount": 1}]}
    _, problems = check_graph(io.StringIO(json.dumps(doc)))
    errors = [p for p in problems if p.severity == "error"]
    assert [p.message for p in errors] == [expected]
    assert errors[0].location.startswith(f"$.nodes[0].{field} (line")


def test_the_json_schema_knows_the_fields():
    schema = exposure.io.graph_schema() if hasattr(exposure.io, "graph_schema") else None
    from exposure.io._json import graph_schema
    props = graph_schema()["$defs"]["node"]["properties"]
    assert props["liability_type"]["enum"] == ["debt", "shares", None]
    assert {"first_loss", "first_loss_provider"} <= set(props)
    assert schema is None or schema == graph_schema()


# ---------------------------------------------------------------------- properties
@st.composite
def networks(draw):
    n = draw(st.integers(2, 6))
    e = draw(st.lists(st.floats(0, 50, allow_nan=False), min_size=n, max_size=n))
    x = draw(st.lists(st.sampled_from([0.0, 5.0, 20.0]), min_size=n, max_size=n))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(1, 40)),
                          min_size=1, max_size=12))
    edges = [{"debtor": f"n{a}", "creditor": f"n{b}", "amount": amt} for a, b, amt in pairs if a != b]
    if not edges:
        edges = [{"debtor": "n0", "creditor": "n1", "amount": 1.0}]
    shock = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    nodes = [{"id": f"n{i}", "external_assets": e[i], "external_liabilities": x[i]} for i in range(n)]
    return nodes, edges, {f"n{i}": f for i, f in enumerate(shock) if f > 0}


@settings(max_examples=40, deadline=None)
@given(networks(), st.sampled_from([(1.0, 1.0), (0.5, 0.8)]))
def test_all_debt_and_no_buffers_gives_todays_results_exactly(case, ab):
    # Independent reference: the same network without the new fields, which takes the code path of the
    # model before them (no buffer pass, no classification). Every output must be identical.
    nodes, edges, shock = case
    plain = net(nodes, edges, version=1)
    explicit = net([{**d, "liability_type": "debt", "first_loss": 0.0, "first_loss_provider": "n0"
                     if d["id"] != "n0" else None} for d in nodes], edges)
    alpha, beta = ab
    a = exposure.clear(plain, shock, alpha=alpha, beta=beta)
    b = exposure.clear(explicit, shock, alpha=alpha, beta=beta)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), check_exact=True)
    assert a.summary() == b.summary()
    assert not b.impaired.any() and not b.buffer_used.any()
    sa, sb = solve_system(plain, MarketShock(asset_loss=shock)), solve_system(explicit, MarketShock(asset_loss=shock))
    assert sa.summary() == sb.summary()
    pd.testing.assert_frame_equal(sa.nodes_frame(), sb.nodes_frame(), check_exact=True)
    for method in (furfine, debtrank, differential_debtrank, impact):
        pd.testing.assert_frame_equal(method(plain).ranking, method(explicit).ranking, check_exact=True)


@settings(max_examples=40, deadline=None)
@given(networks(), st.data())
def test_every_dollar_lost_is_a_holders_a_providers_or_an_external_creditors(case, data):
    # Conservation under Eisenberg–Noe with random liability types and buffers (from outside and from
    # nodes): the value the shock destroys = equity lost by every node (whoever holds the node, providers
    # included) + the rise of what external creditors are not paid + the rise of outside buffers drawn.
    nodes, edges, shock = case
    n = len(nodes)
    for d in nodes:
        d["liability_type"] = data.draw(st.sampled_from(["debt", "shares"]))
        d["first_loss"] = data.draw(st.sampled_from([0.0, 3.0, 15.0]))
        d["first_loss_provider"] = data.draw(st.sampled_from([None] + [f"n{i}" for i in range(n)
                                                                      if f"n{i}" != d["id"]]))
    g = net(nodes, edges)
    r = solve_system(g, MarketShock(asset_loss=shock))
    before = solve_system(g)
    outside = g.first_loss()[1] < 0
    ext_buffer = r.buffer_used[outside].sum() - before.buffer_used[outside].sum()
    lost = (before.equity_after - r.equity_after).sum() + r.external_creditor_loss - before.external_creditor_loss
    shock_value = float(sum(g.external_assets[g.index_of(k)] * f for k, f in shock.items()))
    assert lost + ext_buffer == pytest.approx(shock_value, abs=1e-6 * max(1.0, shock_value))
    assert r.total_loss == pytest.approx(shock_value, abs=1e-6 * max(1.0, shock_value))
    assert r.conservation_residual < 1e-9
    assert not (r.defaulted & g.is_shares()).any() and not (r.impaired & ~g.is_shares()).any()
    assert (r.default_round[g.is_shares()] == 0).all()
    assert np.all(r.buffer_used <= g.first_loss()[0] + 1e-12)


# ----------------------------------------------------------------------------- sensitivities
def _lender_chain(provider):
    # i (debt) holds 100 and owes the vault v (shares) 100; v owes l 100; l holds 10 and owes 100 outside,
    # with 50 of first-loss capital from `provider` (k holds 100, owes 30 outside; or outside the network).
    nodes = [{"id": "i", "external_assets": 100.0}, {"id": "v", "liability_type": "shares"},
             {"id": "l", "external_assets": 10.0, "external_liabilities": 100.0, "first_loss": 50.0,
              "first_loss_provider": provider},
             {"id": "k", "external_assets": 100.0, "external_liabilities": 30.0}]
    return net(nodes, [{"debtor": "i", "creditor": "v", "amount": 100.0},
                       {"debtor": "v", "creditor": "l", "amount": 100.0}])


@pytest.mark.parametrize("provider", ["k", None])
def test_loss_amplification_follows_the_buffer_to_its_provider(provider):
    # Shock i=0.4: i pays 60 (default), v passes 60 on (impaired), l holds 10 + 60 = 70 < 100 and draws 30 of
    # its 50: it pays in full. One more dollar lost at i: i and v each pay 1 less (amplification 2), l draws
    # 1 more, so its provider loses it: k's equity (spillover 1), or the outside provider (buffer_loss 1).
    # One more dollar lost at l: only its draw grows (amplification 0), again the provider's dollar.
    from exposure.clearing import loss_amplification
    g = _lender_chain(provider)
    f = loss_amplification(g, {"i": 0.4}).set_index("node")
    inside = provider == "k"
    assert f.loc["i", "loss_amplification"] == pytest.approx(2.0)
    assert f.loc["i", "spillover"] == pytest.approx(1.0 if inside else 0.0)
    assert f.loc["i", "buffer_loss"] == pytest.approx(0.0 if inside else 1.0)
    assert f.loc["l", "loss_amplification"] == 0.0 and f.loc["l", "own_equity_loss"] == 0.0
    assert f.loc["l", "spillover"] == pytest.approx(1.0 if inside else 0.0)
    assert f.loc["l", "buffer_loss"] == pytest.approx(0.0 if inside else 1.0)
    total = f["equity_loss"] + f["external_creditor_loss"] + f["default_cost_saved"] + f["buffer_loss"]
    assert np.allclose(total[["i", "l", "k"]], 1.0)


@pytest.mark.parametrize("provider", ["k", None])
def test_sensitivities_match_finite_differences(provider):
    # Independent method: clear again with one more unit of loss at each node and difference the totals.
    from exposure.clearing import loss_amplification
    g = _lender_chain(provider)
    base_shock = {"i": 0.4}
    f = loss_amplification(g, base_shock).set_index("node")
    r0 = eisenberg_noe(g, base_shock)
    outside = g.first_loss()[1] < 0
    for node, e in (("i", 100.0), ("l", 10.0), ("k", 100.0)):
        h = 1e-3
        shock = dict(base_shock)
        shock[node] = shock.get(node, 0.0) + h / e          # h less external assets at the node
        r1 = eisenberg_noe(g, shock)
        assert (r1.total_shortfall - r0.total_shortfall) / h == pytest.approx(f.loc[node, "loss_amplification"],
                                                                             abs=1e-6)
        assert (r0.equity.sum() - r1.equity.sum()) / h == pytest.approx(f.loc[node, "equity_loss"], abs=1e-6)
        drawn = (r1.buffer_used[outside].sum() - r0.buffer_used[outside].sum()) / h
        assert drawn == pytest.approx(f.loc[node, "buffer_loss"], abs=1e-6)


def test_reverse_stress_finds_the_shock_that_exhausts_a_buffer():
    # The pool of _pool(20): an asset loss s of its 100 leaves a shortfall 100 s, drawn from the buffer
    # while 100 s ≤ 20 (buffer_used = 100 s) and defaulting beyond: buffer_used > 5 from s = 0.05 on,
    # n_defaults > 0 from s = 0.2 on (the shortfall exceeds the whole buffer).
    from exposure.stress import reverse_stress
    g = _pool(20.0)
    drawn = reverse_stress(g, "asset_loss", "p", "buffer_used>5", precision=1e-4).to_frame().set_index("node")
    assert drawn.loc["p", "breaking_shock"] == pytest.approx(0.05, abs=2e-4)
    broke = reverse_stress(g, "asset_loss", "p", "n_defaults>0", precision=1e-4).to_frame().set_index("node")
    assert broke.loc["p", "breaking_shock"] == pytest.approx(0.2, abs=2e-4)


def test_clear_command_reports_impairments_and_buffer_draws(tmp_path):
    # The vault and the pool of the hand-derived cases above, through `exposure clear`: v (shares) loses 10%
    # and is impaired with recovery 0.9; p (debt, 5 of buffer) loses 10, draws 5 and defaults.
    from click.testing import CliRunner

    from cli import cli
    doc = {"format": "exposure-graph", "version": 2,
           "nodes": [{"id": "v", "external_assets": 100, "liability_type": "shares"}, {"id": "h"},
                     {"id": "p", "external_assets": 100, "external_liabilities": 100, "first_loss": 5}],
           "edges": [{"kind": "claim", "debtor": "v", "creditor": "h", "amount": 100}]}
    path = tmp_path / "g.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    out = CliRunner().invoke(cli, ["clear", str(path), "--shock", "v=0.1", "--shock", "p=0.1", "--format", "csv"])
    assert out.exit_code == 0, out.stderr
    assert out.stdout.splitlines() == [
        "node,obligations,payments,recovery,assets,equity,defaulted,default_round,impaired,buffer_used",
        "v,100,90,0.9,90,0,false,0,true,0",
        "h,0,0,1,90,90,false,0,false,0",
        "p,100,95,0.95,90,0,true,1,false,5"]

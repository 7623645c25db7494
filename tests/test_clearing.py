"""Clearing engine: hand-derived cases, published-model examples, result objects, convergence reporting."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import exposure.clearing._solvers as solvers
from exposure import ConvergenceError, ConvergenceWarning, ExposureNetwork, InvalidShockError, clear
from exposure.clearing import FRAME_COLUMNS, ClearingResult, clear_vectors, eisenberg_noe, rogers_veraart
from test_clearing_reference import dense_fictitious_default, random_system

METHODS = ("fictitious-default", "fixed-point")


def network(ids, e, claims, x=None, kinds=None):
    nodes = pd.DataFrame({"id": ids, "external_assets": e,
                          "external_liabilities": x if x is not None else [0.0] * len(ids)})
    if kinds is not None:
        nodes["kind"] = kinds
    edges = pd.DataFrame(claims, columns=["debtor", "creditor", "amount"])
    return ExposureNetwork.from_frames(nodes, edges)


def assert_payments(result, expected, tol=1e-9):
    # The solvers' accuracy: ‖p − p*‖∞ ≤ tol · max(1, ‖p̄‖∞) (stopping rule on the estimated error).
    scale = max(1.0, float(result.obligations.max()))
    np.testing.assert_allclose(result.payments, expected, rtol=0, atol=2 * tol * scale)


def conserved(result, net):
    # Eisenberg–Noe conserves value: Σ e = Σ equity + what external creditors receive (+ default costs).
    x = net.external_liabilities
    received_outside = float((x * result.recovery).sum())
    return result.external_assets.sum(), result.equity.sum() + received_outside + result.default_costs


# ------------------------------------------------------------------------ hand-derived cases
@pytest.mark.parametrize("method", METHODS)
def test_chain(method):
    # a → b → c, each owes the next 10; e = (4, 2, 0); c owes nothing. By hand:
    # round 1: a holds 4 < 10 → default; b, with a paying in full, holds 12 ≥ 10.
    # round 2: a pays 4; b holds 2 + 4 = 6 < 10 → default, pays 6; c receives 6, owes nothing.
    net = network(["a", "b", "c"], [4.0, 2.0, 0.0], [("a", "b", 10.0), ("b", "c", 10.0)])
    r = eisenberg_noe(net, method=method)
    np.testing.assert_allclose(r.payments, [4.0, 6.0, 0.0])
    np.testing.assert_allclose(r.assets, [4.0, 6.0, 6.0])
    np.testing.assert_allclose(r.equity, [0.0, 0.0, 6.0])
    np.testing.assert_allclose(r.recovery, [0.4, 0.6, 1.0])
    assert r.defaulted.tolist() == [True, True, False]
    assert r.default_round.tolist() == [1, 2, 0]
    assert r.n_defaults == 2 and r.total_shortfall == pytest.approx(10.0) and r.external_creditor_loss == 0.0
    assert r.converged and r.residual <= 1e-9


@pytest.mark.parametrize("method", METHODS)
def test_ring_where_everybody_defaults(method):
    # a → b → c → a, each owes 10; a also owes 3 outside, so p̄ = (13, 10, 10); e = (0, 0, 2). By hand:
    # round 1: a holds 10 < 13 → default (b, c hold 13·10/13 = 10 and 2 + 10: solvent, b at zero equity).
    # round 2: a pays 10, b gets 10·10/13 = 7.69 < 10 → default.  round 3: c gets 7.69, holds 9.69 < 10.
    # Then p_a = p_c, p_b = (10/13) p_a, p_c = 2 + p_b  ⇒  p_a = 26/3, p_b = 20/3, p_c = 26/3.
    net = network(["a", "b", "c"], [0.0, 0.0, 2.0], [("a", "b", 10.0), ("b", "c", 10.0), ("c", "a", 10.0)],
                  x=[3.0, 0.0, 0.0])
    r = eisenberg_noe(net, method=method)
    assert_payments(r, [26 / 3, 20 / 3, 26 / 3])
    assert r.defaulted.all()
    if method == "fictitious-default":
        assert r.default_round.tolist() == [1, 2, 3]
    # outside creditor of a receives (3/13)(26/3) = 2 of 3; shortfall 13/3 + 10/3 + 4/3 = 9
    # (to the solver's accuracy: each payment within 2e-9 · 13)
    assert r.external_creditor_loss == pytest.approx(1.0, abs=1e-7)
    assert r.total_shortfall == pytest.approx(9.0, abs=1e-7)
    assert conserved(r, net)[0] == pytest.approx(conserved(r, net)[1], abs=1e-7)


def test_ring_at_zero_equity_is_solvent():
    # Same ring without outside debt and e = 0: every node holds exactly what it owes (equity 0) → solvent.
    net = network(["a", "b", "c"], [0.0, 0.0, 0.0], [("a", "b", 10.0), ("b", "c", 10.0), ("c", "a", 10.0)])
    r = eisenberg_noe(net)
    np.testing.assert_array_equal(r.payments, [10.0, 10.0, 10.0])
    assert not r.defaulted.any() and r.default_round.tolist() == [0, 0, 0]


@pytest.mark.parametrize("method", METHODS)
def test_star(method):
    # hub h owes each of three leaves 10 (p̄_h = 30) and holds 15; leaves hold 1 and owe (5, 5, 7) outside.
    # round 1: h holds 15 < 30 → default; leaves with h paying in full hold 11.
    # round 2: h pays 15, 5 to each leaf; leaves hold 6: l1, l2 pay 5 in full; l3 (owes 7) defaults, pays 6.
    net = network(["h", "l1", "l2", "l3"], [15.0, 1.0, 1.0, 1.0],
                  [("h", "l1", 10.0), ("h", "l2", 10.0), ("h", "l3", 10.0)], x=[0.0, 5.0, 5.0, 7.0])
    r = eisenberg_noe(net, method=method)
    np.testing.assert_allclose(r.payments, [15.0, 5.0, 5.0, 6.0])
    np.testing.assert_allclose(r.equity, [0.0, 1.0, 1.0, 0.0])
    assert r.default_round.tolist() == [1, 0, 0, 2]
    assert r.external_creditor_loss == pytest.approx(1.0)


@pytest.mark.parametrize("method", METHODS)
def test_complete(method):
    # a, b, c each owe each other 5; e = (1, 0, 0); b owes 1 outside, so p̄ = (10, 11, 10).
    # round 1: b holds 10 < 11 → default. round 2: b pays 10, 50/11 to a and c; c holds 5 + 50/11 < 10 →
    # default; a holds 1 + 5 + 50/11 ≥ 10. Then p_b = 5 + p_c/2, p_c = 5 + (5/11) p_b
    # ⇒ p_b = 165/17, p_c = 160/17; a holds 1 + 75/17 + 80/17 = 172/17 ≥ 10: solvent.
    claims = [(i, j, 5.0) for i in "abc" for j in "abc" if i != j]
    net = network(["a", "b", "c"], [1.0, 0.0, 0.0], claims, x=[0.0, 1.0, 0.0])
    r = eisenberg_noe(net, method=method)
    assert_payments(r, [10.0, 165 / 17, 160 / 17])
    np.testing.assert_allclose(r.assets[0], 172 / 17, rtol=1e-9)
    assert r.defaulted.tolist() == [False, True, True]
    if method == "fictitious-default":
        assert r.default_round.tolist() == [0, 1, 2]


def test_disconnected_components_clear_independently():
    # the chain of test_chain next to a solvent pair (u owes v 5, holds 9): each part clears as if alone.
    net = network(["a", "b", "c", "u", "v"], [4.0, 2.0, 0.0, 9.0, 0.0],
                  [("a", "b", 10.0), ("b", "c", 10.0), ("u", "v", 5.0)])
    r = eisenberg_noe(net)
    np.testing.assert_allclose(r.payments, [4.0, 6.0, 0.0, 5.0, 0.0])
    assert r.default_round.tolist() == [1, 2, 0, 0, 0]
    np.testing.assert_allclose(r.equity[3:], [4.0, 5.0])


def test_nodes_without_obligations_never_default():
    # z owes nothing and holds nothing; a holds 1 of ETH and owes nothing, and loses it all; the base
    # asset ETH owes nothing inside the network (a claim on it is a holding). Recovery 1, no default.
    net = network(["a", "z", "ETH"], [0.0, 0.0, 0.0], [("ETH", "a", 1.0)], kinds=["protocol", "protocol", "asset"])
    assert net.external_assets.tolist() == [1.0, 0.0, 0.0]
    r = eisenberg_noe(net, shock={"a": 1.0})
    np.testing.assert_array_equal(r.equity, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(r.obligations, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(r.recovery, [1.0, 1.0, 1.0])
    assert not r.defaulted.any()


def test_all_solvent_pays_in_full():
    # u owes v 5 and holds 9; v owes u 2 and holds 0 (receives 5 ≥ 2). Nothing defaults: p = p̄ exactly.
    net = network(["u", "v"], [9.0, 0.0], [("u", "v", 5.0), ("v", "u", 2.0)])
    for method in METHODS:
        r = eisenberg_noe(net, method=method)
        np.testing.assert_array_equal(r.payments, [5.0, 2.0])
        np.testing.assert_array_equal(r.equity, [6.0, 3.0])
        assert r.n_defaults == 0 and r.residual == 0.0 and r.converged


def test_shock_cuts_external_assets():
    # chain of test_chain with e_b = 12 instead: no default; a shock b=0.75 leaves e_b = 3:
    # a still pays 4 (round 1), b holds 3 + 4 = 7 < 10 (round 2).
    net = network(["a", "b", "c"], [4.0, 12.0, 0.0], [("a", "b", 10.0), ("b", "c", 10.0)])
    assert eisenberg_noe(net).default_round.tolist() == [1, 0, 0]
    r = eisenberg_noe(net, shock={"b": 0.75})
    np.testing.assert_allclose(r.payments, [4.0, 7.0, 0.0])
    assert r.default_round.tolist() == [1, 2, 0]
    np.testing.assert_allclose(r.external_assets, [4.0, 3.0, 0.0])
    with pytest.raises(InvalidShockError, match="unknown node"):
        eisenberg_noe(net, shock={"nope": 0.5})


# ----------------------------------------------------------------- published-model examples
def _systemicrisk_example():
    # The three-bank network of the R package systemicrisk's documentation of default_clearing
    # (Gandy & Veraart; network "L <- matrix(c(0,x,1-x,1-x,0,x,x,1-x,0),nrow=3)" with x = 1/2,
    # ea = (1/2, 5/8, 3/4), el = (3/2, 1/2, 1/2)). The documentation prints no numbers: the
    # clearing below is derived by hand. Every bank owes each other bank 1/2.
    claims = [(i, j, 0.5) for i in "123" for j in "123" if i != j]
    return network(["1", "2", "3"], [0.5, 0.625, 0.75], claims, x=[1.5, 0.5, 0.5])


@pytest.mark.parametrize("method", METHODS)
def test_systemicrisk_example_eisenberg_noe(method):
    # p̄ = (2.5, 1.5, 1.5); Π has 1/5 in row 1 and 1/3 in rows 2, 3.
    # round 1: bank 1 holds 0.5 + 1 = 1.5 < 2.5 → default; 2 holds 1.625, 3 holds 1.75 (solvent).
    # round 2: p_1 = 1.5; bank 2 holds 0.625 + 0.3 + 0.5 = 1.425 < 1.5 → default; 3 holds 1.55.
    # round 3: p_1 = 1 + p_2/3, p_2 = 1.125 + p_1/5 ⇒ p_1 = 165/112, p_2 = 159/112; bank 3 holds
    # 0.75 + 33/112 + 53/112 = 170/112 ≥ 1.5: solvent.
    r = eisenberg_noe(_systemicrisk_example(), method=method)
    assert_payments(r, [165 / 112, 159 / 112, 1.5])
    np.testing.assert_allclose(r.assets[2], 170 / 112, rtol=1e-9)
    if method == "fictitious-default":
        assert r.default_round.tolist() == [1, 2, 0]


@pytest.mark.parametrize("method", METHODS)
def test_systemicrisk_example_rogers_veraart(method):
    # Same network with alpha = 0.5, beta = 0.7 (the documentation's second call).
    # round 1 (test before costs): bank 1 defaults. round 2: p_1 = 0.5·0.5 + 0.7·1 = 0.95; bank 2 holds
    # 0.625 + 0.19 + 0.5 = 1.315 < 1.5 and bank 3 holds 0.75 + 0.19 + 0.5 = 1.44 < 1.5: both default.
    # round 3, everybody in default: p_i = α e_i + β Σ_j Π[j, i] p_j, the 3 × 3 system written out:
    #   p1 = 0.25   + 0.7 (p2/3 + p3/3)
    #   p2 = 0.3125 + 0.7 (p1/5 + p3/3)
    #   p3 = 0.375  + 0.7 (p1/5 + p2/3)
    A = np.array([[1, -0.7 / 3, -0.7 / 3], [-0.7 / 5, 1, -0.7 / 3], [-0.7 / 5, -0.7 / 3, 1]])
    expected = np.linalg.solve(A, [0.25, 0.3125, 0.375])
    r = rogers_veraart(_systemicrisk_example(), alpha=0.5, beta=0.7, method=method)
    assert_payments(r, expected)
    assert r.defaulted.all()
    if method == "fictitious-default":
        assert r.default_round.tolist() == [1, 2, 2]
    # default costs: (1 − α) Σ e + (1 − β) Σ (Πᵀp), and value conservation with them
    costs = 0.5 * 1.875 + 0.3 * (r.assets - r.external_assets).sum()
    assert r.default_costs == pytest.approx(costs, rel=1e-12)
    total_e, accounted = conserved(r, _systemicrisk_example())
    assert accounted == pytest.approx(total_e, abs=1e-8)  # payments to the solver accuracy, 2e-9 · 2.5


def test_rogers_veraart_with_unit_costs_is_eisenberg_noe():
    net = _systemicrisk_example()
    a, b = rogers_veraart(net, alpha=1.0, beta=1.0), eisenberg_noe(net)
    np.testing.assert_array_equal(a.payments, b.payments)
    assert a.model == b.model == "eisenberg-noe"
    assert clear(net, alpha=0.5, beta=0.7).model == "rogers-veraart"


def test_rogers_veraart_solvency_is_tested_before_default_costs():
    # a owes b 10 and holds exactly 10: solvent (zero equity) whatever α; with α = 0.5 a node that
    # tested its solvency after costs would default.
    net = network(["a", "b"], [10.0, 0.0], [("a", "b", 10.0)])
    r = rogers_veraart(net, alpha=0.5, beta=0.5)
    assert not r.defaulted.any() and r.payments.tolist() == [10.0, 0.0]


# ------------------------------------------------------------------------ solver paths
@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (0.8, 0.6)])
def test_iterative_round_solves_match_the_dense_reference(monkeypatch, alpha, beta):
    # Force the sweeps/GMRES path (no LU) on a 60-node random network; compare to the dense oracle.
    monkeypatch.setattr(solvers, "DIRECT_LIMIT", 0)
    L, e, x = random_system(3, 60, 0.1, 2.0, 1.0)
    Pi = sp.csr_array(L / (L.sum(1) + x)[:, None])
    pbar = L.sum(1) + x
    expected, rounds = dense_fictitious_default(L, e, x, alpha, beta)
    r = clear_vectors(Pi, pbar, e, alpha=alpha, beta=beta)
    assert r.converged and r.defaulted.sum() > 5
    np.testing.assert_allclose(r.payments, expected, rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(r.default_round, rounds)


def test_gmres_fallback_on_a_slowly_contracting_default_set(monkeypatch):
    # A ring of 50 nodes each owing the next 100 and 1e-3 outside: the sweeps contract at rate
    # 100/100.001 per sweep, so the round solves go to GMRES. Node 0 holds 0.01, the others nothing.
    # By hand: round 1, nodes 1..49 hold 100 < 100.001 → default (node 0 holds 100.01);
    # round 2, node 0 defaults too. Then p_i = q p_{i−1} (+0.01 at node 0), q = 100/100.001, so
    # p_0 = 0.01 / (1 − q^50) ≈ 20.0 < 100.001 and p_i = q^i p_0.
    monkeypatch.setattr(solvers, "DIRECT_LIMIT", 0)
    n, q = 50, 100 / 100.001
    L = np.zeros((n, n))
    L[np.arange(n), (np.arange(n) + 1) % n] = 100.0
    x = np.full(n, 1e-3)
    e = np.zeros(n)
    e[0] = 0.01
    pbar = L.sum(1) + x
    r = clear_vectors(sp.csr_array(L / pbar[:, None]), pbar, e)
    p0 = 0.01 / (1 - q ** n)
    np.testing.assert_allclose(r.payments, p0 * q ** np.arange(n), rtol=1e-8)
    assert r.converged


def test_warm_start_from_an_upper_bound():
    # The clearing vector before a shock is an upper bound of the one after: same answer from it.
    net = _systemicrisk_example()
    before = eisenberg_noe(net).payments
    Pi, pbar = net.relative_liabilities(), net.total_obligations()
    e = net.external_assets * np.array([0.5, 1.0, 1.0])
    cold = clear_vectors(Pi, pbar, e)
    for method in METHODS:
        warm = clear_vectors(Pi, pbar, e, start=before, method=method)
        # both within the solver's accuracy 2 · tol · max(1, ‖p̄‖∞) of the clearing vector
        np.testing.assert_allclose(warm.payments, cold.payments, rtol=0, atol=4e-9 * pbar.max())
        assert warm.converged


# ------------------------------------------------------------------------ results & reporting
def test_result_object():
    net = network(["a", "b", "c"], [4.0, 2.0, 0.0], [("a", "b", 10.0), ("b", "c", 10.0)])
    r = eisenberg_noe(net)
    assert isinstance(r, ClearingResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.converged = False
    frame = r.to_frame()
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert frame["node"].tolist() == ["a", "b", "c"]
    assert frame["defaulted"].dtype == bool and frame["default_round"].dtype == np.int64
    s = r.summary()
    for key in ("n_defaults", "total_shortfall", "external_creditor_loss", "method", "converged", "iterations",
                "residual"):
        assert key in s
    assert s["defaults_by_round"] == [1, 1] and s["n_defaults"] == 2 and s["method"] == "fictitious-default"
    assert "converged" in repr(r)
    # the input network is untouched
    np.testing.assert_array_equal(net.external_assets, [4.0, 2.0, 0.0])


def test_non_convergence_is_reported():
    net = network(["a", "b", "c"], [4.0, 2.0, 0.0], [("a", "b", 10.0), ("b", "c", 10.0)])
    for method in METHODS:
        with pytest.warns(ConvergenceWarning, match="did not converge"):
            r = eisenberg_noe(net, method=method, max_iter=0)
        assert not r.converged and r.status == 1 and r.residual > 1e-9
        with pytest.raises(ConvergenceError) as info:
            clear(net, alpha=0.9, beta=0.9, method=method, max_iter=0, strict=True)
        assert isinstance(info.value.result, ClearingResult) and not info.value.result.converged


def test_converged_run_does_not_warn():
    net = _systemicrisk_example()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clear(net, alpha=0.5, beta=0.7, strict=True)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "simplex"}, "'method'"),
    ({"tol": 0.0}, "'tol'"),
    ({"alpha": 1.5}, "'alpha'"),
    ({"max_iter": -1}, "'max_iter'"),
])
def test_bad_parameters(kwargs, match):
    net = _systemicrisk_example()
    with pytest.raises(ValueError, match=match):
        clear(net, **kwargs)


def test_clear_vectors_checks_shapes():
    with pytest.raises(ValueError, match="'e'"):
        clear_vectors(sp.csr_array((2, 2)), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="'pbar'"):
        clear_vectors(sp.csr_array((2, 2)), np.array([1.0, -1.0]), np.ones(2))


@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (0.7, 0.9)])
def test_larger_network_all_paths_agree(alpha, beta):
    # 1,500 nodes, hundreds in default (iterative round solves, several row blocks): rounds, Picard,
    # warm start from the unshocked clearing and the dense reference agree.
    L, e, x = random_system(5, 1500, 0.004, 3.0, 2.0)
    pbar = L.sum(1) + x
    Pi = sp.csr_array(L / pbar[:, None])
    shocked = e * np.where(np.arange(1500) % 7 == 0, 0.0, 1.0)
    expected, rounds = dense_fictitious_default(L, shocked, x, alpha, beta)
    assert (rounds > 0).sum() > 300 and rounds.max() >= 3
    before = clear_vectors(Pi, pbar, e, alpha=alpha, beta=beta).payments
    atol = 4e-9 * pbar.max()
    for kwargs in ({}, {"method": "fixed-point"}, {"start": before}, {"start": before, "method": "fixed-point"}):
        r = clear_vectors(Pi, pbar, shocked, alpha=alpha, beta=beta, **kwargs)
        assert r.converged, kwargs
        np.testing.assert_allclose(r.payments, expected, rtol=0, atol=atol, err_msg=str(kwargs))
    np.testing.assert_array_equal(clear_vectors(Pi, pbar, shocked, alpha=alpha, beta=beta).default_round, rounds)


# ------------------------------------------------------------------------ benchmark network
def _benchmark_module():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "network.py"
    spec = importlib.util.spec_from_file_location("benchmark_network_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_network_follows_its_recipe(tmp_path):
    bench = _benchmark_module()
    net = bench.benchmark_network(5000, seed=1)
    again = bench.benchmark_network(5000, seed=1)
    assert net.equals(again)                                     # seeded
    assets, owed = net.total_assets(), net.interbank_liabilities()
    # equity = c · total assets with c in [0.03, 0.08] (external liabilities close the balance sheet)
    ratio = net.equity() / assets
    assert ratio.min() >= 0.03 - 1e-12 and ratio.max() <= 0.08 + 1e-12
    # interbank share of assets at most 0.6 (it is U(0.2, 0.6), lower where total assets were raised)
    assert (net.interbank_assets() / assets).max() <= 0.6 + 1e-12
    assert (net.external_liabilities >= 0).all() and (owed > 0).all()
    # about 10 claims per node (out-degree rescaled to mean 10; repeated pairs merged)
    assert 8.0 <= net.n_claims / net.n <= 10.5
    shock = bench.benchmark_shock(net, seed=1)
    assert len(shock) == 100 and set(shock.values()) == {1.0}
    # the shock starts a cascade that the clearing resolves in rounds, 100 fundamental defaults first
    r = clear(net, shock)
    assert r.converged and r.summary()["defaults_by_round"][0] == 100 and r.n_defaults > 300
    nodes_csv, edges_csv = bench.write_csv(net, tmp_path)
    assert nodes_csv.read_text().startswith("id,kind,external_assets,external_liabilities\n")
    assert edges_csv.read_text().startswith("debtor,creditor,amount\n")
    from exposure.io import read_graph
    assert read_graph(tmp_path).equals(net)                     # 17 significant digits: exact round trip

"""Sensitivities of the clearing (Liu & Staum 2010) and the loss-amplification table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import exposure.clearing._sensitivity as sens
import exposure.clearing._solvers as solvers
from exposure import ExposureNetwork
from exposure import clear
from exposure.clearing import loss_amplification, sensitivities
from test_clearing_properties import _network, margin, systems
from test_clearing_reference import dense_fictitious_default, random_system, relative


def chain():
    # a → b → c: a owes b 10 and holds 4, b owes c 10 and holds 2 (both default), c owes 5 outside, holds 0.
    nodes = pd.DataFrame({"id": ["a", "b", "c"], "external_assets": [4.0, 2.0, 0.0],
                          "external_liabilities": [0.0, 0.0, 5.0]})
    edges = pd.DataFrame({"debtor": ["a", "b"], "creditor": ["b", "c"], "amount": [10.0, 10.0]})
    return ExposureNetwork.from_frames(nodes, edges)


def test_chain_by_hand():
    # Payments (4, 6, 5): c receives 6 ≥ 5, solvent with equity 1. A dollar more at a is passed on by
    # a and b in full: ∂p/∂e_a = (1, 1, 0); at b: (0, 1, 0); at c (solvent): 0.
    # Equity: only c is solvent, E_c = 0 + p_b − 5, so ∂E_c/∂e = (1, 1, 1).
    s = sensitivities(chain())
    np.testing.assert_allclose(s.payments_jacobian(), [[1, 0, 0], [1, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(s.equity_jacobian(), [[0, 0, 0], [0, 0, 0], [1, 1, 1]])
    table = loss_amplification(chain())
    # Loss amplification Σ_k ∂p_k/∂e_j: a dollar lost at a leaves 2 dollars unpaid (by a and by b).
    np.testing.assert_allclose(table["loss_amplification"], [2.0, 1.0, 0.0])
    np.testing.assert_allclose(table["equity_loss"], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(table["spillover"], [1.0, 1.0, 0.0])
    np.testing.assert_allclose(table["external_creditor_loss"], [0.0, 0.0, 0.0])
    assert table["node"].tolist() == ["a", "b", "c"]


def test_rogers_veraart_sensitivities_by_hand():
    # Same chain with α = 0.5, β = 0.8: a holds 4 < 10 (default), pays 2; b holds 2 + 2 = 4 < 10, pays
    # 0.5·2 + 0.8·2 = 2.6; c holds 2.6 < 5 and defaults too, pays 0.8·2.6.
    # ∂p_a/∂e_a = α = 0.5; ∂p_b/∂e_a = β·0.5 = 0.4; ∂p_c/∂e_a = β·0.4 = 0.32. ∂p_b/∂e_b = α = 0.5,
    # ∂p_c/∂e_b = 0.4; ∂p_c/∂e_c = 0.5.
    r = clear(chain(), alpha=0.5, beta=0.8)
    assert r.defaulted.all()
    J = sensitivities(r).payments_jacobian()          # from the result alone (it records its network)
    np.testing.assert_allclose(J, [[0.5, 0, 0], [0.4, 0.5, 0], [0.32, 0.4, 0.5]])
    table = loss_amplification(chain(), alpha=0.5, beta=0.8)
    # external creditors of c lose ∂p_c: (0.32, 0.4, 0.5); the rest of each dollar is default cost saved.
    np.testing.assert_allclose(table["external_creditor_loss"], [0.32, 0.4, 0.5])
    np.testing.assert_allclose(table["default_cost_saved"], [0.68, 0.6, 0.5])


@given(systems(max_n=7), st.sampled_from([(1.0, 1.0), (0.6, 0.8)]))
def test_sensitivities_agree_with_finite_differences(system, ab):
    L, e, x = system
    n = len(e)
    p0, _ = dense_fictitious_default(L, e, x, *ab)
    Pi, pbar = relative(L, x)
    assume(margin(L, e, x, p0) > 1e-4)               # a step of h moves no node across its threshold
    h = 1e-6
    fd = np.column_stack([(dense_fictitious_default(L, e + h * np.eye(n)[j], x, *ab)[0] - p0) / h
                          for j in range(n)])
    net = _network(L, e, x)
    s = sensitivities(net, alpha=ab[0], beta=ab[1])
    np.testing.assert_allclose(s.payments_jacobian(), fd, atol=1e-4)
    # equity: E = max(0, e + Πᵀp − p̄)
    E0 = np.maximum(0, e + Pi.T @ p0 - pbar)
    fdE = np.column_stack([(np.maximum(0, e + h * np.eye(n)[j] + Pi.T @ (p0 + h * fd[:, j]) - pbar) - E0) / h
                           for j in range(n)])
    np.testing.assert_allclose(s.equity_jacobian(), fdE, atol=1e-4)


@given(systems(max_n=7), st.sampled_from([(1.0, 1.0), (0.6, 0.8), (0.0, 0.5)]))
def test_each_lost_dollar_is_accounted_for(system, ab):
    # Value conservation: equity lost + external creditors' loss + default costs saved = 1 per dollar.
    L, e, x = system
    table = loss_amplification(_network(L, e, x), alpha=ab[0], beta=ab[1])
    total = table["equity_loss"] + table["external_creditor_loss"] + table["default_cost_saved"]
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    assert (table["loss_amplification"] >= -1e-12).all()


def test_iterative_solves_match_the_factorisation(monkeypatch):
    # A 300-node random network with many defaults: the sweeps path (DIRECT_LIMIT = 0) equals the LU path
    # (DIRECT_LIMIT above the size of the default set).
    L, e, x = random_system(11, 300, 0.02, 0.8, 0.5)
    net = _network(L, e, x)
    r = clear(net, alpha=0.9, beta=0.9)
    assert r.n_defaults > 50
    monkeypatch.setattr(solvers, "DIRECT_LIMIT", 10_000)
    direct = loss_amplification(net, result=r)
    monkeypatch.setattr(solvers, "DIRECT_LIMIT", 0)
    iterative = loss_amplification(net, result=r)
    cols = ["loss_amplification", "equity_loss", "spillover", "external_creditor_loss", "default_cost_saved"]
    np.testing.assert_allclose(iterative[cols].to_numpy(), direct[cols].to_numpy(), atol=1e-9)
    j = int(np.flatnonzero(r.defaulted)[0])
    s_it = sensitivities(net, result=r)
    monkeypatch.setattr(solvers, "DIRECT_LIMIT", 10_000)
    np.testing.assert_allclose(s_it.payments_wrt(j), sensitivities(net, result=r).payments_wrt(j), atol=1e-9)


def test_dense_jacobians_are_limited(monkeypatch):
    monkeypatch.setattr(sens, "DENSE_LIMIT", 2)
    with pytest.raises(ValueError, match="limited to 2 nodes"):
        sensitivities(chain()).payments_jacobian()

"""The network model: construction, derived balance-sheet quantities, immutability.

Expected values are derived by hand in the comments.
"""

import numpy as np
import pandas as pd
import pytest

from exposure import ExposureNetwork, InvalidNetworkError


def small():
    # a owes b 4 and c 2; b owes c 3; ETH is a base asset held by a (5).
    nodes = pd.DataFrame({
        "id": ["a", "b", "c", "ETH"],
        "kind": ["protocol", "protocol", "token", "asset"],
        "external_assets": [10.0, 1.0, 0.0, 0.0],
        "external_liabilities": [1.0, 0.0, 2.0, 0.0],
    })
    edges = pd.DataFrame({
        "debtor": ["a", "a", "b", "ETH"],
        "creditor": ["b", "c", "c", "a"],
        "amount": [4.0, 2.0, 3.0, 5.0],
        "source": ["s1", None, "s3", "s4"],
    })
    return ExposureNetwork.from_frames(nodes, edges, meta={"name": "small"})


def test_liabilities_follow_debtor_row_creditor_column():
    net = small()
    L = net.liabilities.toarray()
    # L[i, j] = what i owes j; the claim on the base asset ETH is not a liability inside the network.
    expected = np.array([[0, 4, 2, 0], [0, 0, 3, 0], [0, 0, 0, 0], [0, 0, 0, 0]], float)
    np.testing.assert_array_equal(L, expected)


def test_base_asset_holding_adds_to_external_assets():
    net = small()
    # a: declared 10 + 5 of ETH = 15; others unchanged.
    np.testing.assert_array_equal(net.external_assets, [15.0, 1.0, 0.0, 0.0])
    assert net.nodes.loc["a", "external_assets"] == 10.0  # the declared value is kept as given


def test_balance_sheet_quantities_by_hand():
    net = small()
    # obligations p̄ = L·1 + x: a 6+1=7, b 3, c 0+2=2, ETH 0
    np.testing.assert_array_equal(net.total_obligations(), [7.0, 3.0, 2.0, 0.0])
    # interbank assets Lᵀ·1: a 0, b 4, c 5, ETH 0
    np.testing.assert_array_equal(net.interbank_assets(), [0.0, 4.0, 5.0, 0.0])
    # equity = e + Lᵀ1 − p̄: a 15−7=8, b 1+4−3=2, c 5−2=3, ETH 0
    np.testing.assert_array_equal(net.equity(), [8.0, 2.0, 3.0, 0.0])
    # leverage = assets / equity: a 15/8, b 5/2, c 5/3; ETH has no assets and no equity: undefined
    lev = net.leverage()
    np.testing.assert_allclose(lev[:3], [15 / 8, 5 / 2, 5 / 3])
    assert np.isnan(lev[3])
    # Π = L / p̄ row-wise: a row (0, 4/7, 2/7, 0), b row (0, 0, 1, 0)
    P = net.relative_liabilities().toarray()
    np.testing.assert_allclose(P[0], [0, 4 / 7, 2 / 7, 0])
    np.testing.assert_allclose(P[1], [0, 0, 1, 0])
    assert not P[2:].any()


def test_edge_metadata_and_order_are_kept():
    net = small()
    assert list(net.claims.index) == [0, 1, 2, 3]
    assert list(net.claims["debtor"].astype(str)) == ["a", "a", "b", "ETH"]
    assert net.claims.loc[2, "source"] == "s3"
    assert net.meta["name"] == "small" and net.version == 1


def test_network_is_immutable():
    net = small()
    with pytest.raises(ValueError):
        net.external_assets[0] = 0.0
    with pytest.raises(ValueError):
        net.liabilities.data[0] = 0.0
    with pytest.raises(AttributeError):
        net.meta = {}  # frozen dataclass
    with pytest.raises(TypeError):
        net.meta["name"] = "x"


def test_with_external_assets_returns_a_new_network():
    net = small()
    other = net.with_external_assets([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(other.external_assets, [1, 2, 3, 4])
    np.testing.assert_array_equal(net.external_assets, [15, 1, 0, 0])
    with pytest.raises(ValueError, match="finite and non-negative"):
        net.with_external_assets([-1.0, 0, 0, 0])


def test_duplicate_claims_are_summed_with_a_warning():
    nodes = pd.DataFrame({"id": ["a", "b"]})
    edges = pd.DataFrame({"debtor": ["a", "a"], "creditor": ["b", "b"], "amount": [1.0, 2.5]})
    net = ExposureNetwork.from_frames(nodes, edges)
    assert net.liabilities[0, 1] == 3.5
    assert [p.severity for p in net.problems] == ["warning"]
    assert net.problems[0].message == "Claim 'a->b' appears 2 times (edges 0, 1); the amounts are summed."


def test_every_error_is_reported_not_only_the_first():
    nodes = pd.DataFrame({"id": ["a", "b", "a"]})
    edges = pd.DataFrame({"debtor": ["a", "x", "b"], "creditor": ["b", "a", "b"], "amount": [-1.0, 2.0, 1.0]})
    with pytest.raises(InvalidNetworkError) as info:
        ExposureNetwork.from_frames(nodes, edges)
    messages = [p.message for p in info.value.problems]
    assert messages == [
        "Duplicate node id 'a': it is already defined by node number 0.",
        "Field 'debtor' of claim 'x->a' refers to unknown node 'x'.",
        "Claim edge 'b->b' has the same node as debtor and creditor; self-claims are not allowed.",
        "Field 'amount' of claim edge 'a->b' must be a finite non-negative number. Got -1.0 instead.",
    ]


def test_empty_graph_is_an_error():
    with pytest.raises(InvalidNetworkError, match="The graph has no nodes"):
        ExposureNetwork.from_frames(pd.DataFrame({"id": []}), None)


def test_lenient_build_keeps_valid_records():
    nodes = pd.DataFrame({"id": ["a", "b"]})
    edges = pd.DataFrame({"debtor": ["a", "a"], "creditor": ["b", "zz"], "amount": [1.0, 2.0]})
    net = ExposureNetwork.from_frames(nodes, edges, strict=False)
    assert net.n_claims == 1 and net.liabilities[0, 1] == 1.0
    assert [p.severity for p in net.problems] == ["error"]


def test_index_of_names_unknown_ids():
    net = small()
    assert net.index_of("c") == 2
    np.testing.assert_array_equal(net.index_of(["ETH", "a"]), [3, 0])
    with pytest.raises(KeyError, match="unknown node id 'zz'"):
        net.index_of("zz")


def test_row_sums_and_relative_liabilities_against_dense_reference():
    # Independent method: dense numpy sums and division on a random network with empty rows.
    rng = np.random.default_rng(3)
    n = 40
    dense = np.where(rng.random((n, n)) < 0.1, rng.lognormal(size=(n, n)), 0.0)
    np.fill_diagonal(dense, 0.0)
    dense[:5] = 0.0                                # nodes that owe nothing
    d, c = np.nonzero(dense)
    x = rng.random(n)
    x[:2] = 0.0                                    # ... and owe nothing outside either
    net = ExposureNetwork.from_frames(
        pd.DataFrame({"id": [f"n{i}" for i in range(n)], "external_liabilities": x}),
        pd.DataFrame({"debtor": [f"n{i}" for i in d], "creditor": [f"n{j}" for j in c],
                      "amount": dense[d, c]}))
    np.testing.assert_allclose(net.interbank_liabilities(), dense.sum(axis=1), rtol=1e-14)
    pbar = dense.sum(axis=1) + x
    np.testing.assert_allclose(net.total_obligations(), pbar, rtol=1e-14)
    want = np.divide(dense, pbar[:, None], out=np.zeros_like(dense), where=pbar[:, None] > 0)
    P = net.relative_liabilities()
    np.testing.assert_allclose(P.toarray(), want, rtol=1e-14)
    np.testing.assert_allclose(net.relative_liabilities(pbar).toarray(), want, rtol=1e-14)

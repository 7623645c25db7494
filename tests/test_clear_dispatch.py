"""`exposure.clear` on a version-2 network solves the cross-collateral mechanics, not the claims alone."""

import numpy as np
import pandas as pd

import exposure
from exposure import ExposureNetwork, clear, eisenberg_noe, solve_system


def _lst_network():
    # An issuer holds 100 of ETH and owes its token 100; a pool holds 50 of the token and owes
    # 50 to its suppliers. By hand, an ETH fall is not needed: a 40% loss of what the issuer owns
    # leaves it 60 for 100 of obligations, so the token redeems at 0.6 and the pool, owning 50 of
    # it, is worth 30 against 50 owed: both default, and the suppliers lose 20.
    nodes = pd.DataFrame({"id": ["ETH", "issuer", "token", "pool"],
                          "kind": ["asset", "protocol", "token", "venue"],
                          "issuer": [None, None, "issuer", None],
                          "external_liabilities": [0.0, 0.0, 0.0, 50.0]}, dtype=object)
    edges = pd.DataFrame({"kind": ["holding", "claim", "holding"],
                          "holder": ["issuer", None, "pool"], "token": ["ETH", None, "token"],
                          "debtor": [None, "issuer", None], "creditor": [None, "token", None],
                          "amount": [100.0, 100.0, 50.0]}, dtype=object)
    return ExposureNetwork.from_frames(nodes, edges, meta={"version": 2})


def test_clear_on_a_version_2_network_is_the_joint_fixed_point():
    net = _lst_network()
    got = clear(net, {"issuer": 0.4})
    want = solve_system(net, {"issuer": 0.4})
    assert type(got).__name__ == "SystemResult"
    np.testing.assert_array_equal(got.payments, want.payments)
    # hand derivation above: the pool pays 30 of its 50
    assert np.isclose(got.payments[net.index_of("pool")], 30.0)
    assert got.summary()["n_defaults"] == want.summary()["n_defaults"]


def test_eisenberg_noe_still_clears_the_claims_alone():
    net = _lst_network()
    # Claims alone: the issuer's only asset, its ETH holding, is not a claim, so with no
    # external assets it pays nothing of its 100 (hand derivation).
    r = eisenberg_noe(net)
    assert np.isclose(r.payments[net.index_of("issuer")], 0.0)
    assert isinstance(r, exposure.ClearingResult)

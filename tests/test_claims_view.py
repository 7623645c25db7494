"""The face-value claims view of a version-2 network, and the rankings that use it."""

import numpy as np
import pandas as pd

from exposure import ExposureNetwork, rank


def _v2():
    # ETH (base asset); issuer holds 110 of ETH and owes its token 110; pool holds 60 of the
    # token (a holding), lends 40 to looper against 50 of the token (a secured position), and
    # owes 95 outside; looper holds 5 of ETH. The token's 110 = 60 held + 50 posted.
    nodes = pd.DataFrame({"id": ["ETH", "issuer", "token", "pool", "looper"],
                          "kind": ["asset", "protocol", "token", "venue", "position"],
                          "issuer": [None, None, "issuer", None, None],
                          "external_liabilities": [0.0, 0.0, 0.0, 95.0, 0.0]}, dtype=object)
    edges = pd.DataFrame([
        {"kind": "holding", "holder": "issuer", "token": "ETH", "amount": 110.0},
        {"kind": "claim", "debtor": "issuer", "creditor": "token", "amount": 110.0},
        {"kind": "holding", "holder": "pool", "token": "token", "amount": 60.0},
        {"kind": "holding", "holder": "looper", "token": "ETH", "amount": 5.0},
        {"kind": "collateral", "lender": "pool", "borrower": "looper", "collateral_token": "token",
         "collateral": 50.0, "debt_token": "ETH", "debt": 40.0, "liquidation_threshold": 0.9},
    ], dtype=object)
    return ExposureNetwork.from_frames(nodes, edges, meta={"version": 2})


def _by_hand():
    # The same network written by hand as version-1 claims: holdings of the token are claims on
    # it, the position is the pool's claim of 40 on the looper and the looper's claim of 50 on
    # the token; holdings of ETH are claims on the base asset (external assets).
    nodes = pd.DataFrame({"id": ["ETH", "issuer", "token", "pool", "looper"],
                          "kind": ["asset", "protocol", "token", "venue", "position"],
                          "external_liabilities": [0.0, 0.0, 0.0, 95.0, 0.0]})
    edges = pd.DataFrame({"debtor": ["ETH", "issuer", "token", "ETH", "looper", "token"],
                          "creditor": ["issuer", "token", "pool", "looper", "pool", "looper"],
                          "amount": [110.0, 110.0, 60.0, 5.0, 40.0, 50.0]})
    return ExposureNetwork.from_frames(nodes, edges)


def test_claims_view_matches_the_network_written_by_hand():
    view, want = _v2().claims_view(), _by_hand()
    assert view.version == 1 and len(view.holdings) == 0 and len(view.positions) == 0
    np.testing.assert_array_equal(view.liabilities.toarray(), want.liabilities.toarray())
    np.testing.assert_array_equal(view.external_assets, want.external_assets)
    # balance sheets by hand: pool holds 60 + 40 against 95 owed, equity 5; looper holds
    # 5 + 50 against 40, equity 15; the token passes 110 through, equity 0
    np.testing.assert_allclose(view.equity(), [0.0, 0.0, 0.0, 5.0, 15.0])


def test_a_network_without_holdings_or_positions_is_its_own_view():
    net = _by_hand()
    assert net.claims_view() is net


def test_rankings_on_claims_see_holdings_and_positions():
    # DebtRank, Furfine and the centralities of the version-2 network are those of the view.
    for method in ("debtrank", "differential-debtrank", "furfine", "katz"):
        got = rank(_v2(), method).to_frame().set_index("node")["score"]
        want = rank(_by_hand(), method).to_frame().set_index("node")["score"]
        pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_exact=False, rtol=1e-12)
    # The issuer's distress reaches the pool through the token (a holding) and through the
    # looper (a position): it ranks first.
    assert rank(_v2(), "debtrank").to_frame()["node"].iloc[0] == "issuer"


def test_a_shock_in_rank_cuts_base_asset_holdings_of_the_view():
    # Cutting half of the issuer's ETH (its holding of 110) leaves it 55 for its 110 of
    # obligations: its equity before the ranking is negative, so DebtRank treats it as fully
    # vulnerable; the same shock on the hand-written network gives the same scores.
    got = rank(_v2(), "debtrank", shock={"issuer": 0.5}).to_frame().set_index("node")["score"]
    want = rank(_by_hand(), "debtrank", shock={"issuer": 0.5}).to_frame().set_index("node")["score"]
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_exact=False, rtol=1e-12)

"""Reverse stress: smallest breaking shocks, against hand derivations and a brute-force grid."""

import warnings

import numpy as np
import pytest
from test_stress_cases import fire_sale_network, loop_network, two_token_network

from exposure import ConvergenceWarning, InvalidParameterError, InvalidShockError
from exposure.defi import MarketShock, solve_system
from exposure.stress import (REVERSE_COLUMNS, Target, bisect_breaking_shock, parse_target,
                             reverse_stress)

P = 1e-4  # default precision, as a fraction of the shock range


def one(result):
    assert len(result.table) == 1
    return result.table.iloc[0]


# ------------------------------------------------------------------------------- hand derivations
@pytest.mark.parametrize("shock_type, node, target, threshold, value", [
    # loop_network docstring: bad debt 100 s - 20 above s = 0.2 (ETH price fall, asset loss at lido,
    # stETH depeg alike); total loss 100 s; pool defaults (2nd default after lido) and its suppliers
    # lose above s = 0.25.
    ("price", "ETH", "bad_debt>0", 0.2, lambda s: 100 * s - 20),
    ("price", "ETH", "bad_debt>10", 0.3, lambda s: 100 * s - 20),
    ("price", "ETH", "total_loss>=50", 0.5, lambda s: 100 * s),
    ("price", "ETH", "n_defaults>=2", 0.25, lambda s: 2),
    ("price", "ETH", "external_creditor_loss>0", 0.25, lambda s: 100 * s - 25),
    ("asset_loss", "lido", "bad_debt>0", 0.2, lambda s: 100 * s - 20),
    ("depeg", "stETH", "bad_debt>0", 0.2, lambda s: 100 * s - 20),
])
def test_breaking_shock_by_hand(shock_type, node, target, threshold, value):
    row = one(reverse_stress(loop_network(), shock_type, node, target))
    # The bisection reports the smallest size known to breach: within one bracket (1e-4) above the threshold.
    assert threshold <= row["breaking_shock"] <= threshold + P
    assert row["value_at_breaking_shock"] == pytest.approx(value(row["breaking_shock"]), abs=1e-9)
    assert row["evaluations"] == 1 + 14  # y(max), then ceil(log2(1 / 1e-4)) = 14 halvings
    assert row["converged"] and row["rank"] == 1


def test_forged_supply_breaks_at_a_quarter():
    # A forged supply f makes stETH redeem at 1 / (1 + f): bad debt 80 - 100 / (1 + f) > 0 above f = 0.25.
    # The range is [0, 10] by default, so the precision is 1e-4 x 10 = 1e-3.
    res = reverse_stress(loop_network(), "forged_supply", "stETH", "bad_debt>0")
    row = one(res)
    assert res.max_shock == 10.0
    assert 0.25 <= row["breaking_shock"] <= 0.25 + 1e-3
    assert row["value_at_breaking_shock"] == pytest.approx(80 - 100 / (1 + row["breaking_shock"]))
    assert row["value_at_max_shock"] == pytest.approx(80 - 100 / 11)


def test_precision_and_max_shock_options():
    res = reverse_stress(loop_network(), "price", "ETH", "bad_debt>0", precision=1e-2, max_shock=0.5)
    row = one(res)
    # Bracket width 1e-2 x 0.5 = 5e-3; halvings of 0.5 down to it: 0.5 / 2^7 = 3.9e-3, so 7 of them.
    assert 0.2 <= row["breaking_shock"] <= 0.205 and row["evaluations"] == 1 + 7
    assert (res.precision, res.max_shock) == (1e-2, 0.5)


def test_ranking_over_all_eligible_nodes():
    # two_token_network docstring: tokA breaks above a 16% depeg, tokB above 50%, tokC never.
    res = reverse_stress(two_token_network(), "depeg", "all", "bad_debt>0")
    t = res.table
    assert list(t.columns[:5]) == list(REVERSE_COLUMNS)
    assert list(t["node"]) == ["tokA", "tokB", "tokC"]
    assert 0.16 <= t["breaking_shock"][0] <= 0.16 + P and 0.5 <= t["breaking_shock"][1] <= 0.5 + P
    assert np.isnan(t["breaking_shock"][2]) and np.isnan(t["value_at_breaking_shock"][2])
    assert t["value_at_max_shock"][2] == 0.0 and t["evaluations"][2] == 1
    assert list(t["rank"].astype(object).where(t["rank"].notna(), None)) == [1, 2, None]
    assert set(t["shock_type"]) == {"depeg"} and set(t["target"]) == {"bad_debt>0"}
    assert list(res.to_frame().columns) == list(REVERSE_COLUMNS)


def test_a_node_that_cannot_breach_is_reported_null():
    # A USDC price fall lowers the value of the debt: no bad debt at any size (loop_network).
    res = reverse_stress(loop_network(), "price", "all", "bad_debt>0")
    assert list(res.table["node"]) == ["ETH", "USDC"]
    assert np.isnan(res.table["breaking_shock"][1])


def test_breached_without_any_shock_gives_zero():
    # pool_liabilities 85 > 80 lent: pool is insolvent before any shock, so its suppliers already lose 5.
    res = reverse_stress(loop_network(pool_liabilities=85.0), "price", "all", "external_creditor_loss>0")
    assert res.value_at_zero == pytest.approx(5.0)
    assert list(res.table["breaking_shock"]) == [0.0, 0.0]
    assert list(res.table["evaluations"]) == [0, 0]


# ------------------------------------------------------------------------------- brute-force grid
def grid_response(net, shock_type, node, metric, sizes):
    field = {"price": "price_change", "depeg": "depeg", "asset_loss": "asset_loss"}[shock_type]
    sign = -1.0 if shock_type in ("price", "depeg") else 1.0
    return np.array([solve_system(net, MarketShock(**{field: {node: sign * s}})).summary()[metric]
                     for s in sizes])


@pytest.mark.parametrize("shock_type, node, target", [
    ("depeg", "LRT", "bad_debt>0"),
    ("depeg", "LRT", "total_loss>100"),
    ("depeg", "LRT", "n_defaults>=1"),
    ("asset_loss", "restaker", "bad_debt>20"),
    ("asset_loss", "restaker", "external_creditor_loss>=30"),
])
def test_bisection_agrees_with_a_brute_force_grid(shock_type, node, target):
    # Independent method: evaluate the response on a grid of 201 sizes (step h = 0.005) and take the first
    # size that breaches, g. For a monotone response the threshold s* lies in (g - h, g], and the bisection
    # must return b in [s*, s* + 1e-4]: so g - h < b <= g + 1e-4. Then check b directly: the system breaches
    # at b and does not at b - 1e-4 (the last size the bisection found safe is at most that far below).
    net = fire_sale_network()
    t = parse_target(target)
    sizes = np.linspace(0.0, 1.0, 201)
    y = grid_response(net, shock_type, node, t.metric, sizes)
    assert np.all(np.diff(y) >= -1e-9), "the response must be monotone on this network"
    hits = np.flatnonzero([t.breached(v) for v in y])
    assert hits.size and hits[0] > 0, "the grid must see the threshold inside (0, 1]"
    g = sizes[hits[0]]
    b = one(reverse_stress(net, shock_type, node, target))["breaking_shock"]
    assert g - 0.005 < b <= g + P
    at_b, below = grid_response(net, shock_type, node, t.metric, [b, b - P])
    assert t.breached(at_b) and not t.breached(below)


def test_deprecated_n_jobs_is_an_alias_of_workers():
    # n_jobs=1 (the old default) runs in process, as workers=None does; it warns, naming the replacement.
    net = two_token_network()
    expected = reverse_stress(net, "depeg", "all", "bad_debt>0").table
    with pytest.warns(DeprecationWarning, match=r"n_jobs parameter of reverse_stress is deprecated; use workers=N"):
        assert reverse_stress(net, "depeg", "all", "bad_debt>0", n_jobs=1).table.equals(expected)
    with pytest.warns(DeprecationWarning), pytest.raises(InvalidParameterError, match="not both"):
        reverse_stress(net, "depeg", "all", "bad_debt>0", n_jobs=2, workers=2)


def test_non_convergence_is_reported():
    # One round of the joint loop cannot settle a fire-sale cascade.
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = reverse_stress(fire_sale_network(), "depeg", "LRT", "bad_debt>0", max_iter=1)
    assert not res.converged and not res.table["converged"].any()


# ------------------------------------------------------------------------------- bisection itself
def test_bisection_on_a_step_by_hand():
    # y(s) = 1 above s = 0.37: the bracket [lo, hi] halves from [0, 1] until it is 1e-4 wide, so hi is in
    # [0.37, 0.37 + 1e-4]; 1 evaluation at the top + 14 halvings (+ 1 for y(0), not given).
    b = bisect_breaking_shock(lambda s: float(s > 0.37), lambda y: y > 0.5, 1.0, 1e-4)
    assert 0.37 <= b.breaking_shock <= 0.3701 and b.evaluations == 16 and b.value_at_breaking_shock == 1.0


def test_scan_finds_a_window_that_bisection_misses():
    # Not monotone: y breaches only on [0.3, 0.4]. Plain bisection tests y(1) = 0 and gives up; a scan of
    # 10 cells sees the breach at 0.3 (cell (0.2, 0.3]) and bisects inside it.
    def y(s):
        return float(0.3 <= s <= 0.4)
    assert bisect_breaking_shock(y, lambda v: v > 0, 1.0, 1e-4).breaking_shock is None
    b = bisect_breaking_shock(y, lambda v: v > 0, 1.0, 1e-4, scan=10)
    assert 0.3 <= b.breaking_shock <= 0.3001


def test_scan_agrees_with_bisection_when_monotone():
    net = loop_network()
    plain = one(reverse_stress(net, "price", "ETH", "bad_debt>0"))
    scanned = one(reverse_stress(net, "price", "ETH", "bad_debt>0", scan=8))
    assert abs(plain["breaking_shock"] - scanned["breaking_shock"]) <= P
    assert scanned["evaluations"] == 2 + 11  # y(1/8), y(2/8) (breaches), then 0.125 / 2^11 < 1e-4


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("text, message", [
    ("bad_debt>1e8", None),
    ("bad_debt >= 5", None),
    ("bad_debt≥5", None),
    ("loss>5", "Unknown target metric 'loss'; expected one of bad_debt, total_loss, n_defaults, "
               "external_creditor_loss, n_impaired, buffer_used."),
    ("bad_debt<5", "The target must be written METRIC>VALUE or METRIC>=VALUE with METRIC one of bad_debt, "
                   "total_loss, n_defaults, external_creditor_loss, n_impaired, buffer_used. Got 'bad_debt<5' "
                   "instead."),
    ("bad_debt>x", "The target must be written METRIC>VALUE or METRIC>=VALUE with METRIC one of bad_debt, "
                   "total_loss, n_defaults, external_creditor_loss, n_impaired, buffer_used. Got 'bad_debt>x' "
                   "instead."),
    ("bad_debt>inf", "The threshold of the target must be a finite number. Got 'inf' instead."),
])
def test_parse_target(text, message):
    if message is None:
        t = parse_target(text)
        assert isinstance(t, Target) and t.metric == "bad_debt"
        assert t.op == (">" if text == "bad_debt>1e8" else ">=")
        return
    with pytest.raises(InvalidShockError) as info:
        parse_target(text)
    assert str(info.value) == message


def test_target_comparisons():
    assert Target("n_defaults", ">=", 2).breached(2) and not Target("n_defaults", ">", 2).breached(2)
    assert str(parse_target("bad_debt>1e8")) == "bad_debt>1e+08"


@pytest.mark.parametrize("kwargs, message", [
    ({"shock_type": "liquidity"}, "The shock type of a reverse stress must be one of price, depeg, asset_loss, "
                                  "forged_supply. Got 'liquidity' instead."),
    ({"node": "nope"}, "Reverse stress on node 'nope': unknown node 'nope': no node of the graph has that id."),
    ({"node": "stETH"}, "Reverse stress on node 'stETH': node 'stETH' is not a base asset (kind 'token')"),
    ({"shock_type": "asset_loss", "node": "pool"}, "Node 'pool' owns nothing (no external assets, no holdings), so an "
                                                   "asset_loss shock cannot touch it."),
    ({"precision": 0.0}, "The precision must be a number in (0, 1). Got 0.0 instead."),
    ({"max_shock": 1.5}, "The largest price shock must be a number in (0, 1]. Got 1.5 instead."),
])
def test_reverse_stress_errors(kwargs, message):
    args = {"shock_type": "price", "node": "ETH", "target": "bad_debt>0", **kwargs}
    with pytest.raises(InvalidShockError) as info:
        reverse_stress(loop_network(), args.pop("shock_type"), args.pop("node"), args.pop("target"), **args)
    assert str(info.value).startswith(message)


def test_no_warning_when_everything_converges():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert reverse_stress(loop_network(), "price", "ETH", "bad_debt>0").converged


def test_search_on_top_of_a_base_scenario():
    from exposure.io.scenarios import Scenario

    # With ETH already 10% down, lido owns 90 and an asset loss s leaves it 90(1 - s): stETH is worth that,
    # bad debt 80 - 90(1 - s) > 0 above s = 1/9 (hand; loop_network docstring with 100 -> 90).
    base = Scenario.from_dict({"name": "eth-10", "shocks": [{"type": "price", "node": "ETH", "change": -0.1}]})
    res = reverse_stress(loop_network(), "asset_loss", "lido", "bad_debt>0", base=base)
    row = one(res)
    assert 1 / 9 <= row["breaking_shock"] <= 1 / 9 + P
    assert row["value_at_breaking_shock"] == pytest.approx(80 - 90 * (1 - row["breaking_shock"]))
    assert res.base == "eth-10" and res.to_dict()["base"] == "eth-10"
    # The base alone leaves no bad debt (collateral 90 > 80). The base already moves ETH's price, so ETH is
    # left out of "all" for a price search, and naming it is an error.
    assert res.value_at_zero == 0.0
    assert list(reverse_stress(loop_network(), "price", "all", "bad_debt>0", base=base).table["node"]) == ["USDC"]
    with pytest.raises(InvalidShockError, match="Node 'ETH' already has a price shock in scenario 'eth-10'"):
        reverse_stress(loop_network(), "price", "ETH", "bad_debt>0", base=base)

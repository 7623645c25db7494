"""The scenario file format: reading, exact error messages, checks against a network."""

import contextlib
import json
import os

import pytest
from test_stress_cases import roles_network

from exposure import InvalidShockError
from exposure.io.scenarios import (SHOCK_TYPES, Scenario, eligible_nodes, market_shock_fields,
                                parse_scenarios,
                                read_scenarios, select_scenarios)

KELP = {"name": "kelp-forged-supply", "description": "rsETH minted without backing", "source": "https://example.org",
        "shocks": [{"type": "asset_loss", "node": "stream", "fraction": 0.6},
                   {"type": "price", "node": "ETH", "change": -0.3},
                   {"type": "depeg", "node": "xUSD", "change": -0.8},
                   {"type": "forged_supply", "node": "rsETH", "fraction": 0.18},
                   {"type": "liquidity", "node": "stETH", "depth_factor": 0.15}]}


def doc(*scenarios, **top):
    return {"format": "exposure-scenario", "version": 1, "scenarios": list(scenarios), **top}


@pytest.fixture
def net():
    return roles_network()


@contextlib.contextmanager
def _cwd(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def write(tmp_path, data, name="scenarios.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=1))
    return str(path)


def test_read_the_format_example(tmp_path):
    path = write(tmp_path, doc(KELP))
    (s,) = read_scenarios(path)
    assert (s.name, s.description, s.source, s.file) == ("kelp-forged-supply", KELP["description"],
                                                         "https://example.org", path)
    assert [(x.type, x.node, x.field, x.value, x.index) for x in s.shocks] == [
        ("asset_loss", "stream", "fraction", 0.6, 0), ("price", "ETH", "change", -0.3, 1),
        ("depeg", "xUSD", "change", -0.8, 2), ("forged_supply", "rsETH", "fraction", 0.18, 3),
        ("liquidity", "stETH", "depth_factor", 0.15, 4)]
    # The scenario written back is the input.
    assert s.to_dict() == KELP


def test_market_shock_fields():
    (s,) = parse_scenarios(doc(KELP))
    amount = Scenario.from_dict({"name": "a", "shocks": [{"type": "asset_loss", "node": "kelp", "amount": 5}]})
    fields = market_shock_fields(s.shocks + amount.shocks)
    assert fields == {"asset_loss": {"stream": 0.6}, "asset_loss_amount": {"kelp": 5.0},
                      "price_change": {"ETH": -0.3}, "depeg": {"xUSD": -0.8},
                      "forged_supply": {"rsETH": 0.18}, "depth_factor": {"stETH": 0.15}}


def test_empty_shock_list_is_a_baseline():
    (s,) = parse_scenarios(doc({"name": "baseline", "shocks": []}))
    assert s.shocks == ()


W = "scenarios.json: scenario 'kelp-forged-supply'"


@pytest.mark.parametrize("shock, message", [
    ({"type": "forged_suply", "node": "rsETH", "fraction": 0.18},
     f"{W}, shock 3 (forged_suply): unknown shock type 'forged_suply'; expected one of asset_loss, price, depeg, "
     "forged_supply, liquidity. Did you mean 'forged_supply'?"),
    ({"node": "rsETH", "fraction": 0.18},
     f"{W}, shock 3: field 'type' is required but missing; expected one of asset_loss, price, depeg, "
     "forged_supply, liquidity."),
    ({"type": 3, "node": "rsETH"},
     f"{W}, shock 3: unknown shock type 3; expected one of asset_loss, price, depeg, forged_supply, liquidity."),
    ({"type": "forged_supply", "fraction": 0.18},
     f"{W}, shock 3 (forged_supply): field 'node' is required but missing."),
    ({"type": "forged_supply", "node": 7, "fraction": 0.18},
     f"{W}, shock 3 (forged_supply): field 'node' must be a node id (a non-empty string). Got 7 instead."),
    ({"type": "forged_supply", "node": "rsETH"},
     f"{W}, shock 3 (forged_supply): field 'fraction' is required but missing."),
    ({"type": "forged_supply", "node": "rsETH", "fraction": -0.18},
     f"{W}, shock 3 (forged_supply): field 'fraction' must be a finite number ≥ 0. Got -0.18 instead."),
    ({"type": "forged_supply", "node": "rsETH", "fraction": "0.18"},
     f"{W}, shock 3 (forged_supply): field 'fraction' must be a finite number ≥ 0. Got the string '0.18' instead."),
    ({"type": "forged_supply", "node": "rsETH", "fraction": True},
     f"{W}, shock 3 (forged_supply): field 'fraction' must be a finite number ≥ 0. Got the boolean true instead."),
    ({"type": "asset_loss", "node": "rsETH", "fraction": 1.5},
     f"{W}, shock 3 (asset_loss): field 'fraction' must be a number in [0, 1]. Got 1.5 instead."),
    ({"type": "asset_loss", "node": "rsETH", "amount": -1},
     f"{W}, shock 3 (asset_loss): field 'amount' must be a finite number ≥ 0. Got -1 instead."),
    ({"type": "asset_loss", "node": "rsETH", "amount": 1, "fraction": 0.1},
     f"{W}, shock 3 (asset_loss): give one of the fields 'fraction' or 'amount', not both."),
    ({"type": "asset_loss", "node": "rsETH"},
     f"{W}, shock 3 (asset_loss): field 'fraction' or 'amount' is required but missing."),
    ({"type": "price", "node": "ETH", "change": -1.2},
     f"{W}, shock 3 (price): field 'change' must be a finite number ≥ -1. Got -1.2 instead."),
    ({"type": "depeg", "node": "xUSD", "change": 0.1},
     f"{W}, shock 3 (depeg): field 'change' must be a number in [-1, 0]. Got 0.1 instead."),
    ({"type": "liquidity", "node": "stETH", "depth_factor": 0},
     f"{W}, shock 3 (liquidity): field 'depth_factor' must be a finite number > 0. Got 0 instead."),
    ({"type": "liquidity", "node": "stETH", "depth_factr": 0.15},
     f"{W}, shock 3 (liquidity): unknown field 'depth_factr'; a liquidity shock has fields 'node', 'depth_factor'.\n"
     f"{W}, shock 3 (liquidity): field 'depth_factor' is required but missing."),
    ({"type": "asset_loss", "node": "stream", "fraction": 0.1},
     f"{W}, shock 3 (asset_loss): node 'stream' already has a shock of this type (shock 0); "
     "give one asset_loss shock per node."),
    ("rsETH", f"{W}, shock 3: a shock must be an object with 'type' and 'node'. Got the string 'rsETH' instead."),
])
def test_shock_errors_name_file_scenario_and_shock(tmp_path, shock, message):
    bad = {**KELP, "shocks": KELP["shocks"][:3] + [shock] + KELP["shocks"][4:]}
    (tmp_path / "scenarios.json").write_text(json.dumps(doc(bad)))
    with pytest.raises(InvalidShockError) as info:
        _read_relative(tmp_path)
    assert str(info.value) == message


def _read_relative(tmp_path):
    """Read ``scenarios.json`` by its relative name, as a user on the command line would."""
    with _cwd(tmp_path):
        return read_scenarios("scenarios.json")


def test_every_problem_is_reported_at_once():
    bad = {"name": "two", "shocks": [{"type": "price", "node": "ETH", "change": "x"},
                                     {"type": "nope", "node": "ETH"}]}
    with pytest.raises(InvalidShockError) as info:
        parse_scenarios(doc(bad), file="f.json")
    assert str(info.value).splitlines() == [
        "f.json: scenario 'two', shock 0 (price): field 'change' must be a finite number ≥ -1. "
        "Got the string 'x' instead.",
        "f.json: scenario 'two', shock 1 (nope): unknown shock type 'nope'; expected one of asset_loss, price, "
        "depeg, forged_supply, liquidity."]


@pytest.mark.parametrize("data, message", [
    ([], "f.json: a scenario file must be a JSON object with 'format', 'version' and 'scenarios'. "
         "Got a list instead."),
    (doc(KELP, format="exposure-graph"),
     "f.json: field 'format' must be 'exposure-scenario'; got the string 'exposure-graph' instead."),
    ({"version": 1, "scenarios": [KELP]}, "f.json: field 'format' must be 'exposure-scenario'; it is missing."),
    (doc(KELP, version=2), "f.json: field 'version' must be 1 (the version this reader knows); got 2 instead."),
    (doc(), "f.json: field 'scenarios' must be a non-empty list of scenarios; got a list instead."),
    (doc({"shocks": []}), "f.json: scenario 0: field 'name' is required but missing."),
    (doc({"name": "", "shocks": []}),
     "f.json: scenario 0: field 'name' must be a non-empty string. Got the string '' instead."),
    (doc({"name": "a"}), "f.json: scenario 'a': field 'shocks' is required but missing."),
    (doc({"name": "a", "shocks": {}}),
     "f.json: scenario 'a': field 'shocks' must be a list of shocks. Got an object instead."),
    (doc({"name": "a", "shocks": [], "descr": "x"}),
     "f.json: scenario 'a': unknown field 'descr'; a scenario has fields 'name', 'description', 'source', 'shocks'."),
    (doc({"name": "a", "shocks": [], "source": 3}), "f.json: scenario 'a': field 'source' must be a string. "
                                                    "Got 3 instead."),
    (doc({"name": "a", "shocks": []}, {"name": "a", "shocks": []}),
     "f.json: scenario 1: the name 'a' is already used by scenario 0; scenario names must be unique."),
    (doc("a"), "f.json: scenario 0: a scenario must be an object with 'name' and 'shocks'. "
               "Got the string 'a' instead."),
])
def test_document_errors(data, message):
    with pytest.raises(InvalidShockError) as info:
        parse_scenarios(data, file="f.json")
    assert str(info.value) == message


def test_unreadable_files(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"format": "exposure-scenario",\n "version": 1,\n "scenarios": [}')
    with pytest.raises(InvalidShockError, match=r"s\.json: line 3, column 16: not valid JSON: Expecting value"):
        read_scenarios(path)
    with pytest.raises(InvalidShockError, match=r"nothing\.json: cannot read the scenario file: No such file"):
        read_scenarios(tmp_path / "nothing.json")


def test_metadata_fields_of_a_shock_are_kept():
    s = Scenario.from_dict({"name": "a", "shocks": [
        {"type": "depeg", "node": "xUSD", "change": -0.5, "note": "estimate", "source": "https://x"}]})
    assert dict(s.shocks[0].meta) == {"note": "estimate", "source": "https://x"}
    assert s.shocks[0].to_dict() == {"type": "depeg", "node": "xUSD", "change": -0.5, "note": "estimate",
                                     "source": "https://x"}


def test_check_against_the_network(net):
    (s,) = parse_scenarios(doc(KELP), file="scenarios.json")
    s.check(net)  # every shock of the format's example fits this network


@pytest.mark.parametrize("shock, message", [
    ({"type": "forged_supply", "node": "rsETHH", "fraction": 0.18},
     "unknown node 'rsETHH': no node of the graph has that id. Did you mean 'rsETH'?"),
    ({"type": "price", "node": "stETH", "change": -0.1},
     "node 'stETH' is not a base asset (kind 'token'); a price shock moves the price of a node of kind 'asset' "
     "(use 'depeg' for a token)."),
    ({"type": "asset_loss", "node": "ETH", "fraction": 0.1},
     "node 'ETH' is a base asset, which has no balance sheet; use a 'price' shock to move its price."),
    ({"type": "asset_loss", "node": "kelp", "amount": 60},
     "the amount 60 exceeds the external assets and holdings of node 'kelp' (50); a node cannot lose more than "
     "it holds."),
    ({"type": "depeg", "node": "pool", "change": -0.1},
     "node 'pool' is not a token (kind 'venue', no issuer); only a token can depeg."),
    ({"type": "forged_supply", "node": "kelp", "fraction": 0.1},
     "node 'kelp' is not a token (kind 'protocol', no issuer); forged supply dilutes the holders of a token."),
    ({"type": "liquidity", "node": "xUSD", "depth_factor": 0.5},
     "node 'xUSD' has no market depth ('depth' is not set), so there is no depth to scale."),
])
def test_network_errors_name_the_scenario_and_shock(net, shock, message):
    s = Scenario.from_dict({"name": "kelp-forged-supply", "shocks": KELP["shocks"][:3] + [shock]},
                           file="scenarios.json")
    with pytest.raises(InvalidShockError) as info:
        s.check(net)
    assert str(info.value) == f"{W}, shock 3 ({shock['type']}): {message}"


def test_eligible_nodes(net):
    assert eligible_nodes(net, "price") == ["ETH"]
    assert eligible_nodes(net, "depeg") == ["xUSD", "rsETH", "stETH"]
    assert eligible_nodes(net, "forged_supply") == ["xUSD", "rsETH", "stETH"]
    assert eligible_nodes(net, "asset_loss") == ["stream", "kelp", "pool"]
    assert eligible_nodes(net, "liquidity") == ["ETH", "stETH"]
    with pytest.raises(InvalidShockError, match="unknown shock type 'prize'.*Did you mean 'price'"):
        eligible_nodes(net, "prize")


def test_asset_loss_amount_may_take_holdings(net):
    # pool owns 10 of external assets and 80 of xUSD at reference price: 90 in all.
    assert net.owned_assets()[net.index_of("pool")] == 90.0
    Scenario.from_dict({"name": "a", "shocks": [{"type": "asset_loss", "node": "pool", "amount": 90}]}).check(net)
    with pytest.raises(InvalidShockError, match=r"amount 90\.5 exceeds .* node 'pool' \(90\)"):
        Scenario.from_dict({"name": "a", "shocks": [{"type": "asset_loss", "node": "pool", "amount": 90.5}]}).check(net)


def test_select_scenarios():
    scenarios = parse_scenarios(doc({"name": "a", "shocks": []}, {"name": "b", "shocks": []}), file="f.json")
    assert [s.name for s in select_scenarios(scenarios, [])] == ["a", "b"]
    assert [s.name for s in select_scenarios(scenarios, ["b", "a", "b"])] == ["b", "a"]
    with pytest.raises(InvalidShockError) as info:
        select_scenarios(scenarios, ["c"])
    assert str(info.value) == "f.json: no scenario named 'c'. Scenarios in the file: a, b."


def test_every_shock_type_has_a_market_shock_field():
    for t, spec in SHOCK_TYPES.items():
        for f in spec.sizes:
            size = -0.5 if f == "change" else 0.5
            s = Scenario.from_dict({"name": "x", "shocks": [{"type": t, "node": "n", f: size}]})
            assert sum(len(v) for v in market_shock_fields(s.shocks).values()) == 1


def test_to_market_shock(net):
    (s,) = parse_scenarios(doc(KELP), file="scenarios.json")
    shock = s.to_market_shock(net)
    assert dict(shock.asset_loss) == {"stream": 0.6} and dict(shock.price_change) == {"ETH": -0.3}
    assert dict(shock.depeg) == {"xUSD": -0.8} and dict(shock.forged_supply) == {"rsETH": 0.18}
    assert dict(shock.depth_factor) == {"stETH": 0.15} and dict(shock.asset_loss_amount) == {}
    bad = Scenario.from_dict({"name": "b", "shocks": [{"type": "depeg", "node": "nope", "change": -0.1}]},
                             file="f.json")
    with pytest.raises(InvalidShockError, match=r"^f\.json: scenario 'b', shock 0 \(depeg\): unknown node 'nope'"):
        bad.to_market_shock(net)

"""``exposure stress``: scenario runs and reverse stress from the command line (CliRunner on cli.cli)."""

import io
import json
import pathlib

import pandas as pd
import pytest
from click.testing import CliRunner
from test_stress_cases import fire_sale_network, loop_network, two_token_network

from cli import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCENARIOS = {"format": "exposure-scenario", "version": 1, "scenarios": [
    {"name": "eth-30", "description": "ETH falls 30%", "shocks": [{"type": "price", "node": "ETH", "change": -0.3}]},
    {"name": "steth-depeg", "shocks": [{"type": "depeg", "node": "stETH", "change": -0.25}]}]}


@pytest.fixture
def files(tmp_path):
    graph = tmp_path / "loop.json"
    graph.write_text(json.dumps(loop_network("exchange_rate", as_document=True)))
    scenarios = tmp_path / "scenarios.json"
    scenarios.write_text(json.dumps(SCENARIOS))
    return str(graph), str(scenarios)


def run(*args):
    return CliRunner().invoke(cli, ["stress", *map(str, args)])


def csv(result):
    assert result.exit_code == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout))


def test_summary_csv(files):
    # loop_network docstring: ETH -30% leaves bad debt 10, pool and lido default, suppliers lose 5, total 30;
    # the exchange-rate oracle liquidates the whole 100 of collateral. A 25% depeg of stETH: the market value
    # of the collateral falls to 75 against 80 of debt (bad debt 5, no liquidation: the oracle does not see a
    # market depeg), pool's equity 5 and looper's 20 are gone: total loss 25.
    result = run(*files, "--format", "csv")
    assert result.stdout.splitlines()[0] == ("scenario,total_loss,bad_debt,liquidated,n_defaults,n_impaired,buffer_used,"
                                             "external_creditor_loss,rounds,converged")
    frame = csv(result).set_index("scenario")
    assert list(frame.index) == ["eth-30", "steth-depeg"]
    expected = pd.DataFrame({"total_loss": [30.0, 25.0], "bad_debt": [10.0, 5.0], "liquidated": [100.0, 0.0],
                             "n_defaults": [2, 0], "external_creditor_loss": [5.0, 0.0]},
                            index=pd.Index(["eth-30", "steth-depeg"], name="scenario"))
    pd.testing.assert_frame_equal(frame[expected.columns], expected, atol=1e-9, check_dtype=False)
    assert frame["converged"].all()


def test_scenario_selection_and_detail_tables(files):
    nodes = csv(run(*files, "--scenario", "steth-depeg", "--detail", "nodes", "--format", "csv"))
    assert list(nodes.columns) == ["scenario", "node", "kind", "equity_before", "equity_after", "loss", "bad_debt",
                                   "liquidated", "defaulted", "default_round", "impaired", "buffer_used"]
    assert set(nodes["scenario"]) == {"steth-depeg"} and len(nodes) == 6
    assert nodes.set_index("node").loc["pool", "bad_debt"] == pytest.approx(5.0)
    tokens = csv(run(*files, "--detail", "tokens", "--format", "csv"))
    assert list(tokens.columns) == ["scenario", "token", "price_before", "price_after", "redemption_value",
                                    "liquidated"]
    # stETH after the depeg: market price 0.75, redemption value untouched at 1.
    row = tokens.set_index(["scenario", "token"]).loc[("steth-depeg", "stETH")]
    assert (row["price_after"], row["redemption_value"]) == (pytest.approx(0.75), pytest.approx(1.0))


def test_json_holds_everything(files):
    result = run(*files, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [s["name"] for s in doc["scenarios"]] == ["eth-30", "steth-depeg"]
    first = doc["scenarios"][0]
    assert first["summary"]["bad_debt"] == pytest.approx(10.0)
    assert {"nodes", "tokens", "positions", "rounds", "shocks", "description"} <= set(first)
    assert first["nodes"][0].keys() >= {"node", "kind", "equity_before", "equity_after", "loss", "defaulted"}


def test_table_output(files):
    result = run(*files, "--format", "table")
    assert result.exit_code == 0
    title, header = result.stdout.splitlines()[:2]
    assert title == "Scenarios" and header.split() == ["scenario", "total_loss", "bad_debt", "liquidated",
                                                       "n_defaults", "n_impaired", "buffer_used",
                                                           "external_creditor_loss", "rounds", "converged"]


def test_bad_scenario_file_is_an_error_naming_the_shock(files, tmp_path):
    graph, _ = files
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**SCENARIOS, "scenarios": [
        {"name": "typo", "shocks": [{"type": "price", "node": "ETH", "change": -0.3},
                                    {"type": "depeg", "node": "stETH", "change": -2}]}]}))
    result = run(graph, bad)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {bad}: scenario 'typo', shock 1 (depeg): field 'change' must be a number "
                             "in [-1, 0]. Got -2 instead.\n")
    unknown = run(*files, "--scenario", "eth-03")
    assert unknown.exit_code == 1
    assert "no scenario named 'eth-03'. Did you mean 'eth-30'?" in unknown.stderr


def test_shock_on_a_node_the_graph_lacks(files, tmp_path):
    graph, _ = files
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**SCENARIOS, "scenarios": [
        {"name": "kelp", "shocks": [{"type": "forged_supply", "node": "rsETH", "fraction": 0.18}]}]}))
    result = run(graph, other)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {other}: scenario 'kelp', shock 0 (forged_supply): unknown node "
                                    "'rsETH'")


@pytest.mark.parametrize("args, message", [
    ([], "Missing argument 'SCENARIO_FILE' (or use --reverse)."),
    (["SC", "--target", "bad_debt>0"], "--target only apply with --reverse."),
    (["SC", "--reverse", "--shock-type", "price", "--target", "bad_debt>0"],
     "--reverse with SCENARIO_FILE searches on top of one scenario; choose it with --scenario NAME "
     "(the file has 2)."),
    (["--reverse", "--shock-type", "price", "--target", "bad_debt>0", "--scenario", "eth-30"],
     "--scenario needs SCENARIO_FILE."),
    (["--reverse", "--target", "bad_debt>0"], "--reverse needs --shock-type."),
    (["--reverse", "--shock-type", "price", "--target", "bad_debt>0", "--detail", "nodes"],
     "--detail applies to scenario runs, not to --reverse."),
])
def test_usage_errors(files, args, message):
    graph, scenarios = files
    result = run(graph, *[scenarios if a == "SC" else a for a in args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_reverse_csv(files):
    graph, _ = files
    result = run(graph, "--reverse", "--shock-type", "price", "--node", "all", "--target", "bad_debt>0",
                 "--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[0] == "node,shock_type,breaking_shock,target,value_at_breaking_shock"
    # loop_network docstring: bad debt above an ETH fall of 0.2; a USDC fall never gives bad debt (empty).
    assert lines[2] == "USDC,price,,bad_debt>0,"
    frame = csv(result)
    assert 0.2 <= frame["breaking_shock"][0] <= 0.2 + 1e-4 and frame["node"][0] == "ETH"
    assert "bad_debt without any shock: 0" in result.stderr


def test_reverse_json_and_options(tmp_path):
    graph = tmp_path / "tokens.json"
    graph.write_text(json.dumps(two_token_network(as_document=True)))
    result = run(graph, "--reverse", "--shock-type", "depeg", "--node", "tokB", "--node", "tokA", "--target",
                 "bad_debt>0", "--precision", "1e-3", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["shock_type"], doc["target"], doc["precision"], doc["max_shock"]) == ("depeg", "bad_debt>0",
                                                                                       1e-3, 1.0)
    # two_token_network docstring: tokA breaks above 0.16, tokB above 0.5; most fragile first.
    assert [r["node"] for r in doc["nodes"]] == ["tokA", "tokB"]
    assert [r["rank"] for r in doc["nodes"]] == [1, 2]
    assert 0.16 <= doc["nodes"][0]["breaking_shock"] <= 0.161


def test_reverse_bad_target_is_an_error(files):
    result = run(files[0], "--reverse", "--shock-type", "price", "--target", "bad_debt<0")
    assert result.exit_code == 1 and result.stderr.startswith("Error: The target must be written METRIC>VALUE")


def test_strict_non_convergence_exits_3(tmp_path):
    graph = tmp_path / "fire.json"
    graph.write_text(json.dumps(fire_sale_network(as_document=True)))
    scenarios = tmp_path / "s.json"
    scenarios.write_text(json.dumps({**SCENARIOS, "scenarios": [
        {"name": "depeg", "shocks": [{"type": "depeg", "node": "LRT", "change": -0.2}]}]}))
    # One round cannot settle a fire-sale cascade: a warning without --strict, exit 3 with it.
    lax = run(graph, scenarios, "--max-iter", "1", "--format", "csv")
    assert lax.exit_code == 0 and "Warning:" in lax.stderr and "false" in lax.stdout
    strict = run(graph, scenarios, "--max-iter", "1", "--strict", "--format", "csv")
    assert strict.exit_code == 3 and strict.stderr.startswith("Error: solve_system did not converge")
    reverse = run(graph, "--reverse", "--shock-type", "depeg", "--target", "bad_debt>0", "--max-iter", "1",
                  "--strict")
    assert reverse.exit_code == 3


def test_help_shows_the_examples():
    result = CliRunner().invoke(cli, ["stress", "--help"])
    assert result.exit_code == 0
    example = result.output.split("Example:", 1)[1]
    assert "exposure stress graphs/defi.json graphs/scenarios.json" in example
    assert '--reverse --shock-type depeg --node all --target "bad_debt>1e8"' in example


def test_reverse_on_a_version_1_chain():
    # graphs/chain.json: a -> b -> c -> d each owe the next 10; external assets 12, 3, 8, 1. An asset loss s at
    # a leaves it 12(1 - s) < 10 above s = 1/6 (first default); b (3 + what a pays < 10) defaults once a pays
    # less than 7, above s = 5/12; c never (it keeps 8 + at least 3). A loss at b, c or d defaults nobody:
    # each keeps at least 10 of what it owes (b: 10 from a, c: 10 from b, d owes nothing).
    chain = str(ROOT / "graphs" / "chain.json")
    one = csv(run(chain, "--reverse", "--shock-type", "asset_loss", "--target", "n_defaults>=1", "--format", "csv"))
    assert list(one["node"]) == ["a", "b", "c", "d"]
    assert 1 / 6 <= one["breaking_shock"][0] <= 1 / 6 + 1e-4 and one["breaking_shock"][1:].isna().all()
    two = csv(run(chain, "--reverse", "--shock-type", "asset_loss", "--node", "a", "--target", "n_defaults>1",
                  "--format", "csv"))
    assert 5 / 12 <= two["breaking_shock"][0] <= 5 / 12 + 1e-4 and two["value_at_breaking_shock"][0] == 2
    # Total loss = the equity a loses, 12 s (no outside creditors): 6 at s = 0.5.
    half = csv(run(chain, "--reverse", "--shock-type", "asset_loss", "--node", "a", "--target", "total_loss>=6",
                   "--format", "csv"))
    assert 0.5 <= half["breaking_shock"][0] <= 0.5 + 1e-4


def test_scenarios_from_standard_input(files):
    graph, _ = files
    result = CliRunner().invoke(cli, ["stress", graph, "-", "--format", "csv"], input=json.dumps(SCENARIOS))
    assert list(csv(result)["scenario"]) == ["eth-30", "steth-depeg"]
    bad = CliRunner().invoke(cli, ["stress", graph, "-"], input="{")
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: <stdin>: line 1, column 2: not valid JSON")


def test_reverse_on_top_of_a_scenario(files):
    # Under 'steth-depeg' (stETH market price 0.75, collateral worth 75 < 80: bad debt 5 already), the ETH fall
    # that takes bad debt above 10 is hand-derived: lido pays 100(1 - s), stETH redeems at 1 - s and trades at
    # 0.75(1 - s); bad debt 80 - 75(1 - s) > 10 above s = 1 - 70/75 = 1/15.
    result = run(*files, "--scenario", "steth-depeg", "--reverse", "--shock-type", "price", "--node", "ETH",
                 "--target", "bad_debt>10", "--format", "csv")
    frame = csv(result)
    assert 1 / 15 <= frame["breaking_shock"][0] <= 1 / 15 + 1e-4
    assert "bad_debt under scenario 'steth-depeg' alone: 5" in result.stderr

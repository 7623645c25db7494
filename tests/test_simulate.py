"""Monte Carlo (exposure.simulate): shock models, estimators, determinism, errors, the command.

Expected values: a degenerate model against ``solve_system`` / ``exposure stress`` / ``exposure clear`` on the
same scenario (an independent path: one scenario cleared alone); VaR and ES of a single node with normal and
Student-t returns against the analytic quantiles of scipy.stats; the decomposition of ES into node
contributions against the per-draw losses kept by the run; chunk-size invariance against the run in one chunk.
"""

import io
import json
import math
import pathlib

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

import exposure
from cli import cli
from exposure import ExposureNetwork, InvalidShockError
from exposure.defi import MarketShock, solve_system
from exposure.simulate import ShockModel, block_size, default_model, read_model, simulate, tail_weights

ROOT = pathlib.Path(__file__).resolve().parents[1]
GRAPHS = ROOT / "graphs"
DEFI = GRAPHS / "defi.json"
CHAIN = GRAPHS / "chain.json"


@pytest.fixture(scope="module")
def defi():
    return exposure.read_graph(DEFI)


@pytest.fixture(scope="module")
def chain():
    return exposure.read_graph(CHAIN)


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


# ------------------------------------------------------------------ a degenerate model is one scenario
#: The scenario: ETH −30%, stETH depegs 25%, Kelp loses half of what it owns, USDe forged 50%.
SCENARIO = MarketShock(price_change={"ETH": -0.3}, depeg={"stETH": -0.25}, asset_loss={"kelp": 0.5},
                       forged_supply={"USDe": 0.5})
DEGENERATE = {
    "name": "one-scenario", "returns": "simple",
    "factors": {"model": "covariance", "nodes": ["ETH"], "mean": [-0.3], "covariance": [[0.0]]},
    "jumps": [
        {"node": "stETH", "probability": 1, "field": "depeg", "severity": {"distribution": "fixed", "value": 0.25}},
        {"node": "kelp", "probability": 1, "severity": {"distribution": "fixed", "value": 0.5}},
        {"node": "USDe", "probability": 1, "field": "forged_supply",
         "severity": {"distribution": "fixed", "value": 0.5}},
    ],
}


def test_a_degenerate_model_is_its_scenario(defi):
    r = simulate(defi, DEGENERATE, draws=50, seed=3)
    one = solve_system(defi, SCENARIO)
    s = one.summary()
    assert s["n_defaults"] > 0 and s["bad_debt"] > 0          # the scenario does something
    draws = r.samples
    for name in ("total_loss", "bad_debt", "liquidated", "external_creditor_loss", "buffer_used"):
        np.testing.assert_allclose(draws[name], s[name], rtol=1e-12, atol=1e-3, err_msg=name)
    assert (draws["n_defaults"] == s["n_defaults"]).all() and (draws["rounds"] == s["rounds"]).all()
    nodes = r.to_frame()
    np.testing.assert_array_equal(nodes["pd"], one.defaulted.astype(float))
    np.testing.assert_array_equal(nodes["contagious_pd"], (one.default_round >= 2).astype(float))
    np.testing.assert_allclose(nodes["expected_loss"], one.loss, rtol=1e-12, atol=1e-3)
    for q in r.levels:
        assert r.var[q] == pytest.approx(s["total_loss"], rel=1e-12)
        assert r.es[q] == pytest.approx(s["total_loss"], rel=1e-12)
        assert r.var_se[q] == 0.0 and r.es_se[q] == pytest.approx(0.0, abs=1e-3)


def test_a_degenerate_model_equals_the_stress_command(defi, tmp_path):
    scen = {"format": "exposure-scenario", "version": 1, "scenarios": [{"name": "one", "shocks": [
        {"type": "price", "node": "ETH", "change": -0.3}, {"type": "depeg", "node": "stETH", "change": -0.25},
        {"type": "asset_loss", "node": "kelp", "fraction": 0.5},
        {"type": "forged_supply", "node": "USDe", "fraction": 0.5}]}]}
    (tmp_path / "s.json").write_text(json.dumps(scen))
    (tmp_path / "m.json").write_text(json.dumps(DEGENERATE))
    stress = run("stress", DEFI, tmp_path / "s.json", "--detail", "nodes", "--format", "csv")
    sim = run("simulate", DEFI, "--model", tmp_path / "m.json", "--draws", 20, "--seed", 1, "--format", "json")
    assert stress.exit_code == 0 and sim.exit_code == 0, (stress.stderr, sim.stderr)
    by_node = pd.read_csv(io.StringIO(stress.stdout)).set_index("node")
    got = pd.DataFrame(json.loads(sim.stdout)["nodes"]).set_index("node")
    np.testing.assert_allclose(got["expected_loss"], by_node.loc[got.index, "loss"], rtol=1e-9, atol=1e-3)
    np.testing.assert_array_equal(got["pd"] == 1.0, by_node.loc[got.index, "defaulted"].to_numpy())
    summary = run("stress", DEFI, tmp_path / "s.json", "--format", "csv")
    total = pd.read_csv(io.StringIO(summary.stdout))["total_loss"].iloc[0]
    assert json.loads(sim.stdout)["summary"]["var"]["0.99"] == pytest.approx(total, rel=1e-9)


def test_a_fixed_jump_on_a_claims_network_equals_clear(chain):
    r = simulate(chain, {"jumps": [{"node": "a", "probability": 1, "severity": {"distribution": "fixed",
                                                                                 "value": 0.5}}]}, draws=10, seed=0)
    res = run("clear", CHAIN, "--shock", "a=0.5", "--format", "csv")
    clear = pd.read_csv(io.StringIO(res.stdout)).set_index("node")
    nodes = r.to_frame().set_index("node")
    np.testing.assert_array_equal(nodes["pd"] == 1.0, clear.loc[nodes.index, "defaulted"].to_numpy())
    # chain.json's description: a defaults in round 1, b in round 2 (contagious), equity lost 6
    assert nodes["contagious_pd"].to_dict() == {"a": 0.0, "b": 1.0, "c": 0.0, "d": 0.0}
    assert r.var[0.99] == pytest.approx(6.0) and r.es[0.99] == pytest.approx(6.0)


# ------------------------------------------------------------------ estimators against analytic values
def one_holder(amount=100.0):
    """A protocol holding ``amount`` of ETH and owing nothing: its loss is ``−amount · r`` for a simple
    return ``r`` of ETH (its equity stays positive while ``r > −1``), and nothing else loses."""
    nodes = pd.DataFrame({"id": ["ETH", "p"], "kind": ["asset", "protocol"], "external_assets": [0.0, 0.0]})
    edges = pd.DataFrame([{"kind": "holding", "holder": "p", "token": "ETH", "amount": amount}])
    return ExposureNetwork.from_frames(nodes, edges, meta={"version": 2})


SIGMA = 0.1
NORMAL = {"returns": "simple", "factors": {"model": "covariance", "nodes": ["ETH"], "covariance": [[SIGMA ** 2]]}}


@pytest.fixture(scope="module")
def normal_run():
    return simulate(one_holder(), NORMAL, draws=100_000, seed=11, levels=(0.95, 0.99))


@pytest.mark.parametrize("q", [0.95, 0.99])
def test_var_and_es_of_normal_losses_against_the_analytic_values(normal_run, q):
    r, N = normal_run, 100_000
    z = stats.norm.ppf(q)
    var, es = 100 * SIGMA * z, 100 * SIGMA * stats.norm.pdf(z) / (1 - q)
    # analytic standard errors: quantile sqrt(q(1-q)/N)/f(VaR); ES (Var_tail + q (ES - VaR)^2) / (N (1-q))
    se_var = 100 * SIGMA * math.sqrt(q * (1 - q) / N) / stats.norm.pdf(z)
    lam = stats.norm.pdf(z) / (1 - q)
    var_tail = (100 * SIGMA) ** 2 * (1 + z * lam - lam ** 2)
    se_es = math.sqrt((var_tail + q * (es - var) ** 2) / (N * (1 - q)))
    assert abs(r.var[q] - var) < 4 * se_var and abs(r.es[q] - es) < 4 * se_es
    assert r.var_se[q] == pytest.approx(se_var, rel=0.3)
    assert r.es_se[q] == pytest.approx(se_es, rel=0.2)
    assert r.summary()["mean_loss"] == pytest.approx(0.0, abs=4 * 100 * SIGMA / math.sqrt(N))
    assert r.summary()["mean_loss_se"] == pytest.approx(100 * SIGMA / math.sqrt(N), rel=0.02)


def test_student_t_tails_against_the_scaled_t_quantile():
    nu, q, N = 5.0, 0.99, 60_000
    r = simulate(one_holder(), {**NORMAL, "tails": {"df": nu}}, draws=N, seed=5, levels=(q,))
    scale = 100 * SIGMA * math.sqrt((nu - 2) / nu)
    var = scale * stats.t.ppf(q, nu)
    se = scale * math.sqrt(q * (1 - q) / N) / stats.t.pdf(stats.t.ppf(q, nu), nu)
    assert abs(r.var[q] - var) < 4 * se
    # unit variance whatever nu: the sample sd of the loss is 100 sigma
    assert r.statistics["total_loss"]["sd"] == pytest.approx(100 * SIGMA, rel=0.03)


def test_market_model_correlation():
    # r_i = beta_i sigma_M M + sigma_i eps_i: corr = b1 b2 sM^2 / sqrt((b1^2 sM^2 + s1^2)(b2^2 sM^2 + s2^2))
    nodes = pd.DataFrame({"id": ["X", "Y"], "kind": ["asset", "asset"]})
    net = ExposureNetwork.from_frames(nodes, pd.DataFrame(columns=["debtor", "creditor", "amount"]),
                                      meta={"version": 2})
    model = ShockModel.from_dict({"returns": "simple", "factors": {
        "model": "market", "volatility": 0.2, "loadings": {"X": 1.0, "Y": 0.5},
        "idiosyncratic": {"X": 0.1, "Y": 0.2}}}, net)
    block = model.draw(np.random.default_rng(0), 200_000)["price_change"]
    expected = 0.5 * 0.04 / math.sqrt((0.04 + 0.01) * (0.01 + 0.04))
    assert np.corrcoef(block.T)[0, 1] == pytest.approx(expected, abs=0.01)
    assert block.std(axis=0) == pytest.approx([math.sqrt(0.05), math.sqrt(0.05)], rel=0.01)


def test_tail_weights_sum_to_the_tail_mass():
    for n, q in ((100, 0.99), (1000, 0.975), (7, 0.9), (12345, 0.999)):
        c, m, w = tail_weights(n, q)
        assert (m - 1) + w == pytest.approx(n * (1 - q)) and 0 <= w < 1 + 1e-9


def test_es_contributions_add_up_to_es(defi):
    r = simulate(defi, draws=3000, seed=2, keep_nodes=True, levels=(0.99, 0.95))
    losses = r.node_losses
    token = defi.is_token()
    other = r.samples["total_loss"].to_numpy() - losses[:, ~token].sum(axis=1)   # creditors' and buffers' terms
    for q in r.levels:
        c, m, w = tail_weights(r.draws, q)
        order = np.lexsort((np.arange(r.draws), -r.samples["total_loss"].to_numpy()))[:m]
        weights = np.ones(m)
        weights[-1] = w
        rest = np.sum(weights * other[order]) / (r.draws * (1 - q))
        contrib = r.es_contributions[f"{q:g}"].to_numpy()
        assert contrib.sum() + rest == pytest.approx(r.es[q], rel=1e-9)
        assert (contrib[token] == 0).all()
    assert np.array_equal(r.to_frame()["es_contribution"], r.es_contributions["0.99"])
    np.testing.assert_allclose(r.to_frame()["expected_loss"], losses.mean(axis=0), rtol=1e-9, atol=1e-3)


# ------------------------------------------------------------------ determinism
def test_results_are_identical_for_every_chunk_size(defi):
    base = simulate(defi, draws=2500, seed=9, levels=(0.99, 0.9))
    assert block_size(defi) == 1024
    for chunk in (1, 1024, 2048, 5000):
        got = simulate(defi, draws=2500, seed=9, levels=(0.99, 0.9), chunk_size=chunk)
        assert got.samples.equals(base.samples) and got.nodes.equals(base.nodes)
        assert got.es_contributions.equals(base.es_contributions) and got.node_errors.equals(base.node_errors)
        assert (got.var, got.es, got.var_se, got.es_se) == (base.var, base.es, base.var_se, base.es_se)
        assert got.summary() == base.summary()


def test_small_blocks_are_identical_for_every_chunk_size(chain, monkeypatch):
    # many stream blocks: the per-node sums are combined across blocks and chunks in block order
    import exposure.simulate._simulate as sim
    monkeypatch.setattr(sim, "BLOCK_ENTRIES", 8)
    assert block_size(chain) == 2
    model = default_model(chain)
    base = simulate(chain, "tests/data/simulate/chain-jumps.json", draws=301, seed=4)
    for chunk in (3, 10, 1000):
        got = simulate(chain, "tests/data/simulate/chain-jumps.json", draws=301, seed=4, chunk_size=chunk)
        assert got.samples.equals(base.samples) and got.nodes.equals(base.nodes)
    assert model.name == "default"


def test_a_draw_depends_on_its_seed_and_index_only(defi):
    short = simulate(defi, draws=700, seed=21)
    long = simulate(defi, draws=2100, seed=21)
    np.testing.assert_allclose(long.samples["total_loss"][:700], short.samples["total_loss"], rtol=1e-12, atol=1e-3)
    other = simulate(defi, draws=700, seed=22)
    assert not np.allclose(other.samples["total_loss"], short.samples["total_loss"])


def test_a_fresh_seed_is_reported_and_repeats(chain):
    r = simulate(chain, "tests/data/simulate/chain-jumps.json", draws=200)
    again = simulate(chain, "tests/data/simulate/chain-jumps.json", draws=200, seed=r.seed)
    assert again.samples.equals(r.samples)


# ------------------------------------------------------------------ models
def test_the_default_model_reads_back_from_its_document(defi):
    model = default_model(defi)
    spec = model.to_dict()
    assert spec["factors"]["loadings"] == {"ETH": 1.0, "BTC": 1.0}
    again = ShockModel.from_dict(spec, defi)
    a, b = model.draw(np.random.default_rng(1), 64), again.draw(np.random.default_rng(1), 64)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert set(a) == {"price_change", "depeg", "asset_loss"}


def test_jumps_on_one_node_combine_in_file_order(chain):
    model = ShockModel.from_dict({"jumps": [
        {"node": "a", "probability": 1, "severity": {"distribution": "fixed", "value": 0.5}},
        {"node": "a", "probability": 1, "severity": {"distribution": "fixed", "value": 0.5}}]}, chain)
    block = model.draw(np.random.default_rng(0), 3)
    assert block["asset_loss"][:, 0].tolist() == [0.75, 0.75, 0.75]       # 0.5 + 0.5 (1 - 0.5)


def _write(tmp_path, doc):
    path = tmp_path / "model.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


BAD_MODELS = [
    ({"factors": {"model": "market", "volatility": 0.1, "loadings": {"ETHX": 1}}},
     "$.factors.loadings.ETHX: unknown node 'ETHX': no node of the graph has that id."),
    ({"jumps": [{"node": "xUSD", "probability": 1.5, "severity": {"distribution": "fixed", "value": 0.1}}]},
     "$.jumps[0].probability: the probability of the jump of node 'xUSD' must be a number in [0, 1]. "
     "Got 1.5 instead."),
    ({"factors": {"model": "covariance", "nodes": ["ETH", "BTC"], "covariance": [[0.01, 0.02], [0.02, 0.01]]}},
     "$.factors.covariance: the covariance must be positive semi-definite; its smallest eigenvalue is -0.01."),
    ({"factors": {"model": "covariance", "nodes": ["ETH", "BTC"], "covariance": [[0.01, 0.002], [0.0, 0.01]]}},
     "$.factors.covariance[0][1]: the covariance must be symmetric: nodes 'ETH' and 'BTC' have 0.002 and 0.0."),
    ({"tails": {"df": 2}}, "$.tails.df: the degrees of freedom must be a number > 2. Got 2 instead."),
    ({"jumps": [{"node": "kelp", "probability": 0.1, "severity": {"distribution": "gamma", "a": 1}}]},
     "$.jumps[0].severity.distribution: must be one of fixed, uniform, beta (node 'kelp'). Got 'gamma' instead."),
    ({"jumps": [{"node": "kelp", "probability": 0.1, "severity": {"distribution": "beta", "a": 1}}]},
     "$.jumps[0].severity: missing key 'b'."),
    ({"jumps": [{"kind": "vault", "probability": 0.1, "severity": {"distribution": "fixed", "value": 1}}]},
     "$.jumps[0].kind: no node of the graph has kind 'vault'."),
    ({"jumps": [{"node": "kelp", "probability": 0.1, "severity": {"distribution": "fixed", "value": 1.2}}]},
     "$.jumps[0].severity.value: the value of the severity of the jump of node 'kelp' must be a number in "
     "[0, 1]. Got 1.2 instead."),
    ({"factor": {}}, "$.factor: unknown key 'factor'; the keys here are format, version, name, description, "
                     "returns, tails, factors, fields, jumps."),
    ({"fields": {"kelp": "asset_loss"}}, "$.fields.kelp: node 'kelp' has no factor return to drive a field."),
    ({"returns": "linear"}, "$.returns: must be 'log' or 'simple'. Got 'linear' instead."),
    ('{"returns": "log",\n  "tails" {"df": 4}}', "line 2, column 11: not valid JSON: Expecting ':' delimiter."),
]


@pytest.mark.parametrize("doc, message", BAD_MODELS, ids=[m[1][:30] for m in BAD_MODELS])
def test_a_bad_model_file_names_file_field_and_node(defi, tmp_path, doc, message):
    path = _write(tmp_path, doc)
    with pytest.raises(InvalidShockError) as info:
        read_model(path, defi)
    assert str(info.value) == f"{path}: {message}"


def test_a_bad_model_file_exits_1_on_the_command_line(tmp_path):
    doc, message = BAD_MODELS[0]
    path = _write(tmp_path, doc)
    res = run("simulate", DEFI, "--model", path, "--draws", 10)
    assert res.exit_code == 1 and res.stderr.strip() == f"Error: {path}: {message}" and res.stdout == ""
    missing = run("simulate", DEFI, "--model", tmp_path / "none.json", "--draws", 10)
    assert missing.exit_code == 1 and "cannot read the shock model" in missing.stderr


def test_bad_parameters():
    from exposure import InvalidParameterError
    net = one_holder()
    for kwargs, text in (({"levels": (1.0,)}, "levels"), ({"seed": -1}, "'seed' parameter of simulate"),
                         ({"draws": 0}, "'draws' parameter of simulate")):
        with pytest.raises(InvalidParameterError, match=text):
            simulate(net, NORMAL, **{"draws": 10, **kwargs})


# ------------------------------------------------------------------ the command
def test_cli_csv_and_json(tmp_path):
    csv = run("simulate", DEFI, "--draws", 500, "--seed", 3, "--format", "csv")
    assert csv.exit_code == 0, csv.stderr
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert list(frame.columns) == ["node", "pd", "expected_loss", "es_contribution", "contagious_pd"]
    assert len(frame) == 113 and frame["pd"].between(0, 1).all()
    assert "simulate: 500 draws, seed 3, model default: VaR 0.99" in csv.stderr
    js = run("simulate", DEFI, "--draws", 500, "--seed", 3, "--level", 0.99, "--level", 0.9, "--format", "json")
    doc = json.loads(js.stdout)
    s = doc["summary"]
    assert {"draws", "seed", "var", "es", "mean_loss", "mean_defaults"} <= set(s)
    assert (s["draws"], s["seed"], set(s["var"]), set(s["es"])) == (500, 3, {"0.99", "0.9"}, {"0.99", "0.9"})
    assert s["es"]["0.99"] >= s["var"]["0.99"] >= s["var"]["0.9"]
    assert pd.DataFrame(doc["nodes"])["pd"].to_list() == frame["pd"].to_list()
    table = run("simulate", DEFI, "--draws", 200, "--seed", 3, "--format", "table")
    assert "VaR and ES of the total loss" in table.stdout and "Nodes (by contribution to ES at 0.99)" in table.stdout


def test_cli_samples_parquet_and_csv(tmp_path):
    pq = tmp_path / "draws.parquet"
    res = run("simulate", CHAIN, "--model", ROOT / "tests/data/simulate/chain-jumps.json", "--draws", 300, "--seed",
              2, "--samples", pq, "--samples-nodes", "--format", "csv")
    assert res.exit_code == 0, res.stderr
    frame = pd.read_parquet(pq)
    lib = simulate(exposure.read_graph(CHAIN), "tests/data/simulate/chain-jumps.json", draws=300, seed=2,
                   keep_nodes=True)
    assert list(frame.columns[:14]) == ["draw", "total_loss", "bad_debt", "liquidated", "n_defaults", "n_impaired",
                                        "buffer_used", "external_creditor_loss", "rounds", "converged", "residual",
                                        "status", "fallback", "loss:a"]
    assert len(frame) == 300 and frame["total_loss"].to_list() == lib.samples["total_loss"].to_list()
    assert np.array_equal(frame[["loss:a", "loss:b", "loss:c", "loss:d"]].to_numpy(), lib.node_losses)
    csv = tmp_path / "draws.csv"
    res = run("simulate", CHAIN, "--model", ROOT / "tests/data/simulate/chain-jumps.json", "--draws", 300, "--seed",
              2, "--samples", csv, "--format", "csv")
    back = pd.read_csv(csv, dtype={"total_loss": str})         # the text: every float written round-trip
    assert "loss:a" not in back.columns
    assert [float(x) for x in back["total_loss"]] == lib.samples["total_loss"].to_list()
    assert back["converged"].all()


def test_cli_usage_errors():
    res = run("simulate", DEFI, "--samples-nodes")
    assert res.exit_code == 2 and "--samples-nodes needs --samples FILE" in res.stderr
    res = run("simulate", DEFI, "--level", 1.5)
    assert res.exit_code == 2 and "Invalid value for '--level'" in res.stderr
    res = run("simulate", DEFI, "--workers", 2, "--scheduler", "tcp://127.0.0.1:8786")
    assert res.exit_code == 2 and "mutually exclusive" in res.stderr


def test_non_convergence_warns_and_strict_exits_3():
    res = run("simulate", DEFI, "--draws", 50, "--seed", 1, "--max-iter", 1, "--format", "csv")
    assert res.exit_code == 0 and "Warning: simulate:" in res.stderr and "did not converge" in res.stderr
    res = run("simulate", DEFI, "--draws", 50, "--seed", 1, "--max-iter", 1, "--strict", "--format", "csv")
    assert res.exit_code == 3

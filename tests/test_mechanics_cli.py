"""``exposure clear`` on a version-2 graph solves the cross-collateral mechanics."""

import io
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import cli

CHAIN = {
    # The two-layer chain of tests/test_mechanics.py: iss backs tok1; L1 lends 80 against 100 tok1
    # and is funded by its receipt token rt1; L2 lends 60 against 80 rt1 and owes sup 60.
    "format": "exposure-graph", "version": 2, "name": "chain",
    "nodes": [{"id": "USD", "kind": "asset"}, {"id": "iss", "kind": "protocol", "external_assets": 100.0},
              {"id": "tok1", "kind": "token", "issuer": "iss"}, {"id": "L1", "kind": "protocol"},
              {"id": "rt1", "kind": "token", "issuer": "L1"}, {"id": "L2", "kind": "protocol"},
              {"id": "sup", "kind": "protocol"}, {"id": "bob1", "kind": "protocol"},
              {"id": "bob2", "kind": "protocol"}],
    "edges": [{"kind": "claim", "debtor": "iss", "creditor": "tok1", "amount": 100.0},
              {"kind": "claim", "debtor": "L1", "creditor": "rt1", "amount": 80.0},
              {"kind": "claim", "debtor": "L2", "creditor": "sup", "amount": 60.0},
              {"kind": "collateral", "lender": "L1", "borrower": "bob1", "collateral_token": "tok1",
               "collateral": 100.0, "debt_token": "USD", "debt": 80.0, "liquidation_threshold": 0.9,
               "liquidation_bonus": 0.05, "close_factor": 1.0, "oracle": "exchange_rate"},
              {"kind": "collateral", "lender": "L2", "borrower": "bob2", "collateral_token": "rt1",
               "collateral": 80.0, "debt_token": "USD", "debt": 60.0, "liquidation_threshold": 0.9,
               "liquidation_bonus": 0.05, "close_factor": 1.0, "oracle": "exchange_rate"}],
}


@pytest.fixture
def chain_file(tmp_path):
    p = tmp_path / "chain.json"
    p.write_text(json.dumps(CHAIN), encoding="utf-8")
    return str(p)


def test_clear_on_a_version_2_graph_adds_the_mechanics_columns(chain_file):
    result = CliRunner().invoke(cli, ["clear", chain_file, "--shock", "iss=0.5", "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout)).set_index("node")
    assert list(frame.columns) == ["obligations", "payments", "recovery", "assets", "equity", "defaulted",
                                   "default_round", "impaired", "buffer_used", "bad_debt", "liquidated",
                                   "equity_before", "loss"]
    # hand derivation in tests/test_mechanics.py: sup loses 60 − 50/1.05², L1's bad debt is 80 − 50/1.05,
    # the defaults come in rounds 1, 2, 3 of the joint loop
    assert frame.loc["sup", "loss"] == pytest.approx(60 - 50 / 1.05**2, rel=1e-12)
    assert frame.loc["L1", "bad_debt"] == pytest.approx(80 - 50 / 1.05, rel=1e-12)
    assert frame.loc["bob1", "liquidated"] == pytest.approx(100.0, rel=1e-12)
    assert frame.loc[["iss", "L1", "L2"], "default_round"].tolist() == [1, 2, 3]


def test_clear_json_on_a_version_2_graph_has_the_mechanics_summary(chain_file):
    result = CliRunner().invoke(cli, ["clear", chain_file, "--shock", "iss=0.5", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"]["rounds"] == 4 and data["summary"]["converged"] is True
    assert data["summary"]["n_defaults"] == 3
    assert len(data["nodes"]) == len(CHAIN["nodes"])


def test_clear_strict_round_limit_exits_with_code_3(chain_file):
    # the chain needs 4 rounds of the joint loop; --max-iter 2 stops it
    result = CliRunner().invoke(cli, ["clear", chain_file, "--shock", "iss=0.5", "--max-iter", "2", "--strict",
                                      "--format", "csv"])
    assert result.exit_code == 3
    assert "did not converge" in result.stderr


def test_clear_unknown_shocked_node_is_an_error(chain_file):
    result = CliRunner().invoke(cli, ["clear", chain_file, "--shock", "ghost=0.5", "--format", "csv"])
    assert result.exit_code == 1 and "Error:" in result.stderr and "ghost" in result.stderr

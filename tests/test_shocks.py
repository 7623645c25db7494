"""Shocks to external assets: parsing, files, and their effect on ``e`` (hand-derived)."""

import json

import numpy as np
import pandas as pd
import pytest

from exposure import ExposureNetwork, InvalidShockError
from exposure.shocks import apply_shock, parse_shock, read_shock_file, shock_vector


@pytest.fixture
def net():
    return ExposureNetwork.from_frames(
        pd.DataFrame({"id": ["a", "b", "c"], "external_assets": [10.0, 20.0, 0.0]}), None)


def test_parse_shock():
    assert parse_shock(["a=0.25", "b=1"]) == {"a": 0.25, "b": 1.0}
    assert parse_shock(["pool=x=0.5"]) == {"pool=x": 0.5}  # the last '=' separates the fraction


@pytest.mark.parametrize("spec, message", [
    ("a", "A shock must be written NODE=FRACTION. Got 'a' instead."),
    ("a=1.5", "The fraction of the shock on 'a' must be a number in [0, 1]. Got '1.5' instead."),
    ("a=-0.1", "The fraction of the shock on 'a' must be a number in [0, 1]. Got '-0.1' instead."),
    ("a=nan", "The fraction of the shock on 'a' must be a number in [0, 1]. Got 'nan' instead."),
    ("a=half", "The fraction of the shock on 'a' must be a number in [0, 1]. Got 'half' instead."),
])
def test_parse_shock_errors(spec, message):
    with pytest.raises(InvalidShockError) as info:
        parse_shock([spec])
    assert str(info.value) == message


def test_same_node_twice_is_an_error():
    with pytest.raises(InvalidShockError, match="Node 'a' is shocked twice"):
        parse_shock(["a=0.1", "a=0.2"])


def test_shock_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps([{"node": "a", "fraction": 0.5}, {"node": "b", "fraction": 0}]))
    assert read_shock_file(str(path)) == {"a": 0.5, "b": 0.0}
    path.write_text(json.dumps([{"node": "a", "fraction": 2}]))
    with pytest.raises(InvalidShockError, match=r"\$\[0\] \(node 'a'\) must be a number in \[0, 1\]"):
        read_shock_file(str(path))
    path.write_text(json.dumps({"a": 1}))
    with pytest.raises(InvalidShockError, match="must be a JSON list"):
        read_shock_file(str(path))
    path.write_text("[{")
    with pytest.raises(InvalidShockError, match="cannot read the shock file"):
        read_shock_file(str(path))


def test_apply_shock_by_hand(net):
    # e = (10, 20, 0); a loses 25% → 7.5, c loses everything of nothing → 0.
    shocked = apply_shock(net, {"a": 0.25, "c": 1.0})
    np.testing.assert_array_equal(shocked.external_assets, [7.5, 20.0, 0.0])
    np.testing.assert_array_equal(shock_vector(net, {"b": 0.5}), [0.0, 0.5, 0.0])
    assert apply_shock(net, {}) is net


def test_unknown_node(net):
    with pytest.raises(InvalidShockError, match="Shock on unknown node 'zz'"):
        shock_vector(net, {"zz": 0.5})

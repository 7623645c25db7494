"""Small version-2 networks used by the stress tests, and checks of their balance sheets by hand.

Other stress test modules import the builders from here (``from test_stress_cases import ...``).
"""

import numpy as np
import pandas as pd

from exposure import ExposureNetwork


def v2_network(nodes: list[dict], edges: list[dict], name: str = "case") -> ExposureNetwork:
    """A version-2 network from node and edge records (absent fields are left out, not NaN)."""
    node_frame = pd.DataFrame(nodes)
    edge_frame = pd.DataFrame(edges)
    for frame in (node_frame, edge_frame):
        for c in frame.columns:
            if frame[c].dtype.kind not in "fiub":
                frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return ExposureNetwork.from_frames(node_frame, edge_frame, meta={"version": 2, "name": name})


def roles_network() -> ExposureNetwork:
    """One node of each role a shock can name (used by the scenario reader tests).

    ETH (base asset with depth), stream and kelp (issuers), xUSD and rsETH
    (tokens with issuers), stETH (token with depth, no issuer), pool (a holder).
    """
    return v2_network(
        [{"id": "ETH", "kind": "asset", "depth": 1e9, "depth_slippage": 0.04, "impact_exponent": 1.0},
         {"id": "stream", "kind": "protocol", "external_assets": 100.0},
         {"id": "kelp", "kind": "protocol", "external_assets": 50.0},
         {"id": "xUSD", "kind": "token", "issuer": "stream"},
         {"id": "rsETH", "kind": "token", "issuer": "kelp"},
         {"id": "stETH", "kind": "token", "depth": 7.5e8, "depth_slippage": 0.01, "impact_exponent": 1.0},
         {"id": "pool", "kind": "venue", "external_assets": 10.0}],
        [{"kind": "claim", "debtor": "stream", "creditor": "xUSD", "amount": 80.0},
         {"kind": "claim", "debtor": "kelp", "creditor": "rsETH", "amount": 40.0},
         {"kind": "holding", "holder": "pool", "token": "xUSD", "amount": 80.0}],
        name="roles")


def test_roles_network_balance_sheets():
    net = roles_network()
    assert net.version == 2
    # Claims stream -> xUSD (80) and kelp -> rsETH (40): the issuers owe their tokens.
    L = net.liabilities.toarray()
    i = {k: net.index_of(k) for k in net.node_ids}
    assert L[i["stream"], i["xUSD"]] == 80.0 and L[i["kelp"], i["rsETH"]] == 40.0 and L.sum() == 120.0
    # Declared external assets, unchanged by claims between protocols and tokens.
    np.testing.assert_array_equal(net.external_assets[[i["stream"], i["kelp"], i["pool"]]], [100.0, 50.0, 10.0])
    assert list(net.nodes["issuer"].fillna("-")) == ["-", "-", "-", "stream", "kelp", "-", "-"]

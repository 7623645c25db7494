"""Build the bundled graphs and the scenario file from ``graphs/sources/``.

Usage::

    python3 graphs/build.py            # (re)write every bundled file
    python3 graphs/build.py --check    # exit 1 if a bundled file differs from what the build gives

Outputs (all deterministic: fixed key order, one node / edge / shock per line):

* ``defi-v1.json``  the sample graph in format version 1 (claims only);
* ``defi.json``     the DeFi graph in format version 2 (holdings, secured positions, market depth);
* ``chain.json``, ``ring.json``, ``star.json``, ``complete.json``: small textbook networks whose
  clearing is derived by hand in ``graphs/README.md``;
* ``scenarios.json``: named historical stress scenarios (format ``exposure-scenario`` version 1).

The mapping of sources onto the format exists once, in the library, and the build goes through it:
the version-1 graph is the sample read as a long exposure table (``exposure.io.read_exposure_table``,
the mapping the ``table`` importer uses); each secured position of the version-2 graph is a row of an
exposure table with parameter columns, mapped by the ``table`` importer's ``secured_positions``, with
the venue parameter tables (``VENUE_PARAMETERS``, Morpho's liquidation incentive among them) and Aave
Core's first-loss amounts of ``exposure.io.importers``. The package is
imported from this checkout (numpy and pandas must be installed; installing the package is not needed).
Every other modelling choice (a mapping, an estimate) is written next to its source below.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from exposure.io import read_exposure_table, to_frames  # noqa: E402  (the checkout's package)
from exposure.io.importers import VENUE_PARAMETERS as PARAMS, secured_positions  # noqa: E402
from exposure.io.output import frame_records  # noqa: E402
from exposure.io.importers._venues import AAVE_CLOSE_FACTOR_SOURCE, AAVE_POOLS, VENUE_SOURCES  # noqa: E402

SOURCES = HERE / "sources"
SAMPLE = SOURCES / "sample_graph.json"

GRAPH_FORMAT = "exposure-graph"
SCENARIO_FORMAT = "exposure-scenario"

# Key order of the written records; keys not listed follow in alphabetical order.
_NODE_KEYS = ("id", "kind", "label", "issuer", "denomination", "price", "depth", "depth_slippage", "impact_exponent",
              "liability_type", "first_loss", "first_loss_provider", "external_assets", "external_liabilities")
_EDGE_KEYS = ("kind", "debtor", "creditor", "holder", "token", "lender", "borrower", "collateral_token",
              "collateral", "debt_token", "debt", "amount", "liquidation_threshold", "liquidation_bonus",
              "close_factor", "oracle", "denomination", "relation", "as_of", "source")
_DOC_KEYS = ("format", "version", "name", "as_of", "currency", "description", "source")
_SHOCK_KEYS = ("type", "node", "fraction", "amount", "change", "depth_factor")


# ----------------------------------------------------------------------------- output
def _num(v):
    """Integers stay integers; floats are rounded to 12 significant digits (no binary noise)."""
    if isinstance(v, bool) or not isinstance(v, float):
        return v
    if not math.isfinite(v):
        raise ValueError(f"non-finite number {v!r} in a bundled file")
    r = float(f"{v:.12g}")
    return int(r) if r.is_integer() and abs(r) < 1e15 else r


def _ordered(record: dict, keys: tuple[str, ...]) -> dict:
    out = {k: _num(record[k]) for k in keys if k in record}
    out.update((k, _num(record[k])) for k in sorted(record) if k not in out)
    return out


def _line(record: dict, keys: tuple[str, ...]) -> str:
    return json.dumps(_ordered(record, keys), ensure_ascii=False)


def dumps_graph(doc: dict) -> str:
    """A graph document as text: header fields, then one node and one edge per line."""
    head = _ordered({k: v for k, v in doc.items() if k not in ("nodes", "edges")}, _DOC_KEYS)
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    lines.append('  "nodes": [')
    lines.append(",\n".join("    " + _line(n, _NODE_KEYS) for n in doc["nodes"]))
    lines.append("  ],")
    lines.append('  "edges": [')
    lines.append(",\n".join("    " + _line(e, _EDGE_KEYS) for e in doc["edges"]))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dumps_scenarios(doc: dict) -> str:
    """A scenario document as text: one shock per line."""
    lines = ["{", f'  "format": {json.dumps(doc["format"])},', f'  "version": {doc["version"]},']
    if "description" in doc:
        lines.append(f'  "description": {json.dumps(doc["description"], ensure_ascii=False)},')
    lines.append('  "scenarios": [')
    blocks = []
    for s in doc["scenarios"]:
        b = ["    {"]
        for k in ("name", "description", "source", "as_of"):
            if k in s:
                b.append(f"      {json.dumps(k)}: {json.dumps(s[k], ensure_ascii=False)},")
        for k in sorted(set(s) - {"name", "description", "source", "as_of", "shocks"}):
            b.append(f"      {json.dumps(k)}: {json.dumps(s[k], ensure_ascii=False)},")
        b.append('      "shocks": [')
        b.append(",\n".join("        " + _line(x, _SHOCK_KEYS) for x in s["shocks"]))
        b.append("      ]")
        b.append("    }")
        blocks.append("\n".join(b))
    lines.append(",\n".join(blocks))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def load_sample(path: Path = SAMPLE) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


# ------------------------------------------------------------------ the sample, version 1
#: Sample edge kind -> how it becomes a claim. For all four kinds the holder is the creditor and
#: ``token_or_issuer`` the debtor; the sample's own ``edge_semantics`` says so for ``debt``
#: ("holder = creditor, token_or_issuer = debtor") and describes the other three as the holder
#: holding, depositing into, or being backed by ``token_or_issuer``.
V1_MAPPING = {
    "backing": "holder (a token or an issuer) holds a claim on the assets backing it",
    "collateral": "holder (a lending venue) holds the token its borrowers posted",
    "deposit": "holder has deposited funds into token_or_issuer and holds a claim on it",
    "debt": "holder is owed amount_usd by token_or_issuer",
}

#: Pairs of sample edges that record the same funds from two sides. Both claims are real balance-sheet
#: items (an asset of one node and a liability of another, or two layers of one stack) and both are
#: kept; ``same_funds_as`` names the other edge so that double-counting reports can pair them.
SAME_FUNDS = [
    # Ethena supplies its USDtb to Aave Core: Ethena's claim on Aave and Aave's USDtb are one deposit.
    (("ethena", "aave_core"), ("aave_core", "USDtb")),
    # The USDe locked in Pendle is recorded both as Pendle's deposit and as the PTs' backing.
    (("pendle", "USDe"), ("PT_Ethena", "USDe")),
    # Silo's USDX market is curated by Re7: the same $12.5M recorded at the curator and at the venue.
    (("re7", "USDX"), ("silo", "USDX")),
]


def _edge_ref(holder: str, target: str) -> str:
    return f"{holder}->{target}"


def build_defi_v1(sample: dict) -> dict:
    """The sample graph in format version 1: every sample edge becomes one claim.

    ``debtor = token_or_issuer``, ``creditor = holder``, ``amount = amount_usd``; the sample's edge kind
    is kept as ``relation`` with ``as_of``, ``source``, ``note`` and ``derived``. A node's ``name``
    becomes its ``label``; its other fields are kept. A claim on a base asset (kind ``asset``) is a
    holding of that asset and counts in the holder's external assets (see ``exposure.network``).
    """
    same = {}
    for a, b in SAME_FUNDS:
        same[a], same[b] = _edge_ref(*b), _edge_ref(*a)
    rows = []
    seen: set[tuple[str, str]] = set()
    for e in sample["edges"]:
        pair = (e["holder"], e["token_or_issuer"])
        if pair in seen:  # none in the current sample; summed by the loader with a warning
            raise ValueError(f"duplicate sample edge {pair}: document it before building")
        seen.add(pair)
        row = {k: e[k] for k in ("holder", "token_or_issuer", "amount_usd", "kind", "as_of", "source", "note",
                                 "derived") if k in e}
        if pair in same:
            row["same_funds_as"] = same[pair]
        rows.append(row)
    # the library's exposure-table mapping, version 1: each row a claim of holder on token_or_issuer
    table = io.StringIO(json.dumps({"nodes": sample["nodes"], "edges": rows}))
    net, _ = read_exposure_table(table, version=1)
    node_frame, edge_frame = to_frames(net)
    given = {n["id"]: (set(n) - {"name"}) | {"label"} for n in sample["nodes"]}
    # the records as the loader read them, without the defaults it filled in
    nodes = [{k: v for k, v in rec.items() if k in given[rec["id"]] and v is not None}
             for rec in frame_records(node_frame)]
    edges = [{k: v for k, v in rec.items() if v is not None} for rec in frame_records(edge_frame)]
    return {
        "format": GRAPH_FORMAT, "version": 1, "name": "defi-v1", "as_of": sample["as_of"], "currency": "USD",
        "description": ("DeFi cross-collateral claims from public sources, 2024-2026, in format version 1: "
                        "each exposure-table row (holder, token_or_issuer, amount_usd, kind) is a claim of the "
                        "holder on token_or_issuer. Every edge keeps its own as_of date and source URL. "
                        "Amounts of different dates are not re-priced. See graphs/README.md."),
        "source": "graphs/sources/sample_graph.json",
        "nodes": nodes, "edges": edges,
    }


# ------------------------------------------------------------------- textbook networks
def _claim(debtor, creditor, amount, **meta):
    return {"kind": "claim", "debtor": debtor, "creditor": creditor, "amount": amount, **meta}


def _small(name, description, nodes, edges):
    return {"format": GRAPH_FORMAT, "version": 1, "name": name, "currency": "USD",  # textbook: no date
            "description": description, "nodes": nodes, "edges": edges}


def build_chain() -> dict:
    """a -> b -> c -> d, each owing the next 10; a shock of 50% at a defaults a and b, in rounds 1 and 2."""
    nodes = [
        {"id": "a", "kind": "protocol", "label": "head", "external_assets": 12},
        {"id": "b", "kind": "protocol", "label": "second", "external_assets": 3},
        {"id": "c", "kind": "protocol", "label": "third", "external_assets": 8},
        {"id": "d", "kind": "protocol", "label": "tail", "external_assets": 1},
    ]
    edges = [_claim("a", "b", 10), _claim("b", "c", 10), _claim("c", "d", 10)]
    return _small("chain", (
        "Chain a->b->c->d: each node owes the next 10, external assets 12, 3, 8, 1, equity 2, 3, 8, 11. "
        "Shock a=0.5 (a's external assets 12 -> 6): a defaults in round 1 and pays 6, b then has 3+6=9<10, "
        "defaults in round 2 and pays 9, c has 8+9=17>=10 and pays in full. Clearing payments (6, 9, 10, 0), "
        "equity after (0, 0, 7, 11), 2 defaults, no loss to outside creditors; the equity lost (6) equals "
        "the shock. Demonstrates a default cascade stopped by a buffer."), nodes, edges)


def build_ring() -> dict:
    """A 4-cycle of pass-through nodes; a's loss travels round the ring and comes back to a."""
    nodes = [
        {"id": "a", "kind": "protocol", "label": "a (owes outside creditors)", "external_assets": 12,
         "external_liabilities": 10},
        {"id": "b", "kind": "protocol", "label": "b"},
        {"id": "c", "kind": "protocol", "label": "c"},
        {"id": "d", "kind": "protocol", "label": "d"},
    ]
    edges = [_claim("a", "b", 10), _claim("b", "c", 10), _claim("c", "d", 10), _claim("d", "a", 10)]
    return _small("ring", (
        "Ring a->b->c->d->a, each owing the next 10; a also owes 10 to creditors outside the network and has "
        "external assets 12; b, c, d have none (equity 2, 0, 0, 0): they pass on any shortfall in full. Without "
        "a shock everyone pays in full (the cycle funds itself). Shock a=0.5 (12 -> 6): defaults in rounds "
        "1, 2, 3, 4 (a, b, c, d); the loss comes back round the ring to a: p_a = 6 + p_a/2, so payments (12, 6, 6, 6), outside creditors receive 6 of 10 "
        "(loss 4), equity lost 2; 2 + 4 = 6 = the shock. Demonstrates a cycle amplifying a loss."),
        nodes, edges)


def build_star() -> dict:
    """A hub lender owing four spokes; its loss is shared pro rata and defaults the most leveraged spoke."""
    nodes = [{"id": "hub", "kind": "protocol", "label": "hub (pooled lender)", "external_assets": 110}]
    owed = {"s1": 10, "s2": 20, "s3": 30, "s4": 40}
    outside = {"s1": 5, "s2": 5, "s3": 10, "s4": 30}
    for s in owed:
        nodes.append({"id": s, "kind": "protocol", "label": f"spoke {s[1]}", "external_liabilities": outside[s]})
    edges = [_claim("hub", s, amt) for s, amt in owed.items()]
    return _small("star", (
        "Star: the hub owes the spokes s1..s4 10, 20, 30, 40 (total 100) and has external assets 110 "
        "(equity 10); the spokes owe 5, 5, 10, 30 outside the network and have no other assets "
        "(equity 5, 15, 20, 10). Shock hub=0.5 (110 -> 55): the hub defaults in round 1 and pays every spoke "
        "55% (5.5, 11, 16.5, 22); s4 has 22 < 30, defaults in round 2 and pays 22 (outside creditors lose 8); "
        "s1..s3 stay solvent with equity 0.5, 6, 6.5. Equity lost 47 + outside loss 8 = 55 = the shock. "
        "Demonstrates pro-rata loss sharing by the creditors of a pooled lender."), nodes, edges)


def build_complete() -> dict:
    """Four nodes each owing each other 10: a total loss of one node's assets is diluted over the others."""
    ids = ["a", "b", "c", "d"]
    nodes = [{"id": i, "kind": "protocol", "label": i, "external_assets": 4, "external_liabilities": 2}
             for i in ids]
    edges = [_claim(i, j, 10) for i in ids for j in ids if i != j]
    return _small("complete", (
        "Complete network of 4 nodes: each owes each other node 10 (30 in all) and 2 outside the network, "
        "and has external assets 4 (equity 2). Shock a=1 (a loses all 4): a has 0 + 30 = 30 < 32, defaults "
        "in round 1 and pays 30 (recovery 15/16); each other node receives 30*10/32 = 9.375 from a, has "
        "4 + 29.375 = 33.375 >= 32 and stays solvent with equity 1.375. One default; a's outside creditors "
        "lose 0.125; equity lost 2 + 3*0.625 = 3.875; 3.875 + 0.125 = 4 = the shock. Demonstrates how "
        "diversified claims dilute a loss (compare ring.json)."), nodes, edges)


SMALL_GRAPHS = {"chain": build_chain, "ring": build_ring, "star": build_star, "complete": build_complete}


# ------------------------------------------------------------------ the DeFi graph, version 2
#: Reference price of ETH in USD (the sample's ``price_usd_hint`` for ETH); prices of ETH tokens and
#: depths quoted in token units are converted with it.
ETH_PRICE = 3900

#: Share of the borrowing power an aggregate borrower group uses: debt = U x LTV x collateral, so the
#: group's health factor is LT / (U x LTV) (1.135 in Aave's ETH e-mode). Calibrated on the one position
#: whose collateral and debt are both sourced: ezETH on Aave Prime, $520M of wstETH debt against $620M of
#: ezETH (0.84 = 0.90 x 93%); large Aave accounts borrow close to their liquidation thresholds (Kaiko).
UTILISATION = 0.90
UTILISATION_SOURCE = "https://governance.aave.com/t/arfc-prime-core-instance-wsteth-reserve-update/19973"

#: Exponent of the price-impact curve impact(Q) = s (Q / D)^a for every token with a depth. The sources
#: suggest a in 0.5-1 "to be calibrated"; 0.5 (square-root impact) is used throughout.
IMPACT_EXPONENT = 0.5

#: Sources of the choices below (the venue parameters' own sources come with them from the library).
URL = {
    **VENUE_SOURCES,
    "aave_v33": AAVE_CLOSE_FACTOR_SOURCE,
    "aave_weeth_weth": "https://governance.aave.com/t/arfc-chaos-labs-risk-stewards-increase-supply-caps-on-aave-v3-10-18-24/19512",
    "morpho_liquidation": "https://docs.morpho.org/morpho-blue/tutorials/liquidation",
    "pt_oracle": "https://governance.aave.com/t/llamarisk-insights-aaves-pt-token-exposure-risk-outlook/22312",
    "kaiko_aave": "https://research.kaiko.com/insights/mapping-the-aave-user-base",
    "steth_pool": "https://research.kaiko.com/insights/steth-liquidity",
    "steth_2022": "https://forklog.com/en/news/since-early-may-the-largest-steth-liquidity-pool-has-shrunk-sevenfold",
    "steth_slippage": "https://integral.link/steth-slips-off-peg-slippage-in-staked-eth/",
    "weeth_depth": "https://governance.aave.com/t/arfc-updating-weeth-risk-parameters/17402/4",
    "ezeth_depth": "https://governance.aave.com/t/arfc-onboard-ezeth-to-aave-v3-lido-instance/18504/11",
    "rseth_linea_depth": "https://governance.aave.com/t/direct-to-aip-onboard-rseth-to-aave-v3-linea-instance/22172/2",
    "usde_depth": "https://governance.aave.com/t/arfc-remove-usde-debt-ceiling-and-introduce-usde-stablecoins-e-mode/21876/2",
    "susde_depth": "https://governance.aave.com/t/arfc-chaos-labs-risk-stewards-increase-supply-and-borrow-caps-on-aave-v3-11-21-24/19899",
    "usdtb_depth": "https://governance.aave.com/t/chaos-labs-risk-stewards-increase-supply-caps-on-aave-v3-06-18-25/22382",
    "ethena_backing": "https://exponential.fi/assets/usde/21d54fe2-6e41-4dc4-bcde-06bf7796d445",
    "usual_backing": "https://usagoldmines.com/?p=109352",
    "xusd_pps": "https://rugged.help/detail.php?aid=1357451976",
    "deusd_backing": "https://m.markets.com/news/stream-finance-collapse-exposes-284-million-defi-exposure-1671-en",
    "usde_crash": "https://insightainow.com/2025/10/15/orderbook-data-provides-insights-into-usde-crash-details",
    "sky_collateral": "https://governance.aave.com/t/arfc-remove-usds-as-collateral-and-increase-rf-across-all-aave-instances/23426/3",
    # who bears a loss: share-like liabilities and first-loss capital (graphs/sources/loss-bearing.md)
    "lido_wsteth": "https://docs.lido.fi/contracts/wsteth",
    "lido_cover": "https://help.lido.fi/en/articles/5230602",
    "kelp_oracle": "https://github.com/Kelp-DAO/LRT-rsETH (LRTOracle.sol)",
    "eigen_shares": "https://github.com/Layr-Labs/eigenlayer-contracts (docs/core/accounting/SharesAccounting.md)",
    "pendle_yt": "https://github.com/pendle-finance/pendle-core-v2-public (PendleYieldToken.sol)",
    "morpho_blue": "https://github.com/morpho-org/morpho-blue (src/Morpho.sol, liquidate)",
    "metamorpho": "https://github.com/morpho-org/metamorpho",
    "euler_whitepaper": "https://github.com/euler-xyz/euler-vault-kit (docs/whitepaper.md)",
    "gearbox_reserve": "https://docs.gearbox.finance/overview/liquidations/insurance-fund",
    "balancer_exploit": "https://panewslab.deeptrading.me/en/articles/db36f287-46aa-4d07-8888-10bf6d61cee3",
    "ethena_susde": "https://docs.ethena.fi (rewards mechanism)",
    "umbrella_stakes": ("https://governance.aave.com/t/llamarisk-insights-umbrella-coverage-principles-and-slashing-"
                        "logic/23527"),
    "umbrella_offset": "https://github.com/aave-dao/aave-governance-cache (cache/ui/mainnet/proposals/proposal_467.json)",
    "spark_framework": "https://paragraph.com/@spark-11/spark-security-framework",
    "sky_capital_stack": "https://github.com/sky-ecosystem/laniakea-docs (accounting/capital-stack.md)",
    "ethena_reserve": "https://gov.ethenafoundation.com/t/reserve-fund-subcommittee-september-2025-update/703",
    "compound_reserves": "https://www.comp.xyz/t/gauntlet-ethereum-v3-usdc-targetreserves-recommendations-02-21-2024/5002",
    "usde_oct_onchain": "https://gov.ethenafoundation.com/t/usde-analysis-during-the-oct-10th-11th-volatility-event/706",
    "usde_oct_dex": "https://en.theblockbeats.news/news/59867",
}


#: Token market data at the reference date. depth = USD that can be sold at slippage depth_slippage
#: (defi-facts 3.6); a depth quoted in token units is converted at ETH_PRICE. Tokens without depth have
#: no price impact: PTs, xUSD, deUSD, USDX and USD0++ are only posted with oracles that never move
#: (linear discount, hardcoded), so no liquidation sells them; USDS/sUSDS/aTokens are not posted at all.
TOKEN_MARKET = {
    "stETH": dict(price=ETH_PRICE, depth=100e6, depth_slippage=0.02, depth_estimate=True,
                  depth_source=URL["steth_pool"],
                  depth_note="$100M moves stETH 1-3% in normal times (the Curve pool holds ~$750M); midpoint 2%"),
    "weETH": dict(price=ETH_PRICE, depth=15000 * ETH_PRICE, depth_slippage=0.075, depth_source=URL["weeth_depth"],
                  depth_note="more than 15,000 weETH can be sold within the 7.5% liquidation bonus (Apr 2024); "
                             "15,000 x $3,900"),
    "ezETH": dict(price=ETH_PRICE, depth=2500 * ETH_PRICE, depth_slippage=0.075, depth_source=URL["ezeth_depth"],
                  depth_note="~2,500 ezETH within the liquidation-penalty price impact (7.5%, the LRT e-mode "
                             "penalty); 2,500 x $3,900"),
    "rsETH": dict(price=ETH_PRICE, depth=10e6, depth_slippage=0.05, depth_estimate=True,
                  depth_source=URL["rseth_linea_depth"],
                  depth_note="mainnet: a $10M sale moves rsETH 'several %' (5% taken); on L2s depth is far thinner "
                             "(150 rsETH at 7.5% on Linea, 300 wrsETH < 3% on Base)"),
    "USDe": dict(price=1.0, depth=55e6, depth_slippage=0.02, depth_source=URL["usde_depth"],
                 depth_note="up to $55M of USDe into USDC within 2% (Apr 2025)"),
    "sUSDe": dict(price=1.0, price_note="USD-equivalent unit (the sUSDe/USDe exchange rate is not modelled)",
                  depth=25e6, depth_slippage=0.01, depth_source=URL["susde_depth"],
                  depth_note="25M sUSDe into USDT at 1% (Nov 2024), at $1 per unit (the sUSDe/USDe exchange rate is "
                             "not modelled, which makes the depth slightly shallower)"),
    "USDtb": dict(price=1.0, depth=9.5e6, depth_slippage=0.025, depth_source=URL["usdtb_depth"],
                  depth_note="9.5M USDtb at 2-3% slippage (Jun 2025); midpoint 2.5%"),
}

#: Reference prices (USD per unit) of the other tokens; ETH tokens are priced at ETH parity (their
#: exchange rates to ETH, 1.0-1.2, are not modelled) and amounts stay USD whatever the unit price.
TOKEN_PRICE = {
    "PT_Ethena": (1.0, "USD-equivalent unit (PTs trade at a discount to maturity value; not modelled)"),
    "USDS": (1.0, None), "sUSDS": (1.0, "USD-equivalent unit (the sUSDS/USDS rate is not modelled)"),
    "USD0pp": (1.0, "par, before the January 2025 redemption-floor change"),
    "xUSD": (1.27, "price per share ~1.27 before the collapse (" + URL["xusd_pps"] + ")"),
    "deUSD": (1.0, None), "USDX": (1.0, None), "aUSDC_aUSDT": (1.0, None),
}

#: Tokens redeemable in ETH (format field ``denomination``): a liquid staking or restaking token is a claim
#: on ETH held by its issuer, so its redemption value in USD follows ETH and its issuer's obligation to it
#: (the backing claim, which takes the token's denomination) is counted in ETH. USDe, sUSDe and the other
#: dollar tokens stay in USD.
ETH_TOKENS = ("stETH", "weETH", "ezETH", "rsETH")
DENOMINATION_NOTE = ("redeemable in ETH: the issuer stakes (or restakes) the ETH and owes it back, so the token's "
                     "redemption value is the issuer's recovery rate times the ETH price")

#: Lenders whose loans in ETH (or ETH tokens) are funded by suppliers of ETH: Aave v3 instances, SparkLend and
#: Fluid lend the WETH (wstETH) their suppliers deposited, Morpho and Euler ETH markets lend their vaults' WETH,
#: EigenLayer owes restakers their ETH, DEX pools owe their liquidity providers the pool's ETH and stETH.
ETH_FUNDED = ("eigenlayer", "aave_core", "aave_prime", "aave_l2", "spark", "morpho", "euler", "fluid", "compound",
              "gearbox", "curve", "balancer")
ETH_FUNDING_SOURCE = URL["morpho_positions"]  # suppliers deposit the loan asset, borrowers borrow that asset

#: Ethena's ETH and LST backing is hedged with short ETH perpetuals at the CEX venues (about half its backing
#: is BTC/ETH/LSTs "hedged with perpetuals"): the short owes the long side the ETH's price move. It is a
#: claim in ETH of Ethena on the venues' longs, with the synthetic cash leg of the same amount as Ethena's
#: external assets, so that a move of ETH changes neither Ethena's net worth nor its solvency.
ETHENA_HEDGE_NOTE = ("short ETH perpetuals hedging the stETH Ethena holds (delta-neutral backing): the short "
                     "leg is owed in ETH to the long side, the notional sits with the venues in USD; amount taken "
                     "equal to the stETH held")

#: Nodes that split a sample node (id = "<sample id>/<part>") or stand for aggregate borrower groups.
NEW_NODES = {
    "ethena/usdtb-reserve": ("protocol", "USDtb reserve (tokenised T-bills held for USDtb)", "issuer_reserve"),
    "cex_perp_venues/stream-manager": ("external", "External fund manager used by Stream (lost $93M)", "cefi"),
    "morpho/wstETH-ETH": ("protocol", "Morpho Blue market wstETH / WETH", "isolated_market"),
    "morpho/PT-USDC": ("protocol", "Morpho Blue markets Ethena PTs / USDC-USDT", "isolated_market"),
    "morpho/cbBTC-USDC": ("protocol", "Morpho Blue market cbBTC / USDC (Coinbase loans, Base)", "isolated_market"),
    "morpho/rsETH-ETH": ("protocol", "Morpho Blue market rsETH / WETH", "isolated_market"),
    "morpho/deUSD-USDC": ("protocol", "Morpho Blue market deUSD / USDC", "isolated_market"),
    "morpho/xUSD-USDC": ("protocol", "Morpho Blue private market xUSD / USDC funded by Elixir", "isolated_market"),
    "euler/yield-PT": ("protocol", "Euler Yield cluster (Pendle PT collateral)", "isolated_cluster"),
    "euler/xUSD-USDC": ("protocol", "Euler cluster lending against xUSD", "isolated_cluster"),
    "euler/rsETH-ETH": ("protocol", "Euler cluster lending against rsETH", "isolated_cluster"),
    "silo/USDX-USDC": ("protocol", "Silo (Arbitrum) USDX market, curated by Re7", "isolated_market"),
    "silo/xUSD-USDC": ("protocol", "Silo xUSD / USDC market", "isolated_market"),
    "cex_perp_venues/eth-longs": ("external", "Long side of Ethena's short ETH perpetuals at the CEX venues "
                                  "(aggregate)", "cefi"),
}

#: Lenders and pass-through holders whose suppliers (or liquidity providers, or restakers) are mostly
#: outside the graph: at face value their equity is closed to zero with external liabilities.
POOLED = ("eigenlayer", "aave_core", "aave_prime", "aave_l2", "morpho", "euler", "fluid", "silo", "compound",
          "gearbox", "curve", "balancer", "telosc", "mev_capital", "re7")


def _provenance(e: dict) -> dict:
    rec = {"relation": e["kind"], "as_of": e["as_of"], "source": e["source"],
           "from_sample": _edge_ref(e["holder"], e["token_or_issuer"])}
    if "note" in e:
        rec["note"] = e["note"]
    if e.get("derived"):
        rec["derived"] = True
    return rec


class _V2:
    """Accumulates the nodes and edges of the version-2 graph."""

    def __init__(self, sample: dict):
        self.sample = sample
        self.edges_in = {(e["holder"], e["token_or_issuer"]): e for e in sample["edges"]}
        self.used: set[tuple[str, str]] = set()
        self.nodes: dict[str, dict] = {}
        self.edges: list[dict] = []

    def src(self, holder, target) -> dict:
        pair = (holder, target)
        self.used.add(pair)
        return self.edges_in[pair]

    def node(self, node_id: str) -> str:
        if node_id not in self.nodes:
            if node_id in NEW_NODES:
                kind, label, category = NEW_NODES[node_id]
            elif "/" in node_id:  # an aggregate borrower group
                kind, label, category = "position", f"Borrowers of {node_id.split('/')[0]} against " \
                    f"{node_id.split('/', 1)[1].rsplit('-', 1)[0]} (aggregate)", "borrower_group"
            else:
                raise KeyError(f"unknown node {node_id!r}")
            parent = node_id.split("/", 1)[0]
            assert parent in self.nodes, f"{node_id}: {parent} is not a sample node"
            self.nodes[node_id] = {"id": node_id, "kind": kind, "label": label, "category": category,
                                   "part_of": parent}
        return node_id

    def eth_denominated(self, node_id: str) -> bool:
        """True for ETH and for the tokens redeemable in ETH."""
        return node_id == "ETH" or self.nodes[node_id].get("denomination") == "ETH"

    def claim(self, debtor, creditor, amount, prov, **meta):
        self.edges.append({"kind": "claim", "debtor": self.node(debtor), "creditor": self.node(creditor),
                           "amount": amount, **prov, **meta})

    def holding(self, holder, token, amount, prov, **meta):
        self.edges.append({"kind": "holding", "holder": self.node(holder), "token": self.node(token),
                           "amount": amount, **prov, **meta})

    def position(self, lender, borrower, collateral_token, debt_token, params: str, prov, *,
                 collateral, debt=None, debt_note=None, collateral_note=None, supplier=None):
        p = PARAMS[params]
        # one row of an exposure table with parameter columns, mapped by the table importer's mapping
        row = {"holder": self.node(lender), "token_or_issuer": collateral_token, "amount_usd": collateral,
               "borrower": self.node(borrower), "debt_token": debt_token}
        if debt is None:
            debt = UTILISATION * p.ltv * collateral
            row["estimate"] = True
            row["method"] = (f"debt = {UTILISATION:g} x LTV {p.ltv:g} x collateral (aggregate borrowers use "
                             f"{UTILISATION:.0%} of their borrowing power; calibrated on " + UTILISATION_SOURCE + ")")
        elif debt_note:
            row["estimate"] = True
            row["method"] = debt_note
        if collateral_note:
            row["estimate"] = True
            row["method"] = collateral_note
        row.update(debt_usd=debt, liquidation_threshold=p.lt, liquidation_bonus=p.bonus, close_factor=p.close_factor,
                   oracle=p.oracle, ltv=p.ltv, params_source=p.source, params_note=p.note)
        if p.estimate:
            row["params_estimate"] = True
        row.update(prov)
        (rec,) = frame_records(secured_positions(pd.DataFrame([row])))
        self.edges.append({k: v for k, v in rec.items() if v is not None})
        if supplier is not None:
            for c in self.edges:  # one supply claim per (market, supplier), summed over its positions
                if c["kind"] == "claim" and (c["debtor"], c["creditor"]) == (lender, supplier):
                    c["amount"] += debt
                    c["from_sample"] += ", " + prov["from_sample"]
                    break
            else:
                sup_prov = dict(prov, relation="supply", estimate=True,
                                method="the market's suppliers have lent what its borrowers owe (idle liquidity "
                                       "ignored)")
                if self.eth_denominated(debt_token):
                    sup_prov["denomination"] = "ETH"
                sup_prov.pop("note", None)
                sup_prov.pop("merged", None)
                sup_prov.pop("merge_note", None)
                self.claim(lender, supplier, debt, sup_prov)
        return debt


#: Sample rows that map one to one. A holding: the holder owns the token or base asset (valued at its
#: market price). A claim: (sample holder, sample target) -> debtor owes creditor the amount.
V2_HOLDINGS = [
    ("lido", "ETH"), ("eigenlayer", "ETH"), ("kelp", "stETH"), ("kelp", "ETH"), ("renzo", "ETH"),
    ("ethena", "stETH"), ("ethena", "USDS"), ("sky", "TBILLS"), ("sky", "USDC"), ("spark", "TBILLS"),
    ("stream", "USDC"), ("curve", "stETH"), ("curve", "ETH"), ("balancer", "stETH"),
]
V2_CLAIMS = [
    # issuer -> token: the issuer owes its token's holders (the token's backing)
    (("stETH", "lido"), "lido", "stETH"), (("weETH", "etherfi"), "etherfi", "weETH"),
    (("rsETH", "kelp"), "kelp", "rsETH"), (("ezETH", "renzo"), "renzo", "ezETH"),
    (("USD0pp", "usual"), "usual", "USD0pp"), (("xUSD", "stream"), "stream", "xUSD"),
    (("deUSD", "elixir"), "elixir", "deUSD"), (("USDX", "stablelabs"), "stablelabs", "USDX"),
    (("sUSDS", "USDS"), "sky", "sUSDS"),
    # deposits: the depositor holds a claim on the venue
    (("ethena", "cex_perp_venues"), "cex_perp_venues", "ethena"), (("ethena", "aave_core"), "aave_core", "ethena"),
    (("sky", "spark"), "spark", "sky"), (("spark", "morpho"), "morpho", "spark"),
    (("euler", "telosc"), "telosc", "euler"),
    # Stream's $93M sat with an external fund manager (its own node, so that its loss hits Stream only)
    (("stream", "cex_perp_venues"), "cex_perp_venues/stream-manager", "stream"),
]
#: Secured positions, one per sample collateral row: (sample holder, collateral token) -> lender,
#: aggregate borrower, debt token, parameters (PARAMS), supplier of an isolated market (None: pooled
#: lender whose suppliers are outside the graph or already in it). Debt = UTILISATION x LTV x collateral.
V2_POSITIONS = [
    # SparkLend (pooled, an Aave v3 fork)
    (("spark", "stETH"), "spark", "spark/stETH-loopers", "ETH", "spark_eth_emode", None),
    (("spark", "weETH"), "spark", "spark/weETH-loopers", "ETH", "spark_eth_emode", None),
    (("spark", "rsETH"), "spark", "spark/rsETH-loopers", "ETH", "spark_eth_emode", None),
    # Aave instances (pooled); rsETH loops borrow wstETH (the 'rsETH LST main' e-mode)
    (("aave_core", "stETH"), "aave_core", "aave_core/stETH-loopers", "ETH", "aave_eth_emode", None),
    (("aave_core", "weETH"), "aave_core", "aave_core/weETH-loopers", "ETH", "aave_eth_emode", None),
    (("aave_core", "rsETH"), "aave_core", "aave_core/rsETH-loopers", "stETH", "aave_rseth_lst", None),
    (("aave_core", "PT_Ethena"), "aave_core", "aave_core/PT-loopers", "USDC", "aave_pt_emode", None),
    (("aave_core", "USDe"), "aave_core", "aave_core/USDe-borrowers", "USDC", "aave_usde_emode", None),
    (("aave_core", "sUSDe"), "aave_core", "aave_core/sUSDe-loopers", "USDC", "aave_susde_emode", None),
    (("aave_prime", "stETH"), "aave_prime", "aave_prime/stETH-loopers", "ETH", "aave_prime_eth_emode", None),
    (("aave_l2", "rsETH"), "aave_l2", "aave_l2/rsETH-borrowers", "ETH", "aave_linea_wrseth", None),
    # Morpho Blue: isolated markets supplied by the 'morpho' vault layer
    (("morpho", "stETH"), "morpho/wstETH-ETH", "morpho/wstETH-loopers", "ETH", "morpho_wsteth", "morpho"),
    (("morpho", "rsETH"), "morpho/rsETH-ETH", "morpho/rsETH-loopers", "ETH", "morpho_rseth", "morpho"),
    # Euler: clusters supplied by the 'euler' vault layer
    (("euler", "PT_Ethena"), "euler/yield-PT", "euler/PT-loopers", "USDC", "euler_pt", "euler"),
    (("euler", "USD0pp"), "euler/yield-PT", "euler/USD0pp-loopers", "USDC", "euler_usd0pp", "euler"),
    (("euler", "rsETH"), "euler/rsETH-ETH", "euler/rsETH-loopers", "ETH", "euler_rseth", "euler"),
    (("euler", "xUSD"), "euler/xUSD-USDC", "euler/xUSD-loopers", "USDC", "euler_stream", "euler"),
    # Fluid and Compound v3 (pooled), Gearbox and a curator's vaults (their own lenders)
    (("fluid", "stETH"), "fluid", "fluid/stETH-loopers", "ETH", "fluid_lst", None),
    (("fluid", "weETH"), "fluid", "fluid/weETH-loopers", "stETH", "fluid_lst", None),
    (("compound", "rsETH"), "compound", "compound/rsETH-borrowers", "ETH", "compound_rseth", None),
    (("compound", "deUSD"), "compound", "compound/deUSD-borrowers", "USDC", "compound_stream", None),
    (("gearbox", "ezETH"), "gearbox", "gearbox/ezETH-accounts", "ETH", "gearbox_ezeth", None),
    (("mev_capital", "xUSD"), "mev_capital", "mev_capital/xUSD-loopers", "USDC", "euler_stream", None),
    # Silo (isolated markets); the sample's 'silo' node stands for the xUSD market's lenders
    (("silo", "xUSD"), "silo/xUSD-USDC", "silo/xUSD-loopers", "USDC", "silo_stream", "silo"),
]


def build_defi_v2(sample: dict) -> dict:
    """The sample graph with the cross-collateral mechanics of format version 2.

    See graphs/README.md for the mapping of every sample edge; each choice is commented below.
    """
    g = _V2(sample)
    for n in sample["nodes"]:
        rec = {k: v for k, v in n.items() if k != "name"}
        rec["label"] = n.get("name", n["id"])
        if n["id"] == "ETH":
            rec["price"] = ETH_PRICE
        elif n["kind"] == "asset" and n["id"] not in ("USDC", "USDT", "TBILLS"):
            rec["price_note"] = ("no unit price in the sources: amounts are USD, and the price field keeps its "
                                 "default (1, a USD-equivalent unit)")
        if n["id"] in TOKEN_MARKET:
            m = dict(TOKEN_MARKET[n["id"]])
            rec["price"] = m.pop("price")
            rec["impact_exponent"] = IMPACT_EXPONENT
            rec["impact_exponent_estimate"] = True
            rec.update(m)
            if rec["price"] == ETH_PRICE:
                rec["price_note"] = "ETH parity at the ETH reference price (exchange rate to ETH not modelled)"
        elif n["id"] in TOKEN_PRICE:
            price, note = TOKEN_PRICE[n["id"]]
            rec["price"] = price
            if note:
                rec["price_note"] = note
        g.nodes[n["id"]] = rec
    for t in ETH_TOKENS:
        g.nodes[t]["denomination"] = "ETH"
        g.nodes[t]["denomination_note"] = DENOMINATION_NOTE
    g.nodes["USDtb"]["issuer"] = "ethena/usdtb-reserve"
    g.nodes["USDtb"]["issuer_note"] = ("the sample names ethena; USDtb's T-bill reserve is held apart from USDe's "
                                       "backing, so it is its own issuer node")

    for pair in V2_HOLDINGS:
        e = g.src(*pair)
        g.holding(pair[0], pair[1], e["amount_usd"], _provenance(e))
    for pair, debtor, creditor in V2_CLAIMS:
        e = g.src(*pair)
        g.claim(debtor, creditor, e["amount_usd"], _provenance(e))
    for pair, lender, borrower, debt_token, params, supplier in V2_POSITIONS:
        e = g.src(*pair)
        g.position(lender, borrower, pair[1], debt_token, params, _provenance(e), collateral=e["amount_usd"],
                   supplier=supplier)

    # -- rows that merge, split or need a sourced amount ---------------------------------------------------
    # ether.fi's ETH (6B) is the ETH it restakes through EigenLayer (6B): one asset, held as a claim on
    # EigenLayer, which holds the ETH (19.7B, the rest for restakers outside the graph).
    g.src("etherfi", "ETH")
    e = g.src("etherfi", "eigenlayer")
    g.claim("eigenlayer", "etherfi", e["amount_usd"], _provenance(e), denomination="ETH",
            merged="etherfi->ETH", merge_note="ether.fi's ETH backing is the ETH it restakes via EigenLayer")
    # Ethena's stETH is hedged with short ETH perpetuals (ETHENA_HEDGE_NOTE)
    e = g.src("ethena", "stETH")
    g.claim("ethena", "cex_perp_venues/eth-longs", e["amount_usd"],
            {"relation": "hedge", "as_of": e["as_of"], "source": URL["ethena_backing"]}, denomination="ETH",
            estimate=True, method=ETHENA_HEDGE_NOTE)
    # Ethena: USDe supply 8.7B of which 4.7B sits in the sUSDe contract; both tokens are claims on Ethena.
    e_usde, e_susde = g.src("USDe", "ethena"), g.src("sUSDe", "USDe")
    g.claim("ethena", "sUSDe", e_susde["amount_usd"], _provenance(e_susde),
            method="sUSDe is USDe staked with Ethena: the 4.7B of USDe in the sUSDe contract is Ethena's "
                   "obligation to sUSDe holders")
    g.claim("ethena", "USDe", e_usde["amount_usd"] - e_susde["amount_usd"], _provenance(e_usde), estimate=True,
            method="USDe supply 8.7B minus the 4.7B held by the sUSDe contract")
    # Ethena supplies USDtb to Aave Core (a claim on the pool, above) and the pool holds it (idle).
    e = g.src("aave_core", "USDtb")
    g.holding("aave_core", "USDtb", e["amount_usd"], _provenance(e),
              same_funds_as="ethena->aave_core", method="the USDtb Ethena supplied, held by the pool")
    e = g.src("USDtb", "TBILLS")
    g.holding("ethena/usdtb-reserve", "TBILLS", e["amount_usd"], _provenance(e))
    g.claim("ethena/usdtb-reserve", "USDtb", e["amount_usd"], _provenance(e))
    # Sky: USDS + DAI 9.9B, of which ~4B in savings (sUSDS, above).
    e = g.src("USDS", "sky")
    g.claim("sky", "USDS", e["amount_usd"] - g.edges_in[("sUSDS", "USDS")]["amount_usd"], _provenance(e),
            estimate=True, method="USDS + DAI 9.9B minus the ~4B in savings (sUSDS)")
    # Pendle: the USDe locked in Pendle (one amount, recorded twice in the sample) backs the PTs.
    e_pend, e_pt = g.src("pendle", "USDe"), g.src("PT_Ethena", "USDe")
    g.holding("pendle", "USDe", e_pend["amount_usd"], _provenance(e_pend),
              merged="PT_Ethena->USDe", merge_note="the USDe locked in Pendle is the PTs' backing")
    g.claim("pendle", "PT_Ethena", e_pt["amount_usd"], _provenance(e_pt))
    g.holding("usual", "TBILLS", g.edges_in[("USD0pp", "usual")]["amount_usd"],
              {"relation": "backing", "as_of": "2025-01-09", "source": URL["usual_backing"]}, estimate=True,
              method="USD0++ is staked USD0, backed by tokenised T-bills: backing taken equal to the 1B TVL")
    e = g.src("spark", "USDe")
    g.holding("spark", "USDe", e["amount_usd"], _provenance(e), estimate=True,
              method="the allocation cap taken as filled; held directly by the Spark Liquidity Layer")
    # Sourced debts: ezETH on Aave Prime ($520M of wstETH), Morpho's PT markets ($420M).
    e = g.src("aave_prime", "ezETH")
    g.position("aave_prime", "aave_prime/ezETH-loopers", "ezETH", "stETH", "aave_prime_lrt_lst", _provenance(e),
               collateral=e["amount_usd"], debt=520e6)
    e = g.src("morpho", "PT_Ethena")
    g.position("morpho/PT-USDC", "morpho/PT-loopers", "PT_Ethena", "USDC", "morpho_pt", _provenance(e),
               collateral=e["amount_usd"], debt=420e6,
               debt_note="sourced: the PT collateral 'drives $420M stable borrows'", supplier="morpho")
    # Loans with a sourced debt and an estimated collateral: collateral = debt / (UTILISATION x LLTV).
    loans = [
        # Coinbase's BTC-backed loans (> $1B) on Morpho: the sample's BTC-collateral row is the same loans.
        (("morpho", "coinbase_loans"), ["morpho->BTC"], "morpho/cbBTC-USDC", "coinbase_loans", "BTC", "morpho_btc",
         "morpho", "the sample's BTC collateral and Coinbase debt rows describe the same loans"),
        # Elixir lent $68M USDC to Stream against xUSD through a private Morpho market.
        (("elixir", "stream"), [], "morpho/xUSD-USDC", "stream", "xUSD", "morpho_stream", "elixir", None),
        # TelosC's vaults lent $123M against xUSD; their depositors are Euler's (the sample's simplification).
        (("telosc", "stream"), [], "telosc", "stream", "xUSD", "euler_stream", None, None),
    ]
    for pair, merged, lender, borrower, token, params, supplier, merge_note in loans:
        e = g.src(*pair)
        for ref in merged:
            g.src(*ref.split("->"))
        prov = _provenance(e)
        if merged:
            prov.update(merged=", ".join(merged), merge_note=merge_note)
        ltv = PARAMS[params].ltv
        g.position(lender, borrower, token, "USDC", params, prov,
                   collateral=e["amount_usd"] / (UTILISATION * ltv), debt=e["amount_usd"],
                   collateral_note=f"sourced debt; collateral = debt / ({UTILISATION:g} x LLTV {ltv:g})",
                   supplier=supplier)
    # Stream holds ~90% of deUSD and posted it on Morpho to borrow USDC: one position, two sample rows;
    # Re7 curates Silo's USDX market: the same $12.5M at the curator and at the venue.
    for pair, other, lender, borrower, params, supplier, merge_note in (
            (("morpho", "deUSD"), ("stream", "deUSD"), "morpho/deUSD-USDC", "stream", "morpho_stream", None,
             "the deUSD Stream holds is the deUSD it posted on Morpho"),
            (("silo", "USDX"), ("re7", "USDX"), "silo/USDX-USDC", "silo/USDX-borrowers", "silo_stream", "re7",
             "Re7 curates the Silo USDX market: the same $12.5M at the curator and the venue")):
        e = g.src(*pair)
        g.src(*other)
        g.position(lender, borrower, pair[1], "USDC", params,
                   dict(_provenance(e), merged=_edge_ref(*other), merge_note=merge_note),
                   collateral=e["amount_usd"], supplier=supplier)
    missing = set(g.edges_in) - g.used
    if missing:
        raise ValueError(f"sample edges not mapped: {sorted(missing)}")
    _add_other_holders(g)
    _add_eth_suppliers(g)
    _close_balance_sheets(g)
    _mark_loss_bearing(g)
    sample_ids = [n["id"] for n in sample["nodes"]]
    return {
        "format": GRAPH_FORMAT, "version": 2, "name": "defi", "as_of": sample["as_of"], "currency": "USD",
        "description": ("DeFi cross-collateral graph with the mechanics of format version 2: issuers hold base "
                        "assets and owe their tokens; tokens carry issuer, price and market depth; Aave instances, "
                        "Spark, Fluid and Compound lend as pools, Morpho markets and Euler clusters as isolated "
                        "lenders, each through secured positions of aggregate borrower groups with the venue's "
                        "liquidation threshold, bonus, close factor and oracle. Every edge keeps its as_of and "
                        "source; estimates are flagged. See graphs/README.md."),
        "source": "graphs/sources/sample_graph.json",
        "nodes": [g.nodes[i] for i in sample_ids] + [g.nodes[i] for i in sorted(set(g.nodes) - set(sample_ids))],
        "edges": g.edges,
    }


def _add_other_holders(g: _V2) -> None:
    """Give every token's holders outside the graph a node of their own, ``<token>/other-holders``.

    A token's supply is what its issuer owes it (the issuer -> token claim); the graph tracks part of it
    (holdings, and collateral posted in secured positions). The rest is held outside the graph: an
    ``external`` node holds it, so that its holders' losses count in a stress run's total loss (a token
    node itself is pass-through and carries no loss). Where the tracked amount exceeds the supply (the
    sources' dates differ, or a value is recorded at two layers: USDe, the PTs, xUSD) no node is added.
    """
    supply: dict[str, float] = {}
    prov: dict[str, dict] = {}
    tracked: dict[str, float] = {}
    for e in g.edges:
        if e["kind"] == "claim" and g.nodes[e["creditor"]]["kind"] == "token":
            supply[e["creditor"]] = supply.get(e["creditor"], 0.0) + e["amount"]
            prov.setdefault(e["creditor"], e)
        elif e["kind"] == "holding":
            tracked[e["token"]] = tracked.get(e["token"], 0.0) + e["amount"]
        elif e["kind"] == "collateral":
            tracked[e["collateral_token"]] = tracked.get(e["collateral_token"], 0.0) + e["collateral"]
    for token in sorted(supply):
        rest = supply[token] - tracked.get(token, 0.0)
        if rest <= 0.5:
            continue
        node = f"{token}/other-holders"
        g.nodes[node] = {"id": node, "kind": "external", "label": f"Holders of {token} outside the graph (aggregate)",
                         "category": "holders_outside_graph", "part_of": token}
        src = prov[token]
        method = (f"supply {_num(supply[token]):,} (what the issuer owes the token) minus "
                  f"{_num(tracked.get(token, 0.0)):,} held or posted as collateral in the graph")
        g.holding(node, token, _num(rest), {"relation": "holding", "as_of": src["as_of"], "source": src["source"]},
                  estimate=True, method=method)


def eth_balance(g: _V2) -> dict[str, tuple[float, float]]:
    """(assets, obligations) in ETH terms of every node, at reference prices.

    Assets: holdings of ETH or of a token redeemable in ETH, claims denominated in ETH (or on ETH), loans
    whose debt is ETH or an ETH token (the lender's debt outstanding). Obligations: claims denominated in
    ETH, explicitly or through the token they back.
    """
    a = dict.fromkeys(g.nodes, 0.0)
    o = dict.fromkeys(g.nodes, 0.0)
    for e in g.edges:
        if e["kind"] == "claim":
            in_eth = e.get("denomination") == "ETH" or g.eth_denominated(e["creditor"]) or e["debtor"] == "ETH"
            if in_eth:
                a[e["creditor"]] += e["amount"]
                if e["debtor"] != "ETH":
                    o[e["debtor"]] += e["amount"]
        elif e["kind"] == "holding":
            if g.eth_denominated(e["token"]):
                a[e["holder"]] += e["amount"]
        elif g.eth_denominated(e["debt_token"]):
            a[e["lender"]] += min(e["debt"], e["collateral"])
    return {i: (a[i], o[i]) for i in g.nodes}


def _add_eth_suppliers(g: _V2) -> None:
    """Give every lender in ETH_FUNDED a claim in ETH of ``<lender>/ETH-suppliers`` for its net ETH assets.

    A pool lends the asset its suppliers deposited, and owes it back in that asset: what it has lent in ETH (and
    holds in ETH tokens) beyond what it already owes in ETH inside the graph is owed to suppliers of ETH outside
    the graph, in ETH. So a fall of ETH lowers the pool's loans and its debt to those suppliers alike; the
    suppliers carry the price move, and the pool defaults only when it loses ETH. The rest of a pool's funding
    (dollar suppliers) is closed by :func:`_close_balance_sheets`.
    """
    bal = eth_balance(g)
    for i in ETH_FUNDED:
        eth_assets, eth_owed = bal[i]
        net = eth_assets - eth_owed
        if net <= 0.5:
            continue
        node = f"{i}/ETH-suppliers"
        who = {"dex": "Liquidity providers of", "restaking": "Restakers of ETH in"}.get(
            g.nodes[i].get("category"), "Suppliers of ETH to")
        g.nodes[node] = {"id": node, "kind": "external",
                         "label": f"{who} {g.nodes[i]['label']} outside the graph (aggregate)",
                         "category": "suppliers_outside_graph", "part_of": i}
        g.claim(i, node, _num(net), {"relation": "supply", "as_of": g.sample["as_of"], "source": ETH_FUNDING_SOURCE},
                denomination="ETH", estimate=True,
                method=(f"ETH lent, ETH tokens and ETH claims held ({_num(eth_assets):,}) minus what the node "
                        f"already owes in ETH in the graph ({_num(eth_owed):,}): owed in ETH to its ETH suppliers"))


def face_balance(nodes: dict, edges: list[dict]) -> dict[str, tuple[float, float]]:
    """(assets, obligations) of every node at reference prices, before any shock.

    Assets: external assets + holdings + claims held + positions (the lender's debt outstanding, the
    borrower's collateral minus debt). Obligations: claims owed + external liabilities.
    """
    a = {i: float(n.get("external_assets", 0.0)) for i, n in nodes.items()}
    o = {i: float(n.get("external_liabilities", 0.0)) for i, n in nodes.items()}
    for e in edges:
        if e["kind"] == "claim":
            if nodes[e["debtor"]]["kind"] == "asset":
                a[e["creditor"]] += e["amount"]
            else:
                a[e["creditor"]] += e["amount"]
                o[e["debtor"]] += e["amount"]
        elif e["kind"] == "holding":
            a[e["holder"]] += e["amount"]
        else:
            a[e["lender"]] += min(e["debt"], e["collateral"])
            a[e["borrower"]] += max(0.0, e["collateral"] - e["debt"])
    return {i: (a[i], o[i]) for i in nodes}


def _close_balance_sheets(g: _V2) -> None:
    """Close every balance sheet at reference prices (see graphs/README.md, "Balance-sheet closure").

    * A node that owes more inside the graph than the graph shows it owning gets the difference as
      external assets: assets the sources do not itemise (Ethena's hedged spot and stablecoins, the
      collateral at CEX venues, the rest of deUSD's backing, ...).
    * A pooled lender, vault layer, DEX pool or restaking custodian in POOLED owes what it holds beyond its
      in-graph creditors to suppliers outside the graph (external liabilities), so its equity is zero:
      a loss at the pool is the suppliers' loss.
    Tokens are pass-through (their holders are outside L) and base assets owe nothing; both are skipped.
    """
    bal = face_balance(g.nodes, g.edges)
    for i, n in g.nodes.items():
        if n["kind"] in ("token", "asset"):
            continue
        assets, owed = bal[i]
        gap = assets - owed
        if gap < -0.5:
            n["external_assets"] = _num(-gap)
            n["external_assets_note"] = ("balance closure: assets the sources do not itemise, so that the node is "
                                         "solvent at reference prices")
        elif gap > 0.5 and (i in POOLED or n.get("category") in ("isolated_market", "isolated_cluster")):
            n["external_liabilities"] = _num(gap)
            n["external_liabilities_note"] = ("balance closure: suppliers, liquidity providers or restakers outside "
                                              "the graph own what the node holds beyond its in-graph creditors")


# ------------------------------------------------------------------------ who bears a loss
#: Nodes that owe their creditors shares (``liability_type: shares``): a loss lowers the value per share
#: pro rata and is never a default (graphs/README.md, "Who bears a loss"). node -> (why, source).
_LST = "an exchange-rate (or rebasing) share of the issuer's pooled ETH: a loss lowers the value per share"
SHARES = {
    "lido": ("stETH rebases down and wstETH's rate falls when Lido's pooled ETH loses: " + _LST, URL["lido_wsteth"]),
    "etherfi": ("weETH is " + _LST + " (the same class as stETH and rsETH in the sources; no ether.fi page cited)",
                URL["lido_wsteth"]),
    "renzo": ("ezETH is " + _LST + " (Renzo's rate provider)", URL["ezeth_event"]),
    "kelp": ("rsETH is " + _LST + " (LRTOracle; rsETH pauses on a large drop)", URL["kelp_oracle"]),
    "eigenlayer": ("restakers hold strategy shares; slashing lowers what every share can withdraw",
                   URL["eigen_shares"]),
    "pendle": ("PT/YT are shares of the SY: the PY index never falls, so after an SY loss PT redeems fewer "
               "underlying and PT holders take the loss", URL["pendle_yt"]),
    "stream": ("xUSD is a vault share in practice: it fell to about 0.30-0.50 with redemptions frozen "
               "(November 2025)", URL["xusd_pps"]),
    "morpho": ("MetaMorpho vault shares: bad debt lowers total assets, so the share price falls pro rata",
               URL["metamorpho"]),
    "euler": ("Euler v2 vault shares: leftover debt is socialised to the vault's depositors", URL["euler_whitepaper"]),
    "telosc": ("a curator's vaults (Euler/MetaMorpho shares): a loss is its depositors', pro rata",
               URL["euler_whitepaper"]),
    "mev_capital": ("a curator's vaults (MetaMorpho/Euler shares): its Morpho USDC vault realised its bad debt "
                    "as a share-price fall (November 2025)", URL["metamorpho"]),
    "re7": ("a curator's vaults (MetaMorpho shares): a loss is its depositors', pro rata", URL["metamorpho"]),
    "gearbox": ("Gearbox pool shares: after the reserve fund, a lossy liquidation lowers the share price",
                URL["gearbox_reserve"]),
    "curve": ("liquidity providers own pro-rata shares of the pools (LP tokens), as at Balancer",
              URL["balancer_exploit"]),
    "balancer": ("liquidity providers own pro-rata shares of the pools: the November 2025 exploit was their loss",
                 URL["balancer_exploit"]),
    "stETH": ("token: " + _LST, URL["lido_wsteth"]),
    "weETH": ("token: " + _LST, URL["lido_wsteth"]),
    "ezETH": ("token: " + _LST, URL["ezeth_event"]),
    "rsETH": ("token: " + _LST, URL["kelp_oracle"]),
    "PT_Ethena": ("token: a share of Pendle's SY", URL["pendle_yt"]),
    "xUSD": ("token: Stream's vault share", URL["xusd_pps"]),
    "sUSDe": ("token: staked USDe, shares by design (the reserve fund takes losses first, beyond it the loss "
              "reaches USDe's backing)", URL["ethena_susde"]),
    "sUSDS": ("token: savings USDS, shares with a non-decreasing rate", URL["sky_capital_stack"]),
}
#: Every Morpho Blue market and Euler cluster owes its suppliers shares too (by category, below).
SHARES_BY_CATEGORY = {
    "isolated_market": ("Morpho Blue: bad debt is subtracted from the market's totalSupplyAssets in the liquidation "
                        "itself, pro rata to its suppliers", URL["morpho_blue"]),
    "isolated_cluster": ("Euler v2: leftover debt is socialised to the vault's depositors", URL["euler_whitepaper"]),
}
#: Silo's markets are isolated markets by category, but no source on how Silo books a loss was found: debt.
DEBT_ISOLATED = ("silo/USDX-USDC", "silo/xUSD-USDC")

def _aave_core_first_loss() -> float:
    """Aave V3 Core's first-loss capital in USD: the token amounts of the library's pool table (the one
    the Aave importer uses), WETH at the ETH reference price and the stablecoins at 1."""
    (pool,) = [p for p in AAVE_POOLS.values() if p["id"] == "aave_core"]
    return sum(qty * (ETH_PRICE if token == "WETH" else 1.0) for token, qty in pool["first_loss"].items())


#: First-loss capital (``first_loss``, USD): node -> (amount, provider node or None (outside the graph), as_of,
#: how the amount is made up, sources). Amounts in ETH at the ETH reference price.
FIRST_LOSS = {
    "aave_core": (
        _aave_core_first_loss(), None,
        "2025-12-10",
        "Umbrella stakes on Aave V3 Core (35.16k WETH, 93.33M USDC, 120.84M USDT, 14.43M GHO; 10 Dec 2025) plus "
        "the DAO's deficit offset that absorbs first (USDC 1.3M, USDT 1.6M, WETH 77, GHO 115k; AIP 467, 7 Apr 2026); "
        "Umbrella covers each reserve separately, the graph pools them (coarser); in the April 2026 rsETH event "
        "the WETH module was paused and the deficit covered by pledges, which this buffer stands for",
        [URL["umbrella_stakes"], URL["umbrella_offset"], URL["aave_v33"]]),
    "spark": (
        37e6, "sky", "2026-05",
        "Sky's backstop capital behind Spark ('current $37M', target $125M); the loss order is Spark's own risk "
        "capital, then Sky's surplus buffer, then the backstop: Spark's own capital and the surplus balance are "
        "not in the sources, so this is a lower bound; Sky provides it and loses what is drawn",
        [URL["spark_framework"], URL["sky_capital_stack"]]),
    "ethena": (
        41.8e6 + 19.9e6, None, "2025-09",
        "Ethena's reserve fund: $41.8M USDtb + $19.9M Curve USDtb-USDC LP (about $61.8M), held outside the graph",
        [URL["ethena_reserve"]]),
    "compound": (
        4.64e6 + 681 * ETH_PRICE, None, "2024-02-21",
        "Compound v3 reserves that pay each absorption: Ethereum USDC market 4.64M USDC, WETH market 681 WETH "
        "(2025 figures not found)",
        [URL["compound_reserves"]]),
    "gearbox": (
        1e6, None, "2024",
        "Gearbox's reserve fund (the treasury's pool shares, burned on a lossy liquidation), kept at about $1M "
        "(GIP-124); it covered the 25 ETH ezETH downside in April 2024",
        [URL["gearbox_reserve"]]),
}
#: Pooled lenders and issuers with no first-loss capital in the sources (first_loss 0), and why.
NO_FIRST_LOSS = {
    "aave_prime": "Umbrella covers Aave V3 Core only; no buffer found for the Prime instance",
    "aave_l2": "Umbrella covers Aave V3 Core only; no buffer found for the L2 instances",
    "fluid": "no insurance or first-loss fund found",
    "morpho": "none by design: bad debt reaches suppliers in the liquidation itself",
    "euler": "none by design: leftover debt is socialised to depositors",
    "eigenlayer": "no insurance or first-loss fund found",
    "etherfi": "no insurance or first-loss fund found",
    "renzo": "no insurance or first-loss fund found",
    "kelp": "no insurance or first-loss fund found",
    "pendle": "no insurance or first-loss fund found",
    "lido": "the DAO's self-cover (about 5,500 stETH in 2022) is discretionary and its 2025 size was not found",
    "sky": "Sky's surplus buffer balance was not found (the surplus threshold was cut to 1M USDS in August 2025)",
}


def _mark_loss_bearing(g: _V2) -> None:
    """Set ``liability_type``, ``first_loss`` and ``first_loss_provider`` (with notes and sources) on the nodes of
    SHARES, SHARES_BY_CATEGORY, FIRST_LOSS and NO_FIRST_LOSS; every other node owes debt (the default)."""
    for i, n in g.nodes.items():
        why = SHARES.get(i) or (None if i in DEBT_ISOLATED else SHARES_BY_CATEGORY.get(n.get("category")))
        if why:
            n["liability_type"] = "shares"
            n["liability_note"], n["liability_source"] = why
    for i in DEBT_ISOLATED:
        g.nodes[i]["liability_note"] = "no source on how Silo books a loss was found: owes debt (the default)"
    for i, (amount, provider, as_of, note, sources) in FIRST_LOSS.items():
        n = g.nodes[i]
        n["first_loss"] = _num(float(amount))
        if provider is not None:
            n["first_loss_provider"] = provider
        n.update(first_loss_as_of=as_of, first_loss_note=note, first_loss_source=" ; ".join(sources))
    for i, note in NO_FIRST_LOSS.items():
        g.nodes[i]["first_loss_note"] = "first_loss 0: " + note


# ------------------------------------------------------------------------------ scenarios
#: Named historical scenarios, each replayed on the reference-date graph (defi.json). The figures and
#: their sources are those of graphs/sources (defi-facts); every shock names its basis in its note.
SCENARIOS = [
    {"name": "steth-depeg-2022",
     "description": ("June 2022: stETH traded up to 8% below ETH while the largest stETH/ETH Curve pool "
                     "shrank sevenfold, from $4.6B to $621M in six weeks. Replayed on today's graph: most stETH "
                     "collateral now sits behind exchange-rate oracles, so the depeg reaches holders through the "
                     "price, not through liquidations."),
     "source": URL["steth_2022"],
     "shocks": [{"type": "depeg", "node": "stETH", "change": -0.08,
                 "note": "the record stETH discount to ETH, 8%, in June 2022 (Celsius, Three Arrows)",
                 "source": ("https://www.coindesk.com/markets/2022/07/13/wobble-in-steth-price-shows-fear-celsius-"
                            "might-dump-435m-stake/")},
                {"type": "liquidity", "node": "stETH", "depth_factor": 0.135,
                 "note": "Curve stETH/ETH pool $4.6B -> $621M (621/4600)", "source": URL["steth_2022"]}]},
    {"name": "ezeth-depeg-2024",
     "description": ("24 April 2024: ezETH lost its peg when Renzo announced its airdrop terms; market-price "
                     "oracles fell about 20% (DEX prints down to -80%) and Gearbox and Morpho positions were "
                     "liquidated (115 Gearbox accounts, 10,650 ezETH sold). Exchange-rate oracles (Aave) did "
                     "not move."),
     "source": URL["ezeth_event"],
     "shocks": [{"type": "depeg", "node": "ezETH", "change": -0.2,
                 "note": "market-feed depeg of about 20%", "source": URL["ezeth_event"]}]},
    {"name": "usd0pp-floor-2025",
     "description": ("9 January 2025: Usual replaced USD0++'s 1:1 redemption with a floor price of 0.87, and "
                     "USD0++ traded down to the floor; hardcoded-oracle loops on Euler and Morpho carried the "
                     "difference."),
     "source": URL["usual_backing"],
     "shocks": [{"type": "depeg", "node": "USD0pp", "change": -0.13,
                 "note": "redemption floor 0.87", "source": URL["usual_backing"]}]},
    {"name": "usde-eth-crash-2025",
     "description": ("10-11 October 2025: in the largest liquidation day of the crypto market, USDe traded at "
                     "about 0.65 on Binance while Binance's USDe book liquidity fell from $89M to about $2M; ETH "
                     "fell 16%. Replayed as if the venue-local depeg were the market price "
                     "everywhere (a severe but historical magnitude)."),
     "source": URL["usde_crash"],
     "shocks": [{"type": "depeg", "node": "USDe", "change": -0.35,
                 "note": "Binance low of about 0.65 (venue-local in October 2025)",
                 "source": URL["usde_crash"]},
                {"type": "liquidity", "node": "USDe", "depth_factor": 0.0225,
                 "note": "Binance USDe book liquidity $89M -> ~$2M (2/89)",
                 "source": URL["usde_crash"]},
                {"type": "price", "node": "ETH", "change": -0.16,
                 "note": "Ethereum fell 16% in the eight hours of the liquidation cascade",
                 "source": ("https://yellow.com/research/trump-100-china-tariff-how-one-announcement-liquidated-"
                            "dollar19-billion-in-crypto")}]},
    {"name": "usde-onchain-2025",
     "description": ("10-11 October 2025, on-chain: while USDe printed 0.65 on Binance and 0.92 on Bybit, on-chain "
                     "pools held a tight peg around 0.99 (Curve and Uniswap within 0.3%), Aave's oracle stayed at "
                     "0.99-1.00 and no DeFi protocol became insolvent (no material liquidations of USDe or sUSDe "
                     "positions on Aave). Replayed as a 65 bp market depeg of USDe, within that on-chain range."),
     "source": URL["usde_oct_onchain"],
     "shocks": [{"type": "depeg", "node": "USDe", "change": -0.0065,
                 "note": ("on-chain discount of 65 bp: within the range of the on-chain prices reported (pools "
                          "around 0.99, Curve and Uniswap within 0.3%, Aave's oracle 0.99-1.00)"),
                 "source": URL["usde_oct_onchain"] + " ; " + URL["usde_oct_dex"]}]},
    {"name": "stream-elixir-2025",
     "description": ("3-4 November 2025: Stream Finance disclosed that an external fund manager had lost $93M of "
                     "its assets; xUSD collapsed, Elixir's deUSD (65% of it a $68M loan to Stream against xUSD) "
                     "followed, and lenders in curated markets with hardcoded oracles (TelosC, Elixir, MEV "
                     "Capital, Re7, Euler, Morpho, Silo, Compound) were left with $285M of exposure."),
     "source": "https://www.coinfeather.com/en/news/how-stream-finance-and-elixir-collapsed/28967",
     "shocks": [{"type": "asset_loss", "node": "cex_perp_venues/stream-manager", "fraction": 1.0,
                 "note": "the $93M held by the external fund manager is lost",
                 "source": "https://www.coinfeather.com/en/news/how-stream-finance-and-elixir-collapsed/28967"}]},
    {"name": "balancer-exploit-2025",
     "description": ("3 November 2025: an exploit drained $128.6M from Balancer v2 pools ($776M TVL before), "
                     "a loss borne by the pools' liquidity providers, among them stETH pools."),
     "source": "https://panewslab.deeptrading.me/en/articles/db36f287-46aa-4d07-8888-10bf6d61cee3",
     "shocks": [{"type": "asset_loss", "node": "balancer", "fraction": 0.166,
                 "note": "$128.6M of $776M TVL (128.6/776)",
                 "source": "https://panewslab.deeptrading.me/en/articles/db36f287-46aa-4d07-8888-10bf6d61cee3"}]},
    {"name": "kelp-forged-supply",
     "description": ("18 April 2026: 116,500 rsETH (18% of supply) were minted without backing through Kelp's "
                     "LayerZero bridge and posted as collateral; every holder's claim on Kelp's reserves was "
                     "diluted, and exchange-rate oracles, which follow the redemption value, moved. Lenders "
                     "(Aave, Compound, Euler, SparkLend) were left with bad debt."),
     "source": ("https://bitcoinsuisse.com/industry-blog/large-etf-inflows-strategy-ytd-buying-87-5-of-bitcoins-"
                "yearly-issuance-defi-outflows-amid-kelpdao-hack"),
     "shocks": [{"type": "forged_supply", "node": "rsETH", "fraction": 0.18,
                 "note": "116,500 forged rsETH = 18% of supply",
                 "source": ("https://bitcoinsuisse.com/industry-blog/large-etf-inflows-strategy-ytd-buying-87-5-of-"
                            "bitcoins-yearly-issuance-defi-outflows-amid-kelpdao-hack")}]},
]


def build_scenarios() -> dict:
    return {"format": SCENARIO_FORMAT, "version": 1,
            "description": ("Historical stress scenarios for graphs/defi.json, each replayed on the graph's "
                            "reference date; see graphs/README.md."),
            "scenarios": SCENARIOS}


# ------------------------------------------------------------------------------ driver
def outputs(sample: dict | None = None) -> dict[str, str]:
    """Every bundled file's name and text."""
    sample = load_sample() if sample is None else sample
    out = {"defi-v1.json": dumps_graph(build_defi_v1(sample)), "defi.json": dumps_graph(build_defi_v2(sample))}
    for name, build in SMALL_GRAPHS.items():
        out[f"{name}.json"] = dumps_graph(build())
    out["scenarios.json"] = dumps_scenarios(build_scenarios())
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare instead of writing; exit 1 if any bundled file is out of date")
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write to (default: graphs/)")
    args = parser.parse_args(argv)
    stale = []
    for name, text in outputs().items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
            print(f"wrote {path}", file=sys.stderr)
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

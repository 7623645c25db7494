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

Only the standard library is used, so the build runs before the package is installed. Every
modelling choice (a mapping, a parameter, an estimate) is written next to its source below.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
SAMPLE = SOURCES / "sample_graph.json"

GRAPH_FORMAT = "exposure-graph"
SCENARIO_FORMAT = "exposure-scenario"

# Key order of the written records; keys not listed follow in alphabetical order.
_NODE_KEYS = ("id", "kind", "label", "issuer", "price", "depth", "depth_slippage", "impact_exponent",
              "external_assets", "external_liabilities")
_EDGE_KEYS = ("kind", "debtor", "creditor", "holder", "token", "lender", "borrower", "collateral_token",
              "collateral", "debt_token", "debt", "amount", "liquidation_threshold", "liquidation_bonus",
              "close_factor", "oracle", "relation", "as_of", "source")
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
    nodes = []
    for n in sample["nodes"]:
        rec = {k: v for k, v in n.items() if k != "name"}
        rec["label"] = n.get("name", n["id"])
        nodes.append(rec)
    edges = []
    seen: dict[tuple[str, str], int] = {}
    for e in sample["edges"]:
        pair = (e["holder"], e["token_or_issuer"])
        if pair in seen:  # none in the current sample; summed by the loader with a warning
            raise ValueError(f"duplicate sample edge {pair}: document it before building")
        seen[pair] = len(edges)
        rec = {"kind": "claim", "debtor": e["token_or_issuer"], "creditor": e["holder"],
               "amount": e["amount_usd"], "relation": e["kind"]}
        for k in ("as_of", "source", "note", "derived"):
            if k in e:
                rec[k] = e[k]
        if pair in same:
            rec["same_funds_as"] = same[pair]
        edges.append(rec)
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
    return {"format": GRAPH_FORMAT, "version": 1, "name": name, "as_of": "2026-01-01", "currency": "USD",
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
        "external assets 12; b, c, d have none (equity 2, 0, 0, 0). Without a shock everyone pays in full "
        "(the cycle funds itself; p = 0 also clears b, c, d, and the greatest clearing vector is the one "
        "reported). Shock a=0.5 (12 -> 6): defaults in rounds 1, 2, 3, 4 (a, b, c, d); the loss comes back "
        "round the ring to a: p_a = 6 + p_a/2, so payments (12, 6, 6, 6), outside creditors receive 6 of 10 "
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


# ------------------------------------------------------------------------------ driver
def outputs(sample: dict | None = None) -> dict[str, str]:
    """Every bundled file's name and text."""
    sample = load_sample() if sample is None else sample
    out = {"defi-v1.json": dumps_graph(build_defi_v1(sample))}
    for name, build in SMALL_GRAPHS.items():
        out[f"{name}.json"] = dumps_graph(build())
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

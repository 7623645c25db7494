"""The content of a report, once, as blocks that the HTML and Markdown renderers both draw.

:func:`document` turns a :class:`~exposure.report._build.Report` (and its figures) into a list of
blocks — headings, paragraphs, bullet lists, tables and figures — and :func:`tables` into the
machine-readable tables written to ``tables/*.csv``. The two renderers
(:mod:`exposure.report._render`) only lay the blocks out, so the HTML and the Markdown say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..stress import SUMMARY_COLUMNS

__all__ = ["Heading", "Para", "Bullets", "TableBlock", "FigureBlock", "SECTIONS", "document", "tables",
           "REFERENCES", "METRIC_SECTIONS"]

#: The sections of every report, in order: (id, heading).
SECTIONS = (
    ("summary", "Summary"),
    ("network", "The network"),
    ("hubs", "Contagion hubs"),
    ("stress", "Stress scenarios"),
    ("metrics", "Supervisory metrics"),
    ("liquidation", "Liquidation curves"),
    ("concentration", "Concentration"),
    ("provenance", "Data and provenance"),
    ("methods", "Method notes and references"),
)

#: Rows of a table shown in the document (every row is in its CSV file).
SHOWN_ROWS = 25
#: Input edges listed one by one in the provenance section (more are summarised by source).
EDGES_LISTED = 250

#: Each supervisory metrics section: its heading, what it measures, and the reports it answers to.
METRIC_SECTIONS = {
    "size": ("Size", "gross TVL, the netted value (TVR), double counting and the money multiplier",
             "FSB 2023 (size), ESMA 2023 (TVL), Luo et al. 2024 (TVR, money multiplier), IMF 2023 C-RAM (size)"),
    "leverage": ("Leverage", "assets over equity per protocol; collateral loops and their effective leverage "
                 "1 / (1 − product of loan-to-values)",
                 "FSB 2023, ESRB 2023 (leverage of crypto conglomerates), Heimbach & Huang 2024"),
    "concentration": ("Concentration", "shares of gross TVL, top-3 and top-10 shares, Herfindahl index, largest "
                      "single exposures", "ESMA 2023 (top-3 share of TVL), IMF 2023 C-RAM"),
    "interconnectedness": ("Interconnectedness", "claims on other nodes, strongly connected components, cycles",
                           "FSB 2023, IMF 2023 C-RAM, Kitzler et al. 2023"),
    "liquidity_mismatch": ("Liquidity mismatch", "collateral liquidatable at a price fall against market depth; "
                           "liquidatable collateral is not a loss, bad debt is",
                           "FSB 2023 (liquidity mismatch, forced deleveraging), Perez et al. 2021"),
    "oracle_dependency": ("Oracle dependency", "collateral priced by each kind of oracle, and what a market depeg "
                          "cannot liquidate", "FSB 2023 (operational fragilities), IMF 2023"),
    "offchain_dependency": ("Off-chain dependency", "value resting on nodes of kind external or venue",
                            "FSB 2023 and BIS 2023 (links with CeFi and TradFi)"),
    "loss_absorption": ("Loss absorption", "first-loss capital against the worst scenario's shortfall; value held "
                        "as shares", "FSB 2023 and BIS 2021 (no shock absorbers)"),
    "stress": ("Stress", "losses under the named scenarios", "FSB 2023, ESRB 2023 (losses under named scenarios)"),
}

REFERENCES = (
    "Battiston, S., Puliga, M., Kaushik, R., Tasca, P. and Caldarelli, G. (2012). DebtRank: too central to fail? "
    "Financial networks, the FED and systemic risk. Scientific Reports 2:541. https://doi.org/10.1038/srep00541",
    "Bardoscia, M., Battiston, S., Caccioli, F. and Caldarelli, G. (2015). DebtRank: a microscopic foundation for "
    "shock propagation. PLoS ONE 10(6):e0130406. https://doi.org/10.1371/journal.pone.0130406",
    "Furfine, C. (2003). Interbank exposures: quantifying the risk of contagion. Journal of Money, Credit and "
    "Banking 35(1):111–128.",
    "Eisenberg, L. and Noe, T. H. (2001). Systemic risk in financial systems. Management Science 47(2):236–249. "
    "https://doi.org/10.1287/mnsc.47.2.236.9835",
    "Rogers, L. C. G. and Veraart, L. A. M. (2013). Failure and rescue in an interbank network. Management Science "
    "59(4):882–898. https://doi.org/10.1287/mnsc.1120.1569",
    "Grigat, D. and Caccioli, F. (2017). Reverse stress testing interbank networks. Scientific Reports 7:15616. "
    "https://doi.org/10.1038/s41598-017-15668-7",
    "Kendall, M. G. (1945). The treatment of ties in ranking problems. Biometrika 33(3):239–251.",
    "Fruchterman, T. M. J. and Reingold, E. M. (1991). Graph drawing by force-directed placement. Software: "
    "Practice and Experience 21(11):1129–1164.",
    "Financial Stability Board (2023). The Financial Stability Risks of Decentralised Finance.",
    "European Systemic Risk Board (2023). Crypto-assets and decentralised finance.",
    "European Securities and Markets Authority (2023). Decentralised finance in the EU: developments and risks.",
    "Bank for International Settlements (2023). The crypto ecosystem: key elements and risks.",
    "International Monetary Fund (2023). Assessing macrofinancial risks from crypto assets (C-RAM).",
    "Luo, Y., Feng, Y., Xu, J. and Tasca, P. (2024). Piercing the veil of TVL: DeFi reappraised. "
    "https://arxiv.org/abs/2404.11745",
    "Perez, D., Werner, S. M., Xu, J. and Livshits, B. (2021). Liquidations: DeFi on a knife-edge. Financial "
    "Cryptography and Data Security 2021.",
)


# ------------------------------------------------------------------------------------ blocks
@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    id: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple


@dataclass(frozen=True)
class TableBlock:
    """A table of the document: ``name`` is its file ``tables/<name>.csv`` (every row there)."""

    name: str
    title: str
    frame: pd.DataFrame
    limit: int | None = SHOWN_ROWS


@dataclass(frozen=True)
class FigureBlock:
    figure: Any


# ------------------------------------------------------------------------------------ words
def usd_words(x: float) -> str:
    """``USD 77.5 billion (77,486,989,664)``."""
    if x is None or not np.isfinite(x):
        return "not available"
    a = abs(x)
    for size, unit in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if a >= size:
            return f"USD {x / size:.3g} {unit} ({x:,.0f})"
    return f"USD {x:,.2f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _shock_words(shock_type: str, node: str, size: float, target: str) -> str:
    what = {"bad_debt>0": "creates bad debt", "n_defaults>1": "puts more than one node in default"}.get(
        target, f"breaches {target}")
    if shock_type == "price":
        return f"a fall of {_pct(size)} in the price of {node} {what}"
    if shock_type == "depeg":
        return f"a depeg of {node} by {_pct(size)} (its market price at {_pct(1 - size)} of reference) {what}"
    if shock_type == "asset_loss":
        return f"a loss of {_pct(size)} of the assets {node} owns {what}"
    return f"a {shock_type} shock of {size:.4g} on {node} {what}"


# ------------------------------------------------------------------------------------ tables
def _edges(net) -> pd.DataFrame:
    """Every input edge: kind, who owes, who is owed, amount, as_of, source, estimate flag, note."""
    parts = []
    for kind, table, owes, owed, amount in (("claim", net.claims, "debtor", "creditor", "amount"),
                                            ("holding", net.holdings, "token", "holder", "amount"),
                                            ("collateral", net.positions, "borrower", "lender", "debt")):
        if not len(table):
            continue
        f = pd.DataFrame({"edge": table.index.to_numpy(dtype=np.int64), "kind": kind,
                          "owes": table[owes].astype(str).to_numpy(), "owed": table[owed].astype(str).to_numpy(),
                          "amount": table[amount].to_numpy(dtype=np.float64)})
        if kind == "collateral":
            f["collateral"] = table["collateral"].to_numpy(dtype=np.float64)
        for c in ("as_of", "source", "note"):
            f[c] = table[c].astype(object).where(table[c].notna(), None).to_numpy() if c in table.columns else None
        est = np.zeros(len(table), dtype=bool)
        for c in ("derived", "estimate", "params_estimate"):
            if c in table.columns:
                est |= table[c].astype(object).map(lambda v: v is True or v in ("true", "True", 1)).to_numpy(bool)
        f["estimate"] = est
        parts.append(f)
    cols = ["edge", "kind", "owes", "owed", "amount", "collateral", "as_of", "source", "estimate", "note"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True).sort_values("edge", kind="stable").reset_index(drop=True)
    if "collateral" not in out.columns:
        out["collateral"] = np.nan
    return out[cols]


def _node_estimates(net) -> pd.DataFrame:
    """Node fields marked as estimates in the input (``<field>_estimate`` true): node, field, note."""
    rows = []
    nodes = net.nodes
    for c in nodes.columns:
        if not c.endswith("_estimate"):
            continue
        field = c[: -len("_estimate")]
        flag = nodes[c].astype(object).map(lambda v: v is True or v in ("true", "True", 1))
        note_col = f"{field}_note"
        for node in nodes.index[flag.to_numpy(bool)]:
            note = nodes.at[node, note_col] if note_col in nodes.columns else None
            rows.append((str(node), field, None if pd.isna(note) else str(note)))
    return pd.DataFrame(rows, columns=["node", "field", "note"])


def _rounds(stress) -> pd.DataFrame:
    parts = []
    for s, r in zip(stress.scenarios, stress.results):
        f = r.rounds_frame()[["round", "liquidations", "repaid", "sold", "bad_debt", "new_defaults", "n_defaults",
                               "prices_moved", "min_price"]].copy()
        f.insert(0, "scenario", s.name)
        parts.append(f)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _scenario_list(stress) -> pd.DataFrame:
    rows = []
    for s in stress.scenarios:
        shocks = "; ".join(f"{x.type} {x.node}" + "".join(f" {k}={v:g}" for k, v in x.to_dict().items()
                                                          if k not in ("type", "node") and isinstance(v, (int, float))
                                                          and not isinstance(v, bool))
                           for x in s.shocks)
        rows.append((s.name, s.description, s.source, shocks))
    return pd.DataFrame(rows, columns=["scenario", "description", "source", "shocks"])


def tables(rep) -> dict[str, tuple[str, pd.DataFrame]]:
    """Every table of the report by file name (``tables/<name>.csv``): (title, frame).

    The frames are the commands' own: ``ranking`` is ``exposure rank --method all``,
    ``stress_scenarios`` / ``stress_nodes`` / ``stress_tokens`` are ``exposure stress``'s three
    details, ``reverse_<type>`` is ``exposure stress --reverse``, ``metrics`` is ``exposure metrics``
    and ``metrics_<section>_<table>`` is ``exposure metrics --table section.table``."""
    out: dict[str, tuple[str, pd.DataFrame]] = {}
    out["headline"] = ("The five numbers that matter", rep.headline())
    nodes = pd.DataFrame({"node": rep.network.node_ids.astype(str).to_numpy(),
                          "kind": rep.network.kinds.astype(str),
                          "label": rep.network.nodes["label"].astype(object).where(
                              rep.network.nodes["label"].notna(), None).to_numpy(),
                          "value": rep.values})
    r = rep.ranking.ranking[["node", "debtrank", "debtrank_rank"]]
    nodes = nodes.merge(r.astype({"node": str}), on="node", how="left")
    nodes = nodes.sort_values(["value", "node"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["nodes"] = ("Nodes by value (the size in the network drawing) with their DebtRank", nodes)
    out["ranking"] = ("Ranking of every method (rank 1 = most systemic)", rep.ranking.to_frame())
    if rep.ranking.agreement is not None:
        out["ranking_agreement"] = ("Agreement of the methods (Kendall's tau-b)", rep.ranking.agreement)
    if rep.stress is not None:
        out["stress_scenarios"] = ("Scenarios: losses, bad debt, defaults", rep.stress.summary_frame())
        out["stress_scenario_list"] = ("The scenarios: description, source and shocks", _scenario_list(rep.stress))
        out["stress_rounds"] = ("The cascade of each scenario round by round", _rounds(rep.stress))
        out["stress_nodes"] = ("Each node in each scenario", rep.stress.nodes_frame())
        out["stress_tokens"] = ("Each token in each scenario", rep.stress.tokens_frame())
    for s in rep.reverse:
        out[f"reverse_{s.shock_type}"] = (f"Reverse stress: the smallest {s.shock_type} shock breaching "
                                          f"{s.result.target}", s.result.to_frame())
    out["metrics"] = ("Every scalar supervisory metric (section, metric, value)", rep.metrics.to_frame())
    for name in rep.metrics.table_names():
        section, table = name.split(".", 1)
        out[f"metrics_{section}_{table}"] = (f"Supervisory metrics, {name}", rep.metrics.table(name))
    out["provenance_edges"] = ("Every input edge with its date and source", _edges(rep.network))
    out["provenance_node_estimates"] = ("Node fields marked as estimates in the input", _node_estimates(rep.network))
    return out


# ---------------------------------------------------------------------------------- document
def _section(blocks, sid: str) -> None:
    blocks.append(Heading(2, dict(SECTIONS)[sid], sid))


def document(rep, figures: dict, tabs: dict) -> list:
    """The blocks of the report, section by section (see :data:`SECTIONS`)."""
    net = rep.network
    meta = net.meta
    b: list = []
    T = lambda name, limit=SHOWN_ROWS, title=None: TableBlock(name, title or tabs[name][0], tabs[name][1], limit)  # noqa: E731
    n_edges = net.n_claims + len(net.holdings) + len(net.positions)

    # -- summary
    _section(b, "summary")
    b.append(Para(f"Graph {meta.get('name', 'graph')!s}" + (f", as of {meta['as_of']}" if meta.get("as_of") else "")
                  + f": {net.n:,} nodes and {n_edges:,} edges ({net.n_claims:,} claims, {len(net.holdings):,} "
                  f"holdings, {len(net.positions):,} secured positions), amounts in "
                  f"{meta.get('currency', 'USD')}; {len(rep.scenarios)} stress scenarios. The input files, their "
                  f"SHA-256 and every parameter are in manifest.json; every table is in tables/ (data dictionary: "
                  f"tables/README.md)."))
    h = rep.headline()
    words = []
    for _, row in h.iterrows():
        value = row["value"]
        if row["unit"] == "USD":
            words.append(f"{row['meaning'][0].upper()}{row['meaning'][1:]}: {usd_words(value)}.")
        else:
            words.append(f"{row['meaning'][0].upper()}{row['meaning'][1:]}: {value:.3g} ({row['unit']}).")
    b.append(Para("The five numbers that matter:"))
    b.append(Bullets(tuple(words)))
    fragile = rep.fragile(5)
    if len(fragile):
        b.append(Para("The most fragile points (reverse stress, smallest breaking shocks first):"))
        b.append(Bullets(tuple(
            f"{_shock_words(r.shock_type, r.node, r.breaking_shock, r.target)[0].upper()}"
            f"{_shock_words(r.shock_type, r.node, r.breaking_shock, r.target)[1:]} "
            f"({usd_words(r.value_at_breaking_shock) if r.target.startswith(('bad_debt', 'total_loss')) else f'{r.value_at_breaking_shock:g}'}"
            f" at that shock)." for r in fragile.itertuples())))
    elif rep.reverse:
        b.append(Para("No shock searched breaches its target up to the largest shock (see the reverse stress tables)."))
    b.append(T("headline", None))
    if rep.notes:
        b.append(Para("What the analyses reported:"))
        b.append(Bullets(tuple(rep.notes)))

    # -- network
    _section(b, "network")
    if "network" in figures:
        b.append(FigureBlock(figures["network"]))
    b.append(T("nodes", 20))

    # -- hubs
    _section(b, "hubs")
    b.append(Para("Every ranking method scores each node by how much distress it spreads (rank 1 = most systemic; "
                  "ties share a rank): DebtRank and differential DebtRank (share of the system's economic value "
                  "lost when the node fails), Furfine's sequential defaults (losses of the cascade), clearing-based "
                  "impact (loss to everybody else when the node loses its external assets), vulnerability (the "
                  "node's own mean loss over the shocks of all others), amplification (system loss per unit lost at "
                  "the node) and the centralities PageRank, Katz and eigenvector of the exposure graph. Kendall's "
                  "tau-b between the methods' scores says how far they agree."))
    b.append(T("ranking"))
    if "agreement" in figures:
        b.append(FigureBlock(figures["agreement"]))
    if "ranking_agreement" in tabs:
        b.append(T("ranking_agreement", None))

    # -- stress
    _section(b, "stress")
    if rep.stress is None:
        b.append(Para("No scenario file was given: no named scenarios were run. The reverse stress searches below "
                      "need none."))
    else:
        b.append(Para("Each scenario is solved to the joint fixed point of clearing, token prices, liquidations and "
                      "fire sales. Total loss is the fall of every node's equity; bad debt is debt that no "
                      "collateral covers after liquidation; defaults come in rounds (waves) of the cascade."))
        b.append(T("stress_scenarios", None))
        for name in ("stress", "waves", "prices"):
            if name in figures:
                b.append(FigureBlock(figures[name]))
        b.append(T("stress_scenario_list", None))
        b.append(T("stress_rounds", 40))
        b.append(Para("Each node and each token in each scenario: tables/stress_nodes.csv and tables/stress_tokens.csv."))
    for s in rep.reverse:
        b.append(Heading(3, f"Reverse stress: {s.shock_type}", f"reverse-{s.shock_type.replace('_', '-')}"))
        scope = (f"every eligible node ({s.eligible})" if len(s.nodes) == s.eligible else
                 f"the {len(s.nodes)} most systemic by DebtRank of {s.eligible} eligible nodes")
        b.append(Para(f"The smallest {s.shock_type} shock that breaches {s.result.target}, by bisection to "
                      f"{s.result.precision:g} of the largest shock {s.result.max_shock:g}, for {scope}; most fragile "
                      f"first, a node that does not breach even at the largest shock last with an empty breaking "
                      f"shock. Without any shock, {s.result.target.metric} is {s.result.value_at_zero:g}."))
        b.append(T(f"reverse_{s.shock_type}"))

    # -- metrics
    _section(b, "metrics")
    b.append(Para("The supervisory metrics, section by section, each with what it measures and the report it "
                  "answers to. Formulas and sources: docs/metrics.md. Liquidity mismatch and concentration have "
                  "sections of their own below."))
    figures_frame = rep.metrics.to_frame()
    for name, sec in rep.metrics.sections.items():
        head, what, answers = METRIC_SECTIONS.get(name, (name, "", ""))
        b.append(Heading(3, head, f"metrics-{name.replace('_', '-')}"))
        b.append(Para(f"What it measures: {what}. Answers to: {answers}."))
        frame = figures_frame[figures_frame["section"] == name][["metric", "value"]].reset_index(drop=True)
        b.append(TableBlock("metrics", f"{head}: figures", frame, None))
        if name in ("liquidity_mismatch", "concentration"):
            continue
        for t in sec.tables:
            b.append(T(f"metrics_{name}_{t}", 15))

    # -- liquidation
    _section(b, "liquidation")
    b.append(Para("As each collateral token's price falls, more collateral becomes liquidatable: that is collateral "
                  "changing hands, not a loss. Bad debt (debt left uncovered once the collateral is gone) is a loss "
                  "and is shown apart."))
    if "curves" in figures:
        b.append(FigureBlock(figures["curves"]))
    else:
        b.append(Para("The graph has no secured positions: there is nothing to liquidate."))
    b.append(T("metrics_liquidity_mismatch_tokens"))
    b.append(Para("Every point of every curve: tables/metrics_liquidity_mismatch_curves.csv."))

    # -- concentration
    _section(b, "concentration")
    c = rep.metrics["concentration"].values
    b.append(Para(f"The three largest protocols hold {_pct(c['top3_share'])} of gross TVL, the ten largest "
                  f"{_pct(c['top10_share'])}; Herfindahl index {c['herfindahl']:.3g}. Below, each lender's largest "
                  f"single exposure and each token's largest holder, as risk firms report top suppliers and "
                  f"borrowers."))
    if "concentration" in figures:
        b.append(FigureBlock(figures["concentration"]))
    for t in ("tvl_shares", "largest_exposure_by_lender", "largest_holder_by_token"):
        if f"metrics_concentration_{t}" in tabs:
            b.append(T(f"metrics_concentration_{t}", 15))

    # -- provenance
    _section(b, "provenance")
    edges = tabs["provenance_edges"][1]
    src = meta.get("source")
    b.append(Para(f"Graph {meta.get('name', 'graph')!s}" + (f", reference date {meta['as_of']}" if meta.get("as_of")
                                                             else "") + (f", compiled from {src}" if src else "")
                  + (f". {meta['description']}" if meta.get("description") else ".")))
    dated = edges["as_of"].notna()
    if len(edges):
        first, last = (edges.loc[dated, "as_of"].astype(str).min(), edges.loc[dated, "as_of"].astype(str).max()) \
            if dated.any() else ("–", "–")
        b.append(Para(f"{len(edges):,} input edges; {int(dated.sum()):,} carry a date (from {first} to {last}) and "
                      f"{int(edges['source'].notna().sum()):,} a source; {int(edges['estimate'].sum()):,} amounts are "
                      f"derived estimates (computed or estimated from a sourced figure: estimate = true). Amounts of "
                      f"different dates are not re-priced."))
    b.append(T("provenance_edges", EDGES_LISTED))
    if len(tabs["provenance_node_estimates"][1]):
        b.append(T("provenance_node_estimates", 50))
    b.append(Para("The model and its parameters:"))
    p = rep.parameters
    rk = p["rank"]
    items = [
        "Clearing: Eisenberg–Noe (alpha = beta = 1: no default costs); on a graph with holdings or secured "
        "positions, the joint fixed point of clearing, token prices, liquidations and fire sales "
        f"(tol {p['stress']['tol']:g}, at most {p['stress']['max_iter']} rounds).",
        "Ranking: " + ", ".join(f"{k} = {v}" for k, v in rk.items() if k not in ("method", "top")) + ".",
        f"Supervisory metrics: price move {p['metrics']['price_move']:g} for liquidity mismatch, "
        f"{p['metrics']['points']} points per liquidation curve.",
    ]
    for s in p["reverse_stress"]:
        items.append(f"Reverse stress {s['shock_type']}: target {s['target']}, precision {s['precision']:g} of the "
                     f"largest shock {s['max_shock']:g}, {len(s['nodes'])} of {s['eligible']} eligible nodes.")
    items.append("Network drawing: spring layout (Fruchterman–Reingold) with a fixed seed; nothing in the report "
                 "is random.")
    b.append(Bullets(tuple(items)))

    # -- methods
    _section(b, "methods")
    b.append(Bullets((
        "Clearing (Eisenberg & Noe 2001; Rogers & Veraart 2013): the greatest payment vector p with "
        "p_i = min(obligations_i, assets_i), assets = external assets + what others pay i.",
        "DebtRank (Battiston et al. 2012) and differential DebtRank (Bardoscia et al. 2015): relative equity losses "
        "passed along exposures, each node passing distress once (DebtRank) or every increment (differential).",
        "Furfine (2003): sequential defaults, a creditor losing its exposure to a defaulted debtor times the loss "
        "given default.",
        "Impact, vulnerability, amplification: clearings of the network with one node's external assets cut; "
        "Kendall's tau-b (Kendall 1945) compares the methods' orders.",
        "Reverse stress (Grigat & Caccioli 2017): bisection on the size of one shock for the smallest one that "
        "breaches a target; losses, bad debt and defaults do not decrease as a shock grows.",
        "Supervisory metrics: the sections of docs/metrics.md (FSB 2023, ESRB 2023, ESMA 2023, BIS 2023, "
        "IMF 2023; Luo et al. 2024 for the netted value).",
    )))
    b.append(Para("References:"))
    b.append(Bullets(REFERENCES))
    return b


def stress_columns() -> tuple:
    """The columns of the scenario summary (what ``exposure stress`` writes)."""
    return SUMMARY_COLUMNS

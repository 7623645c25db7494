"""The data dictionary of a report's tables (``tables/README.md``): each table, each column, its unit
and its definition, as supervisory templates come with one.

:data:`COLUMNS` defines a column by its name, :data:`IN_TABLE` where one name means something
else in one table; :func:`missing` lists the columns of a report that neither defines (the
test suite keeps it empty), and :func:`data_dictionary` writes the Markdown file.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["COLUMNS", "IN_TABLE", "TABLE_SOURCES", "column_entry", "missing", "data_dictionary"]

USD = "USD"
SHARE = "share (0–1)"
COUNT = "count"
TEXT = "text"
FLAG = "true/false"
RANK = "rank (1 = first)"
ROUND = "round of the cascade"

#: Column name -> (unit, definition).
COLUMNS: dict[str, tuple[str, str]] = {
    # identifiers
    "node": (TEXT, "node id of the graph"),
    "kind": (TEXT, "node kind of the graph (protocol, token, asset, position, external, venue, ...)"),
    "label": (TEXT, "the node's label in the graph"),
    "token": (TEXT, "id of a token or base-asset node"),
    "scenario": (TEXT, "scenario name of the scenario file"),
    "section": (TEXT, "section of the supervisory metrics (size, leverage, concentration, ...)"),
    "metric": (TEXT, "name of the figure (docs/metrics.md defines each)"),
    "value": ("as the figure states (USD, share, count, ratio)", "the figure's value"),
    "figure": (TEXT, "name of a headline figure"),
    "unit": (TEXT, "unit of the headline figure"),
    "meaning": (TEXT, "the headline figure in words"),
    # ranking
    "score": ("as the method", "the method's score; larger = more systemic"),
    "rank": (RANK, "rank by score, ties sharing the smallest rank"),
    "debtrank": ("share of system value", "DebtRank: economic value lost by all others when the node fails (Battiston et al. 2012)"),
    "debtrank_rank": (RANK, "rank by DebtRank"),
    "differential-debtrank": ("share of system value", "differential DebtRank (Bardoscia et al. 2015)"),
    "differential-debtrank_rank": (RANK, "rank by differential DebtRank"),
    "furfine": (USD, "losses of the sequential-default cascade started by the node's default (Furfine 2003)"),
    "furfine_rank": (RANK, "rank by the Furfine cascade"),
    "impact": (USD, "loss to every other node when the node loses its external assets (clearing)"),
    "impact_rank": (RANK, "rank by impact"),
    "vulnerability": (USD, "the node's own mean loss over the shocks of every other node"),
    "vulnerability_rank": (RANK, "rank by vulnerability"),
    "amplification": ("USD per USD", "system loss per unit lost at the node"),
    "amplification_rank": (RANK, "rank by amplification"),
    "pagerank": (SHARE, "PageRank of the exposure graph (damping 0.85)"),
    "pagerank_rank": (RANK, "rank by PageRank"),
    "katz": ("score", "Katz centrality of the exposure graph (attenuation 0.1)"),
    "katz_rank": (RANK, "rank by Katz centrality"),
    "eigenvector": ("score", "eigenvector centrality (empty where the exposure graph is not strongly connected)"),
    "eigenvector_rank": (RANK, "rank by eigenvector centrality"),
    "method_a": (TEXT, "first ranking method of the pair"),
    "method_b": (TEXT, "second ranking method of the pair"),
    "tau": ("−1 to 1", "Kendall's tau-b between the two methods' scores (Kendall 1945)"),
    "pvalue": ("probability", "p-value of tau-b against no association"),
    "n": (COUNT, "nodes both methods score"),
    # stress
    "total_loss": (USD, "sum of every node's fall of equity in the scenario"),
    "bad_debt": (USD, "debt that no collateral covers once liquidations have run (a loss)"),
    "liquidated": (USD, "collateral sold in liquidations, at reference prices (not a loss)"),
    "n_defaults": (COUNT, "nodes in default (cannot pay what they owe)"),
    "n_impaired": (COUNT, "nodes owing shares whose value fell (impaired, not in default)"),
    "buffer_used": (USD, "first-loss capital drawn before creditors lose"),
    "external_creditor_loss": (USD, "loss of creditors outside the graph"),
    "rounds": (COUNT, "rounds of the joint loop until it converged"),
    "converged": (FLAG, "the solve reached its tolerance"),
    "status": ("code", "0 converged, 1 iteration limit, 2 numerical failure, 3 not defined on this input"),
    "total_shortfall": (USD, "sum over nodes of what they owe minus what they pay"),
    "equity_before": (USD, "equity at reference prices, before the scenario"),
    "equity_after": (USD, "equity after the scenario"),
    "loss": (USD, "equity_before − equity_after"),
    "defaulted": (FLAG, "the node is in default after the scenario"),
    "default_round": (ROUND, "round in which the node defaulted (0: never)"),
    "impaired": (FLAG, "the node owes shares and their value fell"),
    "price_before": ("USD per unit", "market price before the scenario"),
    "price_after": ("USD per unit", "market price after the scenario"),
    "redemption_value": ("USD per unit", "what one unit redeems for at its issuer after the scenario"),
    "description": (TEXT, "what the scenario recalls"),
    "source": (TEXT, "where the figure or the scenario comes from (address or document)"),
    "shocks": (TEXT, "the scenario's shocks: type, node and size"),
    "round": (ROUND, "round of the cascade (1 = the shock itself)"),
    "liquidations": (COUNT, "positions liquidated in the round"),
    "repaid": (USD, "debt repaid by liquidations in the round"),
    "sold": (USD, "collateral sold into the market in the round"),
    "new_defaults": (COUNT, "nodes newly in default in the round (a wave)"),
    "prices_moved": (COUNT, "tokens whose price first fell in the round"),
    "min_price": ("ratio to reference", "lowest market price ratio after the round"),
    # reverse stress
    "shock_type": (TEXT, "price (fall of a base asset's price), depeg (of a token's market price), asset_loss "
                         "(share of a node's own assets lost)"),
    "breaking_shock": ("share of the largest shock", "smallest shock size that breaches the target (empty: none up to the largest)"),
    "target": (TEXT, "metric, comparison and threshold the shock must breach"),
    "value_at_breaking_shock": ("as the target's metric", "the metric at the breaking shock"),
    "value_at_max_shock": ("as the target's metric", "the metric at the largest shock searched"),
    "evaluations": (COUNT, "solves the search took"),
    # network and provenance
    "edge": ("position", "the edge's position among all edges of the input file"),
    "owes": (TEXT, "the side that owes: debtor of a claim, token of a holding, borrower of a position"),
    "owed": (TEXT, "the side owed: creditor, holder, lender"),
    "amount": (USD, "face value"),
    "collateral": (USD, "collateral at reference prices"),
    "as_of": ("date (YYYY-MM-DD)", "date of the figure in its source"),
    "estimate": (FLAG, "the amount is a derived estimate (computed or estimated from a sourced figure)"),
    "note": (TEXT, "how the figure was read or estimated"),
    "field": (TEXT, "the node field marked as an estimate"),
    # metrics (docs/metrics.md)
    "tvl": (USD, "value held as an aggregator counts it (TVL)"),
    "netted_value": (USD, "value held in base assets or declared external assets (TVR, Luo et al. 2024)"),
    "derivative_value": (USD, "tvl − netted_value: value held as other protocols' tokens and claims"),
    "derivative_share": (SHARE, "derivative_value / tvl"),
    "share_of_tvl": (SHARE, "tvl / gross TVL"),
    "base_asset": (TEXT, "base asset the value rests on"),
    "tvl_resting": (USD, "TVL resting on the base asset"),
    "multiplier": ("ratio", "money multiplier tvl_resting / netted_value of the base asset"),
    "share_of_netted": (SHARE, "the base asset's share of the netted value"),
    "assets": (USD, "total assets at face value"),
    "equity": (USD, "assets − obligations at face value"),
    "leverage": ("ratio", "assets / equity (infinite where equity ≤ 0)"),
    "cycle": (TEXT, "the nodes of the cycle, in order"),
    "ltv_product": ("ratio", "product of the loan-to-values around the loop"),
    "effective_leverage": ("ratio", "1 / (1 − ltv_product): collateral carried per unit of own capital"),
    "lender": (TEXT, "the lending node"),
    "positions": (COUNT, "secured positions"),
    "debt": (USD, "debt at face value"),
    "position_leverage": ("ratio", "collateral / (collateral − debt) now"),
    "largest_exposure_to": (TEXT, "node of the lender's largest single exposure"),
    "share_of_exposures": (SHARE, "that exposure / all the lender's exposures"),
    "largest_holder": (TEXT, "the token's largest holder"),
    "held": (USD, "all holdings of the token, collateral locked with lenders included"),
    "share_of_token": (SHARE, "largest holder's amount / held"),
    "in_network_assets": (USD, "claims on other nodes of the graph"),
    "in_network_liabilities": (USD, "what the node owes other nodes of the graph"),
    "base_assets": (USD, "declared external assets plus holdings of base assets"),
    "interconnected_share": (SHARE, "in_network_assets / (in_network_assets + base_assets)"),
    "counterparties_owed": (COUNT, "nodes the node owes"),
    "counterparties_held": (COUNT, "nodes the node holds claims on"),
    "length": (COUNT, "edges of the cycle"),
    "min_amount": (USD, "smallest amount on the cycle"),
    "liquidatable": (USD, "collateral liquidatable at the price move (not a loss)"),
    "depth": (USD, "market depth of the token"),
    "liquidatable_to_depth": ("ratio", "liquidatable / depth"),
    "price_impact": (SHARE, "price impact of selling the liquidatable collateral into the depth"),
    "price_fall": (SHARE, "fall of the token's price from its reference"),
    "liquidatable_collateral": (USD, "collateral a liquidator may seize at that fall (not a loss)"),
    "oracle": (TEXT, "oracle type pricing the collateral"),
    "share_of_collateral": (SHARE, "the oracle type's share of all collateral"),
    "liquidates_on_value_fall": (FLAG, "a fall of the collateral's value triggers liquidations"),
    "liquidates_on_depeg": (FLAG, "a market depeg triggers liquidations"),
    "not_liquidatable_on_depeg": (USD, "collateral a depeg cannot liquidate"),
    "held_by_network": (USD, "what nodes of the graph hold on the off-chain node"),
    "creditors": (COUNT, "nodes of the graph holding claims on it"),
    "largest_creditor": (TEXT, "its largest creditor in the graph"),
    "largest_amount": (USD, "the largest creditor's amount"),
    "role": (TEXT, "lender or issuer"),
    "liability_type": (TEXT, "debt or shares"),
    "first_loss": (USD, "first-loss capital of the node"),
    "worst_scenario": (TEXT, "the node's scenario with its largest shortfall before the buffer"),
    "shortfall_before_buffer": (USD, "what the node's assets cannot pay, before its buffer"),
    "shortfall": (USD, "what still reaches its creditors after the buffer"),
    "buffer_coverage": ("ratio", "first_loss / shortfall_before_buffer (≥ 1: covered)"),
}

#: (table, column) -> (unit, definition) where a column means something else in one table.
IN_TABLE: dict[tuple[str, str], tuple[str, str]] = {
    ("nodes", "value"): (USD, "the larger of what the node owes and what it is owed or holds in the graph, at face "
                              "value (its size in the network drawing)"),
    ("headline", "value"): ("as the unit column says", "the figure's value"),
    ("provenance_edges", "kind"): (TEXT, "edge kind: claim, holding or collateral (a secured position)"),
    ("provenance_edges", "amount"): (USD, "face value: claim amount, holding amount, or a position's debt"),
    ("metrics_leverage_loops", "kind"): (TEXT, "position (an aggregate looping position) or cycle (of the token graph)"),
    ("metrics_leverage_loops", "collateral"): (USD, "collateral of the loop's positions"),
    ("metrics_oracle_dependency_oracles", "collateral"): (USD, "collateral priced by the oracle type"),
    ("metrics_liquidity_mismatch_tokens", "collateral"): (USD, "collateral posted in the token"),
    ("metrics_concentration_largest_exposure_by_lender", "amount"): (USD, "the lender's largest single exposure"),
    ("metrics_concentration_largest_holder_by_token", "amount"): (USD, "the largest holder's amount"),
    ("metrics_concentration_largest_exposure_by_lender", "node"): (TEXT, "the lender"),
    ("metrics_liquidity_mismatch_tokens", "bad_debt"): (USD, "bad debt left at the price move"),
    ("metrics_liquidity_mismatch_curves", "bad_debt"): (USD, "bad debt at that fall (a loss)"),
    ("stress_rounds", "bad_debt"): (USD, "bad debt after the round"),
    ("stress_rounds", "n_defaults"): (COUNT, "nodes in default after the round"),
    ("stress_tokens", "liquidated"): (USD, "the token sold in liquidations, at reference prices"),
    ("stress_scenario_list", "source"): (TEXT, "where the scenario's figures come from"),
    ("provenance_node_estimates", "note"): (TEXT, "the input's note on the estimate"),
}

#: What each table is, and the command that writes the same rows (where one does).
TABLE_SOURCES: dict[str, str] = {
    "headline": "the figures of the summary (Report.to_frame())",
    "nodes": "every node with its size in the drawing and its DebtRank",
    "ranking": "`exposure rank GRAPH --method all --format csv`",
    "ranking_agreement": "`exposure rank GRAPH --method all --format json`, key agreement",
    "stress_scenarios": "`exposure stress GRAPH SCENARIO_FILE --format csv`",
    "stress_scenario_list": "the scenarios of SCENARIO_FILE",
    "stress_rounds": "`exposure stress GRAPH SCENARIO_FILE --format json`, each scenario's rounds",
    "stress_nodes": "`exposure stress GRAPH SCENARIO_FILE --detail nodes --format csv`",
    "stress_tokens": "`exposure stress GRAPH SCENARIO_FILE --detail tokens --format csv`",
    "reverse_price": "`exposure stress GRAPH --reverse --shock-type price --target bad_debt>0 --format csv`",
    "reverse_depeg": "`exposure stress GRAPH --reverse --shock-type depeg --target bad_debt>0 --format csv`",
    "reverse_asset_loss": "`exposure stress GRAPH --reverse --shock-type asset_loss --target n_defaults>1 "
                          "--node ... --format csv` (the nodes searched: manifest.json)",
    "metrics": "`exposure metrics GRAPH [SCENARIO_FILE] --format csv`",
    "provenance_edges": "every edge of GRAPH with its as_of, source and estimate flag",
    "provenance_node_estimates": "the node fields GRAPH marks `<field>_estimate: true`",
}


def column_entry(table: str, column: str) -> tuple[str, str] | None:
    """(unit, definition) of a column of a table, or None when the dictionary lacks it."""
    return IN_TABLE.get((table, column)) or COLUMNS.get(column)


def missing(tabs: dict[str, tuple[str, pd.DataFrame]]) -> list[tuple[str, str]]:
    """(table, column) pairs the dictionary does not define."""
    return [(name, c) for name, (_, f) in tabs.items() for c in f.columns if column_entry(name, c) is None]


def _source(name: str) -> str:
    if name in TABLE_SOURCES:
        return TABLE_SOURCES[name]
    if name.startswith("metrics_"):
        section, _, table = name[len("metrics_"):].partition("_")
        for s in ("liquidity_mismatch", "oracle_dependency", "offchain_dependency", "loss_absorption"):
            if name.startswith(f"metrics_{s}_"):
                section, table = s, name[len(f"metrics_{s}_"):]
        return f"`exposure metrics GRAPH [SCENARIO_FILE] --table {section}.{table} --format csv`"
    return ""


def _md(text: str) -> str:
    return str(text).replace("|", "\\|")


def data_dictionary(tabs: dict[str, tuple[str, pd.DataFrame]]) -> str:
    """``tables/README.md``: one entry per table (title, rows, the command that gives it), then its
    columns with unit and definition."""
    out = ["# Data dictionary", "",
           "Every table of the report, every row, as CSV: one header line, booleans `true`/`false`, missing "
           "values empty, every float written with the shortest text that reads back as the same number. "
           "Amounts are USD at the graph's reference prices. Shares are fractions (0.25 = 25%).", ""]
    for name, (title, frame) in tabs.items():
        out += [f"## {name}.csv", "", f"{title}. {len(frame):,} rows. Same rows as: {_source(name) or '—'}.", "",
                "| column | unit | definition |", "|---|---|---|"]
        for c in frame.columns:
            unit, definition = column_entry(name, c) or ("", "")
            out.append(f"| {_md(c)} | {_md(unit)} | {_md(definition)} |")
        out.append("")
    return "\n".join(out)

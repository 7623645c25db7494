"""The figures of a report, drawn with matplotlib as SVG text that is the same on every run.

Every figure is a :class:`matplotlib.figure.Figure` drawn on the SVG canvas (no pyplot, no
display, no global state), saved with a fixed ``svg.hashsalt`` (the ids of clip paths and
glyphs), text kept as text (``svg.fonttype = none``: searchable, scalable, no font outlines)
and no date in the metadata, so that the same inputs give byte-identical files. Each figure is
readable without colour: series differ by hatch, marker and line style too, and the network
drawing labels its hubs with their rank.

Figures stay legible whatever the size of the graph: the network drawing shows the largest and
the most systemic nodes and aggregates the rest into one node; the small multiples show the
first scenarios and tokens and say how many more the tables hold.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exceptions import MissingDependencyError

__all__ = ["Figure", "INSTALL_HINT", "require_matplotlib", "draw_figures", "NETWORK_SHOWN", "HUBS_LABELLED"]

INSTALL_HINT = 'pip install "exposure[report]"'

#: Nodes drawn individually in the network figure (the rest become one aggregate node).
NETWORK_SHOWN = 40
#: Hubs labelled in the network figure: the first ranks of DebtRank.
HUBS_LABELLED = 10
#: Panels of the small multiples (scenarios, tokens).
PANELS = 8
TOKEN_PANELS = 12

_RC = {
    "svg.hashsalt": "exposure-report",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "hatch.linewidth": 0.6,
    "path.simplify": False,
}
_METADATA = {"Date": None, "Creator": "exposure", "Format": None, "Type": None}
_GREY = "#9a9a9a"
_HATCHES = ("", "///", "...", "xxx")
_SHAPES = {"asset": "s", "token": "D", "position": "^", "external": "v", "venue": "P"}


def require_matplotlib():
    """``matplotlib`` (imported), or :class:`MissingDependencyError` saying how to install it."""
    try:
        import matplotlib
        from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError(
            f"The report's figures need matplotlib, which is not installed ({err}). "
            f"Install it with `{INSTALL_HINT}`.") from None
    return matplotlib


@dataclass(frozen=True)
class Figure:
    """One figure: its file name (``figures/<name>.svg``), SVG text, alt text and caption."""

    name: str
    svg: str
    alt: str
    caption: str


def _new(width: float, height: float):
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasSVG(fig)
    return fig


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=_METADATA)
    return buf.getvalue()


def _usd(x: float) -> str:
    """USD in words for a label: 1.2bn, 340m, 12k."""
    a = abs(x)
    for size, unit in ((1e12, "tn"), (1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if a >= size:
            return f"{x / size:.3g}{unit}"
    return f"{x:.3g}"


def _usd_axis(ax, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: _usd(v))
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _grid(n: int, cols: int = 3):
    rows = max(1, math.ceil(n / cols))
    return rows, min(cols, max(n, 1))


# ------------------------------------------------------------------------------------ network
def network_figure(rep) -> Figure:
    """The network: node area by value, colour and label by DebtRank rank, the rest aggregated."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize
    import networkx as nx

    from ..metrics._summary import exposure_graph

    net = rep.network
    ids = np.asarray(net.node_ids.astype(str))
    n = len(ids)
    values = np.asarray(rep.values, dtype=np.float64)
    table = rep.ranking.ranking
    rank_of = dict(zip(table["node"].astype(str), table["debtrank_rank"]))
    ranks = np.array([float(rank_of.get(v)) if pd.notna(rank_of.get(v)) else np.nan for v in ids])
    by_value = np.lexsort((ids, -values))
    by_rank = np.lexsort((ids, np.nan_to_num(ranks, nan=np.inf)))
    if n <= NETWORK_SHOWN:
        shown = np.arange(n)
    else:
        hubs = list(by_rank[:HUBS_LABELLED])
        rest = [i for i in by_value if i not in set(hubs)][:NETWORK_SHOWN - len(hubs)]
        shown = np.array(sorted(hubs + rest))
    slot = np.full(n, len(shown), dtype=np.int64)         # the aggregate node is the last slot
    slot[shown] = np.arange(len(shown))
    others = n - len(shown)
    k = len(shown) + (1 if others else 0)

    A = exposure_graph(net).tocoo()
    src, dst = slot[A.row], slot[A.col]
    keep = (src != dst) & ~((src == len(shown)) & (dst == len(shown)))
    edges = pd.DataFrame({"s": src[keep], "d": dst[keep], "w": A.data[keep]}).groupby(["s", "d"], sort=True)["w"] \
        .sum().reset_index()
    G = nx.Graph()
    G.add_nodes_from(range(k))
    G.add_edges_from(zip(edges["s"].tolist(), edges["d"].tolist()))
    pos = nx.spring_layout(G, seed=7, iterations=200, k=1.6 / math.sqrt(max(k, 1)))
    xy = np.array([pos[i] for i in range(k)])

    size = np.zeros(k)
    size[:len(shown)] = values[shown]
    if others:
        size[-1] = values[slot == len(shown)].sum()
    area = 30.0 + 1800.0 * np.sqrt(size / size.max()) if size.max() > 0 else np.full(k, 60.0)

    fig = _new(9.0, 7.0)
    ax = fig.add_subplot()
    ax.set_axis_off()
    if len(edges):
        w = edges["w"].to_numpy()
        width = 0.3 + 2.2 * np.log1p(w) / np.log1p(w.max())
        segs = [[xy[s], xy[d]] for s, d in zip(edges["s"], edges["d"])]
        ax.add_collection(LineCollection(segs, linewidths=width, colors="#b8b8b8", zorder=1))
    norm = Normalize(vmin=1, vmax=max(2.0, float(np.nanmax(ranks)) if np.isfinite(ranks).any() else 2.0))
    kinds = np.asarray(net.kinds.astype(str))
    shape_of = np.array([_SHAPES.get(kinds[i], "o") for i in shown] + (["s"] if others else []))
    col = np.concatenate([ranks[shown], [np.nan] if others else []])
    scatter = None
    for marker in sorted(set(shape_of)):
        m = shape_of == marker
        ok = m & np.isfinite(col)
        if ok.any():
            scatter = ax.scatter(xy[ok, 0], xy[ok, 1], s=area[ok], c=col[ok], cmap="viridis", norm=norm,
                                 marker=marker, edgecolors="black", linewidths=0.6, zorder=2)
        na = m & ~np.isfinite(col)
        if na.any():
            ax.scatter(xy[na, 0], xy[na, 1], s=area[na], c=_GREY, marker=marker, edgecolors="black",
                       linewidths=0.6, hatch="///", zorder=2)
    if scatter is not None:
        bar = fig.colorbar(scatter, ax=ax, shrink=0.6, pad=0.01)
        bar.set_label("DebtRank rank (1 = most systemic)")
        bar.ax.invert_yaxis()
    hubs = [i for i in by_rank[:HUBS_LABELLED] if slot[i] < len(shown)]
    for i in hubs:
        j = slot[i]
        ax.annotate(f"#{int(ranks[i])} {ids[i]}", xy[j], xytext=(6, 6), textcoords="offset points", fontsize=8,
                    fontweight="bold", zorder=3,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    hub_set = set(int(i) for i in hubs)
    for i in shown:
        if int(i) not in hub_set and len(shown) <= NETWORK_SHOWN:
            ax.annotate(str(ids[i]), xy[slot[i]], xytext=(5, -9), textcoords="offset points", fontsize=6.5,
                        color="#444444", zorder=3)
    if others:
        ax.annotate(f"{others:,} other nodes (aggregate)", xy[-1], xytext=(6, -12), textcoords="offset points",
                    fontsize=8, fontstyle="italic", zorder=3)
    from matplotlib.lines import Line2D

    names = {"o": "protocol or other", "s": "base asset", "D": "token", "^": "borrower group",
             "v": "external party", "P": "venue"}
    handles = [Line2D([], [], marker=mk, ls="", mfc="white", mec="black", label=names[mk])
               for mk in ("o", "D", "s", "^", "v", "P") if mk in set(shape_of)]
    if handles:
        ax.legend(handles=handles, loc="lower left", frameon=False, title="node kind")
    ax.autoscale_view()
    ax.margins(0.08)
    hub_text = ", ".join(f"#{int(ranks[i])} {ids[i]}" for i in hubs)
    shown_text = (f"all {n} nodes" if not others else
                  f"the {len(shown)} largest and most systemic of {n:,} nodes, the other {others:,} as one aggregate node")
    alt = (f"Network drawing of {shown_text}. Node area is proportional to the square root of the node's value "
           f"at face value; colour and the labels give the DebtRank rank. Labelled hubs: {hub_text}.")
    caption = (f"The network: {shown_text}. Area ∝ √(value), value = the larger of what a node owes and what it "
               f"is owed or holds at face value; colour = DebtRank rank (dark = most systemic), hubs labelled "
               f"with their rank; marker = node kind; line width ∝ log of the amount between two nodes "
               f"(edges among the aggregated nodes are not drawn).")
    return Figure("network", _svg(fig), alt, caption)


# ---------------------------------------------------------------------------------- rankings
def agreement_figure(rep) -> Figure | None:
    """Kendall's tau between every pair of methods, as a matrix with the numbers written in."""
    ag = rep.ranking.agreement
    if ag is None or not len(ag):
        return None
    methods = list(dict.fromkeys(list(ag["method_a"]) + list(ag["method_b"])))
    m = len(methods)
    T = np.eye(m)
    at = {v: i for i, v in enumerate(methods)}
    for a, b, t in zip(ag["method_a"], ag["method_b"], ag["tau"]):
        T[at[a], at[b]] = T[at[b], at[a]] = t
    fig = _new(7.5, 6.0)
    ax = fig.add_subplot()
    im = ax.imshow(T, cmap="RdBu", vmin=-1, vmax=1)
    ax.set_xticks(range(m), methods, rotation=45, ha="right")
    ax.set_yticks(range(m), methods)
    for i in range(m):
        for j in range(m):
            text = "n/a" if not np.isfinite(T[i, j]) else f"{T[i, j]:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if np.isfinite(T[i, j]) and abs(T[i, j]) > 0.6 else "black")
    fig.colorbar(im, ax=ax, shrink=0.7, label="Kendall's tau-b")
    alt = (f"Matrix of Kendall's tau-b between the scores of the {m} ranking methods, each cell written as a "
           f"number from -1 (opposite orders) to 1 (the same order); n/a where a method has no scores.")
    return Figure("agreement", _svg(fig), alt, "Agreement of the ranking methods (Kendall's tau-b of their scores).")


# ------------------------------------------------------------------------------------ stress
def stress_figure(rep) -> Figure | None:
    """Loss, bad debt and external creditors' loss of each scenario, side by side."""
    if rep.stress is None or not len(rep.stress.results):
        return None
    s = rep.stress.summary_frame().sort_values("total_loss", ascending=True, kind="stable")
    series = [("total_loss", "total loss", "#4c72b0"), ("bad_debt", "bad debt", "#dd8452"),
              ("external_creditor_loss", "external creditors' loss", "#55a868")]
    y = np.arange(len(s))
    fig = _new(9.0, 1.2 + 0.45 * len(s))
    ax = fig.add_subplot()
    h = 0.8 / len(series)
    for k, (col, label, colour) in enumerate(series):
        v = s[col].to_numpy(dtype=np.float64)
        ax.barh(y + (k - 1) * h, v, height=h, label=label, color=colour, hatch=_HATCHES[k], edgecolor="black",
                linewidth=0.4)
        for yy, vv in zip(y + (k - 1) * h, v):
            if vv > 0:
                ax.text(vv, yy, " " + _usd(vv), va="center", fontsize=7)
    ax.set_yticks(y, s["scenario"])
    _usd_axis(ax)
    ax.set_xlabel("USD")
    ax.legend(loc="lower right")
    ax.margins(x=0.15)
    worst = s.iloc[-1]
    alt = (f"Horizontal bars of total loss, bad debt and external creditors' loss for each of {len(s)} scenarios; "
           f"the largest loss is {_usd(float(worst['total_loss']))} USD in {worst['scenario']}.")
    return Figure("stress", _svg(fig), alt, "Losses of each scenario (USD).")


def waves_figure(rep) -> Figure | None:
    """Per scenario: new defaults in each round of the cascade (bars) and bad debt so far (line)."""
    if rep.stress is None or not len(rep.stress.results):
        return None
    order = np.argsort([-float(r.total_loss) for r in rep.stress.results], kind="stable")[:PANELS]
    rows, cols = _grid(len(order), 2)
    fig = _new(9.0, 0.4 + 2.3 * rows)
    for k, i in enumerate(order):
        sc, res = rep.stress.scenarios[i], rep.stress.results[i]
        rounds = res.rounds_frame()
        ax = fig.add_subplot(rows, cols, k + 1)
        r = rounds["round"].to_numpy()
        ax.bar(r, rounds["new_defaults"].to_numpy(), color="#c44e52", hatch="///", edgecolor="black",
               linewidth=0.4, label="new defaults")
        ax.set_ylabel("new defaults")
        ax.set_xlabel("round")
        ax.set_xticks(r)
        ax.set_ylim(0, max(1, int(rounds["new_defaults"].max()) if len(rounds) else 1) * 1.25)
        tw = ax.twinx()
        tw.plot(r, rounds["bad_debt"].to_numpy(), color="black", marker="o", ls="--", label="bad debt")
        _usd_axis(tw, "y")
        tw.set_ylabel("bad debt (USD)")
        tw.set_ylim(bottom=0)
        ax.set_title(sc.name)
        if k == 0:
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = tw.get_legend_handles_labels()
            ax.legend(h1 + h2, l1 + l2, loc="upper left")
    more = len(rep.stress.results) - len(order)
    alt = (f"Small multiples, one per scenario ({len(order)} largest by total loss): bars give the nodes newly in "
           f"default in each round of the cascade, a dashed line with circles the bad debt after each round.")
    caption = "Defaults and bad debt by round of each scenario's cascade (waves)." + \
        (f" {more} more scenarios in tables/stress_rounds.csv." if more > 0 else "")
    return Figure("waves", _svg(fig), alt, caption)


def prices_figure(rep) -> Figure | None:
    """Per scenario: the tokens whose market price fell, price after as a share of before."""
    if rep.stress is None or not len(rep.stress.results):
        return None
    panels = []
    for sc, res in zip(rep.stress.scenarios, rep.stress.results):
        t = res.tokens_frame()
        moved = t[t["price_ratio"] < 1 - 1e-9].sort_values(["price_ratio", "token"], kind="stable")
        if len(moved):
            panels.append((sc.name, moved.head(10), len(moved)))
    if not panels:
        return None
    panels = panels[:PANELS]
    rows, cols = _grid(len(panels), 2)
    fig = _new(9.0, 0.4 + 2.4 * rows)
    for k, (name, moved, total) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, k + 1)
        y = np.arange(len(moved))[::-1]
        ratio = moved["price_ratio"].to_numpy(dtype=np.float64)
        ax.barh(y, 100 * ratio, color="#8172b3", hatch="...", edgecolor="black", linewidth=0.4)
        for yy, rr, rnd in zip(y, ratio, moved["price_round"]):
            ax.text(100 * rr, yy, f" {100 * rr:.1f}% (round {int(rnd)})", va="center", fontsize=7)
        ax.set_yticks(y, moved["token"])
        ax.set_xlim(0, 135)
        ax.axvline(100, color="black", lw=0.6, ls=":")
        ax.set_xlabel("price after, % of before")
        ax.set_title(name + ("" if total <= 10 else f" (10 of {total} tokens)"))
    alt = (f"Small multiples, one per scenario in which prices moved ({len(panels)} shown): horizontal bars give each "
           f"token's market price after the scenario as a percentage of its price before, with the round of the "
           f"cascade in which it first fell.")
    return Figure("prices", _svg(fig), alt,
                  "Token prices after each scenario (% of the price before; round of the first fall in brackets).")


# ------------------------------------------------------------------------------- liquidation
def curves_figure(rep) -> Figure | None:
    """Liquidation curves per token: liquidatable collateral and bad debt as the price falls."""
    curves = rep.metrics["liquidity_mismatch"].tables.get("curves")
    if curves is None or not len(curves):
        return None
    peak = curves.groupby("token", sort=False)["liquidatable_collateral"].max()
    tokens = sorted(peak.index, key=lambda t: (-float(peak[t]), str(t)))
    shown = tokens[:TOKEN_PANELS]
    rows, cols = _grid(len(shown), 3)
    fig = _new(9.0, 0.4 + 2.1 * rows)
    for k, token in enumerate(shown):
        c = curves[curves["token"] == token]
        ax = fig.add_subplot(rows, cols, k + 1)
        x = 100 * c["price_fall"].to_numpy(dtype=np.float64)
        step = max(1, len(x) // 10)
        ax.plot(x, c["liquidatable_collateral"].to_numpy(), color="#4c72b0", marker="o", markevery=step, ms=3,
                label="liquidatable collateral")
        ax.plot(x, c["bad_debt"].to_numpy(), color="#c44e52", ls="--", marker="x", markevery=step, ms=4,
                label="bad debt")
        _usd_axis(ax, "y")
        ax.set_title(str(token))
        ax.set_xlabel("price fall (%)")
        if k % cols == 0:
            ax.set_ylabel("USD")
        if k == 0:
            ax.legend(loc="upper left")
    more = len(tokens) - len(shown)
    alt = (f"Small multiples, one per collateral token ({len(shown)} of {len(tokens)}, largest first): a solid line "
           f"with circles gives the collateral that can be liquidated as the token's price falls from 0 to 100%, "
           f"a dashed line with crosses the bad debt at that fall.")
    caption = ("Liquidation curves: collateral that becomes liquidatable (not a loss) and bad debt (a loss) as "
               "each token's price falls." + (f" {more} more tokens in tables/metrics_liquidity_mismatch_curves.csv."
                                              if more else ""))
    return Figure("curves", _svg(fig), alt, caption)


def concentration_figure(rep) -> Figure | None:
    """Shares of gross TVL: the ten largest protocols and the rest."""
    shares = rep.metrics["concentration"].tables.get("tvl_shares")
    if shares is None or not len(shares):
        return None
    s = shares.sort_values(["share_of_tvl", "node"], ascending=[False, True], kind="stable")
    top = s.head(10)
    labels = list(top["node"].astype(str))
    vals = list(top["share_of_tvl"].to_numpy(dtype=np.float64))
    if len(s) > 10:
        labels.append(f"{len(s) - 10} other protocols")
        vals.append(float(s["share_of_tvl"].iloc[10:].sum()))
    y = np.arange(len(vals))[::-1]
    fig = _new(9.0, 0.8 + 0.32 * len(vals))
    ax = fig.add_subplot()
    bars = ax.barh(y, 100 * np.array(vals), color="#64b5cd", edgecolor="black", linewidth=0.4)
    if len(s) > 10:
        bars[-1].set_hatch("///")
        bars[-1].set_facecolor(_GREY)
    for yy, v in zip(y, vals):
        ax.text(100 * v, yy, f" {100 * v:.1f}%", va="center", fontsize=7)
    ax.set_yticks(y, labels)
    ax.set_xlabel("share of gross TVL (%)")
    ax.margins(x=0.12)
    c = rep.metrics["concentration"].values
    alt = (f"Horizontal bars of the share of gross TVL of the {len(top)} largest protocols"
           f"{' and of the rest' if len(s) > 10 else ''}; the three largest hold {100 * c['top3_share']:.1f}%.")
    return Figure("concentration", _svg(fig), alt, "Concentration: shares of gross TVL.")


def draw_figures(rep) -> dict[str, Figure]:
    """Every figure of a report by name (a figure with nothing to show is left out)."""
    matplotlib = require_matplotlib()
    out = {}
    with matplotlib.rc_context(_RC):
        for fn in (network_figure, agreement_figure, stress_figure, waves_figure, prices_figure, curves_figure,
                   concentration_figure):
            f = fn(rep)
            if f is not None:
                out[f.name] = f
    return out

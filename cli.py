"""The ``exposure`` command line: a thin veneer over the :mod:`exposure` library.

Conventions shared by every command:

* ``GRAPH`` is a file (``.json``, ``.graphml``, ``.gexf``, ``.csv`` exposure table),
  a directory holding ``nodes.csv`` and ``edges.csv`` (or ``nodes.parquet`` and
  ``edges.parquet``), or ``-`` for standard input
  (JSON unless ``--input-format`` says otherwise).
* ``--format table|csv|json|parquet``: from the suffix of ``-o FILE`` (``.csv``, ``.json``,
  ``.parquet``) when not given, else ``table`` when standard output is a terminal, ``json``
  otherwise; ``parquet`` needs ``-o FILE``. Data go to standard output (or ``-o FILE``, written
  atomically); messages go to standard error.
* Exit codes: 0 success, 1 bad data or failure (``Error: ...`` on stderr), 2 usage error,
  3 non-convergence under ``--strict``. No traceback unless ``--debug``.
"""

from __future__ import annotations

import os
import sys
import warnings

import click
import pandas as pd
from click.core import ParameterSource

import exposure
from exposure import _progress as progress
from exposure.exceptions import ConvergenceError, ConvergenceWarning, ExposureError, InvalidShockError
from exposure.clearing import METHODS as CLEARING_METHODS
from exposure.contagion import METHODS as CONTAGION_METHODS
from exposure.contagion import PER_NODE as PER_NODE_METHODS
from exposure.io import FORMATS as INPUT_FORMATS
from exposure.io import check_graph, read_graph, write_graph
from exposure.io.importers import IMPORT_KINDS, POSITION_MODES, import_graph
from exposure.io.output import FORMATS, frame_records, output_format, write, write_text
from exposure.io.scenarios import read_scenarios, select_scenarios
from exposure.metrics import summarize, supervisory_metrics
from exposure.shocks import parse_shock, read_shock_file
from exposure.simulate import default_model, read_model, simulate
from exposure.stress import reverse_stress, run_scenarios

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
ALPHA_HELP = "Share of external assets a defaulting node realises (Rogers-Veraart)."
BETA_HELP = "Share of claims on others a defaulting node realises (Rogers-Veraart)."


# --------------------------------------------------------------------------- errors
class ExposureGroup(click.Group):
    """Maps library errors onto exit codes: 1 for bad data, 3 for strict non-convergence."""

    def invoke(self, ctx):
        debug = "--debug" in sys.argv[1:] or os.environ.get("EXPOSURE_DEBUG") == "1"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", ConvergenceWarning)
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except ConvergenceError as err:
            if debug:
                raise
            click.echo(f"Error: {err}", err=True)
            ctx.exit(3)
        except (ExposureError, OSError, UnicodeDecodeError) as err:
            if debug:
                raise
            msg = str(err) if not isinstance(err, OSError) or not err.filename else \
                f"{err.filename}: {err.strerror or err}"
            click.echo(f"Error: {msg}", err=True)
            ctx.exit(1)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"Warning: {message}", err=True)


@click.group(cls=ExposureGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(exposure.__version__, "-V", "--version", prog_name="exposure")
@click.option("--debug", is_flag=True, help="Show a full traceback on errors.")
@click.option("-q", "--quiet", is_flag=True,
              help="No progress lines on stderr (shown for long work only when stderr is a terminal).")
def cli(debug, quiet):
    """Systemic exposure analysis of protocol graphs: clearing, contagion ranking, stress.

    Every command reads a graph (JSON, CSV or Parquet directory, GraphML, GEXF, exposure table, or
    - for stdin) and writes data to stdout as a table, CSV or JSON.

    \b
    Example:
        exposure info graphs/defi.json
        exposure clear graphs/defi.json --shock stream=1 --format csv
    """
    progress.set_enabled(False if quiet else None)


def main():
    """Console-script entry point."""
    cli(prog_name="exposure")


# ------------------------------------------------------------------- shared options
def graph_argument(fn):
    """The GRAPH argument plus ``--input-format``."""
    fn = click.option("--input-format", type=click.Choice(INPUT_FORMATS), default=None,
                      help="Format of GRAPH; guessed from the file name, json for stdin.")(fn)
    return click.argument("graph", type=click.Path(allow_dash=True, dir_okay=True))(fn)


def output_options(fn):
    """``--format`` and ``-o/--output``, shared by every command that writes data."""
    fn = click.option("-o", "--output", type=click.Path(allow_dash=True, dir_okay=False), default="-",
                      show_default=True, help="Write data here instead of stdout (written atomically).")(fn)
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                        help="Output format; parquet needs -o FILE [default: from the suffix of -o FILE, "
                             "else table on a terminal, json otherwise].")(fn)


def shock_options(fn):
    """``--shock NODE=FRACTION`` (repeatable) and ``--shock-file FILE``."""
    fn = click.option("--shock-file", type=click.Path(exists=True, dir_okay=False, allow_dash=False),
                      default=None, help='JSON list [{"node": ID, "fraction": F}] of shocks.')(fn)
    return click.option("--shock", "shocks", multiple=True, metavar="NODE=FRACTION",
                        help="Cut NODE's external assets by FRACTION (0..1). Repeatable, once per node.")(fn)


def recovery_options(alpha_help: str, beta_help: str):
    """``--alpha`` and ``--beta``: Rogers-Veraart recovery rates, 1 (Eisenberg-Noe) by default."""
    def wrap(fn):
        fn = click.option("--beta", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
                          help=beta_help)(fn)
        return click.option("--alpha", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
                            help=alpha_help)(fn)
    return wrap


def solver_options(*, tol: float, tol_help: str, max_iter: int | None, max_iter_min: int, max_iter_help: str,
                   strict_help: str, tol_min_open: bool = True):
    """``--tol``, ``--max-iter`` and ``--strict``, with each command's defaults and words."""
    def wrap(fn):
        fn = click.option("--strict", is_flag=True, help=strict_help)(fn)
        fn = click.option("--max-iter", type=click.IntRange(max_iter_min), default=max_iter,
                          show_default=max_iter is not None, help=max_iter_help)(fn)
        return click.option("--tol", type=click.FloatRange(0.0, None, min_open=tol_min_open), default=tol,
                            show_default=True, help=tol_help)(fn)
    return wrap


def executor_options(fn):
    """``--workers N`` and ``--scheduler ADDRESS``: where a command's independent pieces of work run
    (:class:`exposure.executor.Executor`); at most one of them, see :func:`make_executor`."""
    fn = click.option("--scheduler", metavar="ADDRESS", default=None,
                      help="Run on the workers of a running Dask scheduler (tcp://host:8786); "
                           "needs exposure[distributed].")(fn)
    return click.option("--workers", type=click.IntRange(1), metavar="N", default=None,
                        help="Run on a local Dask cluster of N worker processes (same results as in "
                             "process) [default: in this process]; needs exposure[distributed].")(fn)


def check_executor_options(workers: int | None, scheduler: str | None) -> None:
    """Both ``--workers`` and ``--scheduler`` is a usage error (check before slow work)."""
    if workers is not None and scheduler is not None:
        raise click.UsageError("--workers and --scheduler are mutually exclusive: --workers N starts a local "
                               "cluster, --scheduler ADDRESS uses a running one; give one of them.")


def make_executor(workers: int | None, scheduler: str | None) -> exposure.Executor:
    """The executor of ``--workers`` / ``--scheduler``, to use in a ``with`` block (in process with
    neither; Dask missing is an error naming ``pip install exposure[distributed]``)."""
    check_executor_options(workers, scheduler)
    return exposure.Executor(workers=workers, scheduler=scheduler)


def load_graph(graph: str, input_format: str | None):
    """Load GRAPH through the library loader."""
    return read_graph(graph, format=input_format)


def given_options(ctx: click.Context, names) -> dict:
    """The options among ``names`` that the user gave on the command line (not left at a default)."""
    return {n: ctx.params[n] for n in names if ctx.get_parameter_source(n) is not ParameterSource.DEFAULT}


def collect_shocks(shocks, shock_file) -> dict[str, float]:
    """Merge ``--shock`` and ``--shock-file``; a node given twice is an error."""
    out = parse_shock(shocks)
    if shock_file:
        for node, f in read_shock_file(shock_file).items():
            if node in out:
                raise InvalidShockError(f"Node {node!r} is shocked by both --shock and --shock-file.")
            out[node] = f
    return out


def read_simulation_model(model_file: str | None, network):
    """The shock model of ``--model FILE``, or the default one derived from the node kinds."""
    return default_model(network) if model_file is None else read_model(model_file, network)


def resolve_format(fmt: str | None, output: str = "-") -> str:
    """The output format (:func:`exposure.io.output.output_format`); parquet to stdout is a usage error."""
    if fmt == "parquet" and output == "-":
        raise click.UsageError("--format parquet writes a file: give -o FILE.")
    return output_format(fmt, output, sys.stdout.isatty())


def emit(fmt: str, output: str, *, frame: pd.DataFrame | None = None, obj=None,
         tables: list[tuple[str, pd.DataFrame]] | None = None) -> None:
    """Write a result through the library's one writer (:func:`exposure.io.output.write`)."""
    with progress.Progress("writing", total=None if frame is None else len(frame), unit="rows") as bar:
        write(fmt, output, frame=frame, obj=obj, tables=tables)
        bar.update(0 if frame is None else len(frame))


# ========================================================================= commands
# Each command parses its options, calls the public library, and formats the result.


# ------------------------------------------------------------------- validate / info
def _table_options(fn):
    """``--nodes`` and ``--mapping`` for a long exposure table."""
    fn = click.option("--mapping", type=click.Choice(["1", "2"]), default="2", show_default=True,
                      help="Exposure table only: 2 maps deposits/collateral in tokens to holdings and "
                           "sets issuers, 1 maps every row to a claim.")(fn)
    return click.option("--nodes", "nodes_file", type=click.Path(exists=True, dir_okay=False), default=None,
                        help="Exposure table only: a nodes.csv giving node kinds.")(fn)


@cli.command("validate")
@graph_argument
@_table_options
@output_options
def validate_command(graph, input_format, nodes_file, mapping, fmt, output):
    """Check GRAPH and list every problem: file, line or JSON path, node or edge, message.

    Exits 1 when there is any error, 0 otherwise (warnings such as duplicate claims,
    which are summed, do not fail). JSON documents are also checked against the
    graph format's JSON Schema shipped with the package.

    \b
    Example:
        exposure validate graphs/defi.json
        exposure validate my-graph/ --format csv
    """
    fmt = resolve_format(fmt, output)
    net, problems = check_graph(graph, input_format, version=int(mapping), nodes=nodes_file)
    frame = pd.DataFrame([{"severity": p.severity, "file": p.file, "location": p.location, "node": p.node,
                           "message": p.message} for p in problems],
                         columns=["severity", "file", "location", "node", "message"])
    n_err = int((frame["severity"] == "error").sum())
    n_warn = len(frame) - n_err
    obj = {"valid": n_err == 0, "errors": n_err, "warnings": n_warn,
           "nodes": None if net is None else net.n,
           "edges": None if net is None else net.n_claims + len(net.holdings) + len(net.positions),
           "problems": frame_records(frame)}
    if fmt == "table":
        text = "\n".join(str(p) for p in problems) + ("\n" if problems else "")
        write_text(text, output)
    else:
        emit(fmt, output, frame=frame, obj=obj)
    name = "<stdin>" if graph == "-" else graph
    verdict = "invalid" if n_err else "valid"
    size = "" if net is None else f" ({obj['nodes']} nodes, {obj['edges']} edges read)"
    click.echo(f"{name}: {verdict}: {n_err} error{'s' * (n_err != 1)}, {n_warn} warning{'s' * (n_warn != 1)}"
               f"{size}.", err=True)
    if n_err:
        click.get_current_context().exit(1)


@cli.command("info")
@graph_argument
@_table_options
@click.option("--top", type=click.IntRange(1), default=10, show_default=True,
              help="Rows of the largest exposures and most leveraged nodes.")
@click.option("--max-cycles", type=click.IntRange(0), default=10, show_default=True,
              help="Shortest distinct cycles listed (bounded search, never exhaustive).")
@output_options
def info_command(graph, input_format, nodes_file, mapping, top, max_cycles, fmt, output):
    """Describe GRAPH: counts by node and edge kind, totals, largest exposures, cycles, leverage.

    Also reports the double-counting amount: summing every node's assets counts each
    in-network claim and token holding on top of the base value it rests on; the
    difference (gross assets minus external and base-asset value) is shown with the
    layering factor gross / base. CSV output gives the scalar figures as metric,value rows.

    \b
    Example:
        exposure info graphs/defi.json
        exposure info graphs/defi.json --format json --top 5
    """
    fmt = resolve_format(fmt, output)
    net = read_graph(graph, input_format, version=int(mapping), nodes=nodes_file)
    for p in net.problems:
        click.echo(f"Warning: {p}", err=True)
    s = summarize(net, top=top, max_cycles=max_cycles)
    comp = {k: (", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in s.components.items()}
    emit(fmt, output, frame=s.metrics(), obj=s.to_dict(), tables=[
        ("Totals", pd.DataFrame(list(s.totals.items()), columns=["metric", "value"])),
        ("Nodes by kind", s.nodes_by_kind),
        ("Edges by kind", s.edges_by_kind),
        ("Double counting (gross assets = base value + double counted)",
         pd.DataFrame(list(s.double_counting.items()), columns=["metric", "value"])),
        (f"Largest exposures (top {top})", s.largest_exposures),
        ("Strongly connected components", pd.DataFrame(list(comp.items()), columns=["metric", "value"])),
        ("Shortest cycles", s.cycles),
        (f"Most leveraged (total assets / equity at face value, top {top})", s.leverage),
    ])


# ----------------------------------------------------------------------------- clear
def clearing_output(result) -> tuple[pd.DataFrame, dict]:
    """The per-node frame and the summary of a clearing (csv rows, json ``nodes`` and ``summary``)."""
    return result.to_frame(), result.summary()


@cli.command("clear")
@graph_argument
@shock_options
@recovery_options(ALPHA_HELP, BETA_HELP)
@click.option("--method", type=click.Choice(CLEARING_METHODS), default="fictitious-default",
              show_default=True, help="Clearing algorithm; both give the same payments to --tol.")
@solver_options(tol=1e-9, tol_help="Relative tolerance of the default test, the stopping rule and the residual.",
                max_iter=None, max_iter_min=0, max_iter_help="Maximum number of sweeps [default: 100000].",
                strict_help="Exit with code 3 instead of warning when the solver does not converge.")
@output_options
def clear_command(graph, input_format, shocks, shock_file, alpha, beta, method, tol, max_iter, strict, fmt,
                  output):
    """Clear the network: who pays what, who defaults and in which round.

    Eisenberg-Noe clearing (alpha = beta = 1) or Rogers-Veraart clearing with default
    costs: the greatest payment vector p with p_i = min(obligations_i, assets_i) where
    assets = e + (what others pay i). Rounds are those of the fictitious default algorithm
    (1 = fundamental default). Columns: node, obligations, payments, recovery, assets,
    equity, defaulted, default_round, impaired, buffer_used: a node that owes shares
    (liability_type shares) is impaired, never in default, and a node's first_loss
    capital is drawn before its creditors lose (docs/clearing.md).

    On a graph with holdings or secured positions (format version 2) the full
    cross-collateral mechanics is solved (token prices, liquidations, fire sales; see
    docs/mechanics.md): default_round is then the round of that joint loop, --max-iter
    bounds its rounds [default: 1000], and the columns bad_debt, liquidated,
    equity_before and loss follow.

    \b
    Example:
        exposure clear graphs/chain.json --shock a=0.5 --format csv
        exposure clear graphs/defi-v1.json --alpha 0.9 --beta 0.95 --format json
    """
    fmt = resolve_format(fmt, output)
    net = load_graph(graph, input_format)
    shock = collect_shocks(shocks, shock_file)
    with progress.Progress("clearing", unit="nodes") as bar:
        result = exposure.clear(net, shock or None, alpha=alpha, beta=beta, method=method, tol=tol,
                                max_iter=max_iter, strict=strict)
        bar.update(net.n)
    frame, summary = clearing_output(result)
    shown = {k: v for k, v in summary.items() if k != "message"}
    summary_table = pd.DataFrame({"quantity": list(shown), "value": [str(v) for v in shown.values()]})
    emit(fmt, output, frame=frame, obj={"summary": summary, "nodes": frame},
         tables=[("Summary", summary_table), ("Nodes", frame)])


# ---------------------------------------------------------------------------- stress
REVERSE_TYPES = ("price", "depeg", "asset_loss", "forged_supply")


@cli.command("stress")
@graph_argument
@click.argument("scenario_file", required=False, type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--scenario", "names", multiple=True, metavar="NAME",
              help="Run only this scenario (repeatable) [default: every scenario of the file].")
@recovery_options(ALPHA_HELP, BETA_HELP)
@click.option("--detail", type=click.Choice(["summary", "nodes", "tokens"]), default="summary", show_default=True,
              help="Table for csv and table output; json holds every table.")
@solver_options(tol=1e-9, tol_help="Largest change of a price, payment or liquidation in the last round of the "
                "joint loop.", max_iter=1000, max_iter_min=1, max_iter_help="Maximum number of rounds of the joint loop.",
                strict_help="Exit with code 3 instead of warning when a solve does not converge.")
@click.option("--reverse", is_flag=True, help="Reverse stress: the smallest shock that breaches --target.")
@click.option("--shock-type", type=click.Choice(REVERSE_TYPES), default=None,
              help="With --reverse: the kind of shock searched (price and depeg: size = fall of the price).")
@click.option("--node", "nodes", multiple=True, metavar="ID|all",
              help="With --reverse: node to shock (repeatable), or all eligible nodes [default: all].")
@click.option("--target", metavar="METRIC>VALUE", default=None,
              help="With --reverse: bad_debt, total_loss, n_defaults, external_creditor_loss, n_impaired or "
                   "buffer_used, > or >=, a number.")
@click.option("--precision", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=1e-4,
              show_default=True, help="With --reverse: bracket width at which bisection stops, "
              "as a fraction of the shock range.")
@click.option("--max-shock", type=click.FloatRange(0.0, None, min_open=True), default=None,
              help="With --reverse: largest shock searched [default: 1; 10 for forged_supply].")
@click.option("--scan", type=click.IntRange(0), default=0, show_default=True,
              help="With --reverse: evaluate N evenly spaced shocks first, bisect in the first cell that breaches.")
@executor_options
@click.option("--jobs", type=click.IntRange(0), default=None,
              help="Deprecated: use --workers N. With --reverse: N > 1 is --workers N; 0 or 1 run in process.")
@output_options
def stress_command(graph, input_format, scenario_file, names, alpha, beta, detail, tol, max_iter, strict, reverse,
                   shock_type, nodes, target, precision, max_shock, scan, workers, scheduler, jobs, fmt, output):
    """Stress named scenarios through the cross-collateral mechanics, or search the smallest breaking shock.

    Each scenario of SCENARIO_FILE (format exposure-scenario: asset_loss, price, depeg,
    forged_supply, liquidity shocks) is solved to the joint fixed point of clearing,
    token prices, liquidations and fire sales. Summary columns: scenario, total_loss,
    bad_debt, liquidated, n_defaults, n_impaired, buffer_used, external_creditor_loss,
    rounds, converged. --detail nodes: scenario, node, kind, equity_before, equity_after,
    loss, bad_debt, liquidated, defaulted, default_round, impaired, buffer_used. --detail tokens: scenario, token, price_before,
    price_after, redemption_value, liquidated.

    With --reverse, bisection finds for each node the smallest shock of --shock-type
    that breaches --target, to --precision of the shock range, and ranks the nodes,
    most fragile first; a node that does not breach even at the largest shock has an
    empty breaking_shock and comes last. Columns: node, shock_type, breaking_shock,
    target, value_at_breaking_shock. Given SCENARIO_FILE and one --scenario, the
    search adds its shock on top of that scenario. --workers N (a local Dask cluster)
    or --scheduler ADDRESS (a running one) share the nodes among worker processes;
    the table is the same as in process.

    \b
    Example:
        exposure stress graphs/defi.json graphs/scenarios.json
        exposure stress graphs/defi.json graphs/scenarios.json --scenario kelp-forged-supply --detail nodes
        exposure stress graphs/defi.json --reverse --shock-type depeg --node all --target "bad_debt>1e8"
        exposure stress graphs/defi.json --reverse --shock-type asset_loss --target "bad_debt>0" --workers 2
    """
    reverse_only = {"--shock-type": shock_type, "--node": nodes, "--target": target,
                    "--max-shock": max_shock, "--scan": scan, "--jobs": jobs is not None,
                    "--workers": workers, "--scheduler": scheduler,
                    "--precision": precision if precision != 1e-4 else None}
    if not reverse:
        given = [k for k, v in reverse_only.items() if v]
        if given:
            raise click.UsageError(f"{', '.join(given)} only apply with --reverse.")
        if scenario_file is None:
            raise click.UsageError("Missing argument 'SCENARIO_FILE' (or use --reverse).")
    else:
        if names and scenario_file is None:
            raise click.UsageError("--scenario needs SCENARIO_FILE.")
        if detail != "summary":
            raise click.UsageError("--detail applies to scenario runs, not to --reverse.")
        check_executor_options(workers, scheduler)
        missing = [k for k, v in (("--shock-type", shock_type), ("--target", target)) if not v]
        if missing:
            raise click.UsageError(f"--reverse needs {' and '.join(missing)}.")
    fmt = resolve_format(fmt, output)
    if graph == "-" and scenario_file == "-":
        raise click.UsageError("GRAPH and SCENARIO_FILE cannot both be read from standard input.")
    if reverse:
        base = None
        if scenario_file is not None:
            chosen = select_scenarios(read_scenarios(scenario_file), names)
            if len(chosen) != 1:
                raise click.UsageError("--reverse with SCENARIO_FILE searches on top of one scenario; "
                                       f"choose it with --scenario NAME (the file has {len(chosen)}).")
            base = chosen[0]
        net = load_graph(graph, input_format)
        node = "all" if not nodes or "all" in nodes else list(nodes)
        if jobs is not None:
            if workers is not None or scheduler is not None:
                raise click.UsageError("--jobs is a deprecated alias of --workers: give --workers or --scheduler "
                                       "alone.")
            click.echo("Warning: --jobs is deprecated; use --workers N (a local cluster of N processes) or "
                       "--scheduler ADDRESS.", err=True)
            workers = jobs if jobs > 1 else None
        with make_executor(workers, scheduler) as executor:
            result = reverse_stress(net, shock_type, node, target, precision=precision, max_shock=max_shock,
                                    scan=scan, base=base, alpha=alpha, beta=beta, tol=tol, max_iter=max_iter,
                                    executor=executor, strict=strict)
        where = "without any shock" if base is None else f"under scenario {base.name!r} alone"
        click.echo(f"{result.target.metric} {where}: {result.value_at_zero:.6g}; precision "
                   f"{result.precision:g} x {result.max_shock:g}", err=True)
        frame = result.to_frame()
        emit(fmt, output, frame=frame, obj=result.to_dict(),
             tables=[(f"Smallest {shock_type} shock breaching {result.target}", result.table)])
        return
    scenarios = select_scenarios(read_scenarios(scenario_file), names)
    net = load_graph(graph, input_format)
    result = run_scenarios(net, scenarios, alpha, beta, tol=tol, max_iter=max_iter, strict=strict)
    frame = result.to_frame(detail)
    emit(fmt, output, frame=frame, obj=result.to_dict(),
         tables=[({"summary": "Scenarios", "nodes": "Nodes", "tokens": "Tokens"}[detail], frame)])


# --------------------------------------------------------------------------- metrics
#: Sections shown by ``exposure metrics --format table``, with the titles of their tables.
METRIC_TITLES = {
    "size": "Size (gross TVL, netted value = TVR, double counting)",
    "leverage": "Leverage (assets / equity; loops: effective leverage 1 / (1 - ltv_product))",
    "concentration": "Concentration (shares of gross TVL, Herfindahl index, largest exposures)",
    "interconnectedness": "Interconnectedness (claims on other nodes, components, cycles)",
    "liquidity_mismatch": "Liquidity mismatch (liquidatable collateral is not a loss; bad debt is)",
    "oracle_dependency": "Oracle dependency (collateral a market depeg cannot liquidate)",
    "offchain_dependency": "Off-chain dependency (value resting on nodes of kind external or venue)",
    "loss_absorption": "Loss absorption (first-loss capital against the worst scenario's shortfall)",
    "stress": "Stress scenarios",
}


def _metric_tables(m, points: int) -> list[tuple[str, pd.DataFrame]]:
    """Every section for a person: its scalars, then its tables (curves at every 10% of price fall)."""
    out = []
    for name, sec in m.sections.items():
        out.append((f"{METRIC_TITLES[name]}: {name}", pd.DataFrame(list(sec.values.items()), columns=["metric", "value"])))
        for t, frame in sec.tables.items():
            title = f"{name}.{t}"
            if t == "curves" and len(frame):
                step = max(1, (points - 1) // 10)
                frame = frame[(frame.groupby("token").cumcount() % step) == 0]
                title += f" (every {step} of {points} points; --table {name}.{t} for all)"
            out.append((title, frame))
    return out


@cli.command("metrics")
@graph_argument
@click.argument("scenario_file", required=False, type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--scenario", "names", multiple=True, metavar="NAME",
              help="With SCENARIO_FILE: only this scenario (repeatable) [default: every scenario of the file].")
@click.option("--table", "table_name", metavar="SECTION.TABLE", default=None,
              help="Write this one table, wide (e.g. leverage.loops, liquidity_mismatch.curves), "
                   "instead of the long table of scalar figures.")
@click.option("--price-move", type=click.FloatRange(0.0, 1.0), default=0.1, show_default=True,
              help="Price fall at which liquidity_mismatch compares liquidatable collateral with depth.")
@click.option("--points", type=click.IntRange(2), default=101, show_default=True,
              help="Price points of each liquidation curve, from a fall of 0 to 100%.")
@recovery_options(ALPHA_HELP, BETA_HELP)
@solver_options(tol=1e-9, tol_help="Tolerance of the joint loop of each scenario.", max_iter=1000, max_iter_min=1,
                max_iter_help="Maximum number of rounds of the joint loop of each scenario.",
                strict_help="Exit with code 3 instead of warning when a solve does not converge.")
@output_options
def metrics_command(graph, input_format, scenario_file, names, table_name, price_move, points, alpha, beta, tol,
                    max_iter, strict, fmt, output):
    """Supervisory metrics of GRAPH: size, leverage, concentration, interconnectedness, liquidity
    mismatch and liquidation curves, oracle and off-chain dependency, loss absorption; with
    SCENARIO_FILE, the stress results per scenario last.

    JSON is one object with one key per section (size, leverage, concentration,
    interconnectedness, liquidity_mismatch, oracle_dependency, offchain_dependency,
    loss_absorption, stress), each holding its figures and its tables as lists of records.
    CSV is the long table section,metric,value of every scalar figure (pandas: pivot on
    section and metric); --table SECTION.TABLE writes one table wide instead (size.protocols,
    size.money_multiplier, leverage.protocols, leverage.loops, concentration.tvl_shares,
    interconnectedness.nodes, liquidity_mismatch.tokens, liquidity_mismatch.curves,
    oracle_dependency.oracles, offchain_dependency.nodes, loss_absorption.nodes,
    stress.scenarios). Formulas and sources: docs/metrics.md.

    \b
    Example:
        exposure metrics graphs/defi.json
        exposure metrics graphs/defi.json graphs/scenarios.json --format json
        exposure metrics graphs/defi.json --table liquidity_mismatch.curves --format csv
    """
    if names and scenario_file is None:
        raise click.UsageError("--scenario needs SCENARIO_FILE.")
    if graph == "-" and scenario_file == "-":
        raise click.UsageError("GRAPH and SCENARIO_FILE cannot both be read from standard input.")
    fmt = resolve_format(fmt, output)
    scenarios = select_scenarios(read_scenarios(scenario_file), names) if scenario_file is not None else None
    net = load_graph(graph, input_format)
    m = supervisory_metrics(net, scenarios, price_move=price_move, points=points, alpha=alpha, beta=beta, tol=tol,
                            max_iter=max_iter, strict=strict)
    if table_name is not None:
        if table_name not in m.table_names():
            raise click.BadParameter(f"{table_name!r} is not a table; choose one of {', '.join(m.table_names())}.",
                                     param_hint="'--table'")
        frame = m.table(table_name)
        emit(fmt, output, frame=frame, tables=[(table_name, frame)])
        return
    emit(fmt, output, frame=m.to_frame(), obj=m.to_dict(), tables=_metric_tables(m, points))


# ------------------------------------------------------------------------------ rank
RANK_METHODS = (*CONTAGION_METHODS, "all")
RANK_OPTIONS = ("shock_size", "alpha", "beta", "initial_distress", "value", "lgd", "tol", "max_iter")


@cli.command("rank")
@graph_argument
@click.option("--method", type=click.Choice(RANK_METHODS), default="debtrank", show_default=True,
              help="Scoring method; 'all' shows every method side by side with Kendall's tau between them.")
@click.option("--top", type=click.IntRange(1), default=None, help="Show the first N ranks only.")
@shock_options
@recovery_options("Rogers-Veraart recovery on external assets (impact, vulnerability, amplification).",
                  "Rogers-Veraart recovery on claims on others.")
@click.option("--shock-size", type=click.FloatRange(0.0, 1.0, min_open=True), default=1.0, show_default=True,
              help="Fraction of its external assets each node loses in turn (impact, vulnerability).")
@click.option("--initial-distress", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="DebtRank: the seed's initial relative equity loss h(0).")
@click.option("--value", type=click.Choice(["assets", "obligations", "equity"]), default="assets",
              show_default=True, help="DebtRank: economic value v proportional to total assets, "
                                      "obligations or equity.")
@click.option("--lgd", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Furfine: loss given default.")
@solver_options(tol=1e-10, tol_min_open=False,
                tol_help="Differential DebtRank: increments at or below tol are not propagated; impact, "
                "vulnerability, amplification: tolerance of the clearings.", max_iter=10_000, max_iter_min=0,
                max_iter_help="Iteration limit of differential DebtRank, the clearings and the centralities' "
                "power iterations.", strict_help="Exit with code 3 instead of warning when a run does not converge.")
@executor_options
@output_options
@click.pass_context
def rank_command(ctx, graph, input_format, method, top, shocks, shock_file, alpha, beta, shock_size,
                 initial_distress, value, lgd, tol, max_iter, strict, workers, scheduler, fmt, output):
    """Rank nodes by how much distress they spread (rank 1 = most systemic).

    Methods: DebtRank (Battiston et al. 2012), differential DebtRank (Bardoscia et al.
    2015), Furfine sequential defaults, clearing-based impact (loss to everybody else when
    the node loses --shock-size of its external assets), vulnerability (a node's own mean
    loss over the shocks of all others), amplification (system loss per dollar lost at the
    node), and the centralities pagerank, katz, eigenvector of the exposure graph. With
    --shock, every method ranks the shocked network. CSV columns: node, score, rank, then
    the method's own columns; --method all gives <method> and <method>_rank for each method
    (table and json add Kendall's tau between methods). The per-node methods (debtrank,
    impact, vulnerability, also within all) run their seeds on --workers N (a local Dask
    cluster) or --scheduler ADDRESS (a running one), in fixed blocks combined in order:
    the scores are identical to those computed in process.

    \b
    Example:
        exposure rank graphs/defi.json --method debtrank --top 10
        exposure rank graphs/defi.json --method vulnerability --workers 2
        exposure rank graphs/defi.json --method impact --alpha 0.9 --beta 0.9 --format csv
        exposure rank graphs/defi.json --method all --format json
    """
    check_executor_options(workers, scheduler)
    if (workers is not None or scheduler is not None) and method not in (*PER_NODE_METHODS, "all"):
        raise click.UsageError(f"--workers and --scheduler apply to the per-node methods "
                               f"{', '.join(PER_NODE_METHODS)} and all, not to --method {method}.")
    fmt = resolve_format(fmt, output)
    net = load_graph(graph, input_format)
    shock = collect_shocks(shocks, shock_file)
    # only the options given on the command line: one that the method does not take is an error
    options = given_options(ctx, RANK_OPTIONS)
    with make_executor(workers, scheduler) as executor:
        result = exposure.rank(net, method, top=top, shock=shock or None, strict=strict, executor=executor,
                               **options)
    frame = result.to_frame()
    obj = {"method": result.method, "parameters": dict(result.parameters), "ranking": frame}
    tables = [(f"Ranking ({result.method})", frame)]
    if result.agreement is not None:
        obj["agreement"] = result.agreement
        tables.append(("Rank agreement (Kendall's tau)", result.agreement))
    emit(fmt, output, frame=frame, obj=obj, tables=tables)


# -------------------------------------------------------------------------- simulate
def _samples_frame(result, with_nodes: bool) -> pd.DataFrame:
    """The ``--samples`` table: one row per draw, its totals, then (``--samples-nodes``) ``loss:<node>``."""
    frame = result.samples
    if with_nodes:
        losses = result.node_loss_frame()
        losses.columns = [f"loss:{c}" for c in losses.columns]
        frame = pd.concat([frame, losses], axis=1)
    return frame


@cli.command("simulate")
@graph_argument
@click.option("--model", "model_file", type=click.Path(dir_okay=False), default=None,
              help="Shock-model JSON file (docs/simulate.md) [default: derived from the node kinds].")
@click.option("--draws", type=click.IntRange(1), default=10_000, show_default=True, help="Number of draws.")
@click.option("--seed", type=click.IntRange(0), default=None,
              help="Seed of the draws [default: a fresh seed, shown on stderr and in the summary].")
@click.option("--level", "levels", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), multiple=True,
              help="Confidence level of VaR and ES (repeatable; the first gives es_contribution) [default: 0.99].")
@recovery_options(ALPHA_HELP, BETA_HELP)
@solver_options(tol=1e-9, tol_help="Largest change of a price, payment or liquidation in the last round of each "
                "draw's joint loop.", max_iter=1000, max_iter_min=1,
                max_iter_help="Maximum number of rounds of each draw's joint loop.",
                strict_help="Exit with code 3 instead of warning when a draw does not converge.")
@click.option("--chunk-size", type=click.IntRange(1), default=None,
              help="Draws per piece of work, rounded up to whole stream blocks (changes nothing in the result) "
                   "[default: all in process, four chunks per worker on a cluster].")
@executor_options
@click.option("--samples", type=click.Path(dir_okay=False, allow_dash=False), default=None,
              help="Also write every draw's totals to this file (Parquet; CSV when the name ends in .csv).")
@click.option("--samples-nodes", is_flag=True, help="With --samples: add every node's loss per draw (loss:<node>).")
@output_options
def simulate_command(graph, input_format, model_file, draws, seed, levels, alpha, beta, tol, max_iter, strict,
                     chunk_size, workers, scheduler, samples, samples_nodes, fmt, output):
    """Monte Carlo of GRAPH's losses under joint shocks: loss distribution, VaR, ES, default probabilities.

    Each draw is a joint shock from the shock model (--model FILE: a one-factor market or a
    covariance of returns, Student-t tails, jumps for hacks and depegs; without it a model
    derived from the node kinds), cleared with the cross-collateral mechanics (Eisenberg-Noe,
    or Rogers-Veraart with --alpha/--beta), a block of draws at once. CSV columns: node, pd,
    expected_loss, es_contribution, contagious_pd (probability of defaulting in round 2 or
    later). JSON: {"summary": {draws, seed, var, es, var_se, es_se, mean_loss, mean_defaults,
    distribution, ...}, "nodes": [...]}. The same seed gives the same result bit for bit
    whatever --chunk-size, in process or on --workers N (a local Dask cluster) or --scheduler
    ADDRESS (a running one). A progress line is shown on a terminal.

    \b
    Example:
        exposure simulate graphs/defi.json --draws 2000 --seed 1
        exposure simulate graphs/defi.json --draws 2000 --seed 1 --level 0.99 --level 0.999 --format json
        exposure simulate graphs/chain.json --model tests/data/simulate/chain-jumps.json --draws 1000 --format csv
    """
    check_executor_options(workers, scheduler)
    if samples_nodes and samples is None:
        raise click.UsageError("--samples-nodes needs --samples FILE.")
    fmt = resolve_format(fmt, output)
    net = load_graph(graph, input_format)
    model = read_simulation_model(model_file, net)
    with make_executor(workers, scheduler) as executor:
        result = simulate(net, model, draws=draws, seed=seed, levels=levels or (0.99,), alpha=alpha, beta=beta,
                          tol=tol, max_iter=max_iter, chunk_size=chunk_size, keep_nodes=samples_nodes,
                          executor=executor, strict=strict)
    q = result.levels[0]
    click.echo(f"simulate: {result.draws} draws, seed {result.seed}, model {result.model.name}: VaR {q:g} "
               f"{result.var[q]:.6g} (± {result.var_se[q]:.3g}), ES {q:g} {result.es[q]:.6g} "
               f"(± {result.es_se[q]:.3g}); {result.message}", err=True)
    summary = result.summary()
    if samples is not None:
        sfmt = "csv" if samples.lower().endswith(".csv") else "parquet"
        write(sfmt, samples, frame=_samples_frame(result, samples_nodes), obj={"summary": summary})
    frame = result.to_frame()
    shown = {k: v for k, v in summary.items() if not isinstance(v, (dict, list))}
    summary_table = pd.DataFrame({"quantity": list(shown), "value": [str(v) for v in shown.values()]})
    emit(fmt, output, frame=frame, obj={"summary": summary, "nodes": frame}, tables=[
        ("Summary", summary_table),
        ("VaR and ES of the total loss", result.risk_table()),
        ("Distribution of the per-draw totals", result.distribution_table()),
        (f"Nodes (by contribution to ES at {q:g})",
         frame.sort_values(["es_contribution", "expected_loss"], ascending=False, kind="stable")),
    ])


# ---------------------------------------------------------------------------- report
@cli.command("report")
@graph_argument
@click.argument("scenario_file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--title", default=None, metavar="T",
              help="Title of the report [default: Systemic exposure report: <graph name>].")
@click.option("-o", "--out", "out", required=True, type=click.Path(file_okay=False),
              help="Directory to write (written atomically; an earlier report there is replaced).")
def report_command(graph, input_format, scenario_file, title, out):
    """Write a report a supervisor can file: HTML, Markdown, figures, tables and a manifest.

    Runs the ranking of every method, the supervisory metrics, the scenarios of SCENARIO_FILE
    and reverse stress (the most fragile points), each with its command's defaults, and
    writes DIR atomically: report.html (self-contained: figures inline, no script, nothing
    fetched), report.md with figures/*.svg, tables/*.csv with tables/README.md (the data
    dictionary), results.json, and manifest.json (version, command line, input files with
    SHA-256, parameters, seed, creation time, every file with its SHA-256). The same inputs
    give the same bytes in every file but manifest.json. Needs matplotlib: pip install
    "exposure[report]". Sections and figures: docs/report.md.

    \b
    Example:
        exposure report graphs/defi.json graphs/scenarios.json --out defi-report
        exposure report graphs/chain.json --title "Chain of three" --out chain-report
    """
    from exposure.report import build_report, check_out, input_files, require_matplotlib, write_report

    if graph == "-":
        raise click.UsageError("exposure report reads GRAPH from a file or directory (its SHA-256 goes into "
                               "manifest.json), not from standard input.")
    require_matplotlib()                      # before any slow work: say how to install it
    check_out(out)
    scenarios = read_scenarios(scenario_file) if scenario_file is not None else None
    net = load_graph(graph, input_format)
    command = ["exposure", "report", graph] + ([scenario_file] if scenario_file else []) + \
        (["--input-format", input_format] if input_format else []) + (["--title", title] if title else []) + \
        ["--out", out]
    inputs = input_files("graph", graph) + (input_files("scenarios", scenario_file) if scenario_file else [])
    with progress.Progress("report", total=None, unit="sections") as bar:
        rep = build_report(net, scenarios, title=title)
        manifest = write_report(rep, out, command=command, inputs=inputs)
        bar.update(0)
    click.echo(f"{out}: report written ({len(manifest['files']) + 1} files).", err=True)


# ---------------------------------------------------------------------------- import
@cli.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--from", "kind", type=click.Choice(IMPORT_KINDS), required=True,
              help="Kind of the exported files (docs/import.md describes each).")
@click.option("--as-of", metavar="DATE", default=None,
              help="Date of the graph (YYYY-MM-DD): the latest DeFiLlama point and price on or before it, "
                   "Dune flows up to its end [default: the export's own date].")
@click.option("--prices", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Price table CSV token,price_usd,as_of: native amounts are valued at these prices.")
@click.option("--into", type=click.Path(allow_dash=False), default=None,
              help="Merge into this graph by node id (its nodes keep their fields).")
@click.option("--positions", type=click.Choice(POSITION_MODES), default="aggregate", show_default=True,
              help="Subgraphs and Dune: sum positions per (collateral, debt, e-mode), or one per account.")
@click.option("--strict", is_flag=True, help="Treat every warning as an error: exit 1 and write nothing.")
@click.option("-o", "--output", type=click.Path(allow_dash=True), required=True,
              help="The graph to write: .json, .graphml, .gexf, a directory (CSV), or - for JSON on stdout.")
def import_command(sources, kind, as_of, prices, into, positions, strict, output):
    """Build a version-2 graph from analysts' exports (DeFiLlama, subgraphs, Dune, tables).

    SOURCE... are saved files of one kind: DeFiLlama /protocol/{slug}, /protocols, /lendBorrow
    and /pools responses (defillama); Aave v3 subgraph responses with reserves and userReserves
    (aave-subgraph); Morpho Blue subgraph responses with markets, positions and metaMorphos
    (morpho-subgraph); Dune lending.borrow / lending.supply CSV exports (dune-lending); a long
    exposure table with optional parameter columns and a node table (table). What cannot be
    mapped (unknown token, missing price, unit that cannot be inferred) is reported on stderr
    as Warning: lines with counts; --strict makes them errors.

    \b
    Example:
        exposure import tests/data/importers/aave_core.json --from aave-subgraph -o aave.json
        exposure import tests/data/importers/morpho_blue.json --from morpho-subgraph --into aave.json -o both.json
    """
    result = import_graph(list(sources), kind, as_of=as_of, prices=prices, into=into, strict=strict,
                          positions=positions)
    for p in result.problems:
        where = ": ".join(x for x in (p.file, p.location) if x)
        click.echo(f"Warning: {where + ': ' if where else ''}{p.message}", err=True)
    if output == "-":
        write_graph(result.network, sys.stdout, format="json")
    else:
        write_graph(result.network, output)
    click.echo(f"{output}: {result.message}.", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()

"""Reports a supervisor can file: ``exposure report``.

:func:`build_report` runs every analysis a report shows, each with its command's defaults —
the ranking of every method (:func:`exposure.rank`), the supervisory metrics and, with
scenarios, the stress runs (:func:`exposure.metrics.supervisory_metrics`), and reverse stress
for the most fragile points (:func:`exposure.reverse_stress`) — and returns a :class:`Report`.
:func:`write_report` writes it as one directory, atomically::

    report.html          self-contained: figures as SVG data, CSS inline, no script, nothing fetched
    report.md            the same content in Markdown, figures beside it in figures/
    tables/*.csv         every table, every row; tables/README.md is the data dictionary
    results.json         every result as its command's JSON gives it
    manifest.json        tool version, command line, inputs with SHA-256, parameters, seed,
                         creation time, every file written with its SHA-256

Sections: summary (the five numbers that matter, the most fragile points), the network, contagion
hubs, stress scenarios (with reverse stress), supervisory metrics, liquidation curves,
concentration, data and provenance, method notes and references (:data:`SECTIONS`).

Tables go through :mod:`exposure.io.output`, the writer of every command, so the report's
numbers are those of ``exposure rank``, ``exposure stress`` and ``exposure metrics`` for the
same inputs. The same inputs give the same bytes in every file but ``manifest.json`` (figures
with fixed SVG ids and no date, no time stamp anywhere else). Figures need matplotlib, the
optional extra ``exposure[report]``; without it :func:`write_report` raises
:class:`~exposure.exceptions.MissingDependencyError` saying how to install it.

Examples
--------
>>> import exposure, tempfile, os
>>> from exposure.report import build_report, write_report
>>> rep = build_report(exposure.read_graph("graphs/chain.json"))
>>> rep.to_frame()["figure"].tolist()
['netted_value', 'worst_scenario_loss', 'worst_scenario_bad_debt', 'liquidatable_at_price_move', 'top_debtrank']
"""

from ._build import FRAGILE_TARGETS, HEADLINE_COLUMNS, Report, ReverseSearch, build_report, node_values
from ._document import SECTIONS
from ._figures import INSTALL_HINT, require_matplotlib
from ._write import GENERATOR, check_out, input_files, render_files, write_report

__all__ = ["Report", "ReverseSearch", "build_report", "write_report", "render_files", "input_files", "SECTIONS",
           "HEADLINE_COLUMNS", "FRAGILE_TARGETS", "GENERATOR", "INSTALL_HINT", "require_matplotlib", "node_values", "check_out"]

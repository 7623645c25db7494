"""Writing a report directory: every file rendered in memory, then one atomic directory write.

Layout of ``DIR``::

    report.html          the self-contained page (figures inline, CSS inline, no script)
    report.md            the same content in Markdown
    figures/<name>.svg   the figures of report.md
    tables/<name>.csv    every table of the report, every row (tables/README.md: the data dictionary)
    results.json         every result, as the commands' JSON gives it
    manifest.json        tool version, command line, inputs with SHA-256, parameters, seed, creation
                         time, every file written with its SHA-256

Everything but ``manifest.json`` is a function of the inputs alone: the same inputs give the same
bytes (``manifest.json`` adds the creation time and the command line).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from importlib import metadata as _metadata
from pathlib import Path
from typing import Iterable, Sequence

from ..io._atomic import atomic_directory, check_directory_target
from ..io.output import frame_csv, to_json
from ._dictionary import data_dictionary
from ._document import document, tables
from ._figures import draw_figures
from ._render import render_html, render_markdown

__all__ = ["render_files", "write_report", "check_out", "input_files", "MANIFEST", "GENERATOR"]

MANIFEST = "manifest.json"
#: The ``generator`` of every manifest.json: a directory whose manifest says so may be replaced.
GENERATOR = "exposure report"
_PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "networkx", "matplotlib")


def _version() -> str:
    from .. import __version__  # noqa: PLC0415 - the package's version, set after its imports

    return __version__


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def input_files(role: str, path) -> list[dict]:
    """``{"role", "path", "sha256", "bytes"}`` of an input: the file, or each file of a directory."""
    p = Path(path)
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    out = []
    for q in files:
        data = q.read_bytes()
        out.append({"role": role, "path": os.fspath(q), "sha256": _sha256(data), "bytes": len(data)})
    return out


def _subtitle(rep) -> str:
    meta = rep.network.meta
    return (f"Produced by exposure {_version()} from graph {meta.get('name', 'graph')}"
            + (f" (as of {meta['as_of']})" if meta.get("as_of") else "")
            + (f" and {len(rep.scenarios)} scenarios" if rep.scenarios else "")
            + ". Every table of this report is in tables/ and results.json; inputs and parameters in manifest.json.")


def _results(rep) -> dict:
    """``results.json``: each analysis as its command's JSON gives it."""
    r = rep.ranking
    ranking = {"method": r.method, "parameters": dict(r.parameters), "ranking": r.to_frame()}
    if r.agreement is not None:
        ranking["agreement"] = r.agreement
    out = {"title": rep.title, "graph": {k: v for k, v in rep.network.meta.items()},
           "record": rep._record(), "notes": list(rep.notes), "headline": rep.headline(),
           "fragile": rep.fragile(5), "ranking": ranking,
           "stress": rep.stress.to_dict() if rep.stress is not None else None,
           "reverse_stress": {s.shock_type: s.result.to_dict() for s in rep.reverse},
           "metrics": rep.metrics.to_dict()}
    return out


def render_files(rep) -> dict[str, bytes]:
    """Every file of the report but ``manifest.json``, by relative path (a function of ``rep`` alone)."""
    figures = draw_figures(rep)
    tabs = tables(rep)
    blocks = document(rep, figures, tabs)
    files: dict[str, bytes] = {}
    subtitle = _subtitle(rep)
    files["report.html"] = render_html(rep.title, subtitle, blocks).encode("utf-8")
    files["report.md"] = render_markdown(rep.title, subtitle, blocks).encode("utf-8")
    for name, fig in figures.items():
        files[f"figures/{name}.svg"] = fig.svg.encode("utf-8")
    for name, (_, frame) in tabs.items():
        files[f"tables/{name}.csv"] = frame_csv(frame).encode("utf-8")
    files["tables/README.md"] = data_dictionary(tabs).encode("utf-8")
    files["results.json"] = to_json(_results(rep)).encode("utf-8")
    return files


def _manifest(rep, files: dict[str, bytes], command: Sequence[str] | None, inputs: Iterable[dict],
              created: str | None) -> dict:
    packages = {}
    for name in _PACKAGES:
        try:
            packages[name] = _metadata.version(name)
        except _metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "generator": GENERATOR,
        "tool": {"name": "exposure", "version": _version()},
        "python": platform.python_version(),
        "packages": packages,
        "command": list(command) if command is not None else None,
        "created": created or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "inputs": list(inputs),
        "parameters": rep.parameters,
        "seed": None,
        "seed_note": "no analysis of this report draws random numbers; the network layout uses the fixed seed 7",
        "record": rep._record(),
        "files": [{"path": p, "sha256": _sha256(d), "bytes": len(d)} for p, d in sorted(files.items())],
    }


def _is_report(path: str) -> bool:
    try:
        with open(os.path.join(path, MANIFEST), encoding="utf-8") as fh:
            return json.load(fh).get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):
        return False


def check_out(out) -> None:
    """Raise :class:`FileExistsError` now when ``out`` could not be written (it exists and is neither
    empty nor a report directory), before any slow work."""
    check_directory_target(out, may_replace=_is_report)


def write_report(rep, out, *, command: Sequence[str] | None = None, inputs: Iterable[dict] = (),
                 created: str | None = None) -> dict:
    """Write the report ``rep`` as the directory ``out``, atomically; returns its manifest.

    Parameters
    ----------
    rep : Report
        From :func:`~exposure.report.build_report`.
    out : path
        The directory to write. It must not exist, be empty, or be a report directory written
        before (its ``manifest.json`` says ``"generator": "exposure report"``), which is replaced.
    command : sequence of str, optional
        The command line, for ``manifest.json``.
    inputs : iterable of dict
        The input files (:func:`input_files`), for ``manifest.json``.
    created : str, optional
        The creation time written in ``manifest.json`` [default: now, UTC, ISO 8601].

    Raises
    ------
    MissingDependencyError
        matplotlib is not installed (nothing is written).
    FileExistsError
        ``out`` exists and is neither empty nor a report directory.
    """
    files = render_files(rep)
    manifest = _manifest(rep, files, command, inputs, created)
    files[MANIFEST] = to_json(manifest).encode("utf-8")
    atomic_directory(out, files, may_replace=_is_report)
    return manifest

"""Progress lines: on stderr only when it is a terminal (or asked for), never with --quiet."""

import io
import sys
from pathlib import Path

from click.testing import CliRunner

from cli import cli
from exposure import _progress


def test_progress_line_when_enabled(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(_progress, "MIN_INTERVAL", 0.0)
    _progress.set_enabled(True)
    try:
        with _progress.Progress("simulating", total=10, unit="draws") as bar:
            for _ in range(10):
                bar.update(1)
    finally:
        _progress.set_enabled(None)
    text = err.getvalue()
    # the last redraw counts every unit, and the line ends once the phase ends
    assert "\rsimulating: 10 of 10 draws (" in text and text.endswith(")\x1b[K\n")


def test_no_progress_when_stderr_is_not_a_terminal(monkeypatch):
    err = io.StringIO()                     # StringIO.isatty() is False
    monkeypatch.setattr(sys, "stderr", err)
    with _progress.Progress("reading", unit="rows") as bar:
        bar.update(5)
    assert err.getvalue() == "" and bar.done == 5


def test_quiet_switches_progress_off():
    result = CliRunner().invoke(cli, ["--quiet", "info", str(Path(__file__).resolve().parent.parent / "graphs" / "chain.json"),
                                      "--format", "json"])
    assert result.exit_code == 0 and result.stderr == ""
    assert not _progress.enabled()
    _progress.set_enabled(None)

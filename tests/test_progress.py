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


def _run_on_terminal(args, tmp_path):
    """Run the CLI with stderr on a pseudo-terminal; return (exit code, what the terminal showed)."""
    import os
    import pty
    import subprocess

    root = Path(__file__).resolve().parent.parent
    master, slave = pty.openpty()
    env = {**os.environ, "EXPOSURE_PROGRESS_INTERVAL": "0"}
    env.pop("EXPOSURE_QUIET", None)
    proc = subprocess.Popen([sys.executable, "-m", "exposure", *args], cwd=root, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the other end closed (Linux raises EIO)
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_progress_of_loading_solving_and_writing_on_a_terminal(tmp_path):
    out = tmp_path / "out.csv"
    code, shown = _run_on_terminal(["clear", "graphs/chain.json", "--shock", "a=0.5", "-o", str(out)], tmp_path)
    assert code == 0 and out.exists()
    # one line per phase, each ended once its phase ends: what was done, how much, how fast
    for phase, unit in (("reading json graph", "edges"), ("clearing", "nodes"), ("writing", "rows")):
        assert f"\r{phase}: " in shown and f" {unit}/s" in shown, (phase, shown)
    assert shown.endswith("\n")


def test_no_progress_on_a_terminal_with_quiet(tmp_path):
    code, shown = _run_on_terminal(["--quiet", "clear", "graphs/chain.json", "--shock", "a=0.5",
                                    "-o", str(tmp_path / "out.csv")], tmp_path)
    assert code == 0 and shown == ""


def test_no_progress_when_stderr_is_a_pipe(tmp_path):
    import os
    import subprocess

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "EXPOSURE_PROGRESS_INTERVAL": "0"}
    proc = subprocess.run([sys.executable, "-m", "exposure", "clear", "graphs/chain.json", "--shock", "a=0.5",
                           "-o", str(tmp_path / "out.csv")], cwd=root, capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stderr == ""

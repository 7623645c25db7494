"""The README's examples run as written, from the repository's root."""

import os
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_the_python_example_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    (code,) = _blocks("python")
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    # The example's last lines: Stream losing all it owns defaults nodes of the graph.
    assert not namespace["result"].to_frame().query("defaulted").empty


def _commands():
    out = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("exposure ") and "my-graph" not in line and "exposures.csv" not in line:
                out.append(re.split(r"\s>\s", line)[0].strip())    # drop a shell redirection
    return out


@pytest.mark.parametrize("command", _commands())
def test_every_documented_command_on_a_bundled_graph_exits_0(command, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(cli, args + ["-o", os.fspath(tmp_path / "out")]
                                if args[0] != "validate" else args)
    assert result.exit_code == 0, (command, result.output)


def test_ci_runs_the_readme_test_command_as_written():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    (command,) = [line for block in _blocks("sh") for line in block.splitlines() if "pytest" in line]
    leg1 = re.search(r"^leg readme '(.*)'$", ci, flags=re.M).group(1)
    assert leg1.replace("--quiet ", "") == command

"""Every command is documented: help text with an Example block, and a section in the README."""

import pathlib

import pytest
from click.testing import CliRunner

from cli import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMMANDS = sorted(cli.commands)


def test_group_help_has_example():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_command_help_has_an_example(name):
    result = CliRunner().invoke(cli, [name, "-h"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert f"exposure {name}" in result.output.split("Example:", 1)[1]


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_in_the_readme(name):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"exposure {name}" in readme, f"README.md does not document 'exposure {name}'"


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("exposure, version ")

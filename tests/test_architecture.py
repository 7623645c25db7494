"""The package's layers, checked mechanically: the import contracts of setup.cfg hold.

``docs/architecture.md`` describes the layers; import-linter checks that every import points
down them and that no package has a cycle among its modules.
"""

from pathlib import Path

from click.testing import CliRunner
from importlinter.cli import lint_imports_command

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(lint_imports_command, ["--config", "setup.cfg", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "4 kept, 0 broken" in result.output

"""The README's Python example runs as written and prints what the README says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tastebud.cli import app as cli

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path: Path) -> None:
    """It prints what it says wherever it runs: in a folder whose default database already
    holds a history (a new user's second try) as in an empty one, and it leaves nothing."""
    text = README.read_text()
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert code, "README has a Python example"
    default_database = str(tmp_path / "data" / "preferences.db")
    for number in range(3):
        recorded = CliRunner().invoke(
            cli, ["record", "beach sunset", "-c", "realvisxlV40", "--selected", "-g", f"h{number}",
                  "--db", default_database],
        )  # fmt: skip
        assert recorded.exit_code == 0, recorded.output
    before = sorted(tmp_path.rglob("*"))
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-c", code.group(1)],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        printed = result.stdout.strip()
        promised = re.search(r"# (epicrealismXL .*)", code.group(1))
        assert promised
        assert printed.startswith(promised.group(1).split("...")[0]), printed
    assert sorted(tmp_path.rglob("*")) == before


def test_readme_names_the_two_commands() -> None:
    text = README.read_text()
    assert "python3 tasks.py run" in text and "python3 tasks.py test" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python3 tasks.py test" in ci

"""The architecture's promises: the core knows no SQL, web or terminal; nothing runs at import."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "tastebud.prompt", "tastebud.keywords", "tastebud.events", "tastebud.names",
    "tastebud.errors", "tastebud.learning", "tastebud.generations", "tastebud.style",
    "tastebud.cleanup", "tastebud.regular_files",
]  # fmt: skip
FORBIDDEN = ["sqlalchemy", "aiosqlite", "asyncpg", "fastapi", "starlette", "typer", "rich"]


def _loaded_after_import(modules: list[str]) -> set[str]:
    code = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in modules)
        + "print(' '.join(sorted(sys.modules)))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(output.split())


def test_the_core_imports_no_storage_web_or_terminal_code() -> None:
    loaded = _loaded_after_import(CORE)
    assert not {name for name in loaded if name.split(".")[0] in FORBIDDEN}


def test_importing_tastebud_builds_nothing(tmp_path) -> None:
    # The database (and its folder) comes from explicit arguments on first use, never at import.
    code = (
        "import os, sys; os.chdir(sys.argv[1]); "
        "import tastebud, tastebud.__main__, tastebud.service, tastebud.store; "
        "tastebud.PreferenceLearning(); "
        "print(sorted(os.listdir('.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]"


def test_the_cli_help_loads_no_storage_or_learning_code() -> None:
    """`tastebud --help` (and a usage error) answers without importing the storage and learning
    code (SQLAlchemy, numpy): importing it took most of the 0.8-4 s the help used to take.
    (Typer itself brings pydantic in, to read its types, when it is installed.)"""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from tastebud.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "assert CliRunner().invoke(app, ['record', '--help']).exit_code == 0\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded = {name.split(".")[0] for name in output.split()}
    assert not loaded & {"sqlalchemy", "numpy", "asyncpg", "fastapi", "simplemma"}, sorted(loaded)

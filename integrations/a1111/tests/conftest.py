"""The extension's tests: its script in a stand-in A1111 (a1111_stand_ins.py), driven against a
real ``tastebud serve`` on a loopback port."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import a1111_stand_ins

EXTENSION = Path(__file__).resolve().parents[1]
# tastebud's own tests start and stop a real server; the extension's use the same helper.
sys.path.insert(0, str(EXTENSION.parents[1] / "tests"))
from test_server import _free_port, serving


@pytest.fixture(scope="session")
def a1111_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stable-diffusion-webui")
    a1111_stand_ins.HOST.root = root
    return root


@pytest.fixture(scope="session")
def extension(a1111_root: Path) -> types.ModuleType:
    """The extension's script, loaded as A1111 loads a file of an extension's ``scripts/``."""
    a1111_stand_ins.install()
    spec = importlib.util.spec_from_file_location(
        "tastebud_a1111", EXTENSION / "scripts" / "tastebud.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tastebud(tmp_path_factory: pytest.TempPathFactory, a1111_root: Path) -> Iterator[str]:
    """A real ``tastebud serve --demo`` that may read A1111's folder; yields its address."""
    database = tmp_path_factory.mktemp("tastebud") / "preferences.db"
    with serving("--demo", "--db", str(database), "--image-folders", str(a1111_root)) as base:
        yield base


@pytest.fixture
def down() -> str:
    """The address of a tastebud that is not running."""
    return f"http://127.0.0.1:{_free_port()}"

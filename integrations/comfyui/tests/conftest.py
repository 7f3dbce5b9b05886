"""The node pack's tests: the pack in a stand-in ComfyUI (comfyui_stand_ins.py), driven
against a real ``tastebud serve`` on a loopback port."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import comfyui_stand_ins

PACK = Path(__file__).resolve().parents[1]
# tastebud's own tests start and stop a real server; the pack's use the same helper.
sys.path.insert(0, str(PACK.parents[1] / "tests"))
from test_server import _free_port, serving


@pytest.fixture(scope="session")
def pack() -> types.ModuleType:
    """The node pack, imported as ComfyUI imports a folder of ``custom_nodes``."""
    return comfyui_stand_ins.load_pack(PACK)


@pytest.fixture(autouse=True)
def _forget_loads() -> None:
    comfyui_stand_ins.LOADED.clear()


@pytest.fixture(scope="session")
def tastebud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``tastebud serve --demo`` on a loopback port (tastebud's own test helper);
    yields its address."""
    database = tmp_path_factory.mktemp("tastebud") / "preferences.db"
    with serving("--demo", "--db", str(database)) as base:
        yield base


@pytest.fixture
def down() -> str:
    """The address of a tastebud that is not running."""
    return f"http://127.0.0.1:{_free_port()}"

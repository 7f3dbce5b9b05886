"""The node pack's tests: the pack in a stand-in ComfyUI (comfyui_stand_ins.py), driven
against a real ``tastebud serve`` on a loopback port."""

from __future__ import annotations

import importlib.util
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
    comfyui_stand_ins.install()
    spec = importlib.util.spec_from_file_location(
        "tastebud_comfyui", PACK / "__init__.py", submodule_search_locations=[str(PACK)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tastebud_comfyui"] = module
    spec.loader.exec_module(module)
    return module


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

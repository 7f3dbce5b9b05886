"""The node pack's tests: the pack in a stand-in ComfyUI (comfyui_stand_ins.py), driven
against a real ``tastebud serve`` on a loopback port."""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import sys
import time
import types
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import comfyui_stand_ins

PACK = Path(__file__).resolve().parents[1]


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def tastebud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``tastebud serve --demo`` on a loopback port; yields its address."""
    port = _free_port()
    database = tmp_path_factory.mktemp("tastebud") / "preferences.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "tastebud", "serve", "--demo", "--db", str(database),
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # a readiness wait, not a timing check: up to a minute
            if process.poll() is not None:
                raise AssertionError(f"tastebud stopped: {process.communicate()}")
            try:
                urllib.request.urlopen(base + "/api/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("tastebud did not answer within a minute")
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)


@pytest.fixture
def down() -> str:
    """The address of a tastebud that is not running."""
    return f"http://127.0.0.1:{_free_port()}"

"""The picker's page logic (web/pick.js) under Node's own test runner (tests/js)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import PACK


def test_the_page_script_passes_its_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (Debian's nodejs; .ci/run installs it)")
    run = subprocess.run(
        [node, "--test", "tests/js/"],
        cwd=PACK,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout

"""The project's two commands (tasks.py), as a person or a process manager runs them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from test_server import _free_port

ROOT = Path(__file__).resolve().parents[1]


def test_run_stopped_by_sigterm_leaves_no_server_behind(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tasks.py"), "run", "--port", str(port),
         "--db", str(tmp_path / "p.db")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(600):  # a readiness wait: set-up is done, the demo data takes a moment
        try:
            httpx.get(base + "/api/health", timeout=1)
            break
        except httpx.TransportError:
            assert process.poll() is None, "tasks.py run stopped"
            time.sleep(0.2)
    process.send_signal(signal.SIGTERM)  # what a process manager sends
    # The server stops cleanly, then ends as the signal asks (uvicorn raises it again).
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)
    with pytest.raises(httpx.TransportError):
        httpx.get(base + "/api/health", timeout=2)


def test_a_second_set_up_waits_for_the_first() -> None:
    fcntl = pytest.importorskip("fcntl")
    with open(ROOT / ".venv.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a set-up in progress
        second = subprocess.Popen(
            [sys.executable, str(ROOT / "tasks.py"), "test", "--co", "-q", "tests/test_names.py"],
            stdout=subprocess.DEVNULL,
        )
        with pytest.raises(subprocess.TimeoutExpired):
            second.wait(timeout=10)  # blocked on the lock (unblocked, it ends in seconds)
    assert second.wait(timeout=120) == 0

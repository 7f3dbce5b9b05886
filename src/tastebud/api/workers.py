"""Worker processes of ``tastebud serve --workers N`` end with the process that started them.

uvicorn's supervisor starts the workers and replaces one that dies; but a supervisor killed with
SIGKILL (an OOM kill, ``kill -9``) runs no clean-up, and its workers, which share the listening
socket, went on answering with nobody to stop them: the port stayed taken and the next ``serve``
failed with "address already in use". Each worker now asks to be sent SIGTERM when its parent
ends (Linux's ``PR_SET_PDEATHSIG``), or watches its parent's pid where that is not available;
SIGTERM makes uvicorn finish the requests in flight and stop.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Mapping

SUPERVISOR_VARIABLE = "TASTEBUD_SUPERVISOR_PID"
"""Set by ``serve`` to its own pid before it starts the workers."""

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_POLL_SECONDS = 1.0


def follow_supervisor(environment: Mapping[str, str]) -> None:
    """In a worker: end (SIGTERM to itself) when the supervisor named in ``environment`` ends."""
    supervisor = environment.get(SUPERVISOR_VARIABLE, "")
    if not supervisor.isdigit():
        return  # not started by ``serve --workers``
    pid = int(supervisor)
    if not (sys.platform == "linux" and _ask_for_a_signal()):
        threading.Thread(target=_watch, args=(pid,), name="supervisor-watch", daemon=True).start()
    if os.getppid() != pid:  # it ended before the request above took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _ask_for_a_signal() -> bool:
    """Ask Linux for SIGTERM when the parent ends; False when that cannot be arranged."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watch(pid: int) -> None:
    # Once the parent is gone the worker is re-parented, so its parent pid changes.
    stopped = threading.Event()
    while not stopped.wait(_POLL_SECONDS):
        if os.getppid() != pid:
            os.kill(os.getpid(), signal.SIGTERM)
            return

#!/usr/bin/env python3
"""The project's two commands, usable on a fresh machine with only Python and git.

    python3 tasks.py run     set up, then serve the web panel and the API on http://127.0.0.1:8001
                             with demo data
                             (extra arguments go to 'tastebud serve': --db, --port, ...)
    python3 tasks.py test    set up, then run the whole test suite (extra arguments go to pytest)
    python3 tasks.py lint    set up, then check the code: ruff (lint and format) and mypy --strict
                             (CI runs it after the tests; it is not a test, so pytest stays fast)

Set-up means a virtual environment in .venv with tastebud and its test dependencies installed. It is
redone only when pyproject.toml changes, so the second run starts at once; two set-ups at once in
one clone take turns. On Linux and macOS this process then becomes the server (or pytest), so a
signal sent to it (Ctrl-C, a process manager's SIGTERM) stops it and leaves nothing running.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".tastebud-installed"


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _wanted_stamp() -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{sys.version_info[:2]} {digest}"


@contextmanager
def _set_up_lock() -> Iterator[None]:
    """One set-up at a time in a clone: a second waits for the first, then finds it done."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    with open(ROOT / ".venv.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def set_up() -> Path:
    """Create .venv and install tastebud into it, unless it is already up to date."""
    with _set_up_lock():
        return _set_up()


def _set_up() -> Path:
    python = _venv_python()
    if not python.exists():
        print("tasks.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != _wanted_stamp():
        print("tasks.py: installing tastebud and its dependencies into .venv", flush=True)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "install", "-e", f"{ROOT}[test,bench]"], check=True)
        STAMP.write_text(_wanted_stamp())
    return python


LINTERS = [
    ["ruff", "check", "src", "tests", "bench", "integrations"],
    ["ruff", "format", "--check", "src", "tests", "bench", "integrations"],
    ["mypy", "--strict", "src/tastebud"],
    # The integrations run inside their hosts, not as part of the package: checked on their own.
    ["mypy", "--strict", "integrations/comfyui/__init__.py", "integrations/comfyui/client.py",
     "integrations/comfyui/nodes.py", "integrations/comfyui/picker.py"],
    ["mypy", "--strict", "integrations/a1111/scripts/tastebud.py"],
]


def _lint(python: Path) -> int:
    """Every linter, each saying what it found; non-zero if any found something."""
    failed = 0
    for linter in LINTERS:
        print("tasks.py lint:", " ".join(linter), flush=True)
        failed |= subprocess.run([str(python), "-m", *linter], cwd=ROOT, check=False).returncode
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "lint"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    python = set_up()
    command, rest = argv[0], argv[1:]
    if command == "lint":
        return _lint(python)
    if command == "run":
        args = [str(python), "-m", "tastebud", "serve", "--demo", *rest]
    else:
        args = [str(python), "-m", "pytest", *rest]
    if os.name == "posix":
        # Become the server (or pytest): a signal sent to this process (SIGTERM from a process
        # manager, Ctrl-C) then reaches it, and nothing is left running behind.
        os.chdir(ROOT)
        os.execv(args[0], args)
    child = subprocess.Popen(args, cwd=ROOT)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            continue  # Ctrl-C reached the child too: let the server stop cleanly, then return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

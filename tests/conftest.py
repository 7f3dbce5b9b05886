"""Fixtures: a real SQLite file per test, and a real throwaway PostgreSQL cluster per session.

Every test that takes ``database`` runs twice, once on each. The PostgreSQL cluster is made with
Debian's server binaries (initdb, trust auth, a free loopback port) in a temporary folder, run as the
``postgres`` user when the tests run as root, and removed at the end. Where the binaries are absent
the PostgreSQL runs are skipped with a message, except under CI, where that is a failure.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tastebud import PreferenceLearning

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _postgres_bin() -> Path | None:
    configured = os.environ.get("TASTEBUD_PG_BIN")
    candidates = [configured] if configured else sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    for folder in reversed(candidates):
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PostgresCluster:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="tastebud-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        os.chmod(self.root, 0o700)

    def start(self, *, durable: bool = False) -> None:
        """initdb and start; ``durable`` keeps PostgreSQL's own fsync (benchmarks), else it is
        off, as befits a cluster thrown away after the tests."""
        subprocess.run(
            _as_postgres([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust",
                          "-U", "postgres", "--no-sync", "-E", "UTF8"]),
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        # Each new connection is logged: a test counts how many a server opened.
        options = f"-p {self.port} -h 127.0.0.1 -k {self.root} -c log_connections=on"
        if not durable:
            options += " -c fsync=off -c full_page_writes=off"
        subprocess.run(
            _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                          "-l", str(self.root / "log"), "-w", "start"]),
            check=True, capture_output=True, text=True,
        )  # fmt: skip

    def restart(self) -> None:
        """Stop and start the server: every client connection is closed."""
        subprocess.run(
            _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                          "-l", str(self.root / "log"), "-w", "restart"]),
            check=True, capture_output=True, text=True,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(
                [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"]
            ),
            check=False,  # already stopped is fine: the folder goes either way
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def connections_made(self, url: str) -> int:
        """How many connections have been opened to the database of ``url`` (from the log)."""
        name = url.rsplit("/", 1)[1]
        log = (self.root / "log").read_text(errors="replace")
        return len(re.findall(rf"connection authorized: user=postgres database={name}\b", log))

    def create_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        subprocess.run(
            [str(self.bindir / "psql") if (self.bindir / "psql").exists() else "psql",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
             "-q", "-c", f"CREATE DATABASE {name}"],
            check=True, capture_output=True,
        )  # fmt: skip
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    bindir = _postgres_bin()
    if bindir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found: PostgreSQL runs skipped"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must install the postgresql package)")
        pytest.skip(message)
    cluster = PostgresCluster(bindir)
    try:
        cluster.start()
    except subprocess.CalledProcessError as error:
        cluster.stop()
        pytest.fail(f"could not start a throwaway PostgreSQL: {error.stderr or error}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "data" / "preferences.db")
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database()


@pytest.fixture
async def pl(database: str) -> AsyncIterator[PreferenceLearning]:
    """An open ``PreferenceLearning`` on a fresh database."""
    async with PreferenceLearning(database=database) as learning:
        yield learning


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA

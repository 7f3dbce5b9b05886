"""Turns the user's ``database`` argument (a file path or a URL) into a place to run transactions.

Every transaction is a plain function of a SQLAlchemy ``Connection``, written once for both
databases and run in the way that suits each:

- PostgreSQL: on the asyncpg driver through SQLAlchemy's asyncio extension (``run_sync``).
- SQLite: in a worker thread on the standard library driver, the way Datasette runs SQLite. A
  recording is five or so statements; an asyncio SQLite driver pays a thread hop per statement
  (about 200 µs measured here), a worker thread pays one per transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from tastebud.errors import DatabaseUnavailable, InvalidInput

SQLITE_THREADS = 4
POSTGRES_CONNECTIONS = 10  # per server process
BUSY_MS = 30_000  # how long a statement waits for another connection's lock before failing

T = TypeVar("T")
Work = Callable[[sa.Connection], T]


def database_url(database: str | Path) -> sa.URL:
    """The SQLAlchemy URL for a path or URL (``postgresql://`` gets the asyncpg driver)."""
    text = str(database).strip()
    if not text:
        raise InvalidInput("database", "must be a file path or a database URL")
    if "://" not in text:
        if text == ":memory:":
            return make_url("sqlite://")
        return make_url("sqlite:///" + str(Path(text).expanduser().resolve()))
    try:
        url = make_url(text)
    except sa.exc.ArgumentError:
        raise InvalidInput("database", f"{text!r} is not a database URL") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    raise InvalidInput("database", f"unsupported database {backend!r}: use SQLite or PostgreSQL")


class Database:
    """Runs read and write transactions on SQLite or PostgreSQL, from async code.

    SQLite runs in WAL mode. ``durable`` (the default) makes each commit reach the disk before the
    call returns (``synchronous=FULL``); ``False`` trades the last commits on power loss for speed
    (``NORMAL``), which a benchmark or a throwaway database may choose.
    """

    def __init__(self, database: str | Path, *, durable: bool = True) -> None:
        url = database_url(database)
        self.url = url
        self.is_postgres = url.get_backend_name() == "postgresql"
        self._async_engine: AsyncEngine | None = None
        self._engine: sa.Engine | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._memory = False
        if self.is_postgres:
            # No ping before each transaction (a round trip that cost a quarter of the
            # throughput of concurrent writes): a connection the server closed is found by its
            # first statement, and ``_run`` then runs the transaction once more.
            # A fixed set of connections, no overflow: with SQLAlchemy's default (5, plus 10
            # opened for a burst and closed after it), 32 concurrent writers kept opening
            # connections, and each new one pays a connect, a TLS offer and its prepared
            # statements anew; that was a third of the server's time. More callers than
            # connections wait their turn in the pool, as they would for the server's CPU.
            self._async_engine = create_async_engine(
                url, pool_size=POSTGRES_CONNECTIONS, max_overflow=0
            )
            return
        memory = url.database in (None, "", ":memory:")
        self._memory = memory
        if not memory:
            assert url.database is not None
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        self._engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False},
            **({"poolclass": StaticPool} if memory else {"pool_size": SQLITE_THREADS}),
        )
        # Each worker thread keeps one connection open: checking one out of the pool for every
        # transaction costs about as much as the transaction's own statements.
        self._local = threading.local()
        self._write_turn = threading.Lock()
        self._opened: list[sa.Connection] = []
        self._opened_lock = threading.Lock()
        _configure_sqlite(
            self._engine,
            durable=durable,
            memory=memory,
            read_only=lambda: bool(getattr(self._local, "read_only", False)),
        )
        # One thread for an in-memory database: its one connection must not be shared at once.
        self._threads = ThreadPoolExecutor(
            max_workers=1 if memory else SQLITE_THREADS, thread_name_prefix="tastebud-sqlite"
        )

    @property
    def dialect(self) -> str:
        return "postgresql" if self.is_postgres else "sqlite"

    async def write(self, work: Work[T], *, autocommit: bool = False) -> T:
        """Run ``work`` in a write transaction, committed when it returns, rolled back if it raises.

        ``autocommit`` (PostgreSQL): no transaction around ``work``, each of whose statements
        commits on its own; for work that is a single statement, it saves two round trips.
        """
        return await self._run(work, read_only=False, autocommit=autocommit)

    async def read(self, work: Work[T], *, small: bool = False) -> T:
        """Run ``work`` in a read-only transaction (a consistent snapshot, no write lock).

        ``small``: a read of a millisecond or so (a recommendation's statistics). On SQLite it
        runs on the caller's own thread: handing it to a worker costs more than the read, and
        under load each hand-off waits for the interpreter lock, which made concurrent
        recommendations five times slower than one at a time.
        """
        return await self._run(work, read_only=True, here=small)

    async def _run(
        self, work: Work[T], *, read_only: bool, here: bool = False, autocommit: bool = False
    ) -> T:
        try:
            try:
                return await self._once(work, read_only, here, autocommit)
            except sa.exc.DBAPIError as error:
                if not error.connection_invalidated:
                    raise
                # The server closed the connection (a restart, say) and SQLAlchemy has dropped
                # the pool's others: once more, on a new one. A write done twice changes
                # nothing (an event is its generation id), should the first have committed.
                return await self._once(work, read_only, here, autocommit)
        except Exception as error:  # told apart by the drivers' codes below
            if _is_about_the_database(error):
                shown = self.url.render_as_string(hide_password=True)
                raise DatabaseUnavailable(shown, _driver_message(error)) from error
            raise

    async def _once(self, work: Work[T], read_only: bool, here: bool, autocommit: bool) -> T:
        if here and self._engine is not None and not self._memory:
            return self._in_this_thread(work, read_only=read_only)
        return await self._run_elsewhere(work, read_only=read_only, autocommit=autocommit)

    async def _run_elsewhere(
        self, work: Work[T], *, read_only: bool, autocommit: bool = False
    ) -> T:
        if self._async_engine is not None:
            async with self._async_engine.connect() as connection:
                if autocommit:
                    connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                    return await connection.run_sync(work)
                if read_only:
                    # PostgreSQL's default (READ COMMITTED) gives each statement its own
                    # snapshot: a check reading the events and then the statistics while writes
                    # commit saw statistics "wrong" that were not. One BEGIN ... REPEATABLE READ
                    # READ ONLY (asyncpg's transaction options) sees one moment, and a read-only
                    # transaction never fails to serialise.
                    connection = await connection.execution_options(
                        isolation_level="REPEATABLE READ", postgresql_readonly=True
                    )
                async with connection.begin():
                    return await connection.run_sync(work)
        assert self._engine is not None and self._threads is not None

        return await asyncio.get_running_loop().run_in_executor(
            self._threads, lambda: self._in_this_thread(work, read_only=read_only)
        )

    def _in_this_thread(self, work: Work[T], *, read_only: bool) -> T:
        connection = self._thread_connection()
        self._local.read_only = read_only
        if read_only:
            with connection.begin():
                return work(connection)
        # One writer at a time in this process, waiting in turn here: SQLite's own busy handler
        # makes a waiting writer sleep in growing steps (up to 100 ms), which gave concurrent
        # recordings a p99 of a quarter of a second. Other processes still meet that handler.
        with self._write_turn, connection.begin():
            return work(connection)

    def _thread_connection(self) -> sa.Connection:
        connection: sa.Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            assert self._engine is not None
            connection = self._engine.connect()
            self._local.connection = connection
            with self._opened_lock:
                self._opened.append(connection)
        return connection

    async def close(self) -> None:
        """Close every connection; the threads finish what they are running first."""
        if self._async_engine is not None:
            await self._async_engine.dispose()
        if self._threads is not None:
            threads = self._threads
            await asyncio.get_running_loop().run_in_executor(None, threads.shutdown)
            with self._opened_lock:
                opened, self._opened = self._opened, []
            for connection in opened:
                connection.close()
        if self._engine is not None:
            self._engine.dispose()


def _is_about_the_database(error: BaseException) -> bool:
    """True for failures to open or reach the database, not for a mistake in tastebud's SQL.

    Told by the drivers' error codes, not by their messages: a query naming a column that does
    not exist is a bug (a 500), though its message says "does not exist" as a missing database's
    does.
    """
    if isinstance(error, OSError | sa.exc.InterfaceError | TimeoutError):
        return True  # refused, unreachable, closed under us
    original = getattr(error, "orig", error)
    sqlstate = getattr(original, "sqlstate", None)  # PostgreSQL, through SQLAlchemy's asyncpg
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _UNAVAILABLE_CLASSES or sqlstate in _UNAVAILABLE_STATES
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _SQLITE_UNAVAILABLE  # the primary code of an extended one
    return False


# SQLSTATE classes: connection exception, invalid authorization, invalid catalog name (no such
# database), insufficient resources, operator intervention (shutting down, starting up).
_UNAVAILABLE_CLASSES = {"08", "28", "3D", "53", "57"}
# A read-only server (a standby), and a role without the rights on the tables.
_UNAVAILABLE_STATES = {"25006", "42501"}
# SQLite's primary result codes for a file that cannot be used: PERM, BUSY, LOCKED, READONLY,
# IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, AUTH, NOTADB.
_SQLITE_UNAVAILABLE = {3, 5, 6, 8, 10, 11, 13, 14, 15, 23, 26}


def _driver_message(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    return (
        str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    )


def _begin_writing(driver: Any) -> None:
    """BEGIN IMMEDIATE, waiting for another process's write lock in short steps.

    SQLite's own wait sleeps in growing steps of up to 100 ms, so a writer of a second server
    process often slept long after the lock was free: recordings of two processes at once had a
    p99 of two seconds. Trying again every millisecond keeps the wait close to the other
    transaction's length.
    """
    driver.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + BUSY_MS / 1000
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.001)
    finally:
        driver.execute(f"PRAGMA busy_timeout={BUSY_MS}")


def _use_wal(cursor: Any) -> None:
    """Put the database file in WAL mode (once: the mode is kept in the file)."""
    # Switching modes needs the file to itself, and SQLite reports "locked" at once rather than
    # waiting when another connection is busy with it: two first openings of a new database.
    for attempt in range(100):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 99:
                raise
            time.sleep(0.05)


def _configure_sqlite(
    engine: sa.Engine, *, durable: bool, memory: bool, read_only: Callable[[], bool]
) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from the driver so writes can start with BEGIN IMMEDIATE (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # First: every later statement here, switching to WAL included, may meet another
        # connection's lock (two first openings at once) and must wait for it, not fail.
        cursor.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        if not memory:
            _use_wal(cursor)
        cursor.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        # Checkpoint every ~16 MB of WAL rather than 4 MB: a recording dirties ~40 scattered
        # statistics pages, and rarer checkpoints copy each hot page once instead of many times.
        cursor.execute("PRAGMA wal_autocheckpoint=4000")
        # Up to 64 MB of pages in memory rather than 2: the statistics of a 100,000-event history
        # (~10 MB) then stay there, and an import's ~360,000 upserts, which land all over that
        # table, run twice as fast. SQLite takes the memory only as pages are used.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        # A write that starts as a reader and upgrades later can fail at once with "database is
        # locked" while another writer commits; taking the write lock up front makes it wait.
        # Straight to the driver: this runs before every transaction, and SQLAlchemy's statement
        # machinery around a bare BEGIN costs more than the BEGIN.
        driver = connection.connection.driver_connection
        assert driver is not None
        if read_only():
            driver.execute("BEGIN")
        else:
            _begin_writing(driver)

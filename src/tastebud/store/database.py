"""Turns the user's ``database`` argument (a file path or a URL) into a configured engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from tastebud.errors import InvalidInput

DEFAULT_DATABASE = "data/preferences.db"

# A read-only transaction asks for this execution option; every other transaction is a write.
READ_ONLY = {"tastebud_read_only": True}


def database_url(database: str | Path) -> sa.URL:
    """The async SQLAlchemy URL for a path or URL (``postgresql://`` gets the asyncpg driver)."""
    text = str(database).strip()
    if not text:
        raise InvalidInput("database", "must be a file path or a database URL")
    if "://" not in text:
        if text == ":memory:":
            return make_url("sqlite+aiosqlite://")
        return make_url("sqlite+aiosqlite:///" + str(Path(text).expanduser().resolve()))
    try:
        url = make_url(text)
    except sa.exc.ArgumentError:
        raise InvalidInput("database", f"{text!r} is not a database URL") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    raise InvalidInput("database", f"unsupported database {backend!r}: use SQLite or PostgreSQL")


def connect(database: str | Path, *, durable: bool = True) -> AsyncEngine:
    """An engine for the database, its SQLite file and folder created on first use.

    SQLite runs in WAL mode. ``durable`` (the default) makes each commit reach the disk before the
    call returns (``synchronous=FULL``); ``False`` trades the last commits on power loss for speed
    (``NORMAL``), which a benchmark or a throwaway database may choose.
    """
    url = database_url(database)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    memory = url.database in (None, "", ":memory:")
    if not memory:
        assert url.database is not None
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = create_async_engine(url, **options)
    _configure_sqlite(engine, durable=durable, memory=memory)
    return engine


def _configure_sqlite(engine: AsyncEngine, *, durable: bool, memory: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from the driver so writes can start with BEGIN IMMEDIATE (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        # A write that starts as a reader and upgrades later can fail at once with "database is
        # locked" while another writer commits; taking the write lock up front makes it wait.
        if connection.get_execution_options().get("tastebud_read_only"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

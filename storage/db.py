"""Database engines and sessions that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.sql import FromClause
from sqlalchemy.util import await_only

from storage import sqlite_inline
from storage.clock import Clock

# How long a statement waits for another process's SQLite lock (awaited, the loop runs on).
SQLITE_BUSY_TIMEOUT_MS = 15_000


def create_engine(url: str, *, clock: Clock | None = None, **kwargs: Any) -> AsyncEngine:
    """Create an async engine whose rows are stamped by `clock` (the real time by default).
    On SQLite: WAL, a busy timeout, foreign keys, write transactions that take the lock up
    front (BEGIN IMMEDIATE), calls run inline on the event loop and one pooled connection, so
    the transactions of a process queue for it in order."""
    parsed = make_url(url)
    if clock is not None:  # read by storage.clock.stamp, the default of created_at and kin
        kwargs["execution_options"] = {**kwargs.get("execution_options", {}), "clock": clock}
    # Statement parameters are residents' words: keep them out of exceptions and logs.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)

    database = parsed.database or ":memory:"
    memory = database == ":memory:" or "mode=memory" in database
    kwargs.setdefault(
        "async_creator",
        sqlite_inline.connect(database, busy_timeout_seconds=SQLITE_BUSY_TIMEOUT_MS / 1000),
    )
    kwargs.setdefault("poolclass", AsyncAdaptedQueuePool)
    kwargs.setdefault("pool_size", 1)
    kwargs.setdefault("max_overflow", 0)
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A deferred transaction that later writes can fail with SQLITE_BUSY without waiting;
        # taking the write lock up front makes writers of other processes queue instead.
        # Read-only work (`readonly=True`, e.g. the health check) takes no lock at all.
        # Issued on the driver connection: the full statement path would cost more than
        # the whole rest of a short transaction.
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite_inline.InlineConnection)
        write = not connection.get_execution_options().get("readonly", False)
        await_only(driver.begin(write=write))

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The factory every unit of work opens with `async with sessions.begin() as session`."""
    return async_sessionmaker(engine, expire_on_commit=False)


@contextlib.asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """What `async with sessions.begin()` does — commit on success, otherwise roll back,
    always close — with the commit and the close awaited in the caller's own task.

    SQLAlchemy 2.1 runs each of those two steps in a task of its own, so that a cancelled
    caller cannot abandon them half-way. Two tasks and the event-loop turns they take cost a
    Telegram update 10–15 % of its throughput (benchmarks/README.md), so the engine's
    per-update transaction uses this instead. The engine's callers let an update finish rather
    than cancel it; a cancellation landing inside the commit or the close leaves the
    connection to the pool's own clean-up."""
    session = sessions()
    try:
        yield session
        await session.commit()
    finally:
        await session.close()  # rolls back whatever was not committed


@contextlib.asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for reading only: on SQLite it takes no write lock, so it reads while
    another process writes (it still shares the process's one connection)."""
    async with sessions() as session:
        await session.connection(execution_options={"readonly": True})
        yield session


def insert_ignoring_conflicts(session: AsyncSession, table: FromClause) -> Any:
    """A Core INSERT that does nothing when a unique key already exists, in the session's
    dialect. (Core, not ORM: the ORM's bulk-insert path costs several times more.)"""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()


async def ping(engine: AsyncEngine) -> bool:
    """True when the database answers a trivial query. On SQLite the question goes to the
    file on a connection of its own: the pooled one may be waiting for another process's
    write lock, and a locked database is busy, not down."""
    if engine.dialect.name == "sqlite":
        return sqlite_inline.answers(engine.url.database or ":memory:")
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True

"""An aiosqlite-compatible connection that runs SQLite calls directly on the event loop.

aiosqlite hands every call to a worker thread; SQLAlchemy's adapter makes about four such
calls per statement (cursor, execute, fetch, close), each costing a thread hand-off of
roughly 0.2 ms here — ten times the work SQLite itself does on a local WAL database. Running
the calls inline is what makes one process answer hundreds of messages a second.

Used with a pool of one connection (see `storage.db`), so transactions of one process queue
for the connection instead of waiting on SQLite's lock while blocking the loop."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any


class InlineCursor:
    """The awaitable cursor interface SQLAlchemy's aiosqlite adapter expects."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._cursor = connection.cursor()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        """Run one statement."""
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        """Run one statement for many parameter sets."""
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        """The next row."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next rows."""
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        """All remaining rows."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Release the cursor."""
        self._cursor.close()

    @property
    def description(self) -> Any:
        """Column descriptions of the last statement."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """Row id of the last insert."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """Default fetchmany size."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _ImmediateQueue:
    """Stands in for aiosqlite's call queue: runs the call at once and resolves its future."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class InlineConnection:
    """The awaitable connection interface SQLAlchemy's aiosqlite adapter expects."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _ImmediateQueue()

    def cursor(self) -> InlineCursor:
        """A new cursor."""
        return InlineCursor(self._conn)

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        """Run one statement on a new cursor."""
        return await self.cursor().execute(sql, parameters)

    def begin_immediate(self) -> None:
        """Start a transaction that holds SQLite's write lock from its first statement."""
        self._conn.execute("BEGIN IMMEDIATE")

    async def commit(self) -> None:
        """Commit the transaction."""
        self._conn.commit()

    async def rollback(self) -> None:
        """Roll the transaction back."""
        self._conn.rollback()

    async def close(self) -> None:
        """Close the connection."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a SQL function."""
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        """The driver's transaction mode (None: we issue BEGIN ourselves)."""
        return self._conn.isolation_level


def connect(database: str, *, busy_timeout_seconds: float) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` that opens inline connections."""

    async def create() -> InlineConnection:
        connection = sqlite3.connect(
            database,
            timeout=busy_timeout_seconds,
            isolation_level=None,
            check_same_thread=False,
            uri=database.startswith("file:"),
        )
        return InlineConnection(connection)

    return create

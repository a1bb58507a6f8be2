"""An aiosqlite-compatible connection that runs SQLite calls directly on the event loop.

aiosqlite hands every call to a worker thread; SQLAlchemy's adapter makes about four such
calls per statement (cursor, execute, fetch, close), each costing a thread hand-off of
roughly 0.2 ms here — ten times the work SQLite itself does on a local WAL database. Running
the calls inline is what makes one process answer hundreds of messages a second.

Used with a pool of one connection (see `storage.db`), so transactions of one process queue
for the connection. SQLite's own busy handler is off: when another process (a `linli`
command, a scheduler process) holds the write lock, the call is tried again after short,
growing pauses awaited on the event loop, so the service keeps answering meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
FIRST_PAUSE = 0.002  # seconds; doubling up to LONGEST_PAUSE while the lock is held
LONGEST_PAUSE = 0.05


class LockTimeout(sqlite3.OperationalError):
    """Another process held SQLite's lock for longer than the connection waits."""


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_BUSY or (code is None and "locked" in str(exc))


async def patiently(call: Callable[[], T], *, wait: float) -> T:
    """Run a SQLite call; while another process holds the lock, try again after pauses
    awaited on the loop (never blocking it), for at most `wait` seconds."""
    try:
        return call()  # the usual case: no lock held elsewhere, no await at all
    except sqlite3.OperationalError as exc:
        if not _busy(exc):
            raise
    loop = asyncio.get_running_loop()
    deadline, pause = loop.time() + wait, FIRST_PAUSE
    while True:
        if loop.time() >= deadline:
            raise LockTimeout(f"database is locked by another process for over {wait:g} s")
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise


class InlineCursor:
    """The awaitable cursor interface SQLAlchemy's aiosqlite adapter expects."""

    def __init__(self, connection: sqlite3.Connection, wait: float) -> None:
        self._connection = connection
        self._cursor = connection.cursor()
        self._wait = wait

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        """Run one statement (waiting, off the loop's back, for another process's lock)."""
        await patiently(lambda: self._cursor.execute(sql, parameters), wait=self._wait)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        """Run one statement for many parameter sets."""
        rows = list(parameters)
        await patiently(lambda: self._cursor.executemany(sql, rows), wait=self._wait)
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

    def __init__(self, connection: sqlite3.Connection, *, wait: float) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _ImmediateQueue()
        self.wait = wait  # seconds a call waits for another process's lock

    def cursor(self) -> InlineCursor:
        """A new cursor."""
        return InlineCursor(self._conn, self.wait)

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        """Run one statement on a new cursor."""
        return await self.cursor().execute(sql, parameters)

    async def begin(self, *, write: bool) -> None:
        """Start a transaction: a writer takes SQLite's write lock at once (BEGIN IMMEDIATE,
        waiting for another process's without blocking the loop); a reader takes none."""
        statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        await patiently(lambda: self._conn.execute(statement), wait=self.wait)

    async def commit(self) -> None:
        """Commit the transaction."""
        await patiently(self._conn.commit, wait=self.wait)

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


def answers(database: str) -> bool:
    """Whether the database file opens and its header reads, on a short-lived connection
    that takes no lock (a write lock held elsewhere is not an outage)."""
    if database == ":memory:" or "mode=memory" in database:
        return True
    try:
        uri = database if database.startswith("file:") else Path(database).resolve().as_uri()
        connection = sqlite3.connect(uri + ("" if "?" in uri else "?mode=rw"), timeout=0, uri=True)
    except sqlite3.Error:
        return False
    try:
        connection.execute("PRAGMA schema_version").fetchone()
    except sqlite3.OperationalError as exc:
        return _busy(exc)
    except sqlite3.Error:
        return False
    finally:
        connection.close()
    return True


def connect(database: str, *, busy_timeout_seconds: float) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` that opens inline connections, which
    wait up to `busy_timeout_seconds` for another process's lock without blocking the loop."""

    async def create() -> InlineConnection:
        connection = sqlite3.connect(
            database,
            timeout=0,  # SQLite's busy handler would block the loop: `patiently` waits
            isolation_level=None,
            check_same_thread=False,
            uri=database.startswith("file:"),
        )
        return InlineConnection(connection, wait=busy_timeout_seconds)

    return create

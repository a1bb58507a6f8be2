"""Another process holding SQLite's write lock (a `linli` command, a scheduler process) never
freezes the service: the crisis reply goes out while the lock is still held, the health
check and static files answer, and the crisis ticket is stored once the lock is released."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Runtime, create_web_app
from bot.config import Settings
from storage import db
from storage.models import Outbox, Ticket

Client = TestClient[Any, Any]
HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()  # hold the lock until the test says so
connection.execute("ROLLBACK")
"""


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    """The service's own settings: a crisis reply waits for the database 0.4 s at most."""
    return Settings.from_mapping({"database_url": sqlite_url, "secret_key": "test-secret-key"})


@pytest.fixture
def database_file(sqlite_url: str) -> Path:
    return Path(sqlite_url.removeprefix("sqlite+aiosqlite:///"))


@pytest.fixture
def lock_holder(database_file: Path) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    """Starts another process that takes the write lock and keeps it until released."""
    started: list[subprocess.Popen[str]] = []

    def hold() -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(database_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None and process.stdout.readline().strip() == "locked"
        return process

    yield hold
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
async def client(
    runtime: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> AsyncIterator[Client]:
    yield await aiohttp_client(create_web_app(runtime))
    await runtime.engine.drain()


def _release(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.write("release\n")
    process.stdin.flush()
    process.wait(timeout=10)


async def _stored(runtime: Runtime, seconds: float = 30.0) -> list[str]:
    """The kinds of the tickets stored, once there are any (polled, never slept on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        async with runtime.sessions() as session:
            kinds = list((await session.scalars(select(Ticket.kind))).all())
        if kinds or loop.time() > deadline:
            return kinds
        await asyncio.sleep(0.05)


async def test_a_lock_held_elsewhere_delays_no_crisis_reply_and_loses_nothing(
    client: Client, runtime: Runtime, lock_holder: Callable[[], subprocess.Popen[str]]
) -> None:
    holder = lock_holder()
    # While the other process holds the lock (it holds it until released, however long that
    # takes), the resident in crisis is answered and the service stays up.
    crisis = await client.post("/api/chat", json={"text": "我不想活了，今晚就从楼上跳下去"})
    assert crisis.status == 200
    reply = (await crisis.json())["replies"][0]["text"]
    assert "110" in reply and "12356" in reply
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["database"] is True
    assert (await client.get("/static/chat.css")).status == 200
    assert (await client.get("/")).status == 200
    assert holder.poll() is None  # the lock was held the whole time

    _release(holder)
    assert await _stored(runtime) == ["crisis"]  # then the urgent ticket is filed
    async with runtime.sessions() as session:
        alerts = (await session.scalars(select(Outbox.recipient))).all()
    assert "alerts" in alerts  # and staff alerted


async def test_reading_takes_no_write_lock(
    runtime: Runtime, lock_holder: Callable[[], subprocess.Popen[str]]
) -> None:
    holder = lock_holder()
    async with db.reading(runtime.sessions) as session:
        assert (await session.scalars(select(Ticket))).all() == []  # read at once
    assert holder.poll() is None
    _release(holder)


async def test_an_ordinary_message_waits_for_the_lock_without_stopping_the_service(
    client: Client, runtime: Runtime, lock_holder: Callable[[], subprocess.Popen[str]]
) -> None:
    holder = lock_holder()
    waiting = asyncio.create_task(client.post("/api/chat", json={"text": "社区食堂几点开门"}))
    await asyncio.sleep(0)  # the message is now waiting for the lock
    for _ in range(5):  # the loop is free: other requests are answered meanwhile
        assert (await client.get("/healthz")).status == 200
    assert not waiting.done()
    _release(holder)
    answered = await asyncio.wait_for(waiting, timeout=30)
    assert answered.status == 200 and (await answered.json())["replies"]

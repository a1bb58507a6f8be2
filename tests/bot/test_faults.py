"""Faults: the database goes away in the middle of traffic (a TCP proxy in front of
PostgreSQL drops every connection), a worker is killed with SIGKILL in the middle of a
resident's flow, and Telegram answers with a storm of 5xx errors and timeouts."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, make_url, select

from bot.app import build_runtime, create_web_app, start_telegram
from bot.config import Settings
from bot.outbox import Sender, SenderPolicy
from handlers.context import Services
from storage import db, outbox
from storage.models import Outbox, Resident, Ticket
from tests.fake_telegram import Failure, FakeTelegram
from tests.workers import Webhook, environment, start

Client = TestClient[Any, Any]
TRY_AGAIN = "请稍等片刻再发一次"


class DropProxy:
    """A TCP proxy to the database that can cut every connection and refuse new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.down = False
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close everything."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """The database is gone: every open connection breaks."""
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        self._open.discard(writer)
        writer.transport.abort()


@pytest.fixture
async def proxied(postgres_url: str) -> AsyncIterator[tuple[DropProxy, str]]:
    """The test's PostgreSQL database, reached through a proxy that can drop it."""
    url = make_url(postgres_url)
    proxy = DropProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    await proxy.stop()


async def _file_complaint(client: Client, n: int, log: list[str], midway: asyncio.Event) -> str:
    """A resident goes through the intake on the web chat, sending a message again when
    told to try again."""
    steps: list[dict[str, Any]] = [
        {"text": f"东门外第{n}根路灯不亮了，晚上很黑"},
        {"action": "confirm"},
        {"text": f"东门外第{n}根电线杆旁"},
        {"action": "complaint:skip"},
        {"action": "complaint:skip"},
        {"action": "complaint:privacy:named"},
        {"action": "complaint:submit"},
    ]
    replies: list[dict[str, Any]] = []
    for number, body in enumerate(steps):
        if body.get("action") == "confirm":
            body = {"action": replies[-1]["buttons"][0]["action"]}
        if body.get("action") == "complaint:submit" and any(
            b["action"] == "complaint:separate" for r in replies for b in r["buttons"]
        ):
            await _send(client, {"action": "complaint:separate", "id": f"r{n}-sep"}, log)
        replies = await _send(client, {**body, "id": f"r{n}-{number}"}, log)
        if number == 2:
            midway.set()
        await asyncio.sleep(0.1)
    return replies[0]["text"]


async def _send(client: Client, body: dict[str, Any], log: list[str]) -> list[dict[str, Any]]:
    for attempt in range(200):
        # Told to try again, the resident sends it again: the chat page gives it a new id.
        message = {**body, "id": f"{body['id']}-{attempt}"}
        response = await client.post("/api/chat", json=message)
        assert response.status == 200, await response.text()  # never a 500
        replies: list[dict[str, Any]] = (await response.json())["replies"]
        if replies and TRY_AGAIN in replies[0]["text"]:
            log.append(message["id"])
            await asyncio.sleep(0.2)
            continue
        assert replies, message
        return replies
    raise AssertionError(f"{body} was never accepted")


async def test_the_database_goes_away_in_the_middle_of_traffic(
    proxied: tuple[DropProxy, str],
    services: Services,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    proxy, url = proxied
    settings = Settings.from_mapping(
        {"database_url": url, "secret_key": "k", "web_rate_per_minute": 0}
    )
    runtime = await build_runtime(settings, upgrade=False, services=services)
    runtime.engine._rescue_delay = 0.5  # the crisis alert's first retry, sooner than in service
    try:
        clients = [await aiohttp_client(create_web_app(runtime)) for _ in range(8)]
        distressed = await aiohttp_client(create_web_app(runtime))  # another resident
        retried: list[str] = []
        midway = asyncio.Event()

        async def outage() -> bool:
            await midway.wait()  # residents are in the middle of their intake
            proxy.down = True
            proxy.cut()
            crisis = await distressed.post("/api/chat", json={"text": "我真的不想活了"})
            health = await distressed.get("/healthz")
            await asyncio.sleep(3)
            proxy.down = False
            assert "12356" in (await crisis.json())["replies"][0]["text"]  # answered at once
            return health.status == 503

        results = await asyncio.gather(
            outage(), *(_file_complaint(c, n, retried, midway) for n, c in enumerate(clients))
        )
        assert results[0], "the health check did not notice the outage"
        await runtime.engine.drain()  # the crisis alert, stored once the database is back
        async with runtime.sessions() as session:
            rows = (await session.execute(select(Ticket.number, Ticket.kind))).all()
    finally:
        await runtime.close()
    assert retried, "the outage never met a message"
    # Every number a resident was given exists. (A resident whose "submit" was committed
    # just as the connection broke was told to try again; sent again, it finds the intake
    # already done — the ticket is there all the same, in their "my requests".)
    numbers = {number for number, kind in rows if kind == "complaint"}
    accepted = [text for text in results[1:] if "已受理" in text]
    for text in accepted:
        assert any(number in text for number in numbers), text
    assert len(accepted) >= len(clients) - 2
    assert len(numbers) == len(clients), results  # one complaint each: none lost or doubled
    assert Counter(kind for _, kind in rows)["crisis"] == 1


@pytest.mark.slow
async def test_a_worker_killed_mid_flow_the_resident_continues(
    postgres_url: str, tmp_path: Path
) -> None:
    fake = FakeTelegram()
    await fake.start()
    env = environment(postgres_url, fake)
    user = 4242
    first = await start("web", env, tmp_path)
    second = None
    try:
        async with aiohttp.ClientSession(trust_env=False) as http:
            hook = Webhook(http)
            await hook.post(first, fake.text_update(user, "小区门口的路灯坏了好几天了"))
            category = next(d for _, d in fake.buttons(fake.sent(user)[-1]))
            await hook.post(first, fake.press_update(user, category))
            # The place is on its way to the worker when it dies: it may or may not have been
            # handled. Telegram, with no 200, delivers it again to another worker.
            place = fake.text_update(user, "和谐小区3号楼2单元门口")
            in_flight = asyncio.create_task(hook.post(first, place))
            await asyncio.sleep(0.01)
            first.kill()
            await first.process.wait()
            await in_flight
            second = await start("web", env, tmp_path)
            assert await hook.post(second, place) == 200
            for action in ("complaint:skip", "complaint:skip", "complaint:privacy:named"):
                assert await hook.post(second, fake.press_update(user, action)) == 200
            assert await hook.post(second, fake.press_update(user, "complaint:submit")) == 200
    finally:
        if second is not None:
            assert await second.stop() == 0
        await fake.stop()
    assert "已受理" in fake.texts(user)[-1]
    engine = db.create_engine(postgres_url)
    try:
        async with db.session_factory(engine)() as session:
            ticket = (await session.execute(select(Ticket))).scalar_one()
    finally:
        await engine.dispose()
    assert "3号楼2单元" in str(ticket.location) and "路灯" in ticket.summary


async def _queue(runtime: Any, users: range) -> None:
    async with runtime.sessions.begin() as session:
        for user in users:
            resident = Resident(channel="telegram", external_id=str(user), locale="zh")
            session.add(resident)
            await session.flush()
            await outbox.enqueue(
                session, channel="telegram", recipient=str(user), resident_id=resident.id,
                payload={"text": f"通知{user}", "buttons": []}, dedupe_key=f"storm:{user}",
                now=runtime.clock(), priority=outbox.PRIORITY_NORMAL,
            )  # fmt: skip


async def test_a_telegram_storm_backs_off_and_delivers_once(
    database_url: str, services: Services
) -> None:
    fake = FakeTelegram()
    await fake.start()
    settings = Settings.from_mapping(
        {
            "database_url": database_url,
            "secret_key": "k",
            "telegram_token": fake.token,
            "telegram_api_base": fake.base_url,
        }
    )
    runtime = await build_runtime(settings, upgrade=False, services=services)
    channel = start_telegram(runtime)
    assert channel is not None
    await channel.app.initialize()
    policy = SenderPolicy(
        lease=timedelta(seconds=3),
        send_timeout=timedelta(seconds=1),
        first_backoff=timedelta(milliseconds=300),
        idle_sleep=0.05,
    )
    sender = Sender(runtime.sessions, runtime.channels, clock=runtime.clock, policy=policy)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        # A timeout: Telegram takes the message and never answers. It may have arrived, so
        # this notice is not sent again.
        fake.stall_after = 0
        await _queue(runtime, range(600, 601))
        await fake.wait_for(lambda: len(fake.sent()) == 1)
        await asyncio.sleep(1.5)
        fake.release()
        # Then a storm of 5xx: every message's first two tries fail.
        for user in range(601, 606):
            for status, text in ((502, "Bad Gateway"), (500, "Internal Server Error")):
                fake.fail("sendMessage", Failure(status, text, chat_id=str(user)))
        await _queue(runtime, range(601, 606))
        await fake.wait_for(lambda: len(fake.sent()) >= 16, seconds=30)
        await asyncio.sleep(0.5)  # anything more would come now
        stop.set()
        await running
        async with runtime.sessions() as session:
            states = dict(
                (await session.execute(
                    select(Outbox.state, func.count()).group_by(Outbox.state))).all()
            )  # fmt: skip
    finally:
        stop.set()
        await channel.app.shutdown()
        await runtime.close()
        await fake.stop()
    calls = Counter(f["chat_id"] for f in fake.sent())
    assert calls == {"600": 1, **{str(user): 3 for user in range(601, 606)}}
    assert states == {"sent": 5, "uncertain": 1}
    # Backed off: a message's tries are at least the first backoff, then twice it, apart.
    for user in range(601, 606):
        times = [t for f, t in zip(fake.sent(), fake.arrivals, strict=True)
                 if f["chat_id"] == str(user)]  # fmt: skip
        assert times[1] - times[0] >= 0.29 and times[2] - times[1] >= 0.59, times

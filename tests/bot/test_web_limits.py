"""The web chat's limits: a per-client message budget with a friendly answer in the
resident's language, and refused oversized bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Runtime, build_runtime, create_web_app
from bot.channels.web import MAX_BODY_BYTES
from bot.config import Settings
from bot.ratelimit import RateLimiter
from handlers.context import Services
from storage.clock import SYSTEM
from storage.models import Ticket

Client = TestClient[Any, Any]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_a_burst_then_the_average_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=6, burst=3, clock=clock)
    assert [limiter.wait("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.wait("a") == 10  # one message every 10 s
    assert limiter.wait("b") == 0  # another client has its own budget
    clock.now += 10
    assert limiter.wait("a") == 0 and limiter.wait("a") == 10
    clock.now += 3600
    assert [limiter.wait("a") for _ in range(4)] == [0, 0, 0, 10]  # never above the burst


def test_no_limit_and_a_bounded_memory() -> None:
    assert all(RateLimiter(0, 1, clock=SYSTEM.monotonic).wait("a") == 0 for _ in range(100))
    limiter = RateLimiter(per_minute=1, burst=1, clock=SYSTEM.monotonic, max_clients=10)
    for n in range(50):
        assert limiter.wait(f"client-{n}") == 0
    assert len(limiter._buckets) == 10
    assert limiter.wait("client-0") == 0  # forgotten, so a fresh bucket


@pytest.fixture
async def limited(services: Services, sqlite_url: str) -> AsyncIterator[Runtime]:
    settings = Settings.from_mapping(
        {
            "database_url": sqlite_url,
            "secret_key": "test-secret-key",
            "web_rate_per_minute": 2,
            "web_rate_burst": 3,
        }
    )
    runtime = await build_runtime(settings, upgrade=False, services=services)
    yield runtime
    await runtime.close()


async def test_a_fast_client_is_asked_to_wait_in_its_language(
    limited: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    client = await aiohttp_client(create_web_app(limited))
    # The first message counts against the address; from the cookie on, against the resident.
    for n in range(4):
        response = await client.post("/api/chat", json={"text": f"你好{n}"})
        assert response.status == 200
    refused = await client.post("/api/chat", json={"text": "你好"})
    assert refused.status == 429 and refused.headers["Retry-After"] == "30"
    body = await refused.json()
    assert body == {"error": "您发送得太快了，请等 30 秒后再发。", "locale": "zh"}
    english = await client.post(
        "/api/chat", json={"text": "hello"}, headers={"Accept-Language": "en"}
    )
    assert english.status == 429
    assert "Please wait 30 seconds" in (await english.json())["error"]
    # Another resident (no cookie, another address behind the proxy) is not held back.
    client.session.cookie_jar.clear()
    other = await client.post("/api/chat", json={"text": "你好"}, headers={"X-Real-IP": "10.0.0.2"})
    assert other.status == 200


async def test_a_rate_limited_resident_in_crisis_still_gets_the_crisis_reply(
    limited: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    client = await aiohttp_client(create_web_app(limited))
    for n in range(4):
        assert (await client.post("/api/chat", json={"text": f"你好{n}"})).status == 200
    assert (await client.post("/api/chat", json={"text": "你好"})).status == 429
    crisis = await client.post("/api/chat", json={"text": "我不想活了，今晚就从楼上跳下去"})
    assert crisis.status == 200
    reply = (await crisis.json())["replies"][0]["text"]
    assert "110" in reply and "12356" in reply
    async with limited.sessions() as session:
        kinds = (await session.scalars(select(Ticket.kind))).all()
    assert kinds == ["crisis"]  # staff were alerted through the urgent ticket
    assert (await client.post("/api/chat", json={"text": "谢谢"})).status == 429  # still limited


async def test_an_oversized_body_is_refused_before_it_is_read(
    runtime: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    client = await aiohttp_client(create_web_app(runtime))
    body = b'{"text": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    response = await client.post(
        "/api/chat", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert "太大" in (await response.json())["error"]

"""The web chat: page, JSON API, cookie identity, inbox and health, through aiohttp's client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Runtime, create_web_app
from storage.models import Resident, Ticket
from tests.chat import queue_staff_reply
from tests.clock import START

Client = TestClient[Any, Any]


@pytest.fixture
async def client(
    runtime: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(create_web_app(runtime))


async def _chat(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/chat", json=body)
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def test_the_page_and_its_assets_are_served_with_safe_headers(client: Client) -> None:
    page = await client.get("/")
    assert page.status == 200
    html = await page.text()
    assert "/static/chat.js" in html and "/static/chat.css" in html and "viewport" in html
    assert "https://" not in html  # no CDN
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    for asset in ("/static/chat.js", "/static/chat.css", "/static/icon.svg"):
        response = await client.get(asset)
        assert response.status == 200, asset


async def test_a_visitor_chats_and_is_recognised_by_a_signed_cookie(
    client: Client, runtime: Runtime
) -> None:
    first = await _chat(client, {"action": "hello", "id": "a1"})
    assert "隐私" in first["replies"][0]["text"] + first["replies"][1]["text"]
    assert first["locale"] == "zh"
    menu = first["replies"][-1]["buttons"]
    assert {"label": "联系工作人员", "action": "handoff:start"} in menu

    await _chat(client, {"action": "handoff:start"})
    await _chat(client, {"text": "想问问社区食堂几点开门"})
    done = await _chat(client, {"action": "handoff:confirm"})
    assert "T-20" in done["replies"][0]["text"]
    async with runtime.sessions() as session:
        residents = (await session.execute(select(Resident))).scalars().all()
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert len(residents) == 1 and residents[0].channel == "web"
    assert ticket.resident_id == residents[0].id


async def test_a_forged_cookie_is_a_new_visitor(client: Client, runtime: Runtime) -> None:
    await _chat(client, {"action": "hello"})
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"linli_resident": "w-someone-else"})
    await _chat(client, {"action": "hello"})
    async with runtime.sessions() as session:
        ids = (await session.execute(select(Resident.external_id))).scalars().all()
    assert len(ids) == 2 and "w-someone-else" not in ids


async def test_english_browser_gets_english(client: Client) -> None:
    response = await client.post(
        "/api/chat", json={"action": "hello"}, headers={"Accept-Language": "en-US,en;q=0.9"}
    )
    data = await response.json()
    assert data["locale"] == "en" and "Privacy" in data["replies"][1]["text"]


async def test_a_retried_request_with_the_same_id_has_one_effect(
    client: Client, runtime: Runtime
) -> None:
    await _chat(client, {"action": "handoff:start"})
    await _chat(client, {"text": "想问问社区食堂几点开门"})
    first = await _chat(client, {"action": "handoff:confirm", "id": "same"})
    # The page retries only when no answer came back: it gets the first attempt's answer.
    again = await _chat(client, {"action": "handoff:confirm", "id": "same"})
    assert again["replies"] == first["replies"]
    assert f"T-{START.year}-" in again["replies"][0]["text"]  # the year of the runtime's clock
    async with runtime.sessions() as session:
        assert len((await session.execute(select(Ticket))).scalars().all()) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"{not json", "application/json", 400, "格式有误"),
        (b'"just a string"', "application/json", 400, "读不懂"),
        (b'{"text": 42}', "application/json", 400, "读不懂"),
        (b'{"action": "' + b"x" * 100 + b'"}', "application/json", 400, "读不懂"),
        (b"text=hi", "application/x-www-form-urlencoded", 415, "格式不对"),
        (b'{"text": "' + b"a" * 300_000 + b'"}', "application/json", 413, "太大"),
    ],
)
async def test_bad_requests_get_a_clear_message(
    client: Client, body: bytes, content_type: str, status: int, words: str
) -> None:
    response = await client.post("/api/chat", data=body, headers={"Content-Type": content_type})
    assert response.status == status
    data = await response.json()
    assert words in data["error"]


async def test_long_empty_and_unknown_inputs_are_answered(client: Client) -> None:
    long = await _chat(client, {"text": "楼" * 20_000})
    assert "太长" in long["replies"][0]["text"]
    empty = await _chat(client, {"text": ""})
    assert "没有收到文字" in empty["replies"][0]["text"]
    unknown = await _chat(client, {"action": "nope"})
    assert "不认识" in unknown["replies"][0]["text"]


async def test_a_staff_message_reaches_the_chat_page_once(client: Client, runtime: Runtime) -> None:
    await _chat(client, {"action": "hello"})
    async with runtime.sessions() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
    await queue_staff_reply(runtime, resident, "您好，路灯明天上午维修。", key="reply:1")
    first = await (await client.get("/api/chat/inbox")).json()
    assert [m["text"] for m in first["messages"]] == ["您好，路灯明天上午维修。"]
    second = await (await client.get("/api/chat/inbox")).json()
    assert second["messages"] == []


async def test_inbox_without_a_cookie_is_empty(client: Client) -> None:
    response = await client.get("/api/chat/inbox")
    assert response.status == 200 and (await response.json())["messages"] == []


async def test_health_reports_the_database(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": True}

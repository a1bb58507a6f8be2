"""The Telegram channel end to end: the real python-telegram-bot application against a local
fake Bot API server, in polling and in webhook mode."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import Runtime, build_runtime, create_web_app, start_telegram
from bot.channels.telegram import SECRET_HEADER, TelegramChannel
from bot.config import Settings
from bot.outbox import Sender
from handlers.context import Services
from storage import staff
from storage.clock import ManualClock
from storage.models import Outbox, Resident, Ticket, TicketEvent
from tests.fake_telegram import Failure, FakeTelegram

RESIDENT, STAFF_USER, STAFF_CHAT = 1001, 777, -100500
Client = TestClient[Any, Any]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


def _settings(url: str, fake: FakeTelegram, *, webhook: bool = False) -> Settings:
    extra = (
        {"webhook_url": "https://linli.example.org", "webhook_secret": "s3cret-token"}
        if webhook
        else {}
    )
    return Settings.from_mapping(
        {
            "database_url": url,
            "secret_key": "k",
            "telegram_token": fake.token,
            "telegram_api_base": fake.base_url,
            "staff_chat_id": STAFF_CHAT,
            **extra,
        }
    )


@dataclass
class Bot:
    """The running service with Telegram, and how updates reach it in its mode."""

    runtime: Runtime
    channel: TelegramChannel
    push: Callable[[dict[str, Any]], Awaitable[None]]


@pytest.fixture(params=["polling", "webhook"])
async def bot(
    request: pytest.FixtureRequest,
    sqlite_url: str,
    fake: FakeTelegram,
    services: Services,
    clock: ManualClock,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> AsyncIterator[Bot]:
    """The service with Telegram by long polling, or by a webhook on our aiohttp app."""
    settings = _settings(sqlite_url, fake, webhook=request.param == "webhook")
    async for running in _running(settings, fake, services, clock, aiohttp_client):
        yield running


@pytest.fixture
async def webhook_bot(
    database_url: str,
    fake: FakeTelegram,
    services: Services,
    clock: ManualClock,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> AsyncIterator[Bot]:
    """The service with Telegram by webhook, on SQLite and (when configured) PostgreSQL."""
    settings = _settings(database_url, fake, webhook=True)
    async for running in _running(settings, fake, services, clock, aiohttp_client):
        yield running


async def _running(
    settings: Settings,
    fake: FakeTelegram,
    services: Services,
    clock: ManualClock,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> AsyncIterator[Bot]:
    runtime = await build_runtime(settings, upgrade=False, services=services, clock=clock)
    channel = start_telegram(runtime)
    assert channel is not None
    client = await aiohttp_client(create_web_app(runtime, channel))
    await channel.start()

    async def push(update: dict[str, Any]) -> None:
        if channel.webhook:
            headers = {SECRET_HEADER: "s3cret-token"}
            response = await client.post(channel.path, json=update, headers=headers)
            assert response.status == 200
        else:
            fake.push(update)

    yield Bot(runtime, channel, push)
    await channel.stop()
    await runtime.close()


async def _deliver(runtime: Runtime) -> None:
    """One pass of the outbox sender over the Telegram channels."""
    await Sender(runtime.sessions, runtime.channels, clock=runtime.clock).run_once()


async def _say(
    bot: Bot, fake: FakeTelegram, update: dict[str, Any], count: int = 1
) -> list[dict[str, Any]]:
    """Deliver an update and wait for `count` more messages to the resident."""
    before = len(fake.sent(RESIDENT))
    await bot.push(update)
    await fake.wait_for(lambda: len(fake.sent(RESIDENT)) >= before + count)
    return fake.sent(RESIDENT)[before:]


async def test_start_shows_welcome_privacy_and_a_menu_of_short_buttons(
    bot: Bot, fake: FakeTelegram
) -> None:
    sent = await _say(bot, fake, fake.text_update(RESIDENT, "/start"), count=3)
    assert "邻里" in sent[0]["text"] and "Telegram 是境外服务" in sent[1]["text"]
    menu = fake.buttons(sent[2])
    assert ("反映问题", "menu:complaint") in menu
    assert all(len(data.encode()) <= 64 and data.isascii() for _, data in menu)
    assert all("parse_mode" not in fields for fields in sent)
    setup = [m for m, _ in fake.calls][:2]
    assert setup == (["getMe", "setWebhook"] if bot.channel.webhook else ["getMe", "deleteWebhook"])


async def test_a_complaint_with_buttons_and_a_photo(bot: Bot, fake: FakeTelegram) -> None:
    runtime = bot.runtime
    await _say(bot, fake, fake.text_update(RESIDENT, "2号楼门口的路灯坏了"))
    await _say(bot, fake, fake.press_update(RESIDENT, "complaint:category:facilities"))
    assert fake.called("answerCallbackQuery") and fake.called("editMessageReplyMarkup")
    await _say(bot, fake, fake.text_update(RESIDENT, "和谐小区2号楼"))
    photo = [
        {"file_id": "small", "file_unique_id": "a", "width": 90, "height": 90},
        {"file_id": "big-file-id", "file_unique_id": "b", "width": 900, "height": 900},
    ]
    await _say(bot, fake, fake.message_update(RESIDENT, photo=photo))
    await _say(bot, fake, fake.press_update(RESIDENT, "complaint:photos_done"))
    await _say(bot, fake, fake.press_update(RESIDENT, "complaint:skip"))
    await _say(bot, fake, fake.press_update(RESIDENT, "complaint:privacy:named"))
    done = await _say(bot, fake, fake.press_update(RESIDENT, "complaint:submit"))
    assert "已受理" in done[0]["text"]
    async with runtime.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.photos == ["big-file-id"] and ticket.grid == "hx-1"
    await _deliver(runtime)
    alert = fake.sent(STAFF_CHAT)[-1]
    assert ticket.number in alert["text"] and ("签收", f"staff:claim:{ticket.id}") in fake.buttons(
        alert
    )
    # Claim from the staff chat: only someone on the staff list can.
    await bot.push(fake.press_update(4040, f"staff:claim:{ticket.id}", chat_id=STAFF_CHAT))
    async with runtime.sessions.begin() as session:
        await staff.create_staff(
            session, username="li", role="grid", grid="hx-1", password_hash=None,
            now=runtime.clock(), telegram_id=STAFF_USER,
        )  # fmt: skip
    await bot.push(fake.press_update(STAFF_USER, f"staff:claim:{ticket.id}", chat_id=STAFF_CHAT))
    await fake.wait_for(lambda: any("已签收" in t for t in fake.texts(STAFF_CHAT)))
    assert await _one(runtime, select(Ticket.status)) == "assigned"


async def test_staff_claim_and_reply_reach_the_resident(bot: Bot, fake: FakeTelegram) -> None:
    runtime = bot.runtime
    async with runtime.sessions.begin() as session:
        await staff.create_staff(
            session, username="zhang", role="staff", password_hash=None, now=runtime.clock(),
            telegram_id=STAFF_USER,
        )  # fmt: skip
    await _say(bot, fake, fake.press_update(RESIDENT, "handoff:start"))
    await _say(bot, fake, fake.text_update(RESIDENT, "想问问社区食堂几点开门"))
    await _say(bot, fake, fake.press_update(RESIDENT, "handoff:confirm"))
    number = await _one(runtime, select(Ticket.number))
    claimed = len(fake.sent(STAFF_USER))
    await bot.push(fake.text_update(STAFF_USER, f"/claim {number}"))
    await fake.wait_for(lambda: len(fake.sent(STAFF_USER)) > claimed)
    assert "已签收" in fake.texts(STAFF_USER)[-1]
    await bot.push(fake.text_update(STAFF_USER, f"/reply {number} 午餐11点开始，欢迎来"))
    await fake.wait_for(lambda: any("已回复" in t for t in fake.texts(STAFF_USER)))
    await _deliver(runtime)
    assert any("午餐11点开始" in t for t in fake.texts(RESIDENT))
    # A resident typing a staff command gets the normal resident answer.
    answer = await _say(bot, fake, fake.text_update(RESIDENT, f"/claim {number}"))
    assert "不认识这个指令" in answer[0]["text"]


async def test_a_crisis_alerts_the_staff_chat_by_itself(bot: Bot, fake: FakeTelegram) -> None:
    # How fast is measured by benchmarks/crisis.py, not here: the running sender alone must
    # bring the alert to the staff chat.
    runtime = bot.runtime
    stop = asyncio.Event()
    sender = asyncio.create_task(
        Sender(runtime.sessions, runtime.channels, clock=runtime.clock).run(stop)
    )
    try:
        await bot.push(fake.text_update(RESIDENT, "我真的不想活了"))
        await fake.wait_for(lambda: any("紧急" in t for t in fake.texts(STAFF_CHAT)), seconds=30)
        assert "12356" in fake.texts(RESIDENT)[-1]
    finally:
        stop.set()
        await sender


async def test_a_staff_update_delivered_twice_has_one_effect(
    webhook_bot: Bot, fake: FakeTelegram
) -> None:
    """Telegram redelivers a webhook it thinks was lost: a staff member's /reply and a button
    pressed in the staff chat, each arriving twice, reach the resident and the ticket once."""
    runtime = webhook_bot.runtime
    async with runtime.sessions.begin() as session:
        await staff.create_staff(
            session, username="zhang", role="staff", password_hash=None, now=runtime.clock(),
            telegram_id=STAFF_USER,
        )  # fmt: skip
    await _say(webhook_bot, fake, fake.press_update(RESIDENT, "handoff:start"))
    await _say(webhook_bot, fake, fake.text_update(RESIDENT, "想问问社区食堂几点开门"))
    await _say(webhook_bot, fake, fake.press_update(RESIDENT, "handoff:confirm"))
    ticket = await _one(runtime, select(Ticket))

    claim = fake.press_update(STAFF_USER, f"staff:claim:{ticket.id}", chat_id=STAFF_CHAT)
    reply = fake.text_update(STAFF_USER, f"/reply {ticket.number} 午餐11点开始，欢迎来")
    for update in (claim, claim, reply, reply):
        await webhook_bot.push(update)  # the webhook answers once the update is handled
    await _deliver(runtime)

    told = [t for t in fake.texts(RESIDENT) if "午餐11点开始" in t]
    assert len(told) == 1
    assert sum("已签收" in t for t in fake.texts(STAFF_CHAT)) == 1
    assert sum("已回复" in t for t in fake.texts(STAFF_USER)) == 1
    async with runtime.sessions() as session:
        kinds = (
            await session.scalars(
                select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)
            )
        ).all()
    assert kinds.count("assigned") == 1 and kinds.count("reply") == 1, kinds


async def test_unsupported_content_edits_and_groups(bot: Bot, fake: FakeTelegram) -> None:
    sticker = {"file_id": "s", "file_unique_id": "s", "width": 1, "height": 1, "is_animated": False,
               "is_video": False, "type": "regular"}  # fmt: skip
    reply = await _say(bot, fake, fake.message_update(RESIDENT, sticker=sticker))
    assert "文字" in reply[0]["text"]
    edited = fake.text_update(RESIDENT, "改一下")
    edited["edited_message"] = edited.pop("message") | {"edit_date": 1}
    reply = await _say(bot, fake, edited)
    assert "文字" in reply[0]["text"]
    group = -2002
    await bot.push(fake.text_update(RESIDENT, "大家好", chat_type="group", chat_id=group))
    await bot.push(
        fake.text_update(RESIDENT, "@linli_test_bot 我家漏水", chat_type="group", chat_id=group)
    )
    await fake.wait_for(lambda: len(fake.sent(group)) >= 1)
    await asyncio.sleep(0.2)
    assert len(fake.sent(group)) == 1 and "私聊" in fake.texts(group)[0]


async def test_rate_limits_are_obeyed_and_blocked_residents_marked(
    bot: Bot, fake: FakeTelegram
) -> None:
    runtime = bot.runtime
    await _say(bot, fake, fake.text_update(RESIDENT, "你好"))
    await _say(bot, fake, fake.text_update(2002, "你好"), count=0)
    await fake.wait_for(lambda: len(fake.sent(2002)) >= 1)
    async with runtime.sessions.begin() as session:
        from storage import outbox

        for user in (RESIDENT, 2002):
            resident = (
                await session.execute(select(Resident).where(Resident.external_id == str(user)))
            ).scalar_one()
            await outbox.enqueue(
                session, channel="telegram", recipient=str(user), resident_id=resident.id,
                payload={"text": "通知：周六停水", "buttons": []}, dedupe_key=f"notice:{user}",
                now=runtime.clock(),
            )  # fmt: skip
    sends_before = len(fake.sent())
    fake.fail("sendMessage", Failure(429, "Too Many Requests: retry after 1", 1, str(RESIDENT)))
    fake.fail("sendMessage", Failure(403, "Forbidden: bot was blocked by the user", None, "2002"))
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    sender = Sender(runtime.sessions, runtime.channels, clock=clock)
    told_at = clock()
    await sender.run_once()
    rows = {r.recipient: r for r in await _all(runtime, select(Outbox))}
    # The 429 pauses the whole bot: the second notice waits too instead of meeting another 429.
    assert rows[str(RESIDENT)].state == rows["2002"].state == "pending"
    assert rows[str(RESIDENT)].not_before >= told_at + timedelta(seconds=1)
    assert len(fake.sent()) == sends_before + 1
    assert await sender.run_once() == 0  # waits as told
    clock.advance(seconds=2)  # the outbox row and the bot's pause both end
    pacer = runtime.channels[0].pacer  # type: ignore[attr-defined]
    assert pacer.paused_for() == 0
    await sender.run_once()
    assert "通知：周六停水" in fake.texts(RESIDENT)[-1]
    blocked = await _one(runtime, select(Resident.reachable).where(Resident.external_id == "2002"))
    assert blocked is False


async def _one(runtime: Runtime, statement: Any) -> Any:
    async with runtime.sessions() as session:
        return (await session.execute(statement)).scalar_one()


async def _all(runtime: Runtime, statement: Any) -> list[Any]:
    async with runtime.sessions() as session:
        return list((await session.execute(statement)).scalars().all())


@pytest.fixture
async def hook(
    sqlite_url: str,
    fake: FakeTelegram,
    services: Services,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> AsyncIterator[tuple[Runtime, TelegramChannel, Client]]:
    """The service with Telegram in webhook mode, served by our aiohttp app."""
    runtime = await build_runtime(
        _settings(sqlite_url, fake, webhook=True), upgrade=False, services=services
    )
    channel = start_telegram(runtime)
    assert channel is not None
    client = await aiohttp_client(create_web_app(runtime, channel))
    await channel.start()
    yield runtime, channel, client
    await channel.stop()
    await runtime.close()


async def test_webhook_is_registered_checked_and_idempotent(
    hook: tuple[Runtime, TelegramChannel, Client], fake: FakeTelegram
) -> None:
    runtime, channel, client = hook
    registered = fake.called("setWebhook")[0]
    assert registered["url"].startswith("https://linli.example.org/telegram/")
    assert fake.token not in registered["url"] and registered["secret_token"] == "s3cret-token"
    assert set(eval(registered["allowed_updates"])) == {
        "message",
        "edited_message",
        "callback_query",
    }
    assert not fake.called("getUpdates")

    update = fake.text_update(RESIDENT, "我真的不想活了")
    wrong = await client.post(channel.path, json=update, headers={SECRET_HEADER: "nope"})
    assert wrong.status == 403
    assert (
        fake.sent(RESIDENT) == []
        and await _one(runtime, select(func.count()).select_from(Ticket)) == 0
    )
    for _ in range(2):  # Telegram retries a delivery it thinks failed
        response = await client.post(
            channel.path, json=update, headers={SECRET_HEADER: "s3cret-token"}
        )
        assert response.status == 200
    assert await _one(runtime, select(func.count()).select_from(Ticket)) == 1
    assert len(fake.sent(RESIDENT)) == 1 and "12356" in fake.texts(RESIDENT)[0]


async def test_a_reply_that_cannot_be_sent_waits_in_the_outbox(
    bot: Bot, fake: FakeTelegram
) -> None:
    runtime = bot.runtime
    await _say(bot, fake, fake.text_update(RESIDENT, "你好"))
    fake.fail("sendMessage", Failure(502, "Bad Gateway", chat_id=str(RESIDENT)))
    await bot.push(fake.text_update(RESIDENT, "/help"))
    pending = select(func.count()).select_from(Outbox).where(Outbox.channel == "telegram")
    await _eventually(lambda: _one(runtime, pending), 1)
    await _deliver(runtime)
    assert "我可以帮您" in fake.texts(RESIDENT)[-1]
    fake.fail("sendMessage", Failure(403, "Forbidden: bot was blocked by the user"))
    await bot.push(fake.text_update(RESIDENT, "/help"))
    reachable = select(Resident.reachable).where(Resident.external_id == str(RESIDENT))
    await _eventually(lambda: _one(runtime, reachable), False)


async def _eventually(query: Callable[[], Awaitable[Any]], expected: Any) -> None:
    for _ in range(250):
        if await query() == expected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never became {expected!r}")


@pytest.mark.parametrize(
    "body",
    [b"[]", b"null", b'"update"', b"5", b"{}", b'{"update_id": "1"}', b'{"update_id": true}',
     b'{"update_id": 1, "message": "hi"}', b'{"update_id": 1, "message": []}',
     b'{"update_id": 1, "callback_query": {"id": 5}}', b"[" * 10_000 + b"]" * 10_000,
     b'{"update_id": 1' + b"0" * 5000 + b"}", b"{", b"\xff"],
)  # fmt: skip
async def test_a_webhook_body_that_is_no_update_is_refused(
    hook: tuple[Runtime, TelegramChannel, Client], body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Checked after the secret: a stranger learns nothing; Telegram gets a 400, not a 500."""
    _, channel, client = hook
    json_type = {"Content-Type": "application/json"}
    stranger = await client.post(channel.path, data=body, headers=json_type)
    assert stranger.status == 403
    refused = await client.post(
        channel.path, data=body, headers={**json_type, SECRET_HEADER: "s3cret-token"}
    )
    assert refused.status == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_staff_button_with_an_impossible_id_says_it_has_expired(
    bot: Bot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = bot.runtime
    async with runtime.sessions.begin() as session:
        await staff.create_staff(
            session, username="zhang", role="staff", password_hash=None, now=runtime.clock(),
            telegram_id=STAFF_USER,
        )  # fmt: skip
    stale = runtime.services.texts.get("zh", "input.stale_button")
    for number in ("99999999999999999999999", str(2**63), str(2**31)):
        before = len(fake.sent(STAFF_CHAT))
        await bot.push(fake.press_update(STAFF_USER, f"staff:claim:{number}", chat_id=STAFF_CHAT))
        await fake.wait_for(lambda seen=before: len(fake.sent(STAFF_CHAT)) > seen)
        assert fake.texts(STAFF_CHAT)[-1] == stale
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

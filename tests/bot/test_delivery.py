"""Delivery manners: quiet hours for residents, Telegram's pace per bot, chat and group."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import RetryAfter as TelegramRetryAfter

from bot.channels.telegram import Pacer, TelegramSender
from bot.outbox import DeliveryResult, QuietHours, RetryAfter, Sender, SenderPolicy, Sent
from storage import db, outbox
from storage.models import Outbox
from storage.outbox import OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET = QuietHours.parse("21:30-08:00", SHANGHAI)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def test_quiet_hours_end_in_the_morning() -> None:
    assert QUIET.until(local(27, 23)) == local(28, 8)
    assert QUIET.until(local(28, 7, 59)) == local(28, 8)
    assert QUIET.until(local(27, 21, 30)) == local(28, 8)
    assert QUIET.until(local(27, 12)) is None and QUIET.until(local(27, 8)) is None
    lunch = QuietHours.parse("12:00-13:30", SHANGHAI)
    assert (
        lunch.until(local(27, 12, 10)) == local(27, 13, 30) and lunch.until(local(27, 14)) is None
    )


@dataclass
class Recorder:
    channel: str
    delivered: list[str] = field(default_factory=list)

    async def send(self, message: OutboxMessage) -> DeliveryResult:
        self.delivered.append(message.payload["text"])
        return Sent()

    async def turn(self, message: OutboxMessage) -> float:
        return 0.0


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    yield db.session_factory(engine)
    await engine.dispose()


async def test_at_night_residents_get_only_what_cannot_wait(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    night = local(27, 23)
    async with sessions.begin() as session:
        for text, channel, priority in (
            ("周六停水通知", "telegram", outbox.PRIORITY_BULK),
            ("您的事项已签收", "telegram", outbox.PRIORITY_NORMAL),
            ("工作人员回复", "telegram", outbox.PRIORITY_HIGH),
            ("危机预警", "staff", outbox.PRIORITY_URGENT),
            ("新事项", "staff", outbox.PRIORITY_NORMAL),
        ):
            await outbox.enqueue(
                session, channel=channel, recipient="r", payload={"text": text},
                dedupe_key=text, priority=priority, now=night,
            )  # fmt: skip
    residents, staff = Recorder("telegram"), Recorder("staff")
    sender = Sender(
        sessions, [residents, staff], policy=SenderPolicy(quiet=QUIET), clock=lambda: night
    )
    await sender.run_once()
    assert residents.delivered == ["工作人员回复"]
    assert sorted(staff.delivered) == ["危机预警", "新事项"]
    async with sessions() as session:
        held = (
            (await session.execute(select(Outbox).where(Outbox.state == "pending"))).scalars().all()
        )
    assert {h.dedupe_key for h in held} == {"周六停水通知", "您的事项已签收"}
    assert all(h.not_before == local(28, 8) and h.attempts == 0 for h in held)
    morning = Sender(
        sessions, [residents], policy=SenderPolicy(quiet=QUIET), clock=lambda: local(28, 8)
    )
    await morning.run_once()
    assert sorted(residents.delivered) == sorted(["工作人员回复", "周六停水通知", "您的事项已签收"])


async def test_telegram_pace_per_chat_and_group() -> None:
    now = [100.0]
    pacer = Pacer(lambda: now[0])
    await pacer.slot(1001)
    assert pacer.chat_wait(1001) == pytest.approx(1.0) and pacer.chat_wait(1002) == 0
    now[0] += 0.5
    assert pacer.chat_wait(1001) == pytest.approx(0.5)
    await pacer.slot(-100500)
    assert pacer.chat_wait(-100500) == pytest.approx(3.0)  # 20 a minute to a group


async def test_a_429_pauses_the_whole_bot_for_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # as the Telegram channel sets it
    now = [100.0]

    class Flooded:
        async def send_message(self, **fields: object) -> None:
            raise TelegramRetryAfter(timedelta(seconds=5))

    sender = TelegramSender(Flooded(), Pacer(lambda: now[0]))
    notice = OutboxMessage(1, "telegram", "1001", None, {"text": "通知"}, -10, 1, "n:1001")
    assert await sender.turn(notice) == 0
    assert await sender.send(notice) == RetryAfter(5.0)
    # No other chat is tried while the bot is paused: it waits out the same pause.
    other = OutboxMessage(2, "telegram", "1002", None, {"text": "通知"}, -10, 1, "n:1002")
    assert await sender.turn(other) == pytest.approx(5.0)
    now[0] += 5
    assert await sender.turn(other) == 0

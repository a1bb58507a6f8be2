"""A senior's check-in day with each outcome: fine, asking for help, silence, opting out."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import Runtime
from handlers import checkin, staff_chat
from handlers.engine import Engine
from storage import outbox, staff
from storage.clock import ManualClock
from storage.models import AuditLog, Outbox, Ticket
from tests.chat import ResidentChat, fetch_all, fetch_one, report_problem, texts

pytestmark = pytest.mark.both_databases

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 27, 8, 0, tzinfo=SHANGHAI)


async def _setup(runtime: Runtime) -> tuple[ResidentChat, ManualClock]:
    """A senior who turned the daily greeting on, chatting with an engine whose clock stands
    still at eight in the morning, so the test decides every instant."""
    clock = ManualClock(MORNING, tick=False)
    grandma = ResidentChat(Engine(runtime.sessions, runtime.services, clock=clock), user="nainai")
    offer = await grandma.say("每日问候")
    assert "09:00" in texts(offer) and grandma.labels()[0] == "开通每日问候"
    assert "已开通" in texts(await grandma.tap("开通每日问候"))
    return grandma, clock


async def _sweep(runtime: Runtime, at: datetime) -> int:
    async with runtime.sessions.begin() as session:
        return await checkin.sweep(session, runtime.services, now=at)


async def _messages(runtime: Runtime, user: str = "nainai") -> list[str]:
    async with runtime.sessions.begin() as session:
        taken = await outbox.take_for_recipient(
            session, channel="console", recipient=user, now=MORNING + timedelta(days=3)
        )
    return [m.payload["text"] for m in taken]


async def test_a_fine_day(runtime: Runtime) -> None:
    grandma, clock = await _setup(runtime)
    assert await _sweep(runtime, MORNING) == 0  # not 09:00 yet
    now = clock.set(MORNING + timedelta(hours=1, minutes=5))
    assert await _sweep(runtime, now) == 1
    assert await _sweep(runtime, now) == 0  # asked once a day
    assert await _messages(runtime) == ["您好！今天身体还好吗？"]
    assert "祝您今天愉快" in texts(await grandma.press("checkin:ok"))
    assert await _sweep(runtime, MORNING + timedelta(hours=8)) == 0  # no reminder, no ticket
    assert await fetch_all(runtime.sessions, select(Ticket)) == []


async def test_silence_brings_a_reminder_then_the_grid_worker(runtime: Runtime) -> None:
    await _setup(runtime)
    nine = MORNING + timedelta(hours=1)
    assert await _sweep(runtime, nine) == 1
    assert await _sweep(runtime, nine + timedelta(hours=1)) == 0
    assert await _sweep(runtime, nine + timedelta(hours=2)) == 1  # the reminder
    assert await _sweep(runtime, nine + timedelta(hours=3)) == 0
    assert await _sweep(runtime, nine + timedelta(hours=4)) == 1  # the ticket
    assert await _sweep(runtime, nine + timedelta(hours=6)) == 0
    assert await _messages(runtime) == [
        "您好！今天身体还好吗？",
        "还没收到您的回复，今天一切都好吗？",
    ]
    ticket = (await fetch_all(runtime.sessions, select(Ticket)))[0]
    assert ticket.kind == "checkin" and "没有回复" in ticket.summary
    alerts = await fetch_all(
        runtime.sessions, select(Outbox.payload).where(Outbox.channel == "staff")
    )
    assert any(ticket.number in a["text"] for a in alerts)
    assert await _sweep(runtime, nine + timedelta(days=1)) == 1  # a new day, a new greeting


async def test_asking_for_help_files_a_ticket_at_once_and_opting_out_is_one_tap(
    runtime: Runtime,
) -> None:
    grandma, clock = await _setup(runtime)
    now = clock.set(MORNING + timedelta(hours=1))
    await _sweep(runtime, now)
    assert "已经通知网格员" in texts(await grandma.press("checkin:help"))
    ticket = (await fetch_all(runtime.sessions, select(Ticket)))[0]
    assert ticket.kind == "checkin" and ticket.priority == 1
    assert await _sweep(runtime, now + timedelta(hours=5)) == 0  # answered: no more today
    assert "已关闭" in texts(await grandma.press("checkin:stop"))
    assert await _sweep(runtime, now + timedelta(days=1)) == 0
    assert "过期" in texts(await grandma.press("checkin:ok"))


async def test_the_senior_chooses_the_time_of_the_greeting(runtime: Runtime) -> None:
    grandma, _ = await _setup(runtime)
    assert "08:00" in grandma.labels()
    assert "每天 08:00 问候您" in texts(await grandma.tap("08:00"))
    assert await _sweep(runtime, MORNING - timedelta(minutes=1)) == 0
    assert await _sweep(runtime, MORNING) == 1  # asked at eight, not at nine
    assert "每天 08:00" in texts(await grandma.say("每日问候"))
    assert "过期" in texts(await grandma.press("checkin:at:0315"))  # not a time we offer


async def test_staff_arrange_a_check_in_for_a_resident_who_asked_in_person(
    runtime: Runtime, clock: ManualClock
) -> None:
    clock.set(MORNING - timedelta(days=1))  # the resident and staff act the day before
    grandpa = ResidentChat(runtime.engine, user="yeye")
    await report_problem(grandpa, "楼道灯坏了，我腿脚不好", where="和谐小区3号楼")
    number = await fetch_one(runtime.sessions, select(Ticket.number))
    assert "用法" in await _staff_says(runtime, f"/checkin {number} 25:00")
    said = await _staff_says(runtime, f"/checkin {number} 08:30")
    assert "开通每日问候，每天 08:30" in said
    told = await _messages(runtime, "yeye")
    assert told and "工作人员按您的意愿为您开通了每日问候" in told[-1]
    assert await _sweep(runtime, MORNING + timedelta(minutes=30)) == 1  # greeted at 08:30
    assert "关闭每日问候" in await _staff_says(runtime, f"/checkin {number} off")
    assert "关闭了每日问候" in (await _messages(runtime, "yeye"))[-1]
    actions = await fetch_all(runtime.sessions, select(AuditLog.action))
    assert {"checkin_on", "checkin_off"} <= set(actions)


async def _staff_says(runtime: Runtime, text: str) -> str:
    """A staff member's command in the staff chat, answered by the real staff-chat code."""
    command = staff_chat.command_of(text, None)
    assert command is not None
    async with runtime.sessions.begin() as session:
        member = await staff.get_staff_by_username(session, "wang") or await staff.create_staff(
            session, username="wang", role="staff", password_hash=None, now=MORNING
        )
        return texts(
            await staff_chat.answer(session, runtime.services, member, command, now=runtime.clock())
        )

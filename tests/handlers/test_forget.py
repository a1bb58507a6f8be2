"""`/forget` (删除我的数据): the resident's data goes, after they confirm."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.app import Runtime
from storage.models import AuditLog, Conversation, Outbox, Resident, Ticket, TicketEvent
from storage.residents import ANONYMISED
from tests.chat import (
    ResidentChat,
    fetch_all,
    fetch_one,
    queue_staff_reply,
    report_problem,
    texts,
)

pytestmark = pytest.mark.both_databases


async def _file_a_request(alice: ResidentChat) -> None:
    await report_problem(alice, "3号楼的路灯坏了，电话13812345678", phone="13812345678")


async def test_forget_deletes_the_resident_and_anonymises_their_tickets(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await _file_a_request(alice)
    resident = await fetch_one(runtime.sessions, select(Resident))
    await queue_staff_reply(runtime, resident, "明天来修。", key="reply:1")
    async with runtime.sessions.begin() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        ticket.contact_phone = "+8613812345678"

    ask = await alice.say("删除我的数据")
    assert "1 个事项还没办结" in texts(ask) and alice.labels() == ["确认删除", "取消"]
    done = await alice.tap("确认删除")
    assert "已删除" in texts(done)

    count = select(func.count())
    assert await fetch_one(runtime.sessions, count.select_from(Resident)) == 0
    assert await fetch_one(runtime.sessions, count.select_from(Conversation)) == 0
    assert await fetch_one(runtime.sessions, count.select_from(Outbox)) == 0
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.resident_id is None and ticket.contact_phone is None
    assert ticket.summary == ANONYMISED and "路灯" not in ticket.summary
    bodies = await fetch_all(runtime.sessions, select(TicketEvent.body))
    assert all("13812345678" not in body for body in bodies)
    entry = await fetch_one(runtime.sessions, select(AuditLog))
    assert entry.action == "resident.forget" and entry.detail["tickets_anonymised"] == 1
    assert "路灯" not in str(entry.detail)

    again = await alice.say("你好")  # a new start: they are a stranger now
    assert "很高兴为您服务" in texts(again)
    assert await fetch_one(runtime.sessions, count.select_from(Resident)) == 1


async def test_forget_needs_confirmation(alice: ResidentChat, runtime: Runtime) -> None:
    await _file_a_request(alice)
    await alice.say("/forget")
    kept = await alice.tap("取消")
    assert "没有删除" in texts(kept)
    await alice.say("/forget")
    await alice.say("算了")
    assert "没有删除" in alice.last_text
    assert await fetch_one(runtime.sessions, select(func.count()).select_from(Resident)) == 1
    assert (await fetch_one(runtime.sessions, select(Ticket))).summary != ANONYMISED


async def test_english_forget(runtime: Runtime) -> None:
    gina = ResidentChat(runtime.engine, user="gina", locale="en")
    await gina.say("/start")
    ask = await gina.say("delete my data")
    assert "cannot be undone" in texts(ask)
    assert "has been deleted" in texts(await gina.tap("Delete my data"))

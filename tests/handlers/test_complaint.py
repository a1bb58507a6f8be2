"""Reporting a problem and following it to the end — what the resident sees and what staff do."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import Runtime
from handlers import lifecycle, sweeps
from handlers.engine import Engine
from handlers.lifecycle import TicketActionError
from storage import outbox, staff
from storage.models import Outbox, Resident, Staff, Ticket, TicketEvent, TicketSupporter
from tests.chat import ResidentChat, fetch_all, fetch_one, report_problem, texts

pytestmark = pytest.mark.both_databases

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _staff(runtime: Runtime, username: str, role: str, grid: str | None = None) -> Staff:
    async with runtime.sessions.begin() as session:
        return await staff.create_staff(
            session, username=username, role=role, password_hash=None, now=runtime.clock(),
            grid=grid,
        )  # fmt: skip


async def _news(runtime: Runtime, user: str) -> list[str]:
    """What reached a console resident through the outbox since the last look."""
    async with runtime.sessions.begin() as session:
        taken = await outbox.take_for_recipient(
            session, channel="console", recipient=user, now=runtime.clock() + timedelta(days=30)
        )
    return [m.payload["text"] for m in taken]


async def test_a_report_with_buttons_becomes_a_ticket_with_grid_and_deadline(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.say("3号楼门口的路灯坏了一个星期，晚上很黑")
    assert "道路设施" in alice.last_text and alice.labels()[:2] == ["对", "换一个类别"]
    await alice.tap("对")
    located = await alice.say("和谐小区3号楼")
    assert "和谐社区第一网格" in texts(located) and "跳过" in alice.labels()
    await alice.tap("跳过")
    await alice.say("138 1234 5678")
    await alice.tap("仅工作人员可见")
    summary = alice.last_text
    assert "138****5678" in summary and "13812345678" not in summary
    done = await alice.tap("确认提交")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    shown = texts(done)
    assert ticket.number in shown and "5 个工作日" in shown and "张网格员" in shown
    assert (ticket.kind, ticket.category, ticket.grid, ticket.building) == (
        "complaint",
        "facilities",
        "hx-1",
        3,
    )
    assert ticket.contact_phone == "+8613812345678" and ticket.anonymous is False
    assert ticket.due_at is not None and ticket.due_at > ticket.created_at
    due = ticket.due_at.astimezone(runtime.services.timezone).strftime("%Y-%m-%d")
    assert due in shown


async def test_typed_answers_photos_and_skips_work_too(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.press("menu:complaint")
    await alice.say("楼道里堆满了杂物，电动车也在楼道充电")
    await alice.tap("换一个类别")
    await alice.say("安全隐患")
    await alice.say("幸福菜市场旁边的平安巷")
    text_instead = await alice.say("等一下")
    assert "需要照片" in texts(text_instead)
    await alice.send(photo="photo-1")
    await alice.send(photo="photo-2")
    await alice.say("完成")
    bad = await alice.say("12345")
    assert "号码好像不对" in texts(bad)
    await alice.say("跳过")
    await alice.say("匿名反映")
    await alice.say("确认提交")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert (ticket.category, ticket.grid, ticket.anonymous) == ("safety", "hx-3", True)
    assert ticket.photos == ["photo-1", "photo-2"] and ticket.contact_phone is None
    assert ticket.priority == 1  # safety is urgent: due within one working day


async def test_bad_input_in_the_intake_loses_nothing(alice: ResidentChat, runtime: Runtime) -> None:
    await alice.press("menu:complaint")
    photo_first = await alice.send(photo="early-photo")
    assert "先用文字描述" in texts(photo_first)
    long = "楼上每天晚上装修电钻声音很大。" * 1000  # 15,000 characters
    assert len(long) == 15_000
    await alice.say(long)
    await alice.tap("对")
    nowhere = await alice.say("阳光小区3号楼")
    assert "不在我们社区的网格" in texts(nowhere)
    await alice.tap("跳过")
    await alice.tap("跳过")
    summary = await alice.tap("仅工作人员可见")
    assert "…" in texts(summary) and len(texts(summary)) < 1000  # shown shortened
    await alice.tap("确认提交")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.summary == long and ticket.grid is None  # stored whole, placed by staff
    assert ticket.location == {"address": "阳光小区3号楼"}


async def test_a_dispute_becomes_mediation_with_the_centre_offered(
    alice: ResidentChat, runtime: Runtime
) -> None:
    replies = await report_problem(alice, "楼上邻居家漏水到我家，找他好几次都不管，吵了好几架")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert (ticket.kind, ticket.category) == ("mediation", "dispute")
    assert "调解中心" in texts(replies) and "0000-0000005" in texts(replies)


async def test_a_neighbour_joins_an_open_report_instead_of_filing_again(
    runtime: Runtime,
) -> None:
    bob = ResidentChat(runtime.engine, user="bob")
    carol = ResidentChat(runtime.engine, user="carol")
    await report_problem(bob, "5号楼门口的下水道堵了，污水漫到路上", where="和谐小区5号楼")
    await carol.say("5号楼那边下水道又堵了，污水都漫出来了")
    await carol.tap("对")
    await carol.say("5号楼门口")
    await carol.tap("跳过")
    await carol.tap("跳过")
    offer = await carol.tap("仅工作人员可见")
    number = await fetch_one(runtime.sessions, select(Ticket.number))
    assert "排水管道" in texts(offer) or "环境卫生" in texts(offer) or "道路设施" in texts(offer)
    assert "5号楼" in texts(offer) and "1 位邻居" in texts(offer)
    assert "+1 我也遇到了" in carol.labels()
    joined = await carol.tap("+1 我也遇到了")
    assert number in texts(joined)
    assert len(await fetch_all(runtime.sessions, select(Ticket))) == 1
    supporter = await fetch_one(runtime.sessions, select(TicketSupporter))
    carol_id = await fetch_one(
        runtime.sessions, select(Resident.id).where(Resident.external_id == "carol")
    )
    assert supporter.resident_id == carol_id

    worker = await _staff(runtime, "zhang", "grid", grid="hx-1")
    async with runtime.sessions.begin() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        await lifecycle.reply(
            session, runtime.services, staff=worker, ticket_id=ticket.id,
            text="明天上午疏通。", now=runtime.clock(),
        )  # fmt: skip
    assert any("明天上午疏通" in t for t in await _news(runtime, "bob"))
    assert any("明天上午疏通" in t for t in await _news(runtime, "carol"))


async def test_no_neighbour_ever_sees_what_an_anonymous_reporter_wrote(
    runtime: Runtime,
) -> None:
    """The "+1" offer, joining, and every piece of news a neighbour gets afterwards carry
    neither the reporter's words nor their name, phone, ID number or flat."""
    private = ("王建国", "13712345678", "110101199003074512", "301")
    reporter = ResidentChat(runtime.engine, user="upstairs-victim")
    await report_problem(
        reporter,
        "王建国，电话13712345678，身份证110101199003074512，4号楼301楼上装修太吵了",
        where="和谐小区4号楼",
        anonymous=True,
    )
    neighbour = ResidentChat(runtime.engine, user="neighbour")
    await neighbour.say("4号楼楼上装修太吵了")
    await neighbour.press(neighbour.seen[-1].buttons[0].action)  # the proposed category
    await neighbour.say("和谐小区4号楼")
    await neighbour.press("complaint:skip")
    await neighbour.press("complaint:skip")
    offer = await neighbour.press("complaint:privacy:named")
    assert any(b.action == "complaint:join" for r in offer for b in r.buttons), texts(offer)
    assert "4号楼" in texts(offer) and "1 位邻居" in texts(offer)
    await neighbour.press("complaint:join")

    worker = await _staff(runtime, "zhang", "grid", grid="hx-1")
    async with runtime.sessions.begin() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        await lifecycle.claim(
            session, runtime.services, staff=worker, ticket_id=ticket.id, now=runtime.clock()
        )
    seen = "\n".join([r.text for r in neighbour.seen] + await _news(runtime, "neighbour"))
    assert "已签收" in seen
    for word in (*private, "身份证"):
        assert word not in seen, word


async def test_the_whole_loop_claim_reply_resolve_rate(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await report_problem(alice, "2号楼楼道的灯坏了", where="和谐小区2号楼")
    worker = await _staff(runtime, "zhang", "grid", grid="hx-1")
    now = runtime.clock()
    async with runtime.sessions.begin() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        await lifecycle.claim(session, runtime.services, staff=worker, ticket_id=ticket.id, now=now)
        await lifecycle.change_state(
            session, runtime.services, staff=worker, ticket_id=ticket.id, to="in_progress", now=now
        )
        await lifecycle.note(session, staff=worker, ticket_id=ticket.id, text="电工周三来", now=now)
        await lifecycle.change_state(
            session, runtime.services, staff=worker, ticket_id=ticket.id, to="resolved", now=now
        )
        number = ticket.number
    news = await _news(runtime, "alice")
    assert any("已签收" in t for t in news) and any("正在处理" in t for t in news)
    assert any("问题解决了吗" in t for t in news)
    assert not any("电工周三来" in t for t in news)  # internal notes stay internal

    status = await alice.say("我的事项")
    assert number in texts(status) and "已处理完成" in texts(status)
    timeline = await alice.press(f"status:show:{number}")
    assert "已签收" in texts(timeline) and "电工周三来" not in texts(timeline)

    rating = await alice.press(f"survey:solved:{number}")
    assert "打个分" in texts(rating) and alice.labels() == ["1", "2", "3", "4", "5"]
    thanks = await alice.tap("5")
    assert "谢谢您的评价" in texts(thanks)
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert (ticket.status, ticket.satisfaction, ticket.survey) == ("closed", 5, "solved")
    again = await alice.press(f"rate:1:{number}")
    assert "已经评价过" in texts(again)


async def test_unsolved_reopens_and_silence_closes_as_unknown(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await report_problem(alice, "小区垃圾站三天没人清理，味道很大", where="和谐小区东门")
    admin = await _staff(runtime, "boss", "admin")
    now = runtime.clock()

    async def resolve() -> str:
        async with runtime.sessions.begin() as session:
            ticket = (await session.execute(select(Ticket))).scalar_one()
            if ticket.status in ("new", "returned"):
                await lifecycle.claim(
                    session, runtime.services, staff=admin, ticket_id=ticket.id, now=now
                )
            await lifecycle.change_state(
                session, runtime.services, staff=admin, ticket_id=ticket.id, to="resolved", now=now
            )
            return ticket.number

    number = await resolve()
    reopened = await alice.press(f"survey:unsolved:{number}")
    assert "发回重办" in texts(reopened)
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert (ticket.status, ticket.reopen_count) == ("in_progress", 1)

    await resolve()
    async with runtime.sessions.begin() as session:
        assert (
            await sweeps.close_unanswered(session, runtime.services, now=now + timedelta(days=2))
            == 0
        )
        assert (
            await sweeps.close_unanswered(session, runtime.services, now=now + timedelta(days=4))
            == 1
        )
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert (ticket.status, ticket.survey, ticket.satisfaction) == ("closed", "unknown", None)
    assert any("没有收到您的评价" in t for t in await _news(runtime, "alice"))


async def test_the_resident_adds_a_note_and_a_photo_to_an_open_ticket(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await report_problem(alice, "7号楼电梯经常卡住", where="和谐小区7号楼")
    number = await fetch_one(runtime.sessions, select(Ticket.number))
    await alice.press(f"status:add:{number}")
    added = await alice.say("今天又卡了二十分钟")
    assert number in texts(added)
    await alice.press(f"status:add:{number}")
    await alice.send(photo="lift-photo")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.photos == ["lift-photo"]
    bodies = await fetch_all(
        runtime.sessions, select(TicketEvent.body).where(TicketEvent.actor_type == "resident")
    )
    assert "今天又卡了二十分钟" in bodies
    others = await alice.press("status:show:T-1999-000001")
    assert "过期" in texts(others)  # not theirs, or gone: nothing shown


async def test_staff_rules_reasons_transitions_and_visibility(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await report_problem(alice, "2号楼有人私自在楼顶搭了个棚子", where="和谐小区2号楼")
    await report_problem(
        ResidentChat(runtime.engine, user="dan"), "12号楼下水井盖丢了很危险", where="和谐小区12号楼"
    )
    grid1 = await _staff(runtime, "g1", "grid", grid="hx-1")
    counselor = await _staff(runtime, "c1", "counselor")
    clerk = await _staff(runtime, "s1", "staff")
    now = runtime.clock()
    async with runtime.sessions.begin() as session:
        mine = await lifecycle.list_tickets(session, staff=grid1)
        assert [t.grid for t in mine] == ["hx-1"]
        assert await lifecycle.list_tickets(session, staff=counselor) == []
        everything = await lifecycle.list_tickets(session, staff=clerk)
        assert len(everything) == 2
        first, second = sorted(everything, key=lambda t: t.id)
        with pytest.raises(TicketActionError) as no_reason:
            await lifecycle.change_state(
                session, runtime.services, staff=clerk, ticket_id=first.id, to="rejected", now=now
            )
        assert no_reason.value.key == "staff.reason_needed"
        with pytest.raises(TicketActionError):
            await lifecycle.change_state(
                session, runtime.services, staff=clerk, ticket_id=first.id, to="closed", now=now
            )
        with pytest.raises(TicketActionError):
            await lifecycle.assign(
                session, runtime.services, staff=clerk, ticket_id=second.id, assignee=grid1, now=now
            )  # a hx-3 ticket cannot go to the hx-1 grid worker
        await lifecycle.extend(
            session, runtime.services, staff=clerk, ticket_id=first.id, working_days=3,
            reason="需要城管执法部门会同处理", now=now,
        )  # fmt: skip
        await lifecycle.merge(
            session, runtime.services, staff=clerk, ticket_id=second.id, into_id=first.id, now=now
        )
    news = await _news(runtime, "alice")
    assert any("延期" in t and "城管" in t for t in news)
    assert any("合并" in t for t in await _news(runtime, "dan"))


async def test_overdue_tickets_are_urged_then_supervised(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await report_problem(alice, "3号楼外墙有瓷砖松动，随时可能掉下来", where="和谐小区3号楼")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.category == "safety" and ticket.due_at is not None
    due = ticket.due_at
    async with runtime.sessions.begin() as session:
        assert (
            await sweeps.escalate_overdue(session, runtime.services, now=due - timedelta(hours=1))
            == 0
        )
        assert (
            await sweeps.escalate_overdue(session, runtime.services, now=due + timedelta(hours=1))
            == 1
        )
        assert (
            await sweeps.escalate_overdue(session, runtime.services, now=due + timedelta(hours=2))
            == 0
        )
        later = runtime.services.calendar.add_working_days(due, 1) + timedelta(seconds=1)
        assert await sweeps.escalate_overdue(session, runtime.services, now=later) == 1
        assert await sweeps.escalate_overdue(session, runtime.services, now=later) == 0
    alerts = await fetch_all(
        runtime.sessions,
        select(Outbox)
        .where(Outbox.channel == "staff", Outbox.recipient != "tickets")
        .order_by(Outbox.id),
    )
    assert [a.recipient for a in alerts] == ["staff:dispatch", "admins"]
    assert "催办" in alerts[0].payload["text"] and "督办" in alerts[1].payload["text"]


@pytest.mark.parametrize(
    ("filed", "words", "due"),
    [
        # A safety hazard on Friday 13 Feb 2026: Saturday 14 Feb is a 调休 make-up workday.
        (datetime(2026, 2, 13, 10, tzinfo=SHANGHAI), "楼道里有电线裸露，还冒火花", "2026-02-14"),
        # Five working days from Thursday 4 Feb 2027 skip the Spring Festival (5–10 Feb).
        (datetime(2027, 2, 4, 10, tzinfo=SHANGHAI), "小区门口的路灯坏了好几天", "2027-02-17"),
    ],
)
async def test_deadlines_count_chinese_working_days(
    runtime: Runtime, filed: datetime, words: str, due: str
) -> None:
    engine = Engine(runtime.sessions, runtime.services, clock=lambda: filed)
    erin = ResidentChat(engine, user="erin")
    done = await report_problem(erin, words, where="和谐小区4号楼")
    assert due in texts(done)
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d") == due  # type: ignore[union-attr]


async def test_an_english_resident_reports_in_english(runtime: Runtime) -> None:
    ella = ResidentChat(runtime.engine, user="ella", locale="en")
    await ella.say("The street light outside building 3 has been broken for a week")
    assert "Roads & facilities" in ella.last_text and ella.labels()[0] == "Yes"
    await ella.tap("Yes")
    located = await ella.say("Harmony Estate building 3")
    assert "Harmony grid 1" in texts(located)
    await ella.tap("Skip")
    await ella.tap("Skip")
    summary = await ella.tap("Staff only")
    assert "Please confirm your report" in texts(summary)
    done = await ella.tap("Submit")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.number in texts(done) and "working day" in texts(done)

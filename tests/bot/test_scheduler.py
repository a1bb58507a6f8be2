"""The scheduler's sweeps: registered with their intervals, each safe to run again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Runtime, sender_policy
from bot.config import Settings
from bot.scheduler import JOBS, RETENTION, build_scheduler, run_job, schedule
from storage.models import Conversation, ProcessedUpdate, Ticket
from tests.chat import ResidentChat, report_problem

pytestmark = pytest.mark.both_databases


async def test_every_sweep_is_scheduled(runtime: Runtime) -> None:
    scheduler = build_scheduler(runtime)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {*JOBS, RETENTION}
    assert jobs["escalate_overdue_tickets"].trigger.interval == timedelta(minutes=10)


async def test_sweeps_act_once_and_are_safe_to_repeat(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await report_problem(alice, "3号楼电线裸露在外面很危险", where="和谐小区3号楼")
    async with runtime.sessions.begin() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        ticket.due_at = runtime.clock() - timedelta(hours=1)
        session.add(
            ProcessedUpdate(
                channel="web", update_id="old", processed_at=runtime.clock() - timedelta(days=8)
            )
        )
    assert await run_job(runtime, "escalate_overdue_tickets") == 1
    assert await run_job(runtime, "escalate_overdue_tickets") == 0
    assert await run_job(runtime, "forget_old_update_keys") == 1
    async with runtime.sessions() as session:
        kept = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
        escalation = await session.scalar(select(Ticket.escalation))
    assert kept and kept > 0 and escalation == 1


async def test_closed_tickets_are_anonymised_after_their_retention(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await report_problem(alice, "2号楼楼道灯不亮，电话13812345678", phone="13812345678")
    await alice.press("psych:book")
    await alice.press("counseling:slot:wd-am")
    await alice.press("counseling:contact:chat")
    await alice.press("counseling:consent:yes")
    await alice.say("最近压力很大")
    await alice.press("counseling:confirm")
    now = runtime.clock()
    async with runtime.sessions.begin() as session:
        for ticket in (await session.execute(select(Ticket))).scalars():
            ticket.status, ticket.closed_at = "closed", now - timedelta(days=200)
    assert await run_job(runtime, RETENTION) == 1  # the counselling booking: past 180 days
    async with runtime.sessions() as session:
        by_kind = {t.kind: t for t in (await session.execute(select(Ticket))).scalars()}
    assert by_kind["counseling"].resident_id is None and "压力" not in by_kind["counseling"].summary
    assert by_kind["complaint"].contact_phone == "+8613812345678"  # 365 days not yet over
    async with runtime.sessions.begin() as session:
        complaint = (
            await session.execute(select(Ticket).where(Ticket.kind == "complaint"))
        ).scalar_one()
        complaint.closed_at = now - timedelta(days=400)
    assert await run_job(runtime, RETENTION) == 1
    assert await run_job(runtime, RETENTION) == 0
    async with runtime.sessions() as session:
        complaint = (
            await session.execute(select(Ticket).where(Ticket.kind == "complaint"))
        ).scalar_one()
    assert complaint.contact_phone is None and "路灯" not in complaint.summary


async def test_an_abandoned_draft_is_forgotten_after_a_week(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.press("menu:complaint")
    await alice.say("隔壁装修太吵，我的电话是13812345678")
    async with runtime.sessions.begin() as session:
        conversation = (await session.execute(select(Conversation))).scalar_one()
        assert "13812345678" in str(conversation.data)
        conversation.updated_at = runtime.clock() - timedelta(days=8)
    assert await run_job(runtime, "clear_stale_drafts") == 1
    async with runtime.sessions() as session:
        conversation = (await session.execute(select(Conversation))).scalar_one()
    assert conversation.flow is None and conversation.data == {}


def test_the_schedule_is_configurable() -> None:
    chosen = schedule({"senior_check_ins": 5, "clear_stale_drafts": 0})
    assert chosen["senior_check_ins"] == 5 and "clear_stale_drafts" not in chosen
    assert chosen["escalate_overdue_tickets"] == 10 and chosen[RETENTION] == 24 * 60
    with pytest.raises(ValueError, match="unknown jobs \\['senior_checkins'\\]"):
        schedule({"senior_checkins": 5})


def test_quiet_hours_can_be_turned_off() -> None:
    assert sender_policy(Settings.from_mapping({"quiet_hours": "off"})).quiet is None
    night = sender_policy(Settings.from_mapping({})).quiet
    assert night is not None and (night.start.hour, night.end.hour) == (21, 8)


async def test_stored_replies_are_cleared_after_an_hour(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.send(text="你好", update_id="hello-1")
    async with runtime.sessions.begin() as session:
        row = await session.get(ProcessedUpdate, ("console", "hello-1"))
        assert row is not None and row.replies and "很高兴为您服务" in row.replies[0]["text"]
        row.processed_at = runtime.clock() - timedelta(hours=2)
    assert await run_job(runtime, "forget_old_update_keys") == 1
    assert await run_job(runtime, "forget_old_update_keys") == 0
    async with runtime.sessions() as session:
        row = await session.get(ProcessedUpdate, ("console", "hello-1"))
        assert row is not None and row.replies is None  # the key stays for a week

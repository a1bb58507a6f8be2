"""The scheduler's sweeps: registered with their intervals, each safe to run again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.app import Runtime
from bot.scheduler import JOBS, build_scheduler, run_job
from storage.models import ProcessedUpdate, Ticket
from tests.chat import ResidentChat, report_problem


async def test_every_sweep_is_scheduled(runtime: Runtime) -> None:
    scheduler = build_scheduler(runtime)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == set(JOBS)
    assert jobs["escalate_overdue_tickets"].trigger.interval == timedelta(minutes=10)


async def test_sweeps_act_once_and_are_safe_to_repeat(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await report_problem(alice, "3号楼电线裸露在外面很危险", where="和谐小区3号楼")
    async with runtime.sessions.begin() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        ticket.due_at = datetime.now(UTC) - timedelta(hours=1)
        session.add(
            ProcessedUpdate(
                channel="web", update_id="old", processed_at=datetime.now(UTC) - timedelta(days=8)
            )
        )
    assert await run_job(runtime, "escalate_overdue_tickets") == 1
    assert await run_job(runtime, "escalate_overdue_tickets") == 0
    assert await run_job(runtime, "forget_old_update_keys") == 1
    async with runtime.sessions() as session:
        kept = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
        escalation = await session.scalar(select(Ticket.escalation))
    assert kept and kept > 0 and escalation == 1

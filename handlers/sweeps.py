"""Idempotent sweeps over tickets, run by the scheduler: escalating overdue tickets
(催办, then 督办 a working day later) and closing resolved tickets nobody answered about."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Services
from handlers.lifecycle import notify_residents
from storage import outbox, tickets
from storage.models import Ticket

SURVEY_DAYS = 3  # after this long without an answer, a resolved ticket closes as "unknown"
STAFF = "staff"


async def escalate_overdue(session: AsyncSession, services: Services, *, now: datetime) -> int:
    """Urge the assignee of each overdue ticket once (催办) and, one working day later,
    alert the admins (督办). Returns how many tickets moved up a level."""
    overdue = (
        (
            await session.execute(
                select(Ticket).where(
                    Ticket.kind.in_(tickets.COMPLAINT_KINDS),
                    Ticket.status.in_(tickets.OPEN_STATUSES),
                    Ticket.due_at < now,
                    Ticket.escalation < 2,
                )
            )
        )
        .scalars()
        .all()
    )
    moved = 0
    for ticket in overdue:
        assert ticket.due_at is not None
        if ticket.escalation == 0:
            level, kind, recipient = 1, "urged", f"staff:{ticket.assignee_id or 'dispatch'}"
        elif services.calendar.working_days_between(ticket.due_at, now) >= 1:
            level, kind, recipient = 2, "supervised", "admins"
        else:
            continue
        ticket.escalation = level
        await tickets.add_event(
            session, ticket=ticket, kind=kind, actor_type="system", now=now,
            data={"due_at": ticket.due_at.isoformat()},
        )  # fmt: skip
        text = services.texts.get("zh", f"staff.{kind}", number=ticket.number)
        await outbox.enqueue(
            session,
            channel=STAFF,
            recipient=recipient,
            payload={"text": text, "buttons": [], "ticket": ticket.number},
            dedupe_key=f"escalation:{ticket.number}:{level}:{ticket.due_at.isoformat()}",
            priority=outbox.PRIORITY_HIGH,
            now=now,
        )
        moved += 1
    return moved


async def close_unanswered(session: AsyncSession, services: Services, *, now: datetime) -> int:
    """Resolved tickets whose resident did not answer within three days close with
    satisfaction unknown — never assumed satisfied."""
    stale = (
        (
            await session.execute(
                select(Ticket).where(
                    Ticket.status == "resolved",
                    Ticket.survey.in_(("asked", "solved")),
                    Ticket.resolved_at <= now - timedelta(days=SURVEY_DAYS),
                )
            )
        )
        .scalars()
        .all()
    )
    for ticket in stale:
        ticket.status = "closed"
        ticket.closed_at = now
        if ticket.survey == "asked":
            ticket.survey = "unknown"
        event = await tickets.add_event(
            session, ticket=ticket, kind="auto_closed", actor_type="system", now=now,
            visible_to_resident=True,
        )  # fmt: skip
        await session.flush()
        await notify_residents(session, services, ticket, "auto_closed", event.id, now)
    return len(stale)

"""Counts for the operators' monitoring: the outbox queue, open and overdue tickets, crisis
alerts waiting to reach staff. Each is one indexed query, cheap at a million tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import Outbox, Ticket
from storage.tickets import OPEN_STATUSES

# Every outbox state but `sent` (which only grows): a stuck queue shows in these.
OUTBOX_STATES = (outbox.PENDING, outbox.SENDING, outbox.DEAD, outbox.UNCERTAIN, outbox.UNREACHABLE)
STAFF_CHANNEL = "staff"
ALERT_GRACE = timedelta(seconds=60)  # a crisis alert should be out well within a minute


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the database says right now."""

    outbox: dict[str, int]
    oldest_due_seconds: float
    open_tickets: dict[str, int] = field(default_factory=dict)
    overdue_tickets: int = 0
    crisis_alerts_waiting: int = 0


async def snapshot(session: AsyncSession, *, now: datetime) -> Snapshot:
    """Outbox rows by state, the age of the oldest due message, open tickets by kind, overdue
    open tickets and urgent staff alerts not delivered within a minute."""
    by_state = dict.fromkeys(OUTBOX_STATES, 0)
    rows = await session.execute(
        select(Outbox.state, func.count())
        .where(Outbox.state.in_(OUTBOX_STATES))
        .group_by(Outbox.state)
    )
    by_state.update({state: int(count) for state, count in rows.all()})
    oldest = await session.scalar(
        select(func.min(Outbox.not_before)).where(
            Outbox.state == outbox.PENDING, Outbox.not_before <= now
        )
    )
    open_rows = await session.execute(
        select(Ticket.kind, func.count())
        .where(Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.kind)
    )
    overdue = await session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.due_at < now)
    )
    waiting = await session.scalar(
        select(func.count())
        .select_from(Outbox)
        .where(
            Outbox.channel == STAFF_CHANNEL,
            Outbox.state.in_((outbox.PENDING, outbox.SENDING)),
            Outbox.priority >= outbox.PRIORITY_URGENT,
            Outbox.created_at < now - ALERT_GRACE,
        )
    )
    return Snapshot(
        outbox=by_state,
        oldest_due_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        open_tickets={kind: int(count) for kind, count in open_rows.all()},
        overdue_tickets=int(overdue or 0),
        crisis_alerts_waiting=int(waiting or 0),
    )

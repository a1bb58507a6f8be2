"""Ticket queries for the staff dashboard: a filtered, paged search and the delivery state of
what residents were told. The caller passes who may see what as a SQL condition."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outbox, Ticket, TicketEvent
from storage.tickets import OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class Filters:
    """What a staff member narrowed the ticket list to."""

    status: str | None = None
    category: str | None = None
    grid: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    overdue_at: datetime | None = None  # open and due before this time
    kind: str | None = None
    open_only: bool = False
    due_before: datetime | None = None
    text: str | None = None  # in the number or the description


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(allowed: Any, filters: Filters) -> list[Any]:
    where = [allowed]
    if filters.status:
        where.append(Ticket.status == filters.status)
    if filters.category:
        where.append(Ticket.category == filters.category)
    if filters.grid:
        where.append(Ticket.grid == filters.grid)
    if filters.kind:
        where.append(Ticket.kind == filters.kind)
    if filters.assignee_id is not None:
        where.append(Ticket.assignee_id == filters.assignee_id)
    if filters.open_only:
        where.append(Ticket.status.in_(OPEN_STATUSES))
    if filters.due_before is not None:
        where.append(Ticket.due_at < filters.due_before)
    if filters.unassigned:
        where.append(Ticket.assignee_id.is_(None))
    if filters.overdue_at is not None:
        where += [Ticket.status.in_(OPEN_STATUSES), Ticket.due_at < filters.overdue_at]
    if filters.text and filters.text.strip():
        pattern = f"%{_escaped(filters.text.strip())}%"
        where.append(
            or_(
                Ticket.number.ilike(pattern, escape="\\"),
                Ticket.summary.ilike(pattern, escape="\\"),
            )
        )
    return where


# Counting a million closed tickets exactly costs more than the page: past this many, a list
# says "more than 1,000" (and staff narrow it down).
COUNT_CAP = 1000


async def search(
    session: AsyncSession, *, allowed: Any, filters: Filters, limit: int = 25, offset: int = 0
) -> tuple[list[Ticket], int]:
    """One page of the tickets matching `filters` among those `allowed`, most urgent and
    soonest due first, and how many match in all — at most `COUNT_CAP` + 1 ("more than")."""
    where = _conditions(allowed, filters)
    matching = select(Ticket.id).where(*where).limit(COUNT_CAP + 1).subquery()
    total = await session.scalar(select(func.count()).select_from(matching))
    result = await session.execute(
        select(Ticket)
        .where(*where)
        # On PostgreSQL this order is an index (migration 0013), expressions and all: a page
        # is read in order and filtered on the way, not sorted from every match.
        .order_by(Ticket.priority.desc(), Ticket.due_at.is_(None), Ticket.due_at, Ticket.id)
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars().all()), int(total or 0)


async def timeline(session: AsyncSession, *, ticket_id: int) -> list[TicketEvent]:
    """Every entry of a ticket's timeline, internal ones included, oldest first."""
    result = await session.execute(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(TicketEvent.created_at, TicketEvent.id)
    )
    return list(result.scalars().all())


async def deliveries(session: AsyncSession, *, event_ids: Sequence[int]) -> dict[int, list[Outbox]]:
    """The outbox rows that carried each timeline entry to residents, by entry id."""
    if not event_ids:
        return {}
    prefixes = [Outbox.dedupe_key.startswith(f"ticket-news:{i}:") for i in event_ids]
    result = await session.execute(select(Outbox).where(or_(*prefixes)).order_by(Outbox.id))
    found: dict[int, list[Outbox]] = {}
    for row in result.scalars().all():
        event_id = int(row.dedupe_key.split(":")[1])
        found.setdefault(event_id, []).append(row)
    return found

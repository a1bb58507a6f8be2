"""Tickets and their timelines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_ignoring_conflicts
from storage.models import Ticket, TicketCounter, TicketEvent, TicketSupporter

OPEN_STATUSES = ("new", "assigned", "in_progress", "returned")


async def next_ticket_number(session: AsyncSession, *, year: int) -> str:
    """The next number of the year, like T-2026-000123, unique across workers."""
    await session.execute(
        insert_ignoring_conflicts(session, TicketCounter.__table__).values(year=year, last=0)
    )
    last = (
        await session.execute(
            update(TicketCounter)
            .where(TicketCounter.year == year)
            .values(last=TicketCounter.last + 1)
            .returning(TicketCounter.last)
        )
    ).scalar_one()
    return f"T-{year}-{last:06d}"


async def create_ticket(
    session: AsyncSession,
    *,
    kind: str,
    resident_id: int | None,
    summary: str,
    now: datetime,
    year: int,
    category: str | None = None,
    priority: int = 0,
    grid: str | None = None,
    due_at: datetime | None = None,
    details: dict[str, Any] | None = None,
    building: int | None = None,
    location: dict[str, Any] | None = None,
    photos: Sequence[str] = (),
    contact_phone: str | None = None,
    anonymous: bool = False,
) -> Ticket:
    """File a new ticket and its first timeline entry."""
    ticket = Ticket(
        number=await next_ticket_number(session, year=year),
        kind=kind,
        category=category,
        status="new",
        priority=priority,
        resident_id=resident_id,
        grid=grid,
        building=building,
        summary=summary,
        location=location,
        photos=list(photos),
        contact_phone=contact_phone,
        anonymous=anonymous,
        due_at=due_at,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind="created",
            actor_type="resident" if resident_id else "system",
            actor_id=resident_id,
            body="",
            visible_to_resident=True,
            data=details or {},
            created_at=now,
        )
    )
    return ticket


async def add_event(
    session: AsyncSession,
    *,
    ticket: Ticket,
    kind: str,
    actor_type: str,
    now: datetime,
    actor_id: int | None = None,
    body: str = "",
    visible_to_resident: bool = False,
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """Append an entry to a ticket's timeline and touch the ticket."""
    event = TicketEvent(
        ticket_id=ticket.id,
        kind=kind,
        actor_type=actor_type,
        actor_id=actor_id,
        body=body,
        visible_to_resident=visible_to_resident,
        data=data or {},
        created_at=now,
    )
    session.add(event)
    ticket.updated_at = now
    return event


async def tickets_of_resident(
    session: AsyncSession, *, resident_id: int, limit: int = 10
) -> Sequence[Ticket]:
    """A resident's own tickets, newest first."""
    result = await session.execute(
        select(Ticket)
        .where(Ticket.resident_id == resident_id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return result.scalars().all()


async def open_ticket_of_kind(
    session: AsyncSession, *, resident_id: int, kind: str
) -> Ticket | None:
    """The resident's newest open ticket of a kind (e.g. the crisis ticket to append to)."""
    result = await session.execute(
        select(Ticket)
        .where(
            Ticket.resident_id == resident_id,
            Ticket.kind == kind,
            Ticket.status.in_(OPEN_STATUSES),
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def get_ticket_by_number(session: AsyncSession, number: str) -> Ticket | None:
    """A ticket by its public number."""
    result = await session.execute(select(Ticket).where(Ticket.number == number))
    return result.scalar_one_or_none()


COMPLAINT_KINDS = ("complaint", "mediation")


async def similar_open_tickets(
    session: AsyncSession,
    *,
    category: str,
    grid: str | None,
    building: int | None,
    since: datetime,
) -> Sequence[Ticket]:
    """Open complaints of one category in the same grid or building since a time (the
    candidates for "+1 我也遇到了")."""
    place = []
    if grid is not None:
        place.append(Ticket.grid == grid)
    if building is not None:
        place.append(Ticket.building == building)
    if not place:
        return []
    result = await session.execute(
        select(Ticket)
        .where(
            Ticket.kind.in_(COMPLAINT_KINDS),
            Ticket.category == category,
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.created_at >= since,
            or_(*place),
        )
        .order_by(Ticket.created_at.desc())
        .limit(20)
    )
    return result.scalars().all()


async def add_supporter(
    session: AsyncSession, *, ticket_id: int, resident_id: int, now: datetime
) -> bool:
    """Join a resident to a ticket; False when they had joined already."""
    statement = (
        insert_ignoring_conflicts(session, TicketSupporter.__table__)
        .values(ticket_id=ticket_id, resident_id=resident_id, created_at=now)
        .returning(TicketSupporter.id)
    )
    return (await session.execute(statement)).first() is not None


async def supporters(session: AsyncSession, *, ticket_id: int) -> Sequence[int]:
    """The residents who joined a ticket."""
    result = await session.execute(
        select(TicketSupporter.resident_id).where(TicketSupporter.ticket_id == ticket_id)
    )
    return result.scalars().all()


async def visible_events(session: AsyncSession, *, ticket_id: int) -> Sequence[TicketEvent]:
    """A ticket's timeline as the resident sees it, oldest first."""
    result = await session.execute(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.visible_to_resident.is_(True))
        .order_by(TicketEvent.created_at, TicketEvent.id)
    )
    return result.scalars().all()

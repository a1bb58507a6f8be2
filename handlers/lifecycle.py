"""The ticket lifecycle, channel-agnostic: what staff do to a ticket (claim, assign, reply,
note, change state, merge, extend) and what residents hear about it. The Telegram staff chat
and the dashboard call these; every change is a TicketEvent, every visible one reaches the
resident and the ticket's supporters through the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import can_read, read_ticket, visible_to
from handlers.context import Services
from handlers.types import Button, Reply
from storage import outbox, tickets
from storage.models import Resident, Staff, Ticket

# Which state may follow which (12345 / grid-management practice).
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"assigned", "rejected", "merged"}),
    "assigned": frozenset({"in_progress", "resolved", "returned", "rejected", "merged"}),
    "in_progress": frozenset({"resolved", "returned", "merged"}),
    "returned": frozenset({"assigned", "rejected", "merged"}),
    "resolved": frozenset({"closed", "in_progress"}),
    "closed": frozenset(),
    "rejected": frozenset(),
    "merged": frozenset(),
}
NEEDS_REASON = frozenset({"returned", "rejected"})
VISIBLE_STATES = frozenset({"assigned", "in_progress", "resolved", "closed", "rejected", "merged"})


class TicketActionError(Exception):
    """A staff action that cannot be done, with a catalogue key saying why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


async def list_tickets(
    session: AsyncSession,
    *,
    staff: Staff,
    status: str | None = None,
    category: str | None = None,
    grid: str | None = None,
    assignee_id: int | None = None,
    overdue_at: datetime | None = None,
    limit: int = 50,
) -> list[Ticket]:
    """Tickets this staff member may see, filtered, most urgent and oldest first."""
    query = select(Ticket).where(visible_to(staff))
    if status:
        query = query.where(Ticket.status == status)
    if category:
        query = query.where(Ticket.category == category)
    if grid:
        query = query.where(Ticket.grid == grid)
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    if overdue_at is not None:
        query = query.where(Ticket.status.in_(tickets.OPEN_STATUSES), Ticket.due_at < overdue_at)
    query = query.order_by(Ticket.priority.desc(), Ticket.created_at).limit(limit)
    return list((await session.execute(query)).scalars().all())


async def claim(
    session: AsyncSession, services: Services, *, staff: Staff, ticket_id: int, now: datetime
) -> Ticket:
    """签收: the staff member takes the ticket."""
    return await assign(
        session, services, staff=staff, ticket_id=ticket_id, assignee=staff, now=now
    )


async def assign(
    session: AsyncSession,
    services: Services,
    *,
    staff: Staff,
    ticket_id: int,
    assignee: Staff,
    now: datetime,
) -> Ticket:
    """Give the ticket to a staff member (who must be allowed to see it)."""
    ticket = await read_ticket(session, staff=staff, ticket_id=ticket_id, now=now)
    if ticket.status not in ("new", "returned", "assigned"):
        raise TicketActionError("staff.bad_transition")
    if not can_read(assignee, ticket):
        raise TicketActionError("staff.assignee_cannot_see")
    ticket.assignee_id = assignee.id
    if ticket.status != "assigned":
        ticket.status = "assigned"
        ticket.assigned_at = ticket.assigned_at or now
    await _record(
        session, services, ticket, kind="assigned", staff=staff, now=now,
        data={"assignee": assignee.id}, notify="assigned",
    )  # fmt: skip
    return ticket


async def reply(
    session: AsyncSession,
    services: Services,
    *,
    staff: Staff,
    ticket_id: int,
    text: str,
    now: datetime,
) -> Ticket:
    """A message to the resident (and supporters), kept in the timeline."""
    ticket = await read_ticket(session, staff=staff, ticket_id=ticket_id, now=now)
    if not text.strip():
        raise TicketActionError("staff.empty_text")
    await _record(
        session, services, ticket, kind="reply", staff=staff, now=now, body=text.strip(),
        notify="reply",
    )  # fmt: skip
    return ticket


async def note(
    session: AsyncSession, *, staff: Staff, ticket_id: int, text: str, now: datetime
) -> Ticket:
    """An internal note residents never see."""
    ticket = await read_ticket(session, staff=staff, ticket_id=ticket_id, now=now)
    if not text.strip():
        raise TicketActionError("staff.empty_text")
    await tickets.add_event(
        session, ticket=ticket, kind="note", actor_type="staff", actor_id=staff.id,
        now=now, body=text.strip(),
    )  # fmt: skip
    return ticket


async def change_state(
    session: AsyncSession,
    services: Services,
    *,
    staff: Staff,
    ticket_id: int,
    to: str,
    now: datetime,
    reason: str = "",
) -> Ticket:
    """Move a ticket along the lifecycle; returning or rejecting needs a reason."""
    ticket = await read_ticket(session, staff=staff, ticket_id=ticket_id, now=now)
    if to not in TRANSITIONS.get(ticket.status, frozenset()) or to == "merged":
        raise TicketActionError("staff.bad_transition")
    if to in NEEDS_REASON and not reason.strip():
        raise TicketActionError("staff.reason_needed")
    ticket.status = to
    if to == "returned":
        ticket.assignee_id = None
    if to == "resolved":
        ticket.resolved_at = now
        ticket.survey = "asked"
    if to in ("closed", "rejected"):
        ticket.closed_at = now
    await _record(
        session, services, ticket, kind=f"status_{to}", staff=staff, now=now,
        body=reason.strip(), notify=to if to in VISIBLE_STATES else None,
    )  # fmt: skip
    return ticket


async def merge(
    session: AsyncSession,
    services: Services,
    *,
    staff: Staff,
    ticket_id: int,
    into_id: int,
    now: datetime,
) -> Ticket:
    """A duplicate joins the ticket it repeats; its resident becomes a supporter there."""
    ticket = await read_ticket(session, staff=staff, ticket_id=ticket_id, now=now)
    target = await read_ticket(session, staff=staff, ticket_id=into_id, now=now)
    if ticket.id == target.id or "merged" not in TRANSITIONS.get(ticket.status, frozenset()):
        raise TicketActionError("staff.bad_transition")
    ticket.status = "merged"
    ticket.duplicate_of = target.id
    ticket.closed_at = now
    for resident_id in {
        ticket.resident_id,
        *await tickets.supporters(session, ticket_id=ticket.id),
    }:
        if resident_id is not None and resident_id != target.resident_id:
            await tickets.add_supporter(
                session, ticket_id=target.id, resident_id=resident_id, now=now
            )
    await _record(
        session, services, ticket, kind="status_merged", staff=staff, now=now,
        data={"into": target.number}, notify="merged", into=target.number,
    )  # fmt: skip
    return ticket


async def extend(
    session: AsyncSession,
    services: Services,
    *,
    staff: Staff,
    ticket_id: int,
    working_days: int,
    reason: str,
    now: datetime,
) -> Ticket:
    """延期: a new deadline, with the reason recorded."""
    ticket = await read_ticket(session, staff=staff, ticket_id=ticket_id, now=now)
    if not reason.strip() or working_days < 1:
        raise TicketActionError("staff.reason_needed")
    if ticket.status not in tickets.OPEN_STATUSES:
        raise TicketActionError("staff.bad_transition")
    old = ticket.due_at
    ticket.due_at = services.calendar.add_working_days(ticket.due_at or now, working_days)
    ticket.escalation = 0
    await _record(
        session, services, ticket, kind="extended", staff=staff, now=now, body=reason.strip(),
        data={"from": old.isoformat() if old else None, "to": ticket.due_at.isoformat()},
        notify="extended",
    )  # fmt: skip
    return ticket


async def _record(
    session: AsyncSession,
    services: Services,
    ticket: Ticket,
    *,
    kind: str,
    staff: Staff | None,
    now: datetime,
    body: str = "",
    data: dict[str, Any] | None = None,
    notify: str | None = None,
    **values: object,
) -> None:
    event = await tickets.add_event(
        session,
        ticket=ticket,
        kind=kind,
        actor_type="staff" if staff else "system",
        actor_id=staff.id if staff else None,
        now=now,
        body=body,
        visible_to_resident=notify is not None,
        data=data,
    )
    if notify is not None:
        await session.flush()
        await notify_residents(
            session, services, ticket, notify, event.id, now, body=body, **values
        )


async def notify_residents(
    session: AsyncSession,
    services: Services,
    ticket: Ticket,
    what: str,
    event_id: int,
    now: datetime,
    **values: object,
) -> None:
    """Queue the news of a ticket for its resident and supporters, each in their language."""
    people = {ticket.resident_id, *await tickets.supporters(session, ticket_id=ticket.id)}
    for resident_id in people - {None}:
        resident = await session.get(Resident, resident_id)
        if resident is None:
            continue
        message = _news(services, resident.locale, ticket, what, **values)
        await outbox.enqueue(
            session,
            channel=resident.channel,
            recipient=resident.external_id,
            resident_id=resident.id,
            payload=message.as_dict(),
            dedupe_key=f"ticket-news:{event_id}:{resident.id}",
            priority=outbox.PRIORITY_HIGH if what == "reply" else outbox.PRIORITY_NORMAL,
            now=now,
        )


def _news(services: Services, locale: str, ticket: Ticket, what: str, **values: object) -> Reply:
    texts = services.texts
    due = ticket.due_at.astimezone(services.timezone).strftime("%Y-%m-%d") if ticket.due_at else ""
    text = texts.get(locale, f"news.{what}", number=ticket.number, due=due, **values)
    buttons: tuple[Button, ...] = ()
    if what == "resolved":
        buttons = (
            Button(texts.get(locale, "survey.solved"), f"survey:solved:{ticket.number}"),
            Button(texts.get(locale, "survey.unsolved"), f"survey:unsolved:{ticket.number}"),
        )
    return Reply(text, buttons)

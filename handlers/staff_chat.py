"""Staff commands from a chat (the Telegram staff chat today): list, view, claim, reply,
note and change the state of tickets, through the lifecycle functions every staff tool uses;
and review the deliberation hall's opinions and proposals (handlers/topic_staff.py).

Commands: /tickets [state] · /view T-… · /claim T-… · /reply T-… text · /note T-… text ·
/state T-… in_progress|resolved|returned|rejected [reason] · /checkin T-… [HH:MM|off] (the
daily check-in for the resident of that ticket, who asked in person). Buttons: staff:view:<id>,
staff:claim:<id>, staff:state:<id>:<state>."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import checkin, lifecycle, topic_staff
from handlers.access import TicketNotFound, read_ticket
from handlers.context import Services
from handlers.ids import row_id
from handlers.phone import mask_phone
from handlers.types import Button, Reply
from storage import outbox, tickets
from storage.models import CheckIn, Resident, Staff, Ticket

COMMANDS = (
    frozenset({"tickets", "view", "claim", "reply", "note", "state", "checkin"})
    | topic_staff.COMMANDS
)
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
LANG = "zh"  # staff tools speak Chinese


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed staff command."""

    name: str
    target: str = ""  # a ticket number or id
    rest: str = ""
    button: bool = False  # pressed, not typed


def command_of(text: str, action: str | None) -> Command | None:
    """The staff command in a message or button, if it is one."""
    if action and action.startswith("staff:"):
        parts = action.split(":")
        if len(parts) >= 3 and parts[1] in COMMANDS:
            return Command(parts[1], parts[2], ":".join(parts[3:]), button=True)
        return None
    if not text.startswith("/"):
        return None
    head, _, tail = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    if name not in COMMANDS:
        return None
    target, _, rest = tail.strip().partition(" ")
    return Command(name, target, rest.strip())


async def answer(
    session: AsyncSession, services: Services, staff: Staff, command: Command, *, now: datetime
) -> list[Reply]:
    """Carry out a staff command and say what happened."""
    t = services.texts
    if command.button and not _names_a_row(command):
        return [Reply(t.get(LANG, "input.stale_button"))]  # forged, or from another database
    if command.name == "tickets":
        return [await _list(session, services, staff, command.target or None, now)]
    if command.name in topic_staff.COMMANDS:  # the deliberation hall's review queue
        return await topic_staff.answer(
            session, services, staff, command.name, command.target, command.rest, now
        )
    ticket = await _find(session, command.target)
    if ticket is None:
        return [Reply(t.get(LANG, "staff.not_found"))]
    try:
        if command.name == "view":
            ticket = await read_ticket(session, staff=staff, ticket_id=ticket.id, now=now)
            return [await _card(session, services, ticket, now)]
        if command.name == "checkin":
            ticket = await read_ticket(session, staff=staff, ticket_id=ticket.id, now=now)
            return [await _check_in(session, services, staff, ticket, command.rest, now)]
        if command.name == "claim":
            await lifecycle.claim(session, services, staff=staff, ticket_id=ticket.id, now=now)
        elif command.name == "reply":
            await lifecycle.reply(
                session, services, staff=staff, ticket_id=ticket.id, text=command.rest, now=now
            )
        elif command.name == "note":
            await lifecycle.note(
                session, staff=staff, ticket_id=ticket.id, text=command.rest, now=now
            )
        else:
            to, _, reason = command.rest.partition(" ")
            await lifecycle.change_state(
                session, services, staff=staff, ticket_id=ticket.id, to=to, reason=reason, now=now
            )
    except TicketNotFound:
        return [Reply(t.get(LANG, "staff.not_found"))]
    except lifecycle.TicketActionError as error:
        return [Reply(t.get(LANG, error.key))]
    return [Reply(t.get(LANG, f"staff.done_{command.name}", number=ticket.number))]


async def _check_in(
    session: AsyncSession, services: Services, staff: Staff, ticket: Ticket, rest: str,
    now: datetime,
) -> Reply:  # fmt: skip
    """/checkin T-… [HH:MM|off]: arrange the daily check-in for the ticket's resident."""
    t = services.texts
    choice = rest.strip().lower()
    if choice and choice != "off" and not CLOCK.match(choice):
        return Reply(t.get(LANG, "staff.checkin_usage"))
    resident = await session.get(Resident, ticket.resident_id) if ticket.resident_id else None
    if resident is None:
        return Reply(t.get(LANG, "staff.checkin_no_resident", number=ticket.number))
    on = choice != "off"
    await checkin.arrange(
        session, services, resident=resident, on=on, at=choice if on and choice else None,
        staff_id=staff.id, now=now,
    )  # fmt: skip
    check = await session.get(CheckIn, resident.id)
    if on and check is not None:
        return Reply(t.get(LANG, "staff.done_checkin_on", number=ticket.number, at=check.at))
    return Reply(t.get(LANG, "staff.done_checkin_off", number=ticket.number))


def _names_a_row(command: Command) -> bool:
    """Whether a button's id (a ticket's, or the number of an O12/P3 review reference) is
    one a row can have."""
    if command.name in ("tickets", "topics"):
        return True
    number = command.target[1:] if command.name in ("approve", "reject") else command.target
    return row_id(number) is not None


async def _find(session: AsyncSession, target: str) -> Ticket | None:
    if target.isascii() and target.isdigit():
        found = row_id(target)
        return await session.get(Ticket, found) if found is not None else None
    return await tickets.get_ticket_by_number(session, target.upper())


async def _list(
    session: AsyncSession, services: Services, staff: Staff, status: str | None, now: datetime
) -> Reply:
    t = services.texts
    found = await lifecycle.list_tickets(session, staff=staff, status=status, limit=10)
    if not found:
        return Reply(t.get(LANG, "staff.no_tickets"))
    lines = [t.get(LANG, "staff.list_title")]
    for ticket in found:
        lines.append(_line(services, ticket, now))
    buttons = tuple(Button(x.number, f"staff:view:{x.id}") for x in found)
    return Reply("\n".join(lines), buttons)


def _line(services: Services, ticket: Ticket, now: datetime) -> str:
    t = services.texts
    due = ticket.due_at.astimezone(services.timezone).strftime("%m-%d") if ticket.due_at else "-"
    overdue = t.get(LANG, "staff.overdue") if ticket.due_at and ticket.due_at < now else ""
    return (
        t.get(
            LANG,
            "staff.line",
            number=ticket.number,
            kind=t.get(LANG, f"ticket_kind.{ticket.kind}"),
            state=t.get(LANG, f"ticket_status.{ticket.status}"),
            due=due,
        )
        + overdue
    )


async def _card(session: AsyncSession, services: Services, ticket: Ticket, now: datetime) -> Reply:
    t = services.texts
    category = services.categories.get(ticket.category or "")
    grid = services.grids.get(ticket.grid)
    text = t.get(
        LANG,
        "staff.card",
        line=_line(services, ticket, now),
        category=category.label(LANG) if category else "-",
        grid=grid.label(LANG) if grid else "-",
        phone=mask_phone(ticket.contact_phone) if ticket.contact_phone else "-",
        text=ticket.summary if len(ticket.summary) <= 500 else ticket.summary[:500] + "…",
    )
    buttons: list[Button] = []
    if ticket.status in ("new", "returned"):
        buttons.append(Button(t.get(LANG, "staff.claim_button"), f"staff:claim:{ticket.id}"))
    for to in sorted(lifecycle.TRANSITIONS.get(ticket.status, frozenset())):
        if to in ("in_progress", "resolved"):
            label = t.get(LANG, f"ticket_status.{to}")
            buttons.append(Button(label, f"staff:state:{ticket.id}:{to}"))
    return Reply(text, tuple(buttons))


def new_ticket_alert(services: Services, ticket: Ticket) -> Reply:
    """The staff chat's alert for a new ticket, with Claim and View buttons. Counselling and
    crisis tickets say nothing of their content here: only counsellors may read them."""
    t = services.texts
    category = services.categories.get(ticket.category or "")
    sensitive = ticket.kind in ("counseling", "crisis")
    text = t.get(
        LANG,
        "staff.new_sensitive" if sensitive else "staff.new_ticket",
        number=ticket.number,
        kind=t.get(LANG, f"ticket_kind.{ticket.kind}"),
        category=category.label(LANG) if category else "-",
        text=""
        if sensitive
        else (ticket.summary[:100] + ("…" if len(ticket.summary) > 100 else "")),
    )
    return Reply(
        text,
        (
            Button(t.get(LANG, "staff.claim_button"), f"staff:claim:{ticket.id}"),
            Button(t.get(LANG, "staff.view_button"), f"staff:view:{ticket.id}"),
        ),
    )


async def alert_new_ticket(
    session: AsyncSession, services: Services, ticket: Ticket, now: datetime
) -> None:
    """Queue the new-ticket alert for the staff chat."""
    await session.flush()
    await outbox.enqueue(
        session,
        channel="staff",
        recipient="tickets",
        payload=new_ticket_alert(services, ticket).as_dict(),
        dedupe_key=f"new-ticket:{ticket.number}",
        priority=outbox.PRIORITY_HIGH if ticket.priority else outbox.PRIORITY_NORMAL,
        now=now,
    )

"""What staff do to a ticket from its page — claim, assign, reply, note, change state, extend,
merge — through the channel-agnostic lifecycle functions, and the audited reveal of the
resident's phone number."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.core import (
    RUNTIME,
    Signed,
    error,
    form,
    form_number,
    page,
    path_id,
    redirect,
    url,
)
from bot.dashboard.tickets import show
from handlers import lifecycle
from handlers.access import TicketNotFound, read_ticket
from handlers.context import Services
from storage import audit, tickets
from storage.models import Staff, Ticket

ACTIONS = ("claim", "assign", "reply", "note", "state", "extend", "merge")
MAX_TEXT = 4000  # a Telegram message holds 4096 characters


async def _merge_target(session: AsyncSession, value: str) -> int:
    value = value.strip().upper()
    found = await tickets.get_ticket_by_number(session, value)
    if found is None and (ticket_id := form_number(value)) is not None:
        found = await session.get(Ticket, ticket_id)
    if found is None:
        raise lifecycle.TicketActionError("staff.not_found")
    return found.id


async def _act(
    session: AsyncSession, services: Services, signed: Signed, action: str, ticket_id: int,
    data: dict[str, str],
) -> None:  # fmt: skip
    me, now = signed.staff, signed.now
    text = data.get("text", "")[:MAX_TEXT]
    if action == "claim":
        await lifecycle.claim(session, services, staff=me, ticket_id=ticket_id, now=now)
    elif action == "assign":
        chosen = form_number(data.get("assignee"))
        assignee = await session.get(Staff, chosen) if chosen is not None else None
        if assignee is None or not assignee.active:
            raise lifecycle.TicketActionError("staff.assignee_cannot_see")
        await lifecycle.assign(
            session, services, staff=me, ticket_id=ticket_id, assignee=assignee, now=now
        )
    elif action == "reply":
        await lifecycle.reply(session, services, staff=me, ticket_id=ticket_id, text=text, now=now)
    elif action == "note":
        await lifecycle.note(session, staff=me, ticket_id=ticket_id, text=text, now=now)
    elif action == "state":
        await lifecycle.change_state(
            session, services, staff=me, ticket_id=ticket_id, to=data.get("to", ""),
            reason=data.get("reason", "")[:MAX_TEXT], now=now,
        )  # fmt: skip
    elif action == "extend":
        days = form_number(data.get("days")) or 0
        await lifecycle.extend(
            session, services, staff=me, ticket_id=ticket_id, working_days=min(days, 60),
            reason=data.get("reason", "")[:MAX_TEXT], now=now,
        )  # fmt: skip
    else:
        into = await _merge_target(session, data.get("into", ""))
        await lifecycle.merge(
            session, services, staff=me, ticket_id=ticket_id, into_id=into, now=now
        )
    audit.record(
        session, actor_type="staff", actor_id=me.id, action=f"ticket.{action}", now=now,
        target_type="ticket", target_id=ticket_id,
    )  # fmt: skip


@page()
async def act(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Carry out one action on a ticket and come back to its page."""
    action = request.match_info["action"]
    ticket_id = path_id(request, "ticket_id")
    if action not in ACTIONS:
        return error(request, signed, "tickets.not_found", status=404)
    data = {k: v for k, v in (await form(request)).items() if isinstance(v, str)}
    runtime = request.app[RUNTIME]
    try:
        async with runtime.sessions.begin() as session:
            await _act(session, runtime.services, signed, action, ticket_id, data)
    except TicketNotFound:
        return error(request, signed, "tickets.not_found", status=404)
    except lifecycle.TicketActionError as problem:
        return await show(request, signed, problem=problem.key)
    return redirect(url(f"/tickets/{ticket_id}") + f"#{action}-done")


@page()
async def reveal(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Show the resident's full phone number once; the reveal is in the audit log."""
    ticket_id = path_id(request, "ticket_id")
    async with request.app[RUNTIME].sessions.begin() as session:
        try:
            ticket = await read_ticket(
                session, staff=signed.staff, ticket_id=ticket_id, now=signed.now
            )
        except TicketNotFound:
            return error(request, signed, "tickets.not_found", status=404)
        audit.record(
            session, actor_type="staff", actor_id=signed.staff.id, action="ticket.contact_revealed",
            now=signed.now, target_type="ticket", target_id=ticket.id,
        )  # fmt: skip
    return await show(request, signed, revealed=True)

"""The ticket list (filters, text search, pages) and one ticket's page: timeline, photos,
masked contact, and how each message to the resident was delivered. Every ticket route goes
through `read_ticket`, so a URL never opens a ticket its reader may not see."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dashboard.core import (
    PHOTOS,
    RUNTIME,
    Signed,
    error,
    number,
    page,
    page_number,
    path_id,
    render,
)
from bot.dashboard.photos import PhotoUnavailable, content_type
from handlers import lifecycle
from handlers.access import TicketNotFound, can_read, read_ticket, visible_to
from handlers.phone import mask_phone
from storage import staff as staff_store
from storage import ticket_search, tickets
from storage.models import Resident, Staff, Ticket
from storage.ticket_search import Filters

PAGE_SIZE = 25
STATUSES = ("new", "assigned", "in_progress", "returned", "resolved", "closed", "rejected",
            "merged")  # fmt: skip


def _filters(query: Any, me: Staff, signed: Signed) -> Filters:
    assignee = query.get("assignee", "")
    assignee_id = me.id if assignee == "me" else None if assignee == "none" else number(assignee)
    return Filters(
        status=query.get("status") if query.get("status") in STATUSES else None,
        category=query.get("category") or None,
        grid=query.get("grid") or None,
        assignee_id=assignee_id,
        unassigned=assignee == "none",
        overdue_at=signed.now if query.get("overdue") == "1" else None,
        text=(query.get("q") or "")[:100] or None,
    )


@page()
async def ticket_list(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Tickets this staff member may see, filtered and paged."""
    query = request.query
    filters = _filters(query, signed.staff, signed)
    shown = page_number(request)
    async with request.app[RUNTIME].sessions() as session:
        found, total = await ticket_search.search(
            session, allowed=visible_to(signed.staff), filters=filters,
            limit=PAGE_SIZE, offset=(shown - 1) * PAGE_SIZE,
        )  # fmt: skip
        people = await staff_store.list_staff(session)
    names = {s.id: s.display_name for s in people}
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    keep = {k: v for k, v in query.items() if k != "page" and v}
    return render(
        request, signed, "tickets.html",
        tickets=found, total=total, cap=ticket_search.COUNT_CAP, page=shown, pages=pages,
        query=keep, names=names,
        statuses=STATUSES, people=people, now=signed.now,
        categories=request.app[RUNTIME].services.categories,
        grids=list(request.app[RUNTIME].services.grids),
    )  # fmt: skip


async def ticket_context(
    session: AsyncSession, request: web.Request, signed: Signed, ticket: Ticket
) -> dict[str, Any]:
    """Everything the ticket page shows besides the ticket itself."""
    events = await ticket_search.timeline(session, ticket_id=ticket.id)
    resident = await session.get(Resident, ticket.resident_id) if ticket.resident_id else None
    people = await staff_store.list_staff(session, active_only=True)
    channel = resident.channel if resident else (events[0].data.get("channel") if events else None)
    source = request.app[PHOTOS].get(channel or "")
    return {
        "ticket": ticket,
        "events": events,
        "deliveries": await ticket_search.deliveries(session, event_ids=[e.id for e in events]),
        "resident": resident,
        "supporters": len(await tickets.supporters(session, ticket_id=ticket.id)),
        "names": {s.id: s.display_name for s in await staff_store.list_staff(session)},
        "assignees": [s for s in people if can_read(s, ticket)],
        "transitions": sorted(lifecycle.TRANSITIONS.get(ticket.status, frozenset()) - {"merged"}),
        "masked_phone": mask_phone(ticket.contact_phone) if ticket.contact_phone else None,
        "photos": range(len(ticket.photos)) if source else range(0),
        "overdue": ticket.due_at is not None
        and ticket.due_at < signed.now
        and ticket.status in tickets.OPEN_STATUSES,
    }


async def show(
    request: web.Request, signed: Signed, *, revealed: bool = False, problem: str | None = None
) -> web.Response:
    """Render one ticket (after an action, with what went wrong if it did)."""
    ticket_id = path_id(request, "ticket_id")
    async with request.app[RUNTIME].sessions.begin() as session:
        try:
            ticket = await read_ticket(
                session, staff=signed.staff, ticket_id=ticket_id, now=signed.now
            )
        except TicketNotFound:
            return error(request, signed, "tickets.not_found", status=404)
        context = await ticket_context(session, request, signed, ticket)
    return render(
        request, signed, "ticket.html", revealed=revealed, problem=problem,
        status=400 if problem else 200, now=signed.now, **context,
    )  # fmt: skip


@page()
async def ticket_page(request: web.Request, signed: Signed) -> web.StreamResponse:
    """One ticket, for a staff member allowed to see it (others get "not found")."""
    return await show(request, signed)


@page()
async def photo(request: web.Request, signed: Signed) -> web.StreamResponse:
    """One of the ticket's photos, fetched through its channel and passed on by this app."""
    ticket_id = path_id(request, "ticket_id")
    index = number(request.match_info["index"], low=0)
    async with request.app[RUNTIME].sessions.begin() as session:
        try:
            ticket = await read_ticket(
                session, staff=signed.staff, ticket_id=ticket_id, now=signed.now
            )
        except TicketNotFound:
            raise web.HTTPNotFound() from None
        resident = await session.get(Resident, ticket.resident_id) if ticket.resident_id else None
    source = request.app[PHOTOS].get(resident.channel) if resident else None
    if index is None or not 0 <= index < len(ticket.photos) or source is None:
        raise web.HTTPNotFound()
    try:
        data = await source.fetch(ticket.photos[index])
    except PhotoUnavailable:
        raise web.HTTPBadGateway() from None
    kind = content_type(data)
    if kind is None:
        raise web.HTTPUnsupportedMediaType()
    return web.Response(
        body=data,
        content_type=kind,
        headers={"Content-Disposition": "inline", "Content-Security-Policy": "default-src 'none'"},
    )

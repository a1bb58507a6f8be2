"""REST API for tickets: a filtered list, one ticket with its timeline, and the staff actions
(claim, reply, note, change state) through the lifecycle — with the dashboard's role and object
checks, sensitive reads audited and the resident's contact masked."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, or_, select

from bot.api.base import (
    ApiError,
    Call,
    bool_param,
    choice_param,
    endpoint,
    int_param,
    iso,
    json_body,
    ok,
    page,
    path_id,
    str_param,
    text_field,
)
from handlers import lifecycle
from handlers.access import SENSITIVE_KINDS, read_ticket, visible_to
from handlers.ids import MAX_ID
from handlers.phone import mask_phone
from storage import tickets as ticket_store
from storage.models import Ticket, TicketEvent

STATUSES = tuple(lifecycle.TRANSITIONS)
KINDS = ("complaint", "mediation", "counseling", "crisis", "consultation", "checkin")
MAX_TEXT = 4000  # Telegram's limit is 4096; leave room for the header staff replies get


def ticket_json(ticket: Ticket, *, now: Any, full: bool = False) -> dict[str, Any]:
    """A ticket as the API shows it: contact masked; a sensitive ticket's text only in the
    audited single-ticket read."""
    shows_text = full or ticket.kind not in SENSITIVE_KINDS
    location = ticket.location or None
    return {
        "id": ticket.id,
        "number": ticket.number,
        "kind": ticket.kind,
        "category": ticket.category,
        "status": ticket.status,
        "priority": ticket.priority,
        "grid": ticket.grid,
        "building": ticket.building,
        "summary": ticket.summary if shows_text else None,
        "location": _location(location) if shows_text else None,
        "photos": len(ticket.photos or []),
        "contact": mask_phone(ticket.contact_phone) if ticket.contact_phone else None,
        "anonymous": ticket.anonymous,
        "assignee_id": ticket.assignee_id,
        "duplicate_of": ticket.duplicate_of,
        "satisfaction": ticket.satisfaction,
        "survey": ticket.survey,
        "reopen_count": ticket.reopen_count,
        "escalation": ticket.escalation,
        "overdue": ticket.status in ticket_store.OPEN_STATUSES
        and ticket.due_at is not None
        and ticket.due_at < now,
        "due_at": iso(ticket.due_at),
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "assigned_at": iso(ticket.assigned_at),
        "resolved_at": iso(ticket.resolved_at),
        "closed_at": iso(ticket.closed_at),
    }


def _location(location: dict[str, Any] | None) -> dict[str, Any] | None:
    if not location:
        return None
    shown: dict[str, Any] = {}
    if isinstance(location.get("address"), str):
        shown["address"] = location["address"]
    for key in ("lat", "lon"):
        if isinstance(location.get(key), int | float) and not isinstance(location[key], bool):
            shown[key] = float(location[key])
    return shown or None


def _event_json(event: TicketEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "body": event.body,
        "visible_to_resident": event.visible_to_resident,
        "created_at": iso(event.created_at),
    }


@endpoint
async def list_tickets(call: Call) -> web.Response:
    """Tickets the staff member may see, filtered and paged, most urgent and oldest first."""
    request = call.request
    limit, offset = page(request)
    where = [visible_to(call.staff)]
    if (status := choice_param(request, "status", STATUSES)) is not None:
        where.append(Ticket.status == status)
    if (kind := choice_param(request, "kind", KINDS)) is not None:
        where.append(Ticket.kind == kind)
    if (category := str_param(request, "category")) is not None:
        where.append(Ticket.category == category)
    if (grid := str_param(request, "grid")) is not None:
        where.append(Ticket.grid == grid)
    if (assignee := int_param(request, "assignee_id", low=1, high=MAX_ID)) is not None:
        where.append(Ticket.assignee_id == assignee)
    if bool_param(request, "overdue"):
        where.append(Ticket.status.in_(ticket_store.OPEN_STATUSES))
        where.append(Ticket.due_at < call.now)
    if (text := str_param(request, "q", max_chars=100)) is not None:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(
                Ticket.number.ilike(pattern, escape="\\"),
                # Sensitive tickets' text is searched only by those who may read them anyway.
                Ticket.summary.ilike(pattern, escape="\\"),
            )
        )
    total = await call.session.scalar(select(func.count()).select_from(Ticket).where(*where))
    result = await call.session.execute(
        select(Ticket)
        .where(*where)
        .order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
        .limit(limit)
        .offset(offset)
    )
    items = [ticket_json(t, now=call.now) for t in result.scalars().all()]
    return ok({"items": items, "total": int(total or 0), "limit": limit, "offset": offset})


@endpoint
async def get_ticket(call: Call) -> web.Response:
    """One ticket with its whole timeline (internal notes included)."""
    ticket = await read_ticket(
        call.session, staff=call.staff, ticket_id=path_id(call.request, "ticket_id"), now=call.now
    )
    result = await call.session.execute(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .order_by(TicketEvent.created_at, TicketEvent.id)
    )
    shown = ticket_json(ticket, now=call.now, full=True)
    shown["events"] = [_event_json(e) for e in result.scalars().all()]
    return ok(shown)


@endpoint
async def claim(call: Call) -> web.Response:
    """签收: the token's staff member takes the ticket."""
    ticket = await lifecycle.claim(
        call.session, call.runtime.services, staff=call.staff,
        ticket_id=path_id(call.request, "ticket_id"), now=call.now,
    )  # fmt: skip
    return ok(ticket_json(ticket, now=call.now))


@endpoint
async def reply(call: Call) -> web.Response:
    """A message to the resident (and supporters), kept in the timeline."""
    ticket_id = path_id(call.request, "ticket_id")
    body = await json_body(call.request)
    text = text_field(body, "text", required=True, max_chars=MAX_TEXT)
    ticket = await lifecycle.reply(
        call.session, call.runtime.services, staff=call.staff, ticket_id=ticket_id, text=text,
        now=call.now,
    )  # fmt: skip
    return ok(ticket_json(ticket, now=call.now))


@endpoint
async def note(call: Call) -> web.Response:
    """An internal note residents never see."""
    ticket_id = path_id(call.request, "ticket_id")
    body = await json_body(call.request)
    text = text_field(body, "text", required=True, max_chars=MAX_TEXT)
    ticket = await lifecycle.note(
        call.session, staff=call.staff, ticket_id=ticket_id, text=text, now=call.now
    )
    return ok(ticket_json(ticket, now=call.now))


@endpoint
async def change_state(call: Call) -> web.Response:
    """Move the ticket along the lifecycle; returned and rejected need a reason."""
    ticket_id = path_id(call.request, "ticket_id")
    body = await json_body(call.request)
    to = text_field(body, "to", required=True, max_chars=16)
    if to not in STATUSES:
        raise ApiError(400, f"to must be one of {', '.join(STATUSES)}")
    reason = text_field(body, "reason", required=False, max_chars=MAX_TEXT)
    ticket = await lifecycle.change_state(
        call.session, call.runtime.services, staff=call.staff, ticket_id=ticket_id, to=to,
        now=call.now, reason=reason,
    )  # fmt: skip
    return ok(ticket_json(ticket, now=call.now))


def routes(router: web.UrlDispatcher) -> None:
    """Register the ticket routes (relative to /api/v1)."""
    router.add_get("/tickets", list_tickets, allow_head=False)
    router.add_get("/tickets/{ticket_id}", get_ticket, allow_head=False)
    router.add_post("/tickets/{ticket_id}/claim", claim)
    router.add_post("/tickets/{ticket_id}/reply", reply)
    router.add_post("/tickets/{ticket_id}/note", note)
    router.add_post("/tickets/{ticket_id}/state", change_state)

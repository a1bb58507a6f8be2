"""代办: staff file a ticket for a resident who came to the office or called. The ticket is
recorded as filed on their behalf, by whom and how, and follows the normal lifecycle."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.core import RUNTIME, Signed, form, page, redirect, render, url
from handlers import staff_chat
from handlers.phone import parse_phone
from storage import audit, tickets

HOW = ("in_person", "phone")
MAX_TEXT = 2000


def _form(request: web.Request, signed: Signed, *, values: dict[str, str], problem: str | None,
          status: int = 200) -> web.Response:  # fmt: skip
    services = request.app[RUNTIME].services
    grids = [g for g in services.grids if signed.staff.role != "grid" or g.id == signed.staff.grid]
    return render(
        request, signed, "ticket_new.html", values=values, problem=problem, how=HOW,
        categories=services.categories, grids=grids, status=status,
    )  # fmt: skip


@page()
async def new_ticket_page(request: web.Request, signed: Signed) -> web.StreamResponse:
    """The form for a ticket filed on a resident's behalf."""
    return _form(request, signed, values={"how": "in_person"}, problem=None)


@page()
async def file_ticket(request: web.Request, signed: Signed) -> web.StreamResponse:
    """File the ticket with the category's deadline and alert the staff chat, as the bot does."""
    runtime = request.app[RUNTIME]
    services, me, now = runtime.services, signed.staff, signed.now
    values = {k: v.strip() for k, v in (await form(request)).items() if isinstance(v, str)}
    category = services.categories.get(values.get("category", ""))
    description = values.get("description", "")[:MAX_TEXT]
    phone = parse_phone(values["phone"]) if values.get("phone") else None
    grid = values.get("grid") or None
    if me.role == "grid":
        grid = me.grid  # a grid worker files for their own grid
    elif grid is None and values.get("address"):
        found, _ = services.grids.locate_text(values["address"])
        grid = found.id if found else None
    problem = None
    if category is None or not description:
        problem = "intake.need_fields"
    elif values.get("phone") and phone is None:
        problem = "intake.bad_phone"
    elif values.get("how") not in HOW or (grid is not None and services.grids.get(grid) is None):
        problem = "intake.need_fields"
    if problem is not None or category is None:
        return _form(request, signed, values=values, problem=problem, status=400)
    details = {
        "channel": "staff",
        "on_behalf": values["how"],
        "filed_by": me.id,
        "contact_name": values.get("name", "")[:64],
    }
    async with runtime.sessions.begin() as session:
        ticket = await tickets.create_ticket(
            session, kind=category.ticket_kind, category=category.id, resident_id=None,
            summary=description, now=now, year=now.astimezone(services.timezone).year,
            priority=1 if category.urgent else 0, grid=grid,
            location={"address": values["address"][:300]} if values.get("address") else None,
            contact_phone=phone, due_at=services.calendar.add_working_days(
                now, category.deadline_working_days),
            details=details,
        )  # fmt: skip
        await tickets.add_event(
            session, ticket=ticket, kind="filed_on_behalf", actor_type="staff", actor_id=me.id,
            now=now, data={"how": values["how"]},
        )  # fmt: skip
        audit.record(
            session, actor_type="staff", actor_id=me.id, action="ticket.filed_on_behalf",
            now=now, target_type="ticket", target_id=ticket.id, detail={"how": values["how"]},
        )  # fmt: skip
        await staff_chat.alert_new_ticket(session, services, ticket, now)
        ticket_id = ticket.id
    return redirect(url(f"/tickets/{ticket_id}"))

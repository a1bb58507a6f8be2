"""Today (今日待办): what needs the staff member now — their tickets due soon or overdue, new
tickets nobody has taken, open crisis alerts (counsellors and admins), unanswered questions."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.dashboard.core import OFFICE, RUNTIME, Signed, page, render
from handlers.access import SENSITIVE_ROLES, visible_to
from storage import faq, ticket_search
from storage.models import Ticket, UnansweredQuestion
from storage.ticket_search import Filters

SOON = timedelta(days=2)  # "due" on Today: the deadline is within two days
SHOWN = 10


@page()
async def today(request: web.Request, signed: Signed) -> web.StreamResponse:
    """The staff member's start page."""
    me, now = signed.staff, signed.now
    allowed = visible_to(me)
    async with request.app[RUNTIME].sessions() as session:
        mine, mine_total = await ticket_search.search(
            session, allowed=allowed, limit=SHOWN,
            filters=Filters(assignee_id=me.id, open_only=True, due_before=now + SOON),
        )  # fmt: skip
        new, new_total = await ticket_search.search(
            session, allowed=allowed, limit=SHOWN,
            filters=Filters(status="new", unassigned=True),
        )  # fmt: skip
        crisis: list[Ticket] = []
        if me.role in SENSITIVE_ROLES:
            crisis, _ = await ticket_search.search(
                session,
                allowed=allowed,
                limit=SHOWN,
                filters=Filters(kind="crisis", open_only=True),
            )
        questions: list[UnansweredQuestion] = []
        questions_total = 0
        if me.role in OFFICE:
            questions, questions_total = await faq.unanswered(session, limit=5)
    return render(
        request, signed, "today.html",
        mine=mine, mine_total=mine_total, new=new, new_total=new_total, crisis=crisis,
        questions=questions, questions_total=questions_total, now=now,
        show_crisis=me.role in SENSITIVE_ROLES, show_questions=me.role in OFFICE,
    )  # fmt: skip

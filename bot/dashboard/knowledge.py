"""The knowledge page: questions the FAQ could not answer and answers residents marked 👎,
for staff to improve the knowledge base and then mark handled."""

from __future__ import annotations

from aiohttp import web

from bot.dashboard.core import (
    OFFICE,
    RUNTIME,
    Signed,
    form,
    form_number,
    page,
    redirect,
    render,
    url,
)
from storage import audit, faq

SHOWN = 50


@page(roles=OFFICE)
async def knowledge(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Unanswered questions (newest first) and the answers with 👎 not yet reviewed."""
    runtime = request.app[RUNTIME]
    async with runtime.sessions() as session:
        questions, total = await faq.unanswered(session, limit=SHOWN)
        feedback = await faq.feedback_summary(session)
    entries = runtime.services.faq.entries
    return render(
        request, signed, "knowledge.html", questions=questions, total=total, feedback=feedback,
        entries=entries,
    )  # fmt: skip


@page(roles=OFFICE)
async def questions_handled(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Mark the ticked questions handled."""
    data = await form(request)
    ids = [i for i in (form_number(v) for v in data.getall("question", [])) if i is not None]
    async with request.app[RUNTIME].sessions.begin() as session:
        count = await faq.mark_handled(session, question_ids=ids)
        audit.record(
            session, actor_type="staff", actor_id=signed.staff.id, action="faq.questions_handled",
            now=signed.now, detail={"count": count},
        )  # fmt: skip
    return redirect(url("/knowledge"))


@page(roles=OFFICE)
async def feedback_handled(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Mark the feedback on one answer reviewed."""
    faq_id = str((await form(request)).get("faq_id", ""))[:64]
    async with request.app[RUNTIME].sessions.begin() as session:
        await faq.mark_feedback_handled(session, faq_id=faq_id)
        audit.record(
            session, actor_type="staff", actor_id=signed.staff.id, action="faq.feedback_handled",
            now=signed.now, detail={"faq_id": faq_id},
        )  # fmt: skip
    return redirect(url("/knowledge"))

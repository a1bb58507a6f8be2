"""The residents' deliberation hall for staff: topics (list, create, follow, results, the
official response) and the review queue of opinions, statements and proposals."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.dashboard.core import (
    OFFICE,
    RUNTIME,
    TEXTS,
    Signed,
    error,
    form,
    page,
    path_id,
    redirect,
    render,
    url,
)
from handlers import topic_close, topic_staff
from handlers.spec_problem import describe
from handlers.topic_spec import TopicError, create_topic_from, parse_spec
from storage import audit, opinions, staff_lists, topics
from storage.models import Topic
from storage.topics import MODES, RULES

LIST_FIELDS = ("options", "statements")  # one per line in the form


@page(roles=OFFICE)
async def hall(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Topics with their turnout, and what waits for review."""
    async with request.app[RUNTIME].sessions() as session:
        queue = await topic_staff.queue(session)
        found = await staff_lists.recent_topics(session)
        counts = await topics.participant_counts(session, [t.id for t in found])
    return render(
        request, signed, "hall.html", queue=queue, topics=found, counts=counts, now=signed.now,
        problem=request.query.get("problem"),
    )  # fmt: skip


@page(roles=OFFICE)
async def review(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Approve or reject one opinion, statement (O…) or proposal (P…); the resident is told."""
    data = await form(request)
    runtime = request.app[RUNTIME]
    try:
        async with runtime.sessions.begin() as session:
            await topic_staff.review(
                session, runtime.services, str(data.get("ref", "")),
                approve=data.get("decision") == "approve", now=signed.now,
                reason=str(data.get("reason", "")).strip()[:500] or None, staff_id=signed.staff.id,
            )  # fmt: skip
    except topic_staff.ReviewError as problem:
        return redirect(url("/hall") + "?problem=" + problem.key)
    return redirect(url("/hall"))


def _new_form(
    request: web.Request, signed: Signed, values: dict[str, str], problem: str | None = None
) -> web.Response:
    return render(
        request, signed, "topic_new.html", values=values, problem=problem, modes=MODES,
        rules=RULES, grids=list(request.app[RUNTIME].services.grids),
        status=400 if problem else 200,
    )  # fmt: skip


@page(roles=OFFICE)
async def new_topic_page(request: web.Request, signed: Signed) -> web.StreamResponse:
    """The form for a new topic."""
    return _new_form(request, signed, {"mode": "vote", "rule": "majority", "scope": "all"})


@page(roles=OFFICE)
async def create_topic(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Check the topic like `linli topic add` does and open it at its time."""
    values = {k: v for k, v in (await form(request)).items() if isinstance(v, str)}
    data: dict[str, Any] = {
        k: values[k].strip() for k in ("title", "body", "mode", "rule", "scope") if values.get(k)
    }
    for key in LIST_FIELDS:
        lines = [line.strip() for line in values.get(key, "").splitlines() if line.strip()]
        if lines:
            data[key] = lines
    for key in ("opens", "closes"):
        if values.get(key):
            data[key] = values[key]
    runtime = request.app[RUNTIME]
    try:
        spec = parse_spec(data, tz=runtime.services.timezone, now=signed.now)
    except TopicError as exc:
        problem = describe(request.app[TEXTS], signed.locale, exc.problem)
        return _new_form(request, signed, values, problem)
    async with runtime.sessions.begin() as session:
        topic = await create_topic_from(session, spec, now=signed.now)
        audit.record(
            session, actor_type="staff", actor_id=signed.staff.id, action="topic.create",
            now=signed.now, target_type="topic", target_id=topic.id,
        )  # fmt: skip
        topic_id = topic.id
    return redirect(url(f"/hall/{topic_id}"))


@page(roles=OFFICE)
async def topic_page(request: web.Request, signed: Signed) -> web.StreamResponse:
    """One topic: the figures so far (or the stored result), opinions and responses."""
    runtime = request.app[RUNTIME]
    async with runtime.sessions() as session:
        topic = await session.get(Topic, path_id(request, "topic_id"))
        if topic is None:
            return error(request, signed, "hall.not_found", status=404)
        figures = topic.result if topic.result else await topic_close.tally(session, topic)
        shown = await opinions.approved(session, topic_id=topic.id, limit=50)
        answered = await topics.responses(session, topic.id)
    result = topic_close.result_text(runtime.services, signed.locale, topic) if topic.result else ""
    return render(
        request, signed, "topic.html", topic=topic, figures=figures, opinions=shown,
        responses=answered, result=result, problem=request.query.get("problem"),
    )  # fmt: skip


@page(roles=OFFICE)
async def respond(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Staff's official response to a topic, told to everyone who took part."""
    topic_id = path_id(request, "topic_id")
    text = str((await form(request)).get("text", "")).strip()[:2000]
    runtime = request.app[RUNTIME]
    try:
        async with runtime.sessions.begin() as session:
            await topic_close.respond(
                session, runtime.services, topic_id=topic_id, text=text, now=signed.now
            )
            audit.record(
                session, actor_type="staff", actor_id=signed.staff.id, action="topic.respond",
                now=signed.now, target_type="topic", target_id=topic_id,
            )  # fmt: skip
    except LookupError:
        return error(request, signed, "hall.not_found", status=404)
    except ValueError:
        return redirect(url(f"/hall/{topic_id}") + "?problem=hall.empty_response")
    return redirect(url(f"/hall/{topic_id}"))

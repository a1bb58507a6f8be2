"""REST API for the deliberation hall's topics (counts, turnout, result) and surveys (response
rate and tallies; free-text answers are counted, never listed) — for admins and staff only, as
on the dashboard (grid workers and counsellors get 403)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.api.base import (
    ApiError,
    Call,
    choice_param,
    endpoint,
    iso,
    ok,
    page,
    path_id,
    require_role,
)
from bot.dashboard.core import OFFICE
from handlers import topic_close
from storage import survey_results, surveys, topics
from storage.models import Survey, SurveyResponse, Topic, Vote

PHASES = ("upcoming", "open", "counting", "closed")


def phase(topic: Topic, now: datetime) -> str:
    """upcoming, open, counting (past closing, result not yet stored) or closed."""
    if topic.status == topics.CLOSED:
        return "closed"
    if now < topic.opens_at:
        return "upcoming"
    return "open" if now < topic.closes_at else "counting"


def _topic_json(topic: Topic, now: datetime) -> dict[str, Any]:
    return {
        "id": topic.id,
        "title": topic.title,
        "body": topic.body,
        "options": list(topic.options),
        "mode": topic.mode,
        "scope": topic.scope,
        "rule": topic.rule,
        "status": phase(topic, now),
        "opens_at": iso(topic.opens_at),
        "closes_at": iso(topic.closes_at),
        "closed_at": iso(topic.closed_at),
    }


@endpoint
async def list_topics(call: Call) -> web.Response:
    """Topics, newest first, with their vote counts and participants."""
    require_role(call, OFFICE)
    limit, offset = page(call.request)
    wanted = choice_param(call.request, "status", PHASES)
    where = []
    if wanted == "closed":
        where.append(Topic.status == topics.CLOSED)
    elif wanted == "upcoming":
        where += [Topic.status == topics.OPEN, Topic.opens_at > call.now]
    elif wanted == "open":
        where += [Topic.status == topics.OPEN, Topic.opens_at <= call.now,
                  Topic.closes_at > call.now]  # fmt: skip
    elif wanted == "counting":
        where += [Topic.status == topics.OPEN, Topic.closes_at <= call.now]
    total = await call.session.scalar(select(func.count()).select_from(Topic).where(*where))
    result = await call.session.execute(
        select(Topic).where(*where).order_by(Topic.opens_at.desc(), Topic.id.desc())
        .limit(limit).offset(offset)
    )  # fmt: skip
    found = list(result.scalars().all())
    ids = [t.id for t in found]
    taking_part = await topics.participant_counts(call.session, ids)
    votes: dict[int, dict[int, int]] = {}
    if ids:
        rows = await call.session.execute(
            select(Vote.topic_id, Vote.option, func.count())
            .where(Vote.topic_id.in_(ids))
            .group_by(Vote.topic_id, Vote.option)
        )
        for topic_id, option, count in rows.all():
            votes.setdefault(int(topic_id), {})[int(option)] = int(count)
    items = []
    for topic in found:
        shown = _topic_json(topic, call.now)
        counts = votes.get(topic.id, {})
        shown["votes"] = [counts.get(i, 0) for i in range(len(topic.options))]
        shown["participants"] = taking_part.get(topic.id, 0)
        items.append(shown)
    return ok({"items": items, "total": int(total or 0), "limit": limit, "offset": offset})


@endpoint
async def get_topic(call: Call) -> web.Response:
    """One topic with its votes, participants, eligible residents, turnout and result."""
    require_role(call, OFFICE)
    topic = await call.session.get(Topic, path_id(call.request, "topic_id"))
    if topic is None:
        raise ApiError(404, "no such topic")
    figures = topic.result or await topic_close.tally(call.session, topic)
    shown = _topic_json(topic, call.now)
    counts = figures.get("votes", {})
    shown["votes"] = [int(counts.get(option, 0)) for option in topic.options]
    shown["participants"] = int(figures.get("participants", 0))
    shown["eligible"] = int(figures.get("eligible", 0))
    shown["turnout"] = float(figures.get("turnout", 0.0))
    shown["result"] = topic.result
    shown["responses"] = [r.text for r in await topics.responses(call.session, topic.id)]
    return ok(shown)


def _survey_json(survey: Survey, completed: int) -> dict[str, Any]:
    return {
        "id": survey.id,
        "title": survey.title,
        "title_en": survey.title_en,
        "anonymous": survey.anonymous,
        "audience": survey.audience,
        "state": survey.state,
        "send_at": iso(survey.send_at),
        "closes_at": iso(survey.closes_at),
        "sent_at": iso(survey.sent_at),
        "invited": survey.invited,
        "completed": completed,
        "response_rate": round(completed / survey.invited, 4) if survey.invited else None,
    }


@endpoint
async def list_surveys(call: Call) -> web.Response:
    """Surveys, newest first, with their response rates."""
    require_role(call, OFFICE)
    limit, offset = page(call.request)
    state = choice_param(call.request, "state", (surveys.SCHEDULED, surveys.OPEN, surveys.CLOSED))
    where = [Survey.state == state] if state else []
    total = await call.session.scalar(select(func.count()).select_from(Survey).where(*where))
    result = await call.session.execute(
        select(Survey).where(*where).order_by(Survey.send_at.desc(), Survey.id.desc())
        .limit(limit).offset(offset)
    )  # fmt: skip
    found = list(result.scalars().all())
    completed: dict[int, int] = {}
    if found:
        rows = await call.session.execute(
            select(SurveyResponse.survey_id, func.count())
            .where(SurveyResponse.survey_id.in_([s.id for s in found]))
            .group_by(SurveyResponse.survey_id)
        )
        completed = {int(i): int(n) for i, n in rows.all()}
    items = [_survey_json(s, completed.get(s.id, 0)) for s in found]
    return ok({"items": items, "total": int(total or 0), "limit": limit, "offset": offset})


@endpoint
async def get_survey(call: Call) -> web.Response:
    """One survey with its response rate and how each question was answered."""
    require_role(call, OFFICE)
    try:
        found = await survey_results.results(call.session, path_id(call.request, "survey_id"))
    except LookupError:
        raise ApiError(404, "no such survey") from None
    shown = _survey_json(found.survey, found.completed)
    questions = []
    for tally in found.tallies:
        q = tally.question
        entry: dict[str, Any] = {
            "position": q.position + 1,
            "kind": q.kind,
            "text": q.text,
            "answered": tally.answered,
        }
        if q.kind in surveys.CHOICE_KINDS:
            entry["options"] = [
                {"label": label, "count": count}
                for label, count in zip(q.options, tally.counts, strict=True)
            ]
        elif q.kind == "rating":
            entry["ratings"] = {str(score): n for score, n in tally.ratings.items()}
            entry["average"] = round(tally.average, 2) if tally.average is not None else None
        questions.append(entry)
    shown["questions"] = questions
    return ok(shown)


def routes(router: web.UrlDispatcher) -> None:
    """Register the topic and survey routes (relative to /api/v1)."""
    router.add_get("/topics", list_topics, allow_head=False)
    router.add_get("/topics/{topic_id}", get_topic, allow_head=False)
    router.add_get("/surveys", list_surveys, allow_head=False)
    router.add_get("/surveys/{survey_id}", get_survey, allow_head=False)

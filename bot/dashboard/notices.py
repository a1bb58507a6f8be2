"""Surveys (问卷) and notices (通知) from the dashboard: define and schedule them, follow a
notice going out and cancel it, see a survey's response rate and answers."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.dashboard.core import (
    MAX_YEAR,
    MIN_YEAR,
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
from handlers.spec_problem import describe
from handlers.survey_spec import SurveyError, parse_survey
from storage import audit, broadcasts, staff_lists, survey_results, surveys
from storage.models import Broadcast

EXAMPLE = """title: 小区停车满意度调查
title_en: Parking satisfaction survey
audience: all
closes: 2026-12-31T18:00
questions:
  - kind: rating
    text: 您对小区停车管理满意吗？
    text_en: How satisfied are you with parking management?
"""


@page(roles=OFFICE)
async def survey_list(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Surveys with their response rates, and the form for a new one."""
    return await _surveys(request, signed, source=EXAMPLE, problems=[])


async def _surveys(
    request: web.Request, signed: Signed, *, source: str, problems: list[str]
) -> web.Response:
    async with request.app[RUNTIME].sessions() as session:
        found = await staff_lists.recent_surveys(session)
        done = await staff_lists.completed_counts(session, [s.id for s in found])
    return render(
        request, signed, "surveys.html", surveys=found, done=done, source=source,
        problems=problems, status=400 if problems else 200,
    )  # fmt: skip


@page(roles=OFFICE)
async def create_survey(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Check a survey definition (the YAML of `linli survey add`) and schedule it."""
    source = str((await form(request)).get("source", ""))[:50_000]
    runtime = request.app[RUNTIME]
    try:
        spec = parse_survey(source, tz=runtime.services.timezone, now=signed.now)
    except SurveyError as exc:
        texts = request.app[TEXTS]
        problems = [describe(texts, signed.locale, problem) for problem in exc.problems]
        return await _surveys(request, signed, source=source, problems=problems)
    async with runtime.sessions.begin() as session:
        survey = await surveys.create(session, spec, now=signed.now)
        audit.record(
            session, actor_type="staff", actor_id=signed.staff.id, action="survey.create",
            now=signed.now, target_type="survey", target_id=survey.id,
        )  # fmt: skip
        survey_id = survey.id
    return redirect(url(f"/surveys/{survey_id}"))


@page(roles=OFFICE)
async def survey_page(request: web.Request, signed: Signed) -> web.StreamResponse:
    """One survey's response rate and answers (texts shown as written, escaped)."""
    async with request.app[RUNTIME].sessions() as session:
        try:
            results = await survey_results.results(session, path_id(request, "survey_id"))
        except LookupError:
            return error(request, signed, "notices.not_found", status=404)
    return render(request, signed, "survey.html", results=results)


@page(roles=OFFICE)
async def notice_list(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Notices with their delivery progress, and the form for a new one."""
    return await _notices(request, signed, values={"audience": "all"}, problem=None)


async def _notices(
    request: web.Request, signed: Signed, *, values: dict[str, str], problem: str | None
) -> web.Response:
    async with request.app[RUNTIME].sessions() as session:
        found = await staff_lists.recent_broadcasts(session)
        progress = {b.id: await broadcasts.progress(session, b.id) for b in found[:20]}
    return render(
        request, signed, "notices.html", notices=found, progress=progress, values=values,
        problem=problem, grids=list(request.app[RUNTIME].services.grids),
        status=400 if problem else 200,
    )  # fmt: skip


@page(roles=OFFICE)
async def create_notice(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Queue a notice now, or schedule it for a local time."""
    values = {k: v.strip() for k, v in (await form(request)).items() if isinstance(v, str)}
    runtime = request.app[RUNTIME]
    now, send_at = signed.now, signed.now
    if values.get("send_at"):
        try:
            send_at = datetime.fromisoformat(values["send_at"]).replace(
                tzinfo=runtime.services.timezone
            )
        except ValueError:
            return await _notices(request, signed, values=values, problem="notices.bad_time")
        if not MIN_YEAR <= send_at.year <= MAX_YEAR:  # year 1 would not even convert to UTC
            return await _notices(request, signed, values=values, problem="notices.bad_time")
    try:
        async with runtime.sessions.begin() as session:
            notice = await broadcasts.create(
                session, text_=values.get("text", "")[:4000], audience=values.get("audience", ""),
                send_at=send_at, now=now, created_by=signed.staff.id,
            )  # fmt: skip
            if send_at <= now:
                await broadcasts.fan_out(session, notice, now=now)
            audit.record(
                session, actor_type="staff", actor_id=signed.staff.id, action="notice.create",
                now=now, target_type="broadcast", target_id=notice.id,
            )  # fmt: skip
    except ValueError:
        return await _notices(request, signed, values=values, problem="notices.bad_notice")
    return redirect(url("/notices"))


@page(roles=OFFICE)
async def cancel_notice(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Stop a notice: what has not gone out yet never will."""
    notice_id = path_id(request, "notice_id")
    async with request.app[RUNTIME].sessions.begin() as session:
        notice = await session.get(Broadcast, notice_id)
        if notice is None:
            return error(request, signed, "notices.not_found", status=404)
        await broadcasts.cancel(session, notice_id)
        audit.record(
            session, actor_type="staff", actor_id=signed.staff.id, action="notice.cancel",
            now=signed.now, target_type="broadcast", target_id=notice_id,
        )  # fmt: skip
    return redirect(url("/notices"))

"""Delivering surveys: invitations at the send time through the outbox, one reminder to
those who have not finished, and closing — each safe to repeat (dedupe keys, markers)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, cast, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcasts import members
from storage.db import insert_ignoring_conflicts
from storage.models import Outbox, Resident, Survey, SurveyInvitation
from storage.outbox import PENDING, PRIORITY_BULK
from storage.surveys import CLOSED, OPEN, SCHEDULED


async def due_to_send(session: AsyncSession, *, now: datetime) -> list[Survey]:
    """Scheduled surveys whose send time has come (and that have not closed meanwhile)."""
    result = await session.execute(
        select(Survey).where(Survey.state == SCHEDULED, Survey.send_at <= now).order_by(Survey.id)
    )
    return [s for s in result.scalars().all() if s.closes_at is None or s.closes_at > now]


async def invite(session: AsyncSession, survey: Survey, *, now: datetime) -> int:
    """Record one invitation per resident of the audience who receives surveys (a repeat
    adds nothing) and open the survey. Returns how many were invited."""
    chosen = select(
        literal(survey.id), Resident.id, literal(now, SurveyInvitation.invited_at.type),
        literal(False),
    ).where(members(session, survey.audience, subscription=Resident.receive_surveys))  # fmt: skip
    columns = ["survey_id", "resident_id", "invited_at", "completed"]
    await session.execute(_insert(session, SurveyInvitation).from_select(columns, chosen))
    count = await session.scalar(
        select(func.count())
        .select_from(SurveyInvitation)
        .where(SurveyInvitation.survey_id == survey.id)
    )
    survey.state, survey.sent_at, survey.invited = OPEN, now, int(count or 0)
    return survey.invited


async def queue_messages(
    session: AsyncSession,
    survey: Survey,
    *,
    tag: str,
    payloads: dict[str, dict[str, Any]],
    default_locale: str,
    now: datetime,
    only_unfinished: bool = False,
) -> None:
    """Queue a message (`payloads` by the resident's language) to every invitee who still
    receives surveys, one outbox row per survey, tag and resident whatever the repeats."""
    prefix = f"poll:{survey.id}:{tag}:"
    for locale, payload in payloads.items():
        language: ColumnElement[bool]
        if locale == default_locale:
            language = Resident.locale.not_in([k for k in payloads if k != default_locale])
        else:
            language = Resident.locale == locale
        who = [SurveyInvitation.survey_id == survey.id, language]
        if only_unfinished:
            who += [SurveyInvitation.completed.is_(False), SurveyInvitation.reminded_at.is_(None)]
        rows = (
            select(
                Resident.channel,
                Resident.external_id,
                Resident.id,
                _json(session, payload),
                literal(PRIORITY_BULK),
                literal(prefix) + cast(Resident.id, String),
                literal(PENDING),
                literal(now, Outbox.not_before.type),
                literal(0),
                literal(now, Outbox.created_at.type),
            )
            .join(SurveyInvitation, SurveyInvitation.resident_id == Resident.id)
            .where(*who, members(session, survey.audience, subscription=Resident.receive_surveys))
        )
        columns = ["channel", "recipient", "resident_id", "payload", "priority", "dedupe_key",
                   "state", "not_before", "attempts", "created_at"]  # fmt: skip
        await session.execute(_insert(session, Outbox).from_select(columns, rows))


async def due_for_reminder(session: AsyncSession, *, now: datetime) -> list[Survey]:
    """Open surveys whose reminder is due and not yet sent."""
    result = await session.execute(
        select(Survey).where(
            Survey.state == OPEN,
            Survey.remind_after_days.is_not(None),
            Survey.reminded_at.is_(None),
        )
    )
    return [
        s
        for s in result.scalars().all()
        if s.sent_at is not None
        and s.remind_after_days is not None
        and (now - s.sent_at).days >= s.remind_after_days
        and (s.closes_at is None or s.closes_at > now)
    ]


async def mark_reminded(session: AsyncSession, survey: Survey, *, now: datetime) -> int:
    """Note that the reminder went to everyone who had not finished; returns how many."""
    result = await session.execute(
        update(SurveyInvitation)
        .where(
            SurveyInvitation.survey_id == survey.id,
            SurveyInvitation.completed.is_(False),
            SurveyInvitation.reminded_at.is_(None),
        )
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    survey.reminded_at = now
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def close_ended(session: AsyncSession, *, now: datetime) -> list[Survey]:
    """Close the surveys whose closing time has passed: unfinished answers are discarded and
    invitations or reminders not yet sent never will be."""
    result = await session.execute(
        select(Survey).where(
            Survey.state.in_((SCHEDULED, OPEN)),
            Survey.closes_at.is_not(None),
            Survey.closes_at <= now,
        )
    )
    ended = list(result.scalars().all())
    for survey in ended:
        survey.state, survey.closed_at = CLOSED, now
        await session.execute(
            update(SurveyInvitation)
            .where(SurveyInvitation.survey_id == survey.id)
            .values(progress=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(Outbox)
            .where(Outbox.dedupe_key.startswith(f"poll:{survey.id}:"), Outbox.state == PENDING)
            .execution_options(synchronize_session=False)
        )
    return ended


def _insert(session: AsyncSession, model: Any) -> Any:
    return insert_ignoring_conflicts(session, model.__table__)


def _json(session: AsyncSession, value: Any) -> Any:
    as_text = literal(json.dumps(value, ensure_ascii=False), String)
    if session.get_bind().dialect.name == "postgresql":
        return cast(as_text, postgresql.JSONB)
    return as_text

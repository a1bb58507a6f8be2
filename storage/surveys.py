"""Surveys (问卷): defining one, a resident's invitation, and storing a finished response so
that an anonymous survey's answers stay apart from who answered."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SurveyResponse,
)

SCHEDULED, OPEN, CLOSED = "scheduled", "open", "closed"
KINDS = ("single", "multiple", "rating", "text")
CHOICE_KINDS = ("single", "multiple")


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    """A question as defined (in YAML or, later, the dashboard)."""

    kind: str
    text: str
    text_en: str | None = None
    options: tuple[str, ...] = ()
    options_en: tuple[str, ...] | None = None
    optional: bool = False


@dataclass(frozen=True, slots=True)
class SurveySpec:
    """A whole survey as defined, already validated."""

    title: str
    questions: tuple[QuestionSpec, ...]
    send_at: datetime
    title_en: str | None = None
    intro: str = ""
    intro_en: str | None = None
    anonymous: bool = True
    audience: str = "all"
    closes_at: datetime | None = None
    remind_after_days: int | None = None


async def create(session: AsyncSession, spec: SurveySpec, *, now: datetime) -> Survey:
    """Store a survey and its questions; it waits for its send time."""
    survey = Survey(
        title=spec.title, title_en=spec.title_en, intro=spec.intro, intro_en=spec.intro_en,
        anonymous=spec.anonymous, audience=spec.audience, send_at=spec.send_at,
        closes_at=spec.closes_at, remind_after_days=spec.remind_after_days, state=SCHEDULED,
        invited=0, created_at=now,
    )  # fmt: skip
    session.add(survey)
    await session.flush()
    for position, q in enumerate(spec.questions):
        session.add(
            SurveyQuestion(
                survey_id=survey.id,
                position=position,
                kind=q.kind,
                text=q.text,
                text_en=q.text_en,
                options=list(q.options),
                options_en=list(q.options_en) if q.options_en else None,
                optional=q.optional,
            )
        )
    await session.flush()
    return survey


async def questions(session: AsyncSession, survey_id: int) -> list[SurveyQuestion]:
    """A survey's questions in order."""
    result = await session.execute(
        select(SurveyQuestion)
        .where(SurveyQuestion.survey_id == survey_id)
        .order_by(SurveyQuestion.position)
    )
    return list(result.scalars().all())


async def invitation(
    session: AsyncSession, *, survey_id: int, resident_id: int
) -> SurveyInvitation | None:
    """A resident's invitation to a survey, if they were invited."""
    result = await session.execute(
        select(SurveyInvitation).where(
            SurveyInvitation.survey_id == survey_id, SurveyInvitation.resident_id == resident_id
        )
    )
    return result.scalar_one_or_none()


async def waiting_for(session: AsyncSession, *, resident_id: int) -> list[Survey]:
    """Open surveys the resident was invited to and has not finished."""
    result = await session.execute(
        select(Survey)
        .join(SurveyInvitation, SurveyInvitation.survey_id == Survey.id)
        .where(
            SurveyInvitation.resident_id == resident_id,
            SurveyInvitation.completed.is_(False),
            Survey.state == OPEN,
        )
        .order_by(Survey.id)
    )
    return list(result.scalars().all())


async def complete(
    session: AsyncSession,
    survey: Survey,
    invited: SurveyInvitation,
    *,
    answers: dict[int, Any],
    now: datetime,
) -> None:
    """Store a finished response (`answers` by question id: option positions, a rating or a
    text; None when skipped). For an anonymous survey the response carries no resident and
    no time, and the invitation keeps only that it was completed."""
    response = SurveyResponse(
        id=uuid.uuid4().hex,
        survey_id=survey.id,
        resident_id=None if survey.anonymous else invited.resident_id,
        completed_at=None if survey.anonymous else now,
    )
    session.add(response)
    await session.flush()
    for question_id, value in answers.items():
        if value is None:
            continue
        answer = SurveyAnswer(response_id=response.id, question_id=question_id)
        if isinstance(value, list):
            answer.choices = [int(v) for v in value]
        elif isinstance(value, int):
            answer.rating = value
        else:
            answer.text = str(value)
        session.add(answer)
    invited.completed, invited.progress = True, None

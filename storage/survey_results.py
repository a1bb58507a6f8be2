"""A survey's results for staff: response rate, per-question tallies and one row per response."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import surveys
from storage.models import Resident, Survey, SurveyAnswer, SurveyQuestion, SurveyResponse

RATINGS = (1, 2, 3, 4, 5)


@dataclass(slots=True)
class Tally:
    """How one question was answered: option counts, the rating distribution or the texts."""

    question: SurveyQuestion
    answered: int = 0
    counts: list[int] = field(default_factory=list)  # per option (choice questions)
    ratings: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))
    texts: list[str] = field(default_factory=list)

    @property
    def average(self) -> float | None:
        """The mean rating, or None when nobody rated."""
        total = sum(self.ratings.values())
        return sum(r * n for r, n in self.ratings.items()) / total if total else None


@dataclass(slots=True)
class Results:
    """Everything `linli survey results` shows."""

    survey: Survey
    completed: int
    tallies: list[Tally]

    @property
    def rate(self) -> float | None:
        """Completed responses as a share of invitations (None before anyone was invited)."""
        return self.completed / self.survey.invited if self.survey.invited else None


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """One response for an export; `resident_id` and `name` only for a named survey."""

    completed_at: datetime | None
    resident_id: int | None
    name: str | None
    answers: dict[int, SurveyAnswer]  # by question id


async def results(session: AsyncSession, survey_id: int) -> Results:
    """Tally a survey's completed responses (LookupError for an unknown survey)."""
    survey = await session.get(Survey, survey_id)
    if survey is None:
        raise LookupError(survey_id)
    asked = await surveys.questions(session, survey_id)
    tallies = {q.id: Tally(q, counts=[0] * len(q.options)) for q in asked}
    completed = await session.scalar(
        select(func.count())
        .select_from(SurveyResponse)
        .where(SurveyResponse.survey_id == survey_id)
    )
    for answer in await _answers(session, survey_id):
        tally = tallies[answer.question_id]
        tally.answered += 1
        for choice in answer.choices or []:
            if 0 <= choice < len(tally.counts):
                tally.counts[choice] += 1
        if answer.rating in tally.ratings:
            tally.ratings[answer.rating] += 1
        if answer.text is not None:
            tally.texts.append(answer.text)
    return Results(survey, int(completed or 0), [tallies[q.id] for q in asked])


async def response_rows(session: AsyncSession, survey: Survey) -> list[ResponseRow]:
    """One row per completed response; an anonymous survey's rows name nobody."""
    result = await session.execute(
        select(SurveyResponse, Resident.display_name)
        .outerjoin(Resident, Resident.id == SurveyResponse.resident_id)
        .where(SurveyResponse.survey_id == survey.id)
        .order_by(SurveyResponse.completed_at, SurveyResponse.id)
    )
    by_response: dict[str, dict[int, SurveyAnswer]] = {}
    for answer in await _answers(session, survey.id):
        by_response.setdefault(answer.response_id, {})[answer.question_id] = answer
    rows = []
    for response, name in result.all():
        named = not survey.anonymous and response.resident_id is not None
        rows.append(
            ResponseRow(
                completed_at=response.completed_at,
                resident_id=response.resident_id if named else None,
                name=name if named else None,
                answers=by_response.get(response.id, {}),
            )
        )
    return rows


async def _answers(session: AsyncSession, survey_id: int) -> list[SurveyAnswer]:
    result = await session.execute(
        select(SurveyAnswer)
        .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
        .where(SurveyQuestion.survey_id == survey_id)
        .order_by(SurveyAnswer.id)
    )
    return list(result.scalars().all())


def answer_value(question: SurveyQuestion, answer: SurveyAnswer | None) -> Any:
    """An answer as a spreadsheet cell: option labels joined by "; ", a rating, a text."""
    if answer is None:
        return ""
    if question.kind == "rating":
        return answer.rating if answer.rating is not None else ""
    if question.kind in surveys.CHOICE_KINDS:
        labels = [
            question.options[c] for c in answer.choices or [] if 0 <= c < len(question.options)
        ]
        return "; ".join(labels)
    return answer.text or ""

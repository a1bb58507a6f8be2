"""Survey storage on SQLite and PostgreSQL: invitations once per resident of the audience, in
their language, one reminder, anonymous answers without a resident, and the tallies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import db, residents, survey_delivery, survey_results, surveys
from storage.models import Outbox, SurveyAnswer, SurveyInvitation, SurveyResponse
from storage.surveys import QuestionSpec, SurveySpec

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
PAYLOADS = {"zh": {"text": "问卷", "buttons": []}, "en": {"text": "Survey", "buttons": []}}
QUESTIONS = (
    QuestionSpec("single", "满意吗？", options=("满意", "不满意")),
    QuestionSpec("multiple", "关心什么？", options=("车位", "收费", "乱停")),
    QuestionSpec("rating", "打分"),
    QuestionSpec("text", "建议", optional=True),
)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    factory = db.session_factory(engine)
    people = [  # external id, locale, grid, tags, receives surveys, reachable
        ("1", "zh", "hx-1", ["elderly"], True, True),
        ("2", "en", "hx-1", [], True, True),
        ("3", "zh", "hx-2", ["elderly"], False, True),  # turned surveys off
        ("4", "zh", "hx-1", ["elderly"], True, False),  # blocked the bot
    ]
    async with factory.begin() as session:
        for external, locale, grid, tags, wants, reachable in people:
            state = await residents.load_for_update(
                session, channel="telegram", external_id=external, locale=locale, now=NOW
            )
            state.resident.grid, state.resident.tags = grid, tags
            state.resident.receive_surveys, state.resident.reachable = wants, reachable
    yield factory
    await engine.dispose()


async def _send(session: AsyncSession, audience: str, **extra: object) -> surveys.Survey:
    spec = SurveySpec(title="停车", questions=QUESTIONS, send_at=NOW, audience=audience, **extra)  # type: ignore[arg-type]
    survey = await surveys.create(session, spec, now=NOW)
    for _ in range(2):  # a repeat changes nothing
        await survey_delivery.invite(session, survey, now=NOW)
        await survey_delivery.queue_messages(
            session, survey, tag="invite", payloads=PAYLOADS, default_locale="zh", now=NOW
        )
    return survey


async def _texts(session: AsyncSession, prefix: str) -> dict[str, str]:
    rows = await session.execute(
        select(Outbox.recipient, Outbox.payload).where(Outbox.dedupe_key.startswith(prefix))
    )
    return {recipient: payload["text"] for recipient, payload in rows.all()}


async def test_invitations_reach_the_audience_once_in_their_language(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        everyone = await _send(session, "all")
        assert everyone.invited == 2 and everyone.state == "open"
        assert await _texts(session, f"poll:{everyone.id}:") == {"1": "问卷", "2": "Survey"}
        seniors = await _send(session, "tag:elderly")
        assert await _texts(session, f"poll:{seniors.id}:") == {"1": "问卷"}
        grid = await _send(session, "grid:hx-2")
        assert grid.invited == 0 and await _texts(session, f"poll:{grid.id}:") == {}
        assert await survey_delivery.due_to_send(session, now=NOW) == []


async def test_one_reminder_and_anonymous_answers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        survey = await _send(session, "all", remind_after_days=2)
        first = (
            (await session.execute(select(SurveyInvitation).order_by(SurveyInvitation.id)))
            .scalars()
            .first()
        )
        assert first is not None
        answers = {q.id: v for q, v in zip(await surveys.questions(session, survey.id),
                                           [[1], [0, 2], 4, None], strict=True)}  # fmt: skip
        await surveys.complete(session, survey, first, answers=answers, now=NOW)
        assert await survey_delivery.due_for_reminder(session, now=NOW + timedelta(days=1)) == []
        later = NOW + timedelta(days=2)
        for due in await survey_delivery.due_for_reminder(session, now=later):
            await survey_delivery.queue_messages(
                session, due, tag="remind", payloads=PAYLOADS, default_locale="zh", now=later,
                only_unfinished=True,
            )  # fmt: skip
            assert await survey_delivery.mark_reminded(session, due, now=later) == 1
        assert await survey_delivery.due_for_reminder(session, now=later) == []
        assert await _texts(session, f"poll:{survey.id}:remind:") == {"2": "Survey"}

        (response,) = (await session.execute(select(SurveyResponse))).scalars().all()
        assert response.resident_id is None and response.completed_at is None
        stored = (await session.execute(select(SurveyAnswer))).scalars().all()
        assert len(stored) == 3  # the skipped question has no row
        found = await survey_results.results(session, survey.id)
        assert found.completed == 1 and found.rate == 0.5
        single, multiple, rating, text = found.tallies
        assert single.counts == [0, 1] and multiple.counts == [1, 0, 1]
        assert rating.average == 4 and rating.ratings[4] == 1 and text.answered == 0
        (row,) = await survey_results.response_rows(session, survey)
        assert row.resident_id is None and row.name is None
        with pytest.raises(LookupError):
            await survey_results.results(session, 999)

"""Topic storage on SQLite and PostgreSQL: votes, participants, eligibility by scope, the
statement queue, and a closing sweep that acts once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import topic_close
from handlers.context import Services
from storage import db, opinions, residents, topics
from storage.models import Outbox

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    yield db.session_factory(engine)
    await engine.dispose()


async def _people(session: AsyncSession) -> list[int]:
    ids = []
    for n, (grid, building) in enumerate([("hx-1", 3), ("hx-1", 3), ("hx-1", 4), ("hx-2", None)]):
        state = await residents.load_for_update(
            session, channel="telegram", external_id=str(n), locale="zh", now=NOW
        )
        state.resident.grid, state.resident.building = grid, building
        ids.append(state.resident.id)
    return ids


async def test_votes_participants_and_scope(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        a, b, c, d = await _people(session)
        topic = await topics.create_topic(
            session, title="t", body="", options=["同意", "不同意"], mode="statements",
            scope="building:3", rule="majority", opens_at=NOW, closes_at=NOW + timedelta(days=1),
            now=NOW, statements=["s1", "s2"],
        )  # fmt: skip
        assert await topics.cast_vote(session, topic_id=topic.id, resident_id=a, option=0,
                                      now=NOW) is None  # fmt: skip
        assert await topics.cast_vote(session, topic_id=topic.id, resident_id=a, option=1,
                                      now=NOW) == 0  # fmt: skip
        own = await opinions.add_opinion(session, topic_id=topic.id, resident_id=b, text="mine",
                                         now=NOW)  # fmt: skip
        await opinions.review(session, opinion_id=own.id, approve=True, now=NOW)
        first = await opinions.next_statement(session, topic_id=topic.id, resident_id=c)
        assert first is not None and first[0].text == "s1" and first[1:] == (0, 3)
        await opinions.vote_statement(session, opinion_id=first[0].id, resident_id=c, value=1,
                                      now=NOW)  # fmt: skip
        following = await opinions.next_statement(session, topic_id=topic.id, resident_id=b)
        assert following is not None and following[0].text == "s2"  # fewest votes, not own
        assert following[1:] == (0, 2)

        assert await topics.vote_counts(session, topic.id) == {1: 1}
        assert await topics.participant_counts(session, [topic.id]) == {topic.id: 3}
        assert await topics.eligible_count(session, "building:3") == 2
        assert await topics.eligible_count(session, "grid:hx-1") == 3
        assert await topics.eligible_count(session, "all") == 4
        assert topics.in_scope("building:3", grid="hx-1", building=None) is None
        assert topics.in_scope("grid:hx-2", grid=None, building=4) is False
        assert [r.id for r in await topics.participants(session, topic.id)] == [a, b, c]
        assert d not in {r.id for r in await topics.participants(session, topic.id)}


async def test_the_closing_sweep_acts_once(
    sessions: async_sessionmaker[AsyncSession], services: Services
) -> None:
    async with sessions.begin() as session:
        a, b, _, _ = await _people(session)
        topic = await topics.create_topic(
            session, title="t", body="", options=["同意", "不同意"], mode="vote", scope="all",
            rule="civil-code-278", opens_at=NOW, closes_at=NOW + timedelta(hours=1), now=NOW,
        )  # fmt: skip
        for resident in (a, b):
            await topics.cast_vote(session, topic_id=topic.id, resident_id=resident, option=0,
                                   now=NOW)  # fmt: skip
    later = NOW + timedelta(hours=2)
    async with sessions.begin() as session:
        assert await topic_close.close_due(session, services, now=later) == 1
    async with sessions.begin() as session:
        assert await topic_close.close_due(session, services, now=later) == 0
        closed = await session.get(type(topic), topic.id)
        assert closed is not None and closed.result is not None
        assert closed.result["quorum_met"] is False  # 2 of 4: fewer than two thirds
        key = f"topic:{topic.id}:result:{a}"
        sent = await session.scalar(select(Outbox.id).where(Outbox.dedupe_key == key))
        assert sent is not None

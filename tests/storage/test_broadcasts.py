"""Notices: one outbox row per resident of the audience, never two, and a cancel that holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import broadcasts, db, residents
from storage.models import Outbox, Resident

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    factory = db.session_factory(engine)
    people = [
        ("telegram", "1", "hx-1", ["elderly"], True),
        ("telegram", "2", "hx-1", [], True),
        ("web", "w-3", "hx-2", ["elderly", "newcomer"], True),
        ("telegram", "4", "hx-1", ["elderly"], False),  # blocked the bot
    ]
    async with factory.begin() as session:
        for channel, external, grid, tags, reachable in people:
            state = await residents.load_for_update(
                session, channel=channel, external_id=external, locale="zh", now=NOW
            )
            state.resident.grid, state.resident.tags = grid, tags
            state.resident.reachable = reachable
    yield factory
    await engine.dispose()


async def _recipients(sessions: async_sessionmaker[AsyncSession], audience: str) -> list[str]:
    async with sessions.begin() as session:
        notice = await broadcasts.create(
            session, text_="周六上午停水", audience=audience, send_at=NOW, now=NOW
        )
        await broadcasts.fan_out(session, notice, now=NOW)
        await broadcasts.fan_out(session, notice, now=NOW)  # a repeat adds nothing
        rows = await session.execute(
            select(Outbox.recipient).where(Outbox.dedupe_key.startswith(f"broadcast:{notice.id}:"))
        )
        found = sorted(rows.scalars())
        assert notice.recipients == len(found)
        payloads = await session.execute(
            select(Outbox.payload).where(Outbox.dedupe_key.startswith(f"broadcast:{notice.id}:"))
        )
        assert all(p == {"text": "周六上午停水", "buttons": []} for p in payloads.scalars())
        return found


async def test_audiences_reach_the_right_residents_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await _recipients(sessions, "all") == ["1", "2", "w-3"]
    assert await _recipients(sessions, "grid:hx-1") == ["1", "2"]
    assert await _recipients(sessions, "tag:elderly") == ["1", "w-3"]
    assert await _recipients(sessions, "tag:nobody") == []
    with pytest.raises(ValueError):
        await _recipients(sessions, "building:3")


async def test_a_later_notice_waits_and_a_cancel_holds(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        later = await broadcasts.create(
            session, text_="下周体检", audience="all", send_at=NOW + timedelta(hours=2), now=NOW
        )
        assert await broadcasts.due(session, now=NOW) == []
        assert [b.id for b in await broadcasts.due(session, now=NOW + timedelta(hours=3))] == [
            later.id
        ]
        await broadcasts.fan_out(session, later, now=NOW)
        assert (await broadcasts.progress(session, later.id)) == {"pending": 3}
        assert await broadcasts.cancel(session, later.id) == 3
        assert await broadcasts.due(session, now=NOW + timedelta(hours=3)) == []
        assert await broadcasts.progress(session, later.id) == {}
        assert later.state == "cancelled"
        with pytest.raises(LookupError):
            await broadcasts.cancel(session, 999)
    async with sessions() as session:
        blocked = await session.scalar(
            select(Resident.reachable).where(Resident.external_id == "4")
        )
    assert blocked is False

"""Data functions on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import db, residents, state, tickets, updates
from storage.models import Conversation, Resident

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    yield db.session_factory(engine)
    await engine.dispose()


async def test_an_update_is_claimed_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        assert await updates.claim_update(session, channel="telegram", update_id="7")
        assert not await updates.claim_update(session, channel="telegram", update_id="7")
        assert await updates.claim_update(session, channel="web", update_id="7")
    async with sessions.begin() as session:
        assert not await updates.claim_update(session, channel="telegram", update_id="7")


async def test_a_rolled_back_update_can_be_handled_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:
            assert await updates.claim_update(session, channel="web", update_id="x")
            raise RuntimeError("feature failed")
    async with sessions.begin() as session:
        assert await updates.claim_update(session, channel="web", update_id="x")


async def test_a_unit_of_work_commits_what_succeeds_and_nothing_of_what_fails(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with db.unit_of_work(sessions) as session:
        assert await updates.claim_update(session, channel="web", update_id="kept")
    with pytest.raises(RuntimeError):
        async with db.unit_of_work(sessions) as session:
            assert await updates.claim_update(session, channel="web", update_id="lost")
            raise RuntimeError("feature failed")
    async with sessions.begin() as session:
        assert not await updates.claim_update(session, channel="web", update_id="kept")
        assert await updates.claim_update(session, channel="web", update_id="lost")
    pool = session.get_bind().pool
    assert pool.checkedout() == 0  # type: ignore[attr-defined]  # every connection returned


async def test_concurrent_deliveries_of_one_update_take_effect_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def deliver() -> bool:
        async with sessions.begin() as session:
            return await updates.claim_update(session, channel="telegram", update_id="42")

    results = await asyncio.gather(*(deliver() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_resident_and_conversation_are_created_once_and_kept(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for _ in range(2):
        async with sessions.begin() as session:
            loaded = await residents.load_for_update(
                session, channel="web", external_id="w-1", locale="en", now=NOW
            )
            residents.set_flow(
                loaded.conversation,
                flow="handoff",
                step="confirm",
                data={"draft": {"text": "路灯"}},
                now=NOW,
            )
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Resident)) == 1
        conversation = (await session.execute(select(Conversation))).scalar_one()
        assert conversation.step == "confirm" and conversation.data == {"draft": {"text": "路灯"}}
        resident = (await session.execute(select(Resident))).scalar_one()
        assert resident.locale == "en" and resident.created_at == NOW


async def test_ticket_numbers_count_up_per_year(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        numbers = [
            (
                await tickets.create_ticket(
                    session, kind="consultation", resident_id=None, summary="s", now=NOW, year=year
                )
            ).number
            for year in (2026, 2026, 2027)
        ]
    assert numbers == ["T-2026-000001", "T-2026-000002", "T-2027-000001"]


async def test_concurrent_tickets_get_distinct_numbers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def file() -> str:
        async with sessions.begin() as session:
            ticket = await tickets.create_ticket(
                session, kind="consultation", resident_id=None, summary="s", now=NOW, year=2026
            )
            return ticket.number

    numbers = await asyncio.gather(*(file() for _ in range(6)))
    assert len(set(numbers)) == 6


async def test_a_generated_value_is_shared_not_regenerated(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        first = await state.get_or_create(session, "secret_key", lambda: "one")
    async with sessions.begin() as session:
        second = await state.get_or_create(session, "secret_key", lambda: "two")
    assert first == second == "one"


async def test_times_come_back_as_utc(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await residents.load_for_update(
            session, channel="web", external_id="w", locale="zh", now=NOW
        )
    async with sessions() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
    assert resident.last_seen_at == NOW and resident.last_seen_at.tzinfo is not None

"""The dashboard's ticket list at size: most urgent and soonest due first, and a count that
stops at "more than 1,000" instead of counting a million rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import db
from storage.models import Ticket
from storage.ticket_search import COUNT_CAP, Filters, search

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    yield db.session_factory(engine)
    await engine.dispose()


async def test_a_long_list_is_counted_up_to_the_cap_and_ordered_by_urgency(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    rows = [
        {"number": f"T-2026-{n:06d}", "kind": "complaint", "status": "closed", "priority": 0,
         "summary": "楼道灯不亮", "photos": [], "due_at": NOW + timedelta(days=n % 7),
         "created_at": NOW, "updated_at": NOW}
        for n in range(COUNT_CAP + 20)
    ]  # fmt: skip
    rows[5]["priority"] = 1  # urgent first
    rows[7]["due_at"] = None  # no deadline: last among equals
    rows[9]["due_at"] = NOW - timedelta(days=1)  # due soonest
    async with sessions.begin() as session:
        await session.execute(insert(Ticket), rows)
    async with sessions() as session:
        page, total = await search(
            session, allowed=true(), filters=Filters(status="closed"), limit=3
        )
        assert total == COUNT_CAP + 1  # "more than 1,000"
        assert [t.number for t in page[:2]] == ["T-2026-000005", "T-2026-000009"]
        last, _ = await search(
            session, allowed=true(), filters=Filters(status="closed"), limit=1,
            offset=COUNT_CAP + 19,
        )  # fmt: skip
        assert last[0].number == "T-2026-000007"
        few, counted = await search(session, allowed=true(), filters=Filters(text="000012"))
        assert counted == 1 and few[0].number == "T-2026-000012"

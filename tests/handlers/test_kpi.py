"""The monthly figures on hand-made tickets whose right answers are worked out here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.kpi import figures
from knowledge.workdays import WorkCalendar
from storage import db, tickets

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 10, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    yield db.session_factory(engine)
    await engine.dispose()


async def _ticket(session: AsyncSession, created: datetime, **fields: object) -> None:
    ticket = await tickets.create_ticket(
        session, kind=str(fields.pop("kind", "complaint")), resident_id=None, summary="x",
        now=created, year=2026, grid=str(fields.pop("grid", "hx-1")),
        due_at=fields.pop("due_at", None),  # type: ignore[arg-type]
    )  # fmt: skip
    for name, value in fields.items():
        setattr(ticket, name, value)


async def test_figures_of_a_month(sessions: async_sessionmaker[AsyncSession]) -> None:
    calendar = WorkCalendar(TZ)
    async with sessions.begin() as session:
        # Mon 2 Nov, claimed Tue 3 Nov (within a working day), due Fri 6, resolved Thu 5,
        # resident says solved and rates 5.
        await _ticket(
            session,
            at(2),
            assigned_at=at(3),
            due_at=at(6, 23),
            resolved_at=at(5),
            survey="solved",
            satisfaction=5,
            status="closed",
        )
        # Fri 6 Nov, claimed Tue 10 Nov (Mon 9 was the working day: late), due Fri 13,
        # resolved Mon 16 (late), reopened once, then solved, rated 3.
        await _ticket(
            session,
            at(6),
            assigned_at=at(10),
            due_at=at(13, 23),
            resolved_at=at(16),
            reopen_count=1,
            survey="solved",
            satisfaction=3,
            status="closed",
        )
        # Wed 11 Nov, never claimed, due Wed 18: overdue by the end of the month.
        await _ticket(session, at(11), due_at=at(18, 23))
        # Mon 23 Nov, claimed the same day, resolved on time, no answer: closed as unknown.
        await _ticket(
            session,
            at(23),
            assigned_at=at(23, 15),
            due_at=at(27, 23),
            resolved_at=at(25),
            survey="unknown",
            status="closed",
        )
        # Another grid, and a consultation: outside the scope / not a complaint.
        await _ticket(session, at(12), grid="hx-2", assigned_at=at(12, 11))
        await _ticket(session, at(12), kind="consultation")
        # December: outside the period.
        await _ticket(session, at(1, month=12), assigned_at=at(1, 11, month=12))
    async with sessions() as session:
        month = await figures(
            session, calendar, start=at(1, 0), end=at(1, 0, month=12), grid="hx-1"
        )
        everywhere = await figures(session, calendar, start=at(1, 0), end=at(1, 0, month=12))
    assert month.received == 4
    assert month.claimed_on_time == 0.5  # tickets 1 and 4 of 4
    assert month.resolved_on_time == 0.5  # 1 and 4 on time, 2 late, 3 overdue
    assert month.solved == pytest.approx(2 / 3, abs=1e-4)  # resolved at least once: 1, 2, 4
    assert month.satisfied == 0.5  # ratings 5 and 3: one of two is 4 or more
    assert month.survey_response == pytest.approx(2 / 3, abs=1e-4)
    assert month.reopened == pytest.approx(1 / 3, abs=1e-4)
    assert everywhere.received == 5 and everywhere.claimed_on_time == 0.6


async def test_an_empty_period_has_no_rates(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        empty = await figures(session, WorkCalendar(TZ), start=at(1, 0), end=at(2, 0))
    assert empty.received == 0 and empty.claimed_on_time is None and empty.satisfied is None

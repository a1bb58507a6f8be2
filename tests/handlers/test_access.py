"""Who may read which ticket: psych and crisis tickets only for counsellors and admins,
every read of them audited; grid workers see their grid."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.access import TicketNotFound, read_ticket, visible_to
from storage import db, staff, tickets
from storage.models import AuditLog, Staff, Ticket

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
KINDS = ("crisis", "counseling", "consultation", "complaint")


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    factory = db.session_factory(engine)
    async with factory.begin() as session:
        for kind in KINDS:
            for grid in ("g1", "g2"):
                await tickets.create_ticket(
                    session,
                    kind=kind,
                    resident_id=None,
                    summary=kind,
                    now=NOW,
                    year=2026,
                    grid=grid,
                )
        for role, grid in (("admin", None), ("counselor", None), ("staff", None), ("grid", "g1")):
            await staff.create_staff(
                session, username=role, role=role, password_hash=None, now=NOW, grid=grid
            )
    yield factory
    await engine.dispose()


async def _member(session: AsyncSession, username: str) -> Staff:
    found = await staff.get_staff_by_username(session, username)
    assert found is not None
    return found


EXPECTED = {
    "admin": {(k, g) for k in KINDS for g in ("g1", "g2")},
    "counselor": {(k, g) for k in ("crisis", "counseling") for g in ("g1", "g2")},
    "staff": {(k, g) for k in ("consultation", "complaint") for g in ("g1", "g2")},
    "grid": {("consultation", "g1"), ("complaint", "g1")},
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
async def test_lists_and_single_reads_agree_on_who_sees_what(
    sessions: async_sessionmaker[AsyncSession], role: str
) -> None:
    async with sessions.begin() as session:
        member = await _member(session, role)
        listed = (await session.execute(select(Ticket).where(visible_to(member)))).scalars()
        assert {(t.kind, t.grid) for t in listed} == EXPECTED[role]
        for ticket in (await session.execute(select(Ticket))).scalars().all():
            allowed = (ticket.kind, ticket.grid) in EXPECTED[role]
            if allowed:
                assert (await read_ticket(session, staff=member, ticket_id=ticket.id, now=NOW)).id
            else:
                with pytest.raises(TicketNotFound):
                    await read_ticket(session, staff=member, ticket_id=ticket.id, now=NOW)


async def test_every_read_of_a_sensitive_ticket_and_every_refusal_is_audited(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        counselor = await _member(session, "counselor")
        clerk = await _member(session, "staff")
        crisis = (
            await session.execute(select(Ticket).where(Ticket.kind == "crisis").limit(1))
        ).scalar_one()
        plain = (
            await session.execute(select(Ticket).where(Ticket.kind == "complaint").limit(1))
        ).scalar_one()
        await read_ticket(session, staff=counselor, ticket_id=crisis.id, now=NOW)
        await read_ticket(session, staff=counselor, ticket_id=crisis.id, now=NOW)
        await read_ticket(session, staff=clerk, ticket_id=plain.id, now=NOW)
        with pytest.raises(TicketNotFound):
            await read_ticket(session, staff=clerk, ticket_id=crisis.id, now=NOW)
        with pytest.raises(TicketNotFound):
            await read_ticket(session, staff=clerk, ticket_id=999_999, now=NOW)
    async with sessions() as session:
        entries = (await session.execute(select(AuditLog).order_by(AuditLog.id))).scalars().all()
    assert [(e.action, e.actor_id, e.target_id) for e in entries] == [
        ("ticket.read", counselor.id, crisis.id),
        ("ticket.read", counselor.id, crisis.id),
        ("ticket.read_denied", clerk.id, crisis.id),
    ]


async def test_a_disabled_account_sees_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        admin = await _member(session, "admin")
        admin.active = False
        assert (await session.execute(select(Ticket).where(visible_to(admin)))).first() is None

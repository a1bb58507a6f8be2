"""Dashboard sessions kept on the server, and the login attempts that throttle guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LoginAttempt, Staff, StaffSession

OK, FAILED, THROTTLED = "ok", "failed", "throttled"


async def create(
    session: AsyncSession,
    *,
    session_id: str,
    staff_id: int,
    csrf_token: str,
    locale: str,
    now: datetime,
) -> StaffSession:
    """Start a session for a staff member who just signed in."""
    row = StaffSession(
        id=session_id,
        staff_id=staff_id,
        csrf_token=csrf_token,
        locale=locale,
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def find(session: AsyncSession, *, session_id: str) -> tuple[StaffSession, Staff] | None:
    """A session that was not revoked, with its staff member (expiry is the caller's rule)."""
    result = await session.execute(
        select(StaffSession, Staff)
        .join(Staff, Staff.id == StaffSession.staff_id)
        .where(StaffSession.id == session_id, StaffSession.revoked_at.is_(None))
    )
    row = result.first()
    return (row[0], row[1]) if row is not None else None


async def revoke(session: AsyncSession, *, session_id: str, now: datetime) -> None:
    """End one session (logout, expiry)."""
    await session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def revoke_all(
    session: AsyncSession, *, staff_id: int, now: datetime, keep: str | None = None
) -> int:
    """End every session of a staff member (disabled, password reset), except `keep`."""
    statement = update(StaffSession).where(
        StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None)
    )
    if keep is not None:
        statement = statement.where(StaffSession.id != keep)
    result = await session.execute(
        statement.values(revoked_at=now).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def set_locale(session: AsyncSession, *, session_id: str, locale: str) -> None:
    """The language a session's pages are shown in."""
    await session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id)
        .values(locale=locale)
        .execution_options(synchronize_session=False)
    )


def record_attempt(
    session: AsyncSession, *, username: str, address: str, outcome: str, now: datetime
) -> None:
    """Keep one login attempt: who was tried, from where, and how it ended."""
    session.add(
        LoginAttempt(username=username[:64], address=address[:64], outcome=outcome, created_at=now)
    )


async def failures(
    session: AsyncSession,
    *,
    since: datetime,
    username: str | None = None,
    address: str | None = None,
) -> tuple[int, datetime | None]:
    """Failed attempts since `since` for an account (after its last success) or an address
    (a success there resets nothing: one known account must not shield guessing at others),
    and when the latest of them happened."""
    column = LoginAttempt.username if username is not None else LoginAttempt.address
    value = username if username is not None else address
    start = since
    if username is not None:
        last_ok = await session.scalar(
            select(func.max(LoginAttempt.created_at)).where(
                column == value, LoginAttempt.outcome == OK, LoginAttempt.created_at >= since
            )
        )
        start = max(since, last_ok) if last_ok is not None else since
    count, latest = (
        await session.execute(
            select(func.count(), func.max(LoginAttempt.created_at)).where(
                column == value, LoginAttempt.outcome == FAILED, LoginAttempt.created_at >= start
            )
        )
    ).one()
    return int(count), latest

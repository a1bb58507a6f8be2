"""Dashboard sessions kept on the server, and the login attempts that throttle guessing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LoginAttempt, Staff, StaffSession

OK, FAILED, THROTTLED, PENDING = "ok", "failed", "throttled", "pending"
KNOWN = "known_"  # the outcomes of attempts from a device that signed in to the account before
COUNTED = (FAILED, PENDING)  # what throttling counts: a pending attempt may be a guess


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


async def hold_attempts(session: AsyncSession, *, keys: Iterable[str]) -> None:
    """Until this transaction ends, make other logins for the same keys (an account, an
    address) wait, so that counting earlier attempts and recording this one are atomic.
    PostgreSQL: transaction-scoped advisory locks, taken in one order so two logins never
    wait for each other; SQLite: a write transaction already holds the database's lock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        digest = hashlib.sha256(b"linli.login:" + key.encode()).digest()
        await session.execute(
            select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True)))
        )


async def record_attempt(
    session: AsyncSession, *, username: str, address: str, outcome: str, known: bool, now: datetime
) -> int:
    """Keep one login attempt: who was tried, from where, from a browser known to that
    account or not, and how it ended so far (pending while the password is checked)."""
    row = LoginAttempt(
        username=username[:64], address=address[:64], outcome=outcome_of(outcome, known=known),
        created_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row.id


async def end_attempt(session: AsyncSession, *, attempt_id: int, outcome: str, known: bool) -> None:
    """How a login attempt ended (never the password)."""
    await session.execute(
        update(LoginAttempt)
        .where(LoginAttempt.id == attempt_id)
        .values(outcome=outcome_of(outcome, known=known))
        .execution_options(synchronize_session=False)
    )


def outcome_of(outcome: str, *, known: bool) -> str:
    """The stored outcome: attempts from a device the account signed in on before are kept
    apart (`known_failed`…), so that only they count towards that device's throttle."""
    return KNOWN + outcome if known else outcome


async def failures(
    session: AsyncSession,
    *,
    since: datetime,
    username: str | None = None,
    address: str | None = None,
    known: bool = False,
) -> tuple[int, datetime | None]:
    """Failed and still pending attempts since `since` (pending ones may be guesses being
    checked right now), and when the latest of them happened:
    from an address, to any account (a success there resets nothing: one known account must
    not shield guessing at others); or to an account, from its known devices (`known`) or
    from others, each after its own kind's last success."""
    if username is not None:
        ok, counted = outcome_of(OK, known=known), [outcome_of(o, known=known) for o in COUNTED]
        where = [LoginAttempt.username == username, LoginAttempt.outcome.in_(counted)]
        last_ok = await session.scalar(
            select(func.max(LoginAttempt.created_at)).where(
                LoginAttempt.username == username,
                LoginAttempt.outcome == ok,
                LoginAttempt.created_at >= since,
            )
        )
        since = max(since, last_ok) if last_ok is not None else since
    else:
        counted = [outcome_of(o, known=k) for o in COUNTED for k in (False, True)]
        where = [LoginAttempt.address == address, LoginAttempt.outcome.in_(counted)]
    count, latest = (
        await session.execute(
            select(func.count(), func.max(LoginAttempt.created_at)).where(
                *where, LoginAttempt.created_at >= since
            )
        )
    ).one()
    return int(count), latest

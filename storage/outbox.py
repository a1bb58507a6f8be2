"""The outbox: messages the bot sends on its own initiative, each delivered exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_ignoring_conflicts
from storage.models import Outbox

PRIORITY_URGENT = 100  # crisis alerts jump every queue
PRIORITY_HIGH = 50  # a staff member's reply to a resident
PRIORITY_NORMAL = 0  # status changes, reminders
PRIORITY_BULK = -10  # broadcasts and surveys

PENDING, SENDING, SENT, DEAD, UNREACHABLE = "pending", "sending", "sent", "dead", "unreachable"
# Handed to its channel, but the sender stopped (or the channel went silent) before it could
# record the answer: it may have arrived. Not sent again; kept for staff to see.
UNCERTAIN = "uncertain"
IN_DOUBT_NOTE = "the sender stopped while handing it over; it may have been delivered"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A claimed outbox row, detached from any session."""

    id: int
    channel: str
    recipient: str
    resident_id: int | None
    payload: dict[str, Any]
    priority: int
    attempts: int
    dedupe_key: str


_COLUMNS = (
    Outbox.id,
    Outbox.channel,
    Outbox.recipient,
    Outbox.resident_id,
    Outbox.payload,
    Outbox.priority,
    Outbox.attempts,
    Outbox.dedupe_key,
)


async def enqueue(
    session: AsyncSession,
    *,
    channel: str,
    recipient: str,
    payload: dict[str, Any],
    dedupe_key: str,
    now: datetime,
    priority: int = PRIORITY_NORMAL,
    not_before: datetime | None = None,
    resident_id: int | None = None,
) -> bool:
    """Queue a message; False when one with the same dedupe key was queued before."""
    statement = (
        insert_ignoring_conflicts(session, Outbox.__table__)
        .values(
            channel=channel,
            recipient=recipient,
            resident_id=resident_id,
            payload=payload,
            priority=priority,
            dedupe_key=dedupe_key,
            state=PENDING,
            not_before=not_before or now,
            attempts=0,
            created_at=now,
        )
        .returning(Outbox.id)
    )
    return (await session.execute(statement)).first() is not None


async def claim_due(
    session: AsyncSession,
    *,
    channels: Iterable[str],
    now: datetime,
    lease: timedelta,
    limit: int,
    resend_in_doubt: int = PRIORITY_HIGH,
) -> list[OutboxMessage]:
    """Atomically take up to `limit` due messages, most urgent first, for one sender.

    A row whose sender died is claimable again when its lease expires, if it was never handed
    to its channel. One that was handed is in doubt: at `resend_in_doubt` priority or above a
    duplicate is better than a miss and it is sent again; below, it becomes `uncertain`.
    PostgreSQL skips rows other senders hold; SQLite runs the one UPDATE under its write lock."""
    channels = list(channels)
    expired = and_(Outbox.state == SENDING, Outbox.lease_until < now)
    handed = Outbox.handed_at.is_not(None)
    await session.execute(
        update(Outbox)
        .where(Outbox.channel.in_(channels), expired, handed, Outbox.priority < resend_in_doubt)
        .values(state=UNCERTAIN, lease_until=None, last_error=IN_DOUBT_NOTE)
        .execution_options(synchronize_session=False)
    )
    due = or_(
        and_(Outbox.state == PENDING, Outbox.not_before <= now),
        and_(expired, or_(~handed, Outbox.priority >= resend_in_doubt)),
    )
    candidates = (
        select(Outbox.id)
        .where(Outbox.channel.in_(channels), due)
        .order_by(Outbox.priority.desc(), Outbox.not_before, Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Outbox)
        .where(Outbox.id.in_(candidates.scalar_subquery()))
        .values(
            state=SENDING, lease_until=now + lease, handed_at=None, attempts=Outbox.attempts + 1
        )
        .returning(*_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(statement)).all()
    messages = [OutboxMessage(*row) for row in rows]
    messages.sort(key=lambda m: (-m.priority, m.id))
    return messages


async def take_for_recipient(
    session: AsyncSession, *, channel: str, recipient: str, now: datetime, limit: int = 20
) -> list[OutboxMessage]:
    """Hand a pull channel (web page, console) the due messages of one recipient, oldest
    first, and mark them sent in the same statement."""
    candidates = (
        select(Outbox.id)
        .where(
            Outbox.channel == channel,
            Outbox.recipient == recipient,
            Outbox.state == PENDING,
            Outbox.not_before <= now,
        )
        .order_by(Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Outbox)
        .where(Outbox.id.in_(candidates.scalar_subquery()))
        .values(state=SENT, sent_at=now, attempts=Outbox.attempts + 1)
        .returning(*_COLUMNS)
        .execution_options(synchronize_session=False)
    )
    messages = [OutboxMessage(*row) for row in (await session.execute(statement)).all()]
    messages.sort(key=lambda m: m.id)
    return messages


async def hand(session: AsyncSession, message: OutboxMessage, *, now: datetime) -> bool:
    """Record that the message is about to go to its channel (commit before sending); False
    when this sender's claim was lost, so it must not send."""
    result = await session.execute(
        update(Outbox)
        .where(
            Outbox.id == message.id,
            Outbox.state == SENDING,
            Outbox.attempts == message.attempts,  # a re-claim counts an attempt: our fence
        )
        .values(handed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_sent(session: AsyncSession, *, message_id: int, now: datetime) -> None:
    """The channel accepted the message."""
    await _set(session, message_id, state=SENT, sent_at=now, lease_until=None, last_error=None)


async def retry_later(
    session: AsyncSession,
    *,
    message_id: int,
    not_before: datetime,
    error: str,
    count_attempt: bool = True,
) -> None:
    """Put the message back in the queue until `not_before`; a rate-limit pause
    (`count_attempt=False`) does not use up one of its attempts."""
    values: dict[str, Any] = {
        "state": PENDING,
        "not_before": not_before,
        "lease_until": None,
        "handed_at": None,
        "last_error": error[:500],
    }
    if not count_attempt:
        values["attempts"] = Outbox.attempts - 1
    await _set(session, message_id, **values)


async def mark_dead(session: AsyncSession, *, message_id: int, error: str) -> None:
    """Give up on the message after its last attempt; it stays visible to staff."""
    await _set(session, message_id, state=DEAD, lease_until=None, last_error=error[:500])


async def mark_unreachable(session: AsyncSession, *, message_id: int, error: str) -> None:
    """The recipient cannot be reached (blocked the bot); no retries."""
    await _set(session, message_id, state=UNREACHABLE, lease_until=None, last_error=error[:500])


async def mark_uncertain(session: AsyncSession, *, message_id: int, error: str) -> None:
    """The channel gave no answer in time: it may have been delivered; not sent again."""
    await _set(session, message_id, state=UNCERTAIN, lease_until=None, last_error=error[:500])


async def _set(session: AsyncSession, message_id: int, **values: Any) -> None:
    await session.execute(
        update(Outbox)
        .where(Outbox.id == message_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )

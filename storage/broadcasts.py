"""Notices (通知) to many residents at once: each becomes one outbox row per recipient, so
the sender's rate limits, retries and exactly-once claims apply to every one of them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, delete, func, literal, select, text, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast, Outbox, Resident
from storage.outbox import PENDING, PRIORITY_BULK

SCHEDULED, QUEUED, CANCELLED = "scheduled", "queued", "cancelled"
CHANNELS = ("telegram", "web", "console", "wechat")  # where residents can receive a notice


def parse_audience(audience: str) -> tuple[str, str]:
    """("all", ""), ("grid", id) or ("tag", name); ValueError for anything else."""
    kind, _, value = audience.partition(":")
    if (kind == "all" and not value) or (kind in ("grid", "tag") and value):
        return kind, value
    raise ValueError(f"audience must be all, grid:<id> or tag:<name>, not {audience!r}")


def members(session: AsyncSession, audience: str, *, subscription: Any) -> Any:
    """The SQL condition for the reachable residents of an audience who have not turned
    `subscription` (e.g. `Resident.receive_notices`) off in /settings."""
    kind, value = parse_audience(audience)
    reachable = and_(
        Resident.reachable.is_(True), Resident.channel.in_(CHANNELS), subscription.is_(True)
    )
    if kind == "grid":
        return and_(reachable, Resident.grid == value)
    if kind == "tag":
        if session.get_bind().dialect.name == "postgresql":
            return and_(reachable, cast(Resident.tags, postgresql.JSONB).contains([value]))
        in_tags = text(
            "EXISTS (SELECT 1 FROM json_each(residents.tags) WHERE json_each.value = :tag)"
        ).bindparams(tag=value)
        return and_(reachable, in_tags)
    return and_(reachable, true())


async def create(
    session: AsyncSession,
    *,
    text_: str,
    audience: str,
    send_at: datetime,
    now: datetime,
    created_by: int | None = None,
) -> Broadcast:
    """Record a notice to send at `send_at` (now or later)."""
    parse_audience(audience)
    if not text_.strip():
        raise ValueError("a notice needs text")
    broadcast = Broadcast(
        text=text_.strip(), audience=audience, send_at=send_at, state=SCHEDULED,
        recipients=0, created_by=created_by, created_at=now,
    )  # fmt: skip
    session.add(broadcast)
    await session.flush()
    return broadcast


async def fan_out(session: AsyncSession, broadcast: Broadcast, *, now: datetime) -> int:
    """Queue one outbox row per resident of the audience, in one statement (a repeat adds
    nothing: the dedupe key is per broadcast and resident). Returns the recipients."""
    dialect = session.get_bind().dialect.name
    payload = json.dumps({"text": broadcast.text, "buttons": []}, ensure_ascii=False)
    as_text = literal(payload, String)
    payload_sql = cast(as_text, postgresql.JSONB) if dialect == "postgresql" else as_text
    prefix = f"broadcast:{broadcast.id}:"
    rows = select(
        Resident.channel,
        Resident.external_id,
        Resident.id,
        payload_sql,
        literal(PRIORITY_BULK),
        literal(prefix) + cast(Resident.id, String),
        literal(PENDING),
        literal(now, Outbox.not_before.type),
        literal(0),
        literal(now, Outbox.created_at.type),
    ).where(members(session, broadcast.audience, subscription=Resident.receive_notices))
    module = postgresql if dialect == "postgresql" else sqlite
    columns = ["channel", "recipient", "resident_id", "payload", "priority", "dedupe_key",
               "state", "not_before", "attempts", "created_at"]  # fmt: skip
    await session.execute(
        module.insert(Outbox.__table__).from_select(columns, rows).on_conflict_do_nothing()
    )
    count = await session.scalar(
        select(func.count()).select_from(Outbox).where(Outbox.dedupe_key.startswith(prefix))
    )
    broadcast.state = QUEUED
    broadcast.recipients = int(count or 0)
    return broadcast.recipients


async def due(session: AsyncSession, *, now: datetime) -> list[Broadcast]:
    """Scheduled notices whose time has come."""
    result = await session.execute(
        select(Broadcast).where(Broadcast.state == SCHEDULED, Broadcast.send_at <= now)
    )
    return list(result.scalars().all())


async def progress(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    """How many of a notice's messages are pending, sending, sent, dead or unreachable."""
    rows = await session.execute(
        select(Outbox.state, func.count())
        .where(Outbox.dedupe_key.startswith(f"broadcast:{broadcast_id}:"))
        .group_by(Outbox.state)
    )
    return {state: int(count) for state, count in rows.all()}


async def cancel(session: AsyncSession, broadcast_id: int) -> int:
    """Stop a notice: what has not gone out yet never will. Returns how many were dropped."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise LookupError(broadcast_id)
    result = await session.execute(
        delete(Outbox)
        .where(Outbox.dedupe_key.startswith(f"broadcast:{broadcast_id}:"), Outbox.state == PENDING)
        .execution_options(synchronize_session=False)
    )
    broadcast.state = CANCELLED
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

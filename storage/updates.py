"""Idempotency: remembering which channel updates were already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_ignoring_conflicts
from storage.models import ProcessedUpdate


async def claim_update(session: AsyncSession, *, channel: str, update_id: str) -> bool:
    """Record an update as handled; False when it was already recorded (a duplicate).

    On PostgreSQL a concurrent transaction holding the same key makes this wait for it,
    then report a duplicate once it commits, so two deliveries never both take effect."""
    statement = (
        insert_ignoring_conflicts(session, ProcessedUpdate)
        .values(channel=channel, update_id=update_id)
        .returning(ProcessedUpdate.update_id)
    )
    result = await session.execute(statement)
    return result.first() is not None


async def forget_updates_before(session: AsyncSession, *, cutoff: datetime) -> int:
    """Drop idempotency keys older than `cutoff` (no channel redelivers after days)."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < cutoff)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

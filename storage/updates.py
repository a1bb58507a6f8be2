"""Idempotency: remembering which channel updates were already handled."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import delete, null, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate


async def claim_update(session: AsyncSession, *, channel: str, update_id: str) -> bool:
    """Record an update as handled; False when it was already recorded (a duplicate).

    On PostgreSQL a concurrent transaction holding the same key makes this wait for it,
    then report a duplicate once it commits, so two deliveries never both take effect."""
    statement = _claim_statement(session.get_bind().dialect.name)
    result = await session.execute(statement, {"channel": channel, "update_id": update_id})
    return result.first() is not None


@functools.cache
def _claim_statement(dialect: str) -> Any:
    # Built once per dialect: this runs for every update, and building costs more than running.
    module = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(ProcessedUpdate.__table__)
        .on_conflict_do_nothing()
        .returning(ProcessedUpdate.update_id)
    )


async def record_update(
    session: AsyncSession, *, channel: str, update_id: str, replies: list[dict[str, Any]]
) -> bool:
    """Record an update as handled, with the replies it got; False when it was recorded
    before (a duplicate: the caller rolls back what it did).

    On PostgreSQL a concurrent transaction holding the same key makes this wait for it,
    then report a duplicate once it commits, so two deliveries never both take effect."""
    statement = _claim_statement(session.get_bind().dialect.name)
    parameters = {"channel": channel, "update_id": update_id, "replies": replies}
    return (await session.execute(statement, parameters)).first() is not None


async def replies_of(
    session: AsyncSession, *, channel: str, update_id: str
) -> list[dict[str, Any]] | None:
    """The replies a handled update got (None once cleared, or for an unknown update)."""
    return await session.scalar(
        select(ProcessedUpdate.replies).where(
            ProcessedUpdate.channel == channel, ProcessedUpdate.update_id == update_id
        )
    )


async def forget_replies_before(session: AsyncSession, *, cutoff: datetime) -> int:
    """Clear the stored replies of updates handled before `cutoff`: a redelivery comes within
    minutes, and replies may quote what the resident wrote."""
    result = await session.execute(
        update(ProcessedUpdate)
        .where(ProcessedUpdate.processed_at < cutoff, ProcessedUpdate.replies.is_not(None))
        .values(replies=null())  # SQL NULL: a plain None would store JSON 'null'
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def forget_updates_before(session: AsyncSession, *, cutoff: datetime) -> int:
    """Drop idempotency keys older than `cutoff` (no channel redelivers after days)."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < cutoff)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

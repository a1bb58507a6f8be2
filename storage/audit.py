"""The audit log: who viewed or changed what (never message content)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditLog


def record(
    session: AsyncSession,
    *,
    actor_type: str,
    actor_id: int | None,
    action: str,
    now: datetime,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the current transaction."""
    session.add(
        AuditLog(
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail or {},
            created_at=now,
        )
    )


async def search(
    session: AsyncSession,
    *,
    actor_id: int | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditLog], int]:
    """Audit entries matching the filters, newest first, and how many match in all
    (`action` matches a prefix, so "ticket." finds every ticket action)."""
    where = []
    if actor_id is not None:
        where.append(AuditLog.actor_id == actor_id)
    if action:
        where.append(AuditLog.action.startswith(action, autoescape=True))
    if target_type:
        where.append(AuditLog.target_type == target_type)
    if target_id is not None:
        where.append(AuditLog.target_id == target_id)
    if since is not None:
        where.append(AuditLog.created_at >= since)
    if until is not None:
        where.append(AuditLog.created_at < until)
    total = await session.scalar(select(func.count()).select_from(AuditLog).where(*where))
    result = await session.execute(
        select(AuditLog)
        .where(*where)
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars().all()), int(total or 0)

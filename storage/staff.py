"""Staff accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Staff

ROLES = ("admin", "staff", "counselor", "grid")


async def count_staff(session: AsyncSession) -> int:
    """How many staff accounts exist."""
    return int((await session.execute(select(func.count()).select_from(Staff))).scalar_one())


async def create_staff(
    session: AsyncSession,
    *,
    username: str,
    role: str,
    password_hash: str | None,
    now: datetime,
    display_name: str | None = None,
    must_change_password: bool = False,
    telegram_id: int | None = None,
    grid: str | None = None,
) -> Staff:
    """Add a staff account."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    staff = Staff(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=password_hash,
        must_change_password=must_change_password,
        telegram_id=telegram_id,
        grid=grid,
        active=True,
        created_at=now,
    )
    session.add(staff)
    await session.flush()
    return staff


async def get_staff_by_username(session: AsyncSession, username: str) -> Staff | None:
    """A staff account by login name."""
    result = await session.execute(select(Staff).where(Staff.username == username))
    return result.scalar_one_or_none()


async def list_staff(session: AsyncSession, *, active_only: bool = False) -> list[Staff]:
    """Every staff account (or only the active ones), by login name."""
    query = select(Staff).order_by(Staff.username)
    if active_only:
        query = query.where(Staff.active.is_(True))
    return list((await session.execute(query)).scalars().all())

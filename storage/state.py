"""Instance-wide values every worker must agree on, such as a generated signing key."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_ignoring_conflicts
from storage.models import AppState


async def get_or_create(session: AsyncSession, key: str, make: Callable[[], str]) -> str:
    """The stored value of `key`, storing `make()` first if there is none (race-safe)."""
    await session.execute(
        insert_ignoring_conflicts(session, AppState.__table__).values(key=key, value=make())
    )
    return (await session.execute(select(AppState.value).where(AppState.key == key))).scalar_one()

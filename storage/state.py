"""Instance-wide values every worker must agree on, such as a generated signing key."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_ignoring_conflicts
from storage.models import AppState


async def get_or_create(session: AsyncSession, key: str, make: Callable[[], str]) -> str:
    """The stored value of `key`, storing `make()` first if there is none (race-safe)."""
    await session.execute(
        insert_ignoring_conflicts(session, AppState.__table__).values(key=key, value=make())
    )
    return (await session.execute(select(AppState.value).where(AppState.key == key))).scalar_one()


async def get(session: AsyncSession, key: str) -> str | None:
    """The stored value of `key`, or None."""
    return (
        await session.execute(select(AppState.value).where(AppState.key == key))
    ).scalar_one_or_none()


async def swap(session: AsyncSession, key: str, *, expected: str | None, value: str) -> bool:
    """Compare-and-set: store `value` only if `key` still holds `expected` (None: is absent).
    Of several workers swapping from the same value at once, exactly one succeeds."""
    if expected is None:
        statement = (
            insert_ignoring_conflicts(session, AppState.__table__)
            .values(key=key, value=value)
            .returning(AppState.key)
        )
        return (await session.execute(statement)).first() is not None
    result = await session.execute(
        update(AppState)
        .where(AppState.key == key, AppState.value == expected)
        .values(value=value)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]

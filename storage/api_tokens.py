"""REST API tokens: created for a staff member, shown once, kept only as a SHA-256 hash,
revocable; a request's bearer token finds its active staff member."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiToken, Staff

TOKEN_PREFIX = "linli_"
SHOWN_CHARS = 12  # how much of a token `linli token list` shows to tell tokens apart
MAX_TOKEN_CHARS = 200
# A token is used by every request; writing its last use at most this often keeps reads cheap.
TOUCH_EVERY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created: the secret (shown once, never stored) and its row."""

    secret: str
    row: ApiToken


def digest(secret: str) -> str:
    """The stored form of a token (tokens are long random strings, so one SHA-256 suffices)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


async def create(session: AsyncSession, *, staff: Staff, name: str, now: datetime) -> NewToken:
    """A new token for `staff`, acting with their role."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        staff_id=staff.id,
        name=name[:80],
        prefix=secret[:SHOWN_CHARS],
        token_hash=digest(secret),
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return NewToken(secret, row)


async def revoke(session: AsyncSession, *, token_id: int, now: datetime) -> ApiToken | None:
    """Stop a token from working (None when there is no such token)."""
    row = await session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
    return row


async def listing(session: AsyncSession) -> list[tuple[ApiToken, Staff]]:
    """Every token with its staff member, oldest first."""
    result = await session.execute(
        select(ApiToken, Staff).join(Staff, Staff.id == ApiToken.staff_id).order_by(ApiToken.id)
    )
    return [(token, staff) for token, staff in result.all()]


async def authenticate(
    session: AsyncSession, secret: str, *, now: datetime
) -> tuple[ApiToken, Staff] | None:
    """The token and its staff member when `secret` is a live token of an active account."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_CHARS:
        return None
    hashed = digest(secret)
    result = await session.execute(
        select(ApiToken, Staff)
        .join(Staff, Staff.id == ApiToken.staff_id)
        .where(ApiToken.token_hash == hashed)
    )
    found = result.first()
    if found is None:
        return None
    token, staff = found
    if not hmac.compare_digest(token.token_hash, hashed):
        return None
    if token.revoked_at is not None or not staff.active:
        return None
    last = token.last_used_at
    if last is None or (now - last).total_seconds() >= TOUCH_EVERY_SECONDS:
        token.last_used_at = now
    return token, staff

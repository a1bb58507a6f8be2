"""Helpers for dashboard tests: staff accounts, a logged-in test client, tickets to look at."""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot import passwords
from bot.app import Runtime
from storage import staff as staff_store
from storage import tickets
from storage.models import Resident, Ticket

Client = TestClient[Any, Any]
PASSWORD = "a-staff-password-1"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@functools.cache
def password_hash() -> str:
    """One argon2id hash of PASSWORD, computed once (hashing is deliberately slow)."""
    return passwords.hash_password(PASSWORD)


async def add_staff(
    runtime: Runtime,
    username: str,
    role: str,
    *,
    grid: str | None = None,
    must_change: bool = False,
    telegram_id: int | None = None,
) -> int:
    """A staff account whose password is PASSWORD; returns its id."""
    async with runtime.sessions.begin() as session:
        created = await staff_store.create_staff(
            session, username=username, role=role, password_hash=password_hash(),
            now=runtime.clock(), grid=grid, must_change_password=must_change,
            telegram_id=telegram_id,
        )  # fmt: skip
        return created.id


def csrf(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = TOKEN.search(html)
    assert found is not None, html[:500]
    return found[1]


async def login(client: Client, username: str, password: str = PASSWORD) -> Any:
    """Post the login form as a browser would (the form's token first); no redirects."""
    page = await client.get("/staff/login")
    token = csrf(await page.text())
    return await client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
    )


async def signed_in(client: Client, username: str) -> str:
    """Log in and return the session's CSRF token (from the Today page)."""
    response = await login(client, username)
    assert response.status == 303, await response.text()
    page = await client.get("/staff/")
    assert page.status == 200
    return csrf(await page.text())


async def post(client: Client, path: str, token: str, **fields: Any) -> Any:
    """A dashboard form POST with the CSRF token; no redirects."""
    return await client.post(path, data={"csrf_token": token, **fields}, allow_redirects=False)


async def file_ticket(
    runtime: Runtime,
    *,
    summary: str = "路灯坏了",
    kind: str = "complaint",
    grid: str | None = "hx-1",
    channel: str = "web",
    external_id: str = "w-resident",
    phone: str | None = None,
    photos: tuple[str, ...] = (),
    due_in: timedelta = timedelta(days=3),
) -> Ticket:
    """A ticket of a resident of `channel`, as the bot files it."""
    now = runtime.clock()
    async with runtime.sessions.begin() as session:
        resident = Resident(channel=channel, external_id=external_id, locale="zh")
        session.add(resident)
        await session.flush()
        return await tickets.create_ticket(
            session, kind=kind, resident_id=resident.id, summary=summary, now=now, year=now.year,
            category="facilities" if kind == "complaint" else None, grid=grid,
            contact_phone=phone, photos=photos, due_at=now + due_in,
        )  # fmt: skip

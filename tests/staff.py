"""Helpers for dashboard tests: staff accounts, a logged-in test client, tickets to look at."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import ClientSession, DummyCookieJar, web
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


@dataclass(frozen=True, slots=True)
class Answer:
    """What the login form answered one guess: the status and the cookies it set."""

    status: int
    set_cookies: tuple[str, ...]

    def cookie(self, name: str) -> str:
        """The Set-Cookie header of cookie `name`."""
        found = [c for c in self.set_cookies if c.startswith(name + "=")]
        assert found, self.set_cookies
        return found[0]


async def guesses(
    client: Client,
    tries: Sequence[tuple[str, str]],
    *,
    headers: Mapping[str, str] | None = None,
) -> list[Answer]:
    """Post the login form once per (username, password), all at the same time, as a script
    would: from a browser of its own that keeps no cookies, one form token for every guess;
    `headers` go with every request (what the reverse proxy adds)."""
    sent = dict(headers or {})
    async with ClientSession(cookie_jar=DummyCookieJar()) as browser:
        async with browser.get(client.make_url("/staff/login"), headers=sent) as page:
            token = csrf(await page.text())
            form_cookie = page.cookies["linli_staff_login"].value

        async def guess(username: str, password: str) -> Answer:
            async with browser.post(
                client.make_url("/staff/login"),
                data={"username": username, "password": password, "csrf_token": token},
                headers={**sent, "Cookie": f"linli_staff_login={form_cookie}"},
                allow_redirects=False,
            ) as response:
                return Answer(response.status, tuple(response.headers.getall("Set-Cookie", ())))

        return list(await asyncio.gather(*(guess(u, p) for u, p in tries)))


def straight_from(peer: str, app: web.Application) -> web.Application:
    """`app` as if every request came straight from `peer`, not through the reverse proxy on
    this machine (the test client itself always connects from 127.0.0.1)."""

    @web.middleware
    async def from_peer(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request.clone(remote=peer))
        return response

    app.middlewares.insert(0, from_peer)
    return app


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

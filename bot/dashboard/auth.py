"""Signing in and out of the dashboard: the login form with its own CSRF token, throttling
per account and per address (a growing wait, never a lockout), the same answer for an unknown
name and a wrong password, every attempt recorded; and changing one's password."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from datetime import datetime, timedelta

from aiohttp import web

from bot import passwords
from bot.dashboard.core import (
    COOKIE,
    LOGIN_COOKIE,
    RUNTIME,
    Signed,
    authenticate,
    form,
    page,
    redirect,
    render,
    same,
    session_id_of,
    url,
)
from handlers.i18n import LOCALES, pick_locale
from storage import audit, staff_sessions
from storage import staff as staff_store
from storage.models import Staff

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
ACCOUNT_FREE, ADDRESS_FREE = 5, 20  # failures allowed before the first wait
FIRST_WAIT, LONGEST_WAIT = timedelta(seconds=30), timedelta(minutes=15)


@functools.cache
def _decoy_hash() -> str:
    """A hash to verify against for unknown names, so they take as long as real ones."""
    return passwords.hash_password(secrets.token_urlsafe(16))


def wait_after(failures: int, free: int) -> timedelta:
    """How long to refuse after `failures` recent failures: nothing up to `free`, then 30 s
    doubling with each further failure, at most 15 minutes."""
    if failures < free:
        return timedelta(0)
    return min(FIRST_WAIT * 2 ** (failures - free), LONGEST_WAIT)


def _address(request: web.Request) -> str:
    return request.remote or "unknown"


def _cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="Strict", secure=request.secure, path="/staff"
    )


async def login_page(request: web.Request) -> web.StreamResponse:
    """The login form (already signed-in staff go to Today)."""
    if await authenticate(request) is not None:
        return redirect(url("/"))
    locale = pick_locale(request.query.get("lang"))
    return _login_form(request, locale)


def _login_form(
    request: web.Request,
    locale: str,
    *,
    error: str | None = None,
    wait: int = 0,
    status: int = 200,
    username: str = "",
) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request, None, "login.html", locale=locale, csrf=token, error=error, wait=wait,
        status=status, username=username,
    )  # fmt: skip
    _cookie(request, response, LOGIN_COOKIE, token)
    return response


async def _throttled(request: web.Request, username: str, now: datetime) -> int:
    """Seconds this attempt must still wait (0 when it may go ahead)."""
    since = now - WINDOW
    async with request.app[RUNTIME].sessions() as session:
        by_name = await staff_sessions.failures(session, since=since, username=username.lower())
        by_address = await staff_sessions.failures(session, since=since, address=_address(request))
    waits = [
        latest + wait_after(count, free) - now
        for (count, latest), free in ((by_name, ACCOUNT_FREE), (by_address, ADDRESS_FREE))
        if latest is not None
    ]
    longest = max(waits, default=timedelta(0))
    return max(0, int(longest.total_seconds() + 0.999))


async def login(request: web.Request) -> web.StreamResponse:
    """Check the name and password and start a new session (a new id every time)."""
    data = await form(request)
    locale = pick_locale(str(data.get("lang", "")))
    username = str(data.get("username", "")).strip()[:64]
    posted, expected = str(data.get("csrf_token", "")), request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not same(posted, expected):
        return _login_form(request, locale, error="auth.bad_csrf", status=403, username=username)
    now = request.app[RUNTIME].clock()
    address = _address(request)
    wait = await _throttled(request, username, now)
    if wait:
        await _record(request, username, address, staff_sessions.THROTTLED, now)
        return _login_form(
            request, locale, error="auth.throttled", wait=wait, status=429, username=username
        )
    password = str(data.get("password", ""))
    async with request.app[RUNTIME].sessions() as session:
        staff = await staff_store.get_staff_by_username(session, username) if username else None
    stored = staff.password_hash if staff is not None and staff.active else None
    matches = await asyncio.to_thread(passwords.verify_password, stored or _decoy_hash(), password)
    if staff is None or stored is None or not matches:
        await _record(request, username, address, staff_sessions.FAILED, now)
        return _login_form(request, locale, error="auth.failed", status=401, username=username)
    await _record(request, username, address, staff_sessions.OK, now)
    response = redirect(url("/password" if staff.must_change_password else "/"))
    await _start_session(request, response, staff, locale, now)
    response.del_cookie(LOGIN_COOKIE, path="/staff")
    return response


async def _record(
    request: web.Request, username: str, address: str, outcome: str, now: datetime
) -> None:
    async with request.app[RUNTIME].sessions.begin() as session:
        staff_sessions.record_attempt(
            session, username=username.lower(), address=address, outcome=outcome, now=now
        )
    log.info("staff login %s: user=%r address=%s", outcome, username, address)


async def _start_session(
    request: web.Request, response: web.StreamResponse, staff: Staff, locale: str, now: datetime
) -> None:
    token = secrets.token_urlsafe(32)
    async with request.app[RUNTIME].sessions.begin() as session:
        await staff_sessions.create(
            session, session_id=session_id_of(token), staff_id=staff.id,
            csrf_token=secrets.token_urlsafe(32), locale=locale, now=now,
        )  # fmt: skip
        audit.record(
            session, actor_type="staff", actor_id=staff.id, action="staff.login", now=now,
            target_type="staff", target_id=staff.id, detail={"address": _address(request)},
        )  # fmt: skip
    _cookie(request, response, COOKIE, token)


@page(password_change=True)
async def logout(request: web.Request, signed: Signed) -> web.StreamResponse:
    """End the session on the server and forget the cookie."""
    async with request.app[RUNTIME].sessions.begin() as session:
        await staff_sessions.revoke(session, session_id=signed.session_id, now=signed.now)
    response = redirect(url("/login"))
    response.del_cookie(COOKIE, path="/staff")
    return response


@page(password_change=True)
async def password_page(request: web.Request, signed: Signed) -> web.StreamResponse:
    """The form to change one's password (required after a one-time password)."""
    return render(request, signed, "password.html", error=None)


@page(password_change=True)
async def change_password(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Set a new password; every other session of this account ends, this one gets a new id."""
    data = await form(request)
    current, new = str(data.get("current", "")), str(data.get("new", ""))
    error = None
    if new != str(data.get("repeat", "")):
        error = "auth.password_mismatch"
    elif len(new) < passwords.MIN_LENGTH:
        error = "auth.password_short"
    elif new == current:
        error = "auth.password_same"
    elif not await asyncio.to_thread(
        passwords.verify_password, signed.staff.password_hash or _decoy_hash(), current
    ):
        error = "auth.password_wrong"
    if error is not None:
        return render(request, signed, "password.html", error=error, status=400)
    hashed = await asyncio.to_thread(passwords.hash_password, new)
    async with request.app[RUNTIME].sessions.begin() as session:
        staff = await session.get(Staff, signed.staff.id)
        assert staff is not None
        staff.password_hash, staff.must_change_password = hashed, False
        await staff_sessions.revoke_all(session, staff_id=staff.id, now=signed.now)
        audit.record(
            session, actor_type="staff", actor_id=staff.id, action="staff.password_changed",
            now=signed.now, target_type="staff", target_id=staff.id,
        )  # fmt: skip
    response = redirect(url("/"))
    await _start_session(request, response, staff, signed.locale, signed.now)
    return response


@page(password_change=True)
async def set_locale(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Switch the dashboard between Chinese and English for this session."""
    data = await form(request)
    locale = str(data.get("lang", ""))
    back = str(data.get("next", ""))
    if locale in LOCALES:
        async with request.app[RUNTIME].sessions.begin() as session:
            await staff_sessions.set_locale(session, session_id=signed.session_id, locale=locale)
    safe = back.startswith("/staff") and "//" not in back and "\\" not in back
    return redirect(back if safe else url("/"))

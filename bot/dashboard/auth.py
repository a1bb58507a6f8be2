"""Signing in and out of the dashboard: the login form with its own CSRF token, throttling
per account and per address (a growing wait, never a lockout), the same answer for an unknown
name and a wrong password, every attempt recorded; and changing one's password."""

from __future__ import annotations

import asyncio
import functools
import secrets
from datetime import datetime

from aiohttp import web

from bot import passwords
from bot.client_address import client_address, is_secure
from bot.dashboard import login_throttle
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

DEVICE_MAX_AGE = int(login_throttle.KNOWN_FOR.total_seconds())  # seconds the device cookie lasts


@functools.cache
def _decoy_hash() -> str:
    """A hash to verify against for unknown names, so they take as long as real ones."""
    return passwords.hash_password(secrets.token_urlsafe(16))


def _cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    path: str = "/staff",
    max_age: int | None = None,
) -> None:
    """HttpOnly, SameSite=Strict, and Secure when the staff member came over HTTPS (directly,
    or through the reverse proxy on this machine that says so)."""
    response.set_cookie(
        name, value, httponly=True, samesite="Strict", secure=is_secure(request), path=path,
        max_age=max_age,
    )  # fmt: skip


def _forget(request: web.Request, response: web.StreamResponse, name: str) -> None:
    response.del_cookie(
        name, path="/staff", secure=is_secure(request), httponly=True, samesite="Strict"
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


async def login(request: web.Request) -> web.StreamResponse:
    """Check the name and password and start a new session (a new id every time)."""
    data = await form(request)
    locale = pick_locale(str(data.get("lang", "")))
    username = str(data.get("username", "")).strip()[:64]
    posted, expected = str(data.get("csrf_token", "")), request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not same(posted, expected):
        return _login_form(request, locale, error="auth.bad_csrf", status=403, username=username)
    now = request.app[RUNTIME].clock()
    async with request.app[RUNTIME].sessions() as session:
        staff = await staff_store.get_staff_by_username(session, username) if username else None
    # On record before the slow hash: guesses sent at once are throttled as if one by one.
    attempt = await login_throttle.begin(request, username, staff, now)
    if attempt.wait:
        response = _login_form(
            request, locale, error="auth.throttled", wait=attempt.wait, status=429,
            username=username,
        )  # fmt: skip
        response.headers["Retry-After"] = str(attempt.wait)
        return response
    password = str(data.get("password", ""))
    stored = staff.password_hash if staff is not None and staff.active else None
    matches = await asyncio.to_thread(passwords.verify_password, stored or _decoy_hash(), password)
    if staff is None or stored is None or not matches:
        await login_throttle.end(request, attempt, staff_sessions.FAILED)
        return _login_form(request, locale, error="auth.failed", status=401, username=username)
    await login_throttle.end(request, attempt, staff_sessions.OK)
    response = redirect(url("/password" if staff.must_change_password else "/"))
    await _start_session(request, response, staff, locale, now)
    _forget(request, response, LOGIN_COOKIE)
    return response


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
            target_type="staff", target_id=staff.id, detail={"address": client_address(request)},
        )  # fmt: skip
    _cookie(request, response, COOKIE, token)
    # This browser now knows the account (and its current password): others' guessing at
    # the account will not hold it back.
    device = login_throttle.device_cookie(request, staff, now)
    _cookie(request, response, *device, path=login_throttle.DEVICE_PATH, max_age=DEVICE_MAX_AGE)


@page(password_change=True)
async def logout(request: web.Request, signed: Signed) -> web.StreamResponse:
    """End the session on the server and forget the cookie."""
    async with request.app[RUNTIME].sessions.begin() as session:
        await staff_sessions.revoke(session, session_id=signed.session_id, now=signed.now)
    response = redirect(url("/login"))
    _forget(request, response, COOKIE)
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

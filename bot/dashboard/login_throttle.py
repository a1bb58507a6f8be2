"""Slowing down password guessing at the dashboard login without locking staff out: every
attempt is recorded before its password is checked, so guesses sent at once count each other;
an account and a client address each get a growing wait after a few failures; and a browser
the staff member signed in on before is held back only by its own failures, never by other
people guessing at the account."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from itsdangerous import BadSignature, URLSafeSerializer

from bot.client_address import client_address
from bot.dashboard.core import RUNTIME
from storage import staff_sessions
from storage.models import Staff

log = logging.getLogger("bot.dashboard.auth")  # staff sign-ins log under the login's name

WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
ACCOUNT_FREE, ADDRESS_FREE = 5, 20  # failures allowed before the first wait
FIRST_WAIT, LONGEST_WAIT = timedelta(seconds=30), timedelta(minutes=15)
DEVICE_COOKIE = "linli_staff_device"  # the accounts that signed in on this browser
DEVICE_PATH = "/staff"  # read at the login and at a password change
KNOWN_FOR = timedelta(days=180)  # since the last successful login on the browser
KNOWN_ACCOUNTS = 8  # remembered per browser (an office computer several staff share)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One login attempt on record: its id, whom it tried, from where, whether from a
    browser that account signed in on before, and how many seconds it must still wait."""

    id: int
    username: str
    address: str
    known: bool
    wait: int


def wait_after(failures: int, free: int) -> timedelta:
    """How long to refuse after `failures` recent failures: nothing up to `free`, then 30 s
    doubling with each further failure, at most 15 minutes."""
    if failures < free:
        return timedelta(0)
    return min(FIRST_WAIT * 2 ** (failures - free), LONGEST_WAIT)


async def begin(request: web.Request, username: str, staff: Staff | None, now: datetime) -> Attempt:
    """Count the recent failures of the account and the address, then record this attempt
    (pending, or throttled when it must wait), in one transaction that other logins for the
    same account or address wait for: guesses sent at once are counted one by one, and every
    guess that goes on to the slow password check is already counted by the next."""
    runtime = request.app[RUNTIME]
    name, address = username.lower(), client_address(request)
    known = staff is not None and _known_here(request, staff, now)
    since = now - WINDOW
    async with runtime.sessions.begin() as session:
        await staff_sessions.hold_attempts(session, keys=("user:" + name, "address:" + address))
        account = await staff_sessions.failures(session, since=since, username=name, known=known)
        counts = [(account, ACCOUNT_FREE)]
        if not known:  # a known browser's guesses are bounded by its own account count
            by_address = await staff_sessions.failures(session, since=since, address=address)
            counts.append((by_address, ADDRESS_FREE))
        wait = _wait(counts, now)
        outcome = staff_sessions.THROTTLED if wait else staff_sessions.PENDING
        attempt_id = await staff_sessions.record_attempt(
            session, username=name, address=address, outcome=outcome, known=known, now=now
        )
    attempt = Attempt(attempt_id, name, address, known, wait)
    if wait:
        _log(attempt, outcome)
    return attempt


async def end(request: web.Request, attempt: Attempt, outcome: str) -> None:
    """How a checked attempt ended (ok or failed), kept and logged without the password."""
    async with request.app[RUNTIME].sessions.begin() as session:
        await staff_sessions.end_attempt(
            session, attempt_id=attempt.id, outcome=outcome, known=attempt.known
        )
    _log(attempt, outcome)


def _log(attempt: Attempt, outcome: str) -> None:
    log.info(
        "staff login %s: user=%r address=%s known_device=%s",
        outcome, attempt.username, attempt.address, attempt.known,
    )  # fmt: skip


def _wait(counts: list[tuple[tuple[int, datetime | None], int]], now: datetime) -> int:
    """Seconds still to wait: the longest wait after the latest of `count` failures, for each
    ((count, latest), free) past its free failures (none before: a guess recorded a moment
    later by a login that went first must not make a wait out of nothing)."""
    waits = [
        latest + wait_after(count, free) - now
        for (count, latest), free in counts
        if latest is not None and count >= free
    ]
    longest = max(waits, default=timedelta(0))
    return max(0, int(longest.total_seconds() + 0.999))


def device_cookie(request: web.Request, staff: Staff, now: datetime) -> tuple[str, str]:
    """After a successful login, the cookie (name, value) that makes this browser known to
    the account for 180 days: signed, tied to the current password so an old one earns
    nothing, remembering the last few accounts signed in on it."""
    entries = [e for e in _entries(request) if e[0] != staff.username.lower()]
    entries.append([staff.username.lower(), _fingerprint(staff), int(now.timestamp())])
    return DEVICE_COOKIE, _signer(request).dumps(entries[-KNOWN_ACCOUNTS:])


def _known_here(request: web.Request, staff: Staff, now: datetime) -> bool:
    if not staff.active or not staff.password_hash:
        return False
    fingerprint, oldest = _fingerprint(staff), (now - KNOWN_FOR).timestamp()
    return any(
        name == staff.username.lower() and same == fingerprint and signed_in >= oldest
        for name, same, signed_in in _entries(request)
    )


def _entries(request: web.Request) -> list[list[Any]]:
    """The cookie's [username, password fingerprint, last sign-in] entries; none when the
    cookie is missing, tampered with or malformed."""
    try:
        value = _signer(request).loads(request.cookies.get(DEVICE_COOKIE, ""))
    except BadSignature:
        return []
    if not isinstance(value, list):
        return []
    return [
        e for e in value
        if isinstance(e, list) and len(e) == 3 and isinstance(e[0], str)
        and isinstance(e[1], str) and isinstance(e[2], int)
    ]  # fmt: skip


def _fingerprint(staff: Staff) -> str:
    """A short digest of the account's password hash: a new password forgets old browsers."""
    return hashlib.sha256(
        b"linli.staff.device:" + (staff.password_hash or "").encode()
    ).hexdigest()[:16]


def _signer(request: web.Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app[RUNTIME].secret_key, salt="linli.staff.device")

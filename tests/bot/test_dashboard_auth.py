"""Dashboard sign-in security: the login form and its CSRF token, the same answer for an
unknown name and a wrong password, throttling without lockout (guesses sent at once counted
one by one, per account and per real client address behind the proxy, a browser that signed
in before not held back by others), the first password change, session expiry (idle and
absolute) and revocation, CSRF on every POST, Secure cookies behind the TLS proxy, and the
headers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.app import Runtime, create_web_app, ensure_first_admin
from storage.models import AuditLog, LoginAttempt, StaffSession, TicketEvent
from tests.chat import fetch_all
from tests.staff import (
    PASSWORD,
    Client,
    add_staff,
    csrf,
    file_ticket,
    guesses,
    login,
    post,
    signed_in,
    straight_from,
)

pytestmark = pytest.mark.both_databases  # throttling counts in the database: both must hold
PROXY_HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture
async def client(
    runtime: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(create_web_app(runtime))


async def test_the_first_admin_must_change_the_one_time_password(
    client: Client, runtime: Runtime
) -> None:
    shown: list[str] = []
    await ensure_first_admin(runtime, shown.append)
    one_time = shown[0].split("one-time password ")[1].split("\n")[0]

    response = await login(client, "admin", one_time)
    assert response.status == 303 and response.headers["Location"] == "/staff/password"
    today = await client.get("/staff/tickets", allow_redirects=False)
    assert today.status == 303 and today.headers["Location"] == "/staff/password"
    page = await client.get("/staff/password")
    html = await page.text()
    assert "这是一次性密码" in html
    token = csrf(html)

    short = await post(client, "/staff/password", token, current=one_time, new="short",
                       repeat="short")  # fmt: skip
    assert short.status == 400 and "至少需要 8 位" in await short.text()
    changed = await post(client, "/staff/password", token, current=one_time,
                         new="my own secret 2026", repeat="my own secret 2026")  # fmt: skip
    assert changed.status == 303 and changed.headers["Location"] == "/staff/"
    assert "今日待办" in await (await client.get("/staff/")).text()

    client.session.cookie_jar.clear()
    assert (await login(client, "admin", one_time)).status == 401
    assert (await login(client, "admin", "my own secret 2026")).status == 303


async def test_unknown_name_and_wrong_password_get_the_same_answer_and_are_logged(
    client: Client, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    await add_staff(runtime, "wang", "staff")
    caplog.set_level(logging.INFO, logger="bot.dashboard.auth")
    unknown = await login(client, "nobody", "whatever-123")
    wrong = await login(client, "wang", "wrong-password-9")
    assert unknown.status == wrong.status == 401
    assert "用户名或密码不正确" in await unknown.text()
    assert "用户名或密码不正确" in await wrong.text()
    assert (await login(client, "wang")).status == 303

    attempts = await fetch_all(runtime.sessions, select(LoginAttempt).order_by(LoginAttempt.id))
    assert [(a.username, a.outcome) for a in attempts] == [
        ("nobody", "failed"), ("wang", "failed"), ("wang", "ok"),
    ]  # fmt: skip
    logged = caplog.text
    assert "wrong-password-9" not in logged and PASSWORD not in logged
    assert "failed" in logged and "wang" in logged


async def test_login_is_throttled_per_account_with_a_growing_wait_not_a_lockout(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "li", "staff")
    for _ in range(5):
        assert (await login(client, "li", "guess-guess")).status == 401
    refused = await login(client, "li")  # even the right password waits
    assert refused.status == 429
    text = await refused.text()
    assert "登录尝试过多" in text and "30 秒" in text and "不是锁定" in text

    runtime.clock.advance(timedelta(seconds=31))
    assert (await login(client, "li", "guess-again")).status == 401  # the 6th failure
    assert "60 秒" in await (await login(client, "li")).text()  # the wait doubled

    runtime.clock.advance(timedelta(seconds=61))
    assert (await login(client, "li")).status == 303  # never locked out
    outcomes = [a.outcome for a in await fetch_all(runtime.sessions, select(LoginAttempt))]
    assert outcomes.count("throttled") == 2


async def test_login_is_throttled_per_address_across_accounts(client: Client) -> None:
    for number in range(20):
        assert (await login(client, f"user{number}", "guess-guess")).status == 401
    refused = await login(client, "someone-else", "guess-guess")
    assert refused.status == 429


async def test_a_post_without_the_csrf_token_is_refused(client: Client, runtime: Runtime) -> None:
    await add_staff(runtime, "zhao", "staff")
    ticket = await file_ticket(runtime)
    await signed_in(client, "zhao")
    refused = await client.post(f"/staff/tickets/{ticket.id}/note", data={"text": "x"})
    assert refused.status == 403
    assert "页面已过期" in await refused.text()
    forged = await post(client, f"/staff/tickets/{ticket.id}/note", "forged", text="x")
    assert forged.status == 403
    events = await fetch_all(runtime.sessions, select(TicketEvent.kind))
    assert "note" not in events

    client.session.cookie_jar.clear()
    page = await client.get("/staff/login")
    assert page.status == 200
    no_token = await client.post(
        "/staff/login", data={"username": "zhao", "password": PASSWORD}, allow_redirects=False
    )
    assert no_token.status == 403


async def test_security_headers_and_cookie_flags(client: Client, runtime: Runtime) -> None:
    await add_staff(runtime, "qian", "staff")
    page = await client.get("/staff/login")
    for response in (page, await login(client, "qian"), await client.get("/staff/")):
        headers = response.headers
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
    cookie = (await login(client, "qian")).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/staff" in cookie
    assert (await client.get("/staff/static/staff.css")).status == 200
    assert "https://" not in await (await client.get("/staff/")).text()  # no CDN


async def test_sessions_expire_after_30_idle_minutes(client: Client, runtime: Runtime) -> None:
    await add_staff(runtime, "sun", "staff")
    await signed_in(client, "sun")
    runtime.clock.advance(timedelta(minutes=29))
    assert (await client.get("/staff/", allow_redirects=False)).status == 200
    runtime.clock.advance(timedelta(minutes=31))
    expired = await client.get("/staff/", allow_redirects=False)
    assert expired.status == 303 and expired.headers["Location"] == "/staff/login"


async def test_sessions_end_after_12_hours_however_active(client: Client, runtime: Runtime) -> None:
    await add_staff(runtime, "zhou", "staff")
    await signed_in(client, "zhou")
    for _ in range(35):  # 11 h 40 min of activity, a request every 20 minutes
        runtime.clock.advance(timedelta(minutes=20))
        assert (await client.get("/staff/", allow_redirects=False)).status == 200
    runtime.clock.advance(timedelta(minutes=21))
    assert (await client.get("/staff/", allow_redirects=False)).status == 303


async def test_logout_and_disabling_revoke_sessions_on_the_server(
    client: Client, runtime: Runtime
) -> None:
    wu_id = await add_staff(runtime, "wu", "staff")
    await add_staff(runtime, "boss", "admin")
    token = await signed_in(client, "wu")
    stolen = client.session.cookie_jar.filter_cookies(client.make_url("/staff/"))["linli_staff"]
    assert (await post(client, "/staff/logout", token)).status == 303
    client.session.cookie_jar.update_cookies({"linli_staff": stolen.value})
    replay = await client.get("/staff/", allow_redirects=False)
    assert replay.status == 303 and replay.headers["Location"] == "/staff/login"

    await signed_in(client, "wu")
    wu_cookie = client.session.cookie_jar.filter_cookies(client.make_url("/staff/"))["linli_staff"]
    client.session.cookie_jar.clear()
    admin_token = await signed_in(client, "boss")
    assert (await post(client, f"/staff/admin/staff/{wu_id}/active", admin_token,
                       active="0")).status == 303  # fmt: skip
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"linli_staff": wu_cookie.value})
    assert (await client.get("/staff/", allow_redirects=False)).status == 303
    assert (await login(client, "wu")).status == 401  # a disabled account cannot log in
    sessions = await fetch_all(runtime.sessions, select(StaffSession))
    assert all(s.revoked_at is not None for s in sessions if s.staff_id == wu_id)
    actions = await fetch_all(runtime.sessions, select(AuditLog.action))
    assert "staff.disable" in actions and "staff.login" in actions


def _via(address: str) -> dict[str, str]:
    """What nginx adds for a client at `address`."""
    return {"X-Real-IP": address}


def _secure(set_cookie: str) -> bool:
    return "secure" in [part.strip().lower() for part in set_cookie.split(";")]


async def test_guesses_sent_at_once_are_counted_one_by_one(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "li", "staff")
    answers = await guesses(client, [("li", f"guess-{n:02}-guess") for n in range(40)])
    assert sorted(a.status for a in answers) == [401] * 5 + [429] * 35
    assert (await login(client, "li")).status == 429  # the right password waits too
    outcomes = await fetch_all(runtime.sessions, select(LoginAttempt.outcome))
    assert outcomes.count("failed") == 5 and outcomes.count("throttled") == 36
    assert "ok" not in outcomes and "pending" not in outcomes

    runtime.clock.advance(timedelta(seconds=31))
    assert (await login(client, "li")).status == 303  # a wait, never a lockout


async def test_guesses_at_many_accounts_at_once_are_counted_per_address(client: Client) -> None:
    answers = await guesses(client, [(f"user{n}", "guess-guess") for n in range(60)])
    assert sorted(a.status for a in answers) == [401] * 20 + [429] * 40


async def test_behind_the_proxy_each_client_address_is_throttled_on_its_own(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "li", "staff")
    attacker, office = _via("203.0.113.7"), _via("198.51.100.4")
    tries = [(f"user{n}", "guess-guess") for n in range(20)]
    assert [a.status for a in await guesses(client, tries, headers=attacker)] == [401] * 20
    [refused] = await guesses(client, [("li", PASSWORD)], headers=attacker)
    assert refused.status == 429

    [signed] = await guesses(client, [("li", PASSWORD)], headers=office)
    assert signed.status == 303  # another client of the same proxy is not held back
    assert (await login(client, "someone", "guess-guess")).status == 401  # nor the proxy
    rows = await fetch_all(runtime.sessions, select(LoginAttempt))
    attempts = [(a.address, a.outcome) for a in rows]
    assert ("203.0.113.7", "throttled") in attempts and ("198.51.100.4", "ok") in attempts
    details = await fetch_all(
        runtime.sessions, select(AuditLog.detail).where(AuditLog.action == "staff.login")
    )
    assert details == [{"address": "198.51.100.4"}]


async def test_a_browser_that_signed_in_before_is_not_held_back_by_others_guessing(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "li", "staff")
    await add_staff(runtime, "zhao", "staff")
    token = await signed_in(client, "li")  # li's own browser, now known to the account
    assert (await post(client, "/staff/logout", token)).status == 303

    statuses = []
    for n in range(8):  # guesses at li from eight addresses: each below the address limit
        [answer] = await guesses(client, [("li", "guess-guess")], headers=_via(f"203.0.113.{n}"))
        statuses.append(answer.status)
    assert statuses == [401] * 5 + [429] * 3
    [stranger] = await guesses(client, [("li", PASSWORD)], headers=_via("198.51.100.9"))
    assert stranger.status == 429  # a browser li never signed in on waits, password or not

    assert (await login(client, "li")).status == 303  # li's own browser goes straight in
    [other] = await guesses(client, [("zhao", PASSWORD)], headers=_via("203.0.113.0"))
    assert other.status == 303  # the wait grew for the guessed account only


async def test_a_known_browser_is_still_throttled_by_its_own_failures(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "li", "staff")
    token = await signed_in(client, "li")
    assert (await post(client, "/staff/logout", token)).status == 303
    for _ in range(5):
        assert (await login(client, "li", "guess-guess")).status == 401
    refused = await login(client, "li")
    assert refused.status == 429 and refused.headers["Retry-After"] == "30"
    outcomes = await fetch_all(runtime.sessions, select(LoginAttempt.outcome))
    assert outcomes == ["ok"] + ["known_failed"] * 5 + ["known_throttled"]

    runtime.clock.advance(timedelta(seconds=31))
    assert (await login(client, "li")).status == 303


async def test_a_browser_known_by_an_old_password_or_a_forged_cookie_is_not_known(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "li", "staff")
    token = await signed_in(client, "li")
    jar = client.session.cookie_jar
    old = jar.filter_cookies(client.make_url("/staff/login"))["linli_staff_device"].value
    new = "another secret 2026"
    changed = await post(client, "/staff/password", token, current=PASSWORD, new=new, repeat=new)
    assert changed.status == 303
    renewed = jar.filter_cookies(client.make_url("/staff/login"))["linli_staff_device"].value
    for n in range(5):
        [answer] = await guesses(client, [("li", "guess-guess")], headers=_via(f"203.0.113.{n}"))
        assert answer.status == 401
    for cookie, status in ((old, 429), (old[:-2] + "xx", 429), (renewed, 303)):
        jar.clear()  # signed out, only the browser's device cookie kept: old, forged, renewed
        jar.update_cookies({"linli_staff_device": cookie})
        assert (await login(client, "li", new)).status == status


async def test_cookies_are_secure_when_the_proxy_on_this_machine_says_https(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "qian", "staff")
    page = await client.get("/staff/login", headers=PROXY_HTTPS)
    assert _secure(page.headers["Set-Cookie"])
    [answer] = await guesses(client, [("qian", PASSWORD)], headers=PROXY_HTTPS)
    assert answer.status == 303
    for name in ("linli_staff", "linli_staff_device", "linli_staff_login"):
        assert _secure(answer.cookie(name)), name

    plain = await login(client, "qian")  # straight to the worker over HTTP: not Secure
    assert plain.status == 303
    assert not any(_secure(c) for c in plain.headers.getall("Set-Cookie"))


async def test_a_client_cannot_claim_an_address_or_https_for_itself(
    runtime: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> None:
    direct = await aiohttp_client(straight_from("203.0.113.50", create_web_app(runtime)))
    await add_staff(runtime, "qian", "staff")
    spoof = {**PROXY_HTTPS, "X-Real-IP": "127.0.0.1"}
    [answer] = await guesses(direct, [("qian", PASSWORD)], headers=spoof)
    assert answer.status == 303
    assert not any(_secure(c) for c in answer.set_cookies)

    for n in range(20):  # a new made-up address for every guess changes nothing
        [guess] = await guesses(direct, [(f"user{n}", "guess-guess")], headers=_via(f"192.0.2.{n}"))
        assert guess.status == 401
    [refused] = await guesses(direct, [("user-x", "guess-guess")], headers=_via("192.0.2.99"))
    assert refused.status == 429
    addresses = await fetch_all(runtime.sessions, select(LoginAttempt.address))
    assert set(addresses) == {"203.0.113.50"}

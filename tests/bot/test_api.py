"""The REST API through aiohttp's client: tokens, the ticket actions a resident hears about,
the dashboard's role and object checks, errors, Open311 privacy and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot import api
from bot.app import Runtime, create_web_app
from storage import api_tokens, staff, surveys, tickets, topics
from storage.models import ApiToken, AuditLog, Outbox, Resident, Staff, Ticket
from tests.chat import ResidentChat, report_problem

Client = TestClient[Any, Any]
PHONE = "13812345678"


@pytest.fixture
async def client(
    runtime: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(create_web_app(runtime))


async def _token(runtime: Runtime, username: str, role: str, grid: str | None = None) -> str:
    async with runtime.sessions.begin() as session:
        member = await staff.get_staff_by_username(session, username)
        if member is None:
            member = await staff.create_staff(
                session,
                username=username,
                role=role,
                password_hash=None,
                now=runtime.clock(),
                grid=grid,
            )
        made = await api_tokens.create(session, staff=member, name="test", now=runtime.clock())
    return made.secret


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _json(response: Any, status: int = 200) -> Any:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    return await response.json()


async def _crisis_ticket(runtime: Runtime, grid: str) -> int:
    async with runtime.sessions.begin() as session:
        ticket = await tickets.create_ticket(
            session, kind="crisis", resident_id=None, summary="不想活了", now=runtime.clock(),
            year=2026, grid=grid, priority=2,
        )  # fmt: skip
        return ticket.id


async def test_tokens_are_hashed_and_can_be_revoked(client: Client, runtime: Runtime) -> None:
    token = await _token(runtime, "wang", "staff")
    missing = await client.get("/api/v1/me")
    assert (await _json(missing, 401))["error"] and missing.headers["WWW-Authenticate"] == "Bearer"
    await _json(await client.get("/api/v1/me", headers=_auth(token + "x")), 401)
    await _json(await client.get("/api/v1/me", headers={"Authorization": token}), 401)
    me = await _json(await client.get("/api/v1/me", headers=_auth(token)))
    assert me["username"] == "wang" and me["role"] == "staff"
    async with runtime.sessions.begin() as session:
        row = (await session.execute(select(ApiToken))).scalar_one()
        assert token not in (row.token_hash, row.prefix) and row.last_used_at is not None
        await api_tokens.revoke(session, token_id=row.id, now=runtime.clock())
    await _json(await client.get("/api/v1/me", headers=_auth(token)), 401)
    second = await _token(runtime, "wang", "staff")
    async with runtime.sessions.begin() as session:
        member = await staff.get_staff_by_username(session, "wang")
        assert member is not None
        member.active = False  # a disabled account's tokens stop working
    await _json(await client.get("/api/v1/me", headers=_auth(second)), 401)


async def test_staff_work_a_resident_complaint_through_the_api(
    client: Client, runtime: Runtime, alice: ResidentChat
) -> None:
    await report_problem(alice, "小区路灯坏了好几天了，晚上很黑", phone=PHONE)
    token = await _token(runtime, "li", "admin")
    listing = await client.get("/api/v1/tickets?status=new&limit=10", headers=_auth(token))
    body = await _json(listing)
    assert body["total"] == 1 and body["limit"] == 10 and body["offset"] == 0
    ticket = body["items"][0]
    assert ticket["contact"] == "138****5678" and ticket["kind"] == "complaint"
    assert PHONE not in await listing.text()
    number = ticket["id"]
    detail = await _json(await client.get(f"/api/v1/tickets/{number}", headers=_auth(token)))
    assert [e["kind"] for e in detail["events"]] == ["created"]
    assert detail["summary"].startswith("小区路灯坏了")

    claimed = await _json(
        await client.post(f"/api/v1/tickets/{number}/claim", headers=_auth(token))
    )
    assert claimed["status"] == "assigned" and claimed["assignee_id"] is not None
    said = await client.post(
        f"/api/v1/tickets/{number}/reply", json={"text": "师傅明天上午来修"}, headers=_auth(token)
    )
    await _json(said)
    await _json(
        await client.post(
            f"/api/v1/tickets/{number}/note", json={"text": "已联系物业"}, headers=_auth(token)
        )
    )
    wrong = await client.post(
        f"/api/v1/tickets/{number}/state", json={"to": "closed"}, headers=_auth(token)
    )
    await _json(wrong, 409)
    no_reason = await client.post(
        f"/api/v1/tickets/{number}/state", json={"to": "returned"}, headers=_auth(token)
    )
    await _json(no_reason, 422)
    empty = await client.post(
        f"/api/v1/tickets/{number}/reply", json={"text": "  "}, headers=_auth(token)
    )
    await _json(empty, 422)
    resolved = await client.post(
        f"/api/v1/tickets/{number}/state", json={"to": "resolved"}, headers=_auth(token)
    )
    assert (await _json(resolved))["status"] == "resolved"
    detail = await _json(await client.get(f"/api/v1/tickets/{number}", headers=_auth(token)))
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds == ["created", "assigned", "reply", "note", "status_resolved"]
    async with runtime.sessions() as session:
        sent = (await session.execute(select(Outbox.payload))).scalars().all()
    assert any("师傅明天上午来修" in p["text"] for p in sent)  # the resident hears the reply
    assert not any("已联系物业" in p["text"] for p in sent)  # the note stays internal


async def test_roles_and_objects_are_checked_like_the_dashboard(
    client: Client, runtime: Runtime, alice: ResidentChat
) -> None:
    await report_problem(alice, "小区路灯坏了好几天了，晚上很黑")
    async with runtime.sessions() as session:
        complaint = (await session.execute(select(Ticket))).scalar_one()
    assert complaint.grid is not None
    other_grid = "hx-4" if complaint.grid != "hx-4" else "hx-3"
    crisis = await _crisis_ticket(runtime, complaint.grid)
    own = await _token(runtime, "own", "grid", grid=complaint.grid)
    other = await _token(runtime, "other", "grid", grid=other_grid)
    counselor = await _token(runtime, "xin", "counselor")
    desk = await _token(runtime, "desk", "staff")

    def ids(body: dict[str, Any]) -> set[int]:
        return {item["id"] for item in body["items"]}

    assert ids(await _json(await client.get("/api/v1/tickets", headers=_auth(own)))) == {
        complaint.id
    }
    assert ids(await _json(await client.get("/api/v1/tickets", headers=_auth(other)))) == set()
    assert ids(await _json(await client.get("/api/v1/tickets", headers=_auth(desk)))) == {
        complaint.id
    }
    listed = await _json(await client.get("/api/v1/tickets", headers=_auth(counselor)))
    assert ids(listed) == {crisis} and listed["items"][0]["summary"] is None  # lists stay quiet
    for token, ticket_id in ((other, complaint.id), (own, crisis), (desk, crisis)):
        await _json(await client.get(f"/api/v1/tickets/{ticket_id}", headers=_auth(token)), 404)
        claim = await client.post(f"/api/v1/tickets/{ticket_id}/claim", headers=_auth(token))
        await _json(claim, 404)
    read = await _json(await client.get(f"/api/v1/tickets/{crisis}", headers=_auth(counselor)))
    assert read["summary"] == "不想活了"
    async with runtime.sessions() as session:
        audit = (await session.execute(select(AuditLog.action, AuditLog.target_id))).all()
        counselor_id = await session.scalar(select(Staff.id).where(Staff.username == "xin"))
        reads = (
            await session.execute(select(AuditLog.actor_id).where(AuditLog.action == "ticket.read"))
        ).scalars().all()  # fmt: skip
    assert ("ticket.read", crisis) in audit and reads == [counselor_id]
    assert ("ticket.read_denied", crisis) in audit and ("ticket.read_denied", complaint.id) in audit

    mine = await _json(await client.get("/api/v1/stats?month=2026-11", headers=_auth(own)))
    assert mine["grid"] == complaint.grid
    refused = await client.get(f"/api/v1/stats?grid={other_grid}", headers=_auth(own))
    await _json(refused, 403)
    everywhere = await _json(await client.get("/api/v1/stats", headers=_auth(desk)))
    assert everywhere["grid"] is None and everywhere["tickets"]["total"]["received"] == 1
    assert everywhere["care"]["crisis_alerts"] == 1  # a total, for every role


async def test_topics_and_surveys_are_for_the_office_as_on_the_dashboard(
    client: Client, runtime: Runtime
) -> None:
    """The dashboard shows the hall and surveys to admins and staff only (its OFFICE roles);
    a grid worker's or a counsellor's token gets the same refusal from the API."""
    now = runtime.clock()
    async with runtime.sessions.begin() as session:
        topic = await topics.create_topic(
            session, title="加装电梯", body="", options=["同意", "反对"], mode="vote",
            scope="all", rule="majority", opens_at=now, closes_at=now + timedelta(days=5),
            now=now,
        )  # fmt: skip
        spec = surveys.SurveySpec(
            title="满意度", title_en=None, intro="", intro_en=None, anonymous=True,
            audience="all", send_at=now, closes_at=None, remind_after_days=None,
            questions=(surveys.QuestionSpec(kind="rating", text="打分"),),
        )  # fmt: skip
        survey = await surveys.create(session, spec, now=now)
        topic_id, survey_id = topic.id, survey.id
    paths = ("/api/v1/topics", f"/api/v1/topics/{topic_id}", "/api/v1/surveys",
             f"/api/v1/surveys/{survey_id}", "/api/v1/topics/99999999999999999999")  # fmt: skip
    grid = await _token(runtime, "zhao", "grid", grid="hx-1")
    counselor = await _token(runtime, "xin", "counselor")
    for token in (grid, counselor):
        for path in paths:
            refused = await _json(await client.get(path, headers=_auth(token)), 403)
            assert refused == {"error": refused["error"]} and "may not" in refused["error"]
    desk = _auth(await _token(runtime, "desk", "staff"))
    listed = await _json(await client.get("/api/v1/topics", headers=desk))
    assert [item["id"] for item in listed["items"]] == [topic_id]
    assert (await _json(await client.get(f"/api/v1/topics/{topic_id}", headers=desk)))["id"]
    listed = await _json(await client.get("/api/v1/surveys", headers=desk))
    assert [item["id"] for item in listed["items"]] == [survey_id]
    assert (await _json(await client.get(f"/api/v1/surveys/{survey_id}", headers=desk)))["id"]
    await _json(await client.get("/api/v1/topics/99999999999999999999", headers=desk), 404)
    document = api.create(runtime)[api.DOCUMENT]
    for path in ("/topics", "/topics/{topic_id}", "/surveys", "/surveys/{survey_id}"):
        assert "403" in document["paths"][path]["get"]["responses"], path


async def test_bad_requests_get_json_errors(client: Client, runtime: Runtime) -> None:
    token = await _token(runtime, "li", "admin")
    auth = _auth(token)
    too_big = await client.post(
        "/api/v1/tickets/1/reply", data=b'{"text": "' + b"x" * 70_000 + b'"}',
        headers={**auth, "Content-Type": "application/json"},
    )  # fmt: skip
    await _json(too_big, 413)
    not_json = await client.post("/api/v1/tickets/1/reply", data="hello", headers=auth)
    await _json(not_json, 415)
    broken = await client.post(
        "/api/v1/tickets/1/note", data="{", headers={**auth, "Content-Type": "application/json"}
    )
    await _json(broken, 400)
    for query in ("limit=0", "limit=201", "offset=-1", "status=open", "overdue=yes"):
        await _json(await client.get(f"/api/v1/tickets?{query}", headers=auth), 400)
    await _json(await client.get("/api/v1/tickets/99999999999", headers=auth), 404)
    await _json(await client.get("/api/v1/nowhere", headers=auth), 404)
    wrong_method = await client.get("/api/v1/tickets/1/claim", headers=auth)
    assert (await _json(wrong_method, 405))["error"] and "POST" in wrong_method.headers["Allow"]
    for query in ("month=2026-13", "start_date=2026-11-01", "month=2026-11&end_date=2026-11-02"):
        await _json(await client.get(f"/api/v1/stats?{query}", headers=auth), 400)
    page = await client.get("/api/v1/tickets", headers=auth)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Content-Type-Options"] == "nosniff"


async def test_open311_export_keeps_residents_private(
    client: Client, runtime: Runtime, alice: ResidentChat
) -> None:
    await report_problem(alice, f"我是张三丰，电话{PHONE}，楼下路灯坏了好几天了", phone=PHONE)
    await report_problem(alice, "3号楼门口下水道堵了，污水漫出来", anonymous=True,
                         where="和谐小区3号楼2单元门口")  # fmt: skip
    async with runtime.sessions.begin() as session:
        rows = (await session.execute(select(Ticket).order_by(Ticket.id))).scalars().all()
        named, anonymous = rows
        resident = await session.get(Resident, named.resident_id)
        assert resident is not None
        resident.display_name = "张三丰"
        named.location = {"address": "和谐小区3号楼2单元", "lat": 31.23456, "lon": 121.4321}
        anonymous.location = {"address": "和谐小区3号楼2单元门口", "lat": 31.23456, "lon": 121.4}
        anonymous.status, anonymous.closed_at = "closed", runtime.clock()
    token = await _token(runtime, "city", "staff")
    services = await _json(await client.get("/api/v1/open311/services.json", headers=_auth(token)))
    assert {s["service_code"] for s in services} >= {"facilities", "sanitation"}
    found = await client.get("/api/v1/open311/requests.json", headers=_auth(token))
    text = await found.text()
    assert PHONE not in text and "5678" not in text and "张三丰" not in text
    by_number = {r["service_request_id"]: r for r in await _json(found)}
    first, second = by_number[named.number], by_number[anonymous.number]
    assert first["status"] == "open" and "路灯坏了" in first["description"]
    assert first["address"] == "和谐小区3号楼2单元" and first["lat"] == 31.23456
    assert first["expected_datetime"] is not None and first["requested_datetime"].endswith("+08:00")
    assert first["agency_responsible"] is not None
    assert second["status"] == "closed" and second["address"] is None
    assert second["description"] == second["service_name"] and second["lat"] == 31.235
    only_open = await _json(
        await client.get("/api/v1/open311/requests.json?status=open", headers=_auth(token))
    )
    assert [r["service_request_id"] for r in only_open] == [named.number]
    long_ago = await client.get(
        "/api/v1/open311/requests.json?start_date=2020-01-01&end_date=2020-02-01",
        headers=_auth(token),
    )
    assert await _json(long_ago) == []
    for query in ("status=pending", "start_date=yesterday", "start_date=2026-02-30"):
        bad = await client.get(f"/api/v1/open311/requests.json?{query}", headers=_auth(token))
        await _json(bad, 400)
    counselor = await _token(runtime, "xin", "counselor")  # sees no complaints, so none here
    assert (
        await _json(await client.get("/api/v1/open311/requests.json", headers=_auth(counselor)))
        == []
    )


def _document_operations() -> set[tuple[str, str]]:
    from knowledge.data import load_yaml

    document = load_yaml(api.OPENAPI_FILE)
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }


def test_every_route_is_documented_and_every_documented_route_exists(runtime: Runtime) -> None:
    app = web.Application()
    app.add_subapp(api.PREFIX, api.create(runtime))
    routed = {
        (route.method, route.resource.canonical.removeprefix(api.PREFIX))
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith(api.PREFIX)
        and route.method != "HEAD"
    }  # fmt: skip
    assert len(routed) >= 14
    assert routed == _document_operations()


async def test_the_document_is_served_without_a_token(client: Client) -> None:
    document = await _json(await client.get("/api/v1/openapi.json"))
    assert document["openapi"].startswith("3.1") and document["servers"] == [{"url": "/api/v1"}]


@pytest.mark.slow
def test_linli_token_add_list_and_revoke(tmp_path: Any, sqlite_url: str) -> None:
    import subprocess
    import sys

    env = {"LINLI_DATABASE_URL": sqlite_url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def linli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", *args], env=env, input=stdin,
                              capture_output=True, text=True, cwd=tmp_path)  # fmt: skip

    assert linli("staff", "add", "zhao", "--role", "grid", "--grid", "hx-1", "--password-stdin",
                 stdin="long-enough-pw\n").returncode == 0  # fmt: skip
    added = linli("token", "add", "zhao", "--name", "city-platform")
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("linli_") and len(secret) > 40
    listed = linli("token", "list").stdout
    assert "zhao (grid)" in listed and "city-platform" in listed and "active" in listed
    assert secret not in listed and secret[:12] in listed
    assert linli("token", "revoke", "1").returncode == 0
    assert "revoked" in linli("token", "list").stdout
    assert linli("token", "add", "nobody").returncode != 0
    assert linli("token", "revoke", "99").returncode != 0

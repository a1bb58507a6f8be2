"""The dashboard's other pages as staff use them: the hall (topics, review, responses),
surveys, notices (progress and cancel), knowledge, statistics with SVG charts, staff accounts,
the audit log, and switching to English."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.app import Runtime, create_web_app
from storage import faq, opinions, topics
from storage.models import (
    Broadcast,
    FaqFeedback,
    Opinion,
    Resident,
    Staff,
    Survey,
    UnansweredQuestion,
)
from tests.chat import fetch_all, fetch_one
from tests.staff import Client, add_staff, csrf, file_ticket, login, post, signed_in

# The search, delivery and knowledge queries run on SQLite and PostgreSQL alike.
pytestmark = pytest.mark.both_databases
XSS = "<script>alert(1)</script>"


@pytest.fixture
async def client(
    runtime: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(create_web_app(runtime))


@pytest.fixture
async def token(client: Client, runtime: Runtime) -> str:
    await add_staff(runtime, "office", "admin")
    return await signed_in(client, "office")


async def test_topics_are_created_reviewed_and_answered(
    client: Client, runtime: Runtime, token: str
) -> None:
    closes = (runtime.clock() + timedelta(days=7)).astimezone(runtime.services.timezone)
    bad = await post(client, "/staff/hall/new", token, title="", closes="")
    assert bad.status == 400 and "议题有误" in await bad.text()
    created = await post(client, "/staff/hall/new", token, title="加装电梯", mode="vote",
                         options="同意\n不同意", rule="majority", scope="all",
                         closes=closes.strftime("%Y-%m-%dT%H:%M"))  # fmt: skip
    assert created.status == 303
    topic_id = int(created.headers["Location"].rsplit("/", 1)[1])
    async with runtime.sessions.begin() as session:
        resident = Resident(channel="web", external_id="w-h1", locale="zh")
        session.add(resident)
        await session.flush()
        opinion = await opinions.add_opinion(session, topic_id=topic_id, resident_id=resident.id,
                                             text="支持" + XSS, now=runtime.clock())  # fmt: skip
        await topics.cast_vote(session, topic_id=topic_id, resident_id=resident.id, option=0,
                               now=runtime.clock())  # fmt: skip
    hall = await (await client.get("/staff/hall")).text()
    assert f"O{opinion.id}" in hall and "&lt;script&gt;" in hall and XSS not in hall
    approved = await post(client, "/staff/hall/review", token, ref=f"O{opinion.id}",
                          decision="approve")  # fmt: skip
    assert approved.status == 303
    assert (await fetch_one(runtime.sessions, select(Opinion.status))) == "approved"
    page = await (await client.get(f"/staff/hall/{topic_id}")).text()
    assert "加装电梯" in page and "同意" in page and "&lt;script&gt;" in page
    answered = await post(client, f"/staff/hall/{topic_id}/respond", token, text="下周开会")
    assert answered.status == 303
    assert "下周开会" in await (await client.get(f"/staff/hall/{topic_id}")).text()


async def test_a_survey_is_defined_and_its_rate_shown(
    client: Client, runtime: Runtime, token: str
) -> None:
    broken = await post(client, "/staff/surveys", token, source="title: x\nquestions: 3")
    assert broken.status == 400 and "问卷定义有误" in await broken.text()
    source = "title: 停车满意度\nquestions:\n  - kind: rating\n    text: 满意吗？\n"
    made = await post(client, "/staff/surveys", token, source=source)
    assert made.status == 303
    survey = await fetch_one(runtime.sessions, select(Survey))
    page = await (await client.get(f"/staff/surveys/{survey.id}")).text()
    assert "停车满意度" in page and "满意吗？" in page
    assert "停车满意度" in await (await client.get("/staff/surveys")).text()


async def test_definition_problems_are_shown_in_the_staff_members_language(
    client: Client, token: str
) -> None:
    too_long = "长" * 101
    survey = "title: 调查\nquestions:\n  - kind: rating\n"
    topic = await (await post(client, "/staff/hall/new", token, title=too_long)).text()
    assert "议题有误：标题（title）必填，最多 100 个字。" in topic
    page = await (await post(client, "/staff/surveys", token, source=survey)).text()
    assert "问卷定义有误：" in page and "<li>第 1 题：text 必填。</li>" in page
    await post(client, "/staff/locale", token, lang="en", next="/staff/hall")
    topic = await (await post(client, "/staff/hall/new", token, title=too_long)).text()
    assert "The topic has a problem: title is required, at most 100 characters" in topic
    assert "标题" not in topic
    page = await (await post(client, "/staff/surveys", token, source=survey)).text()
    assert "The survey has problems:" in page and "<li>question 1: text is required</li>" in page


async def test_a_notice_goes_out_shows_progress_and_can_be_cancelled(
    client: Client, runtime: Runtime, token: str
) -> None:
    async with runtime.sessions.begin() as session:
        for number in range(3):
            session.add(Resident(channel="web", external_id=f"w-n{number}", locale="zh"))
    sent = await post(client, "/staff/notices", token, text="周六停水", audience="all")
    assert sent.status == 303
    page = await (await client.get("/staff/notices")).text()
    assert "周六停水" in page and "已送达 0 / 3，待发 3" in page
    notice = await fetch_one(runtime.sessions, select(Broadcast))
    assert (await post(client, f"/staff/notices/{notice.id}/cancel", token)).status == 303
    assert (await fetch_one(runtime.sessions, select(Broadcast.state))) == "cancelled"
    later = await post(client, "/staff/notices", token, text="x", audience="all",
                       send_at="not a time")  # fmt: skip
    assert later.status == 400


async def test_knowledge_questions_and_thumbs_down_are_marked_handled(
    client: Client, runtime: Runtime, token: str
) -> None:
    async with runtime.sessions.begin() as session:
        faq.record_unanswered(session, text="宠物怎么登记", locale="zh", best_faq_id=None,
                              confidence=0.1, now=runtime.clock())  # fmt: skip
        faq.record_feedback(session, faq_id="elderly-meal", helpful=False, locale="zh",
                            now=runtime.clock())  # fmt: skip
    page = await (await client.get("/staff/knowledge")).text()
    assert "宠物怎么登记" in page and "elderly-meal" in page
    questions, _ = await _unanswered(runtime)
    await post(client, "/staff/knowledge/questions", token, question=str(questions[0].id))
    await post(client, "/staff/knowledge/feedback", token, faq_id="elderly-meal")
    page = await (await client.get("/staff/knowledge")).text()
    assert "宠物怎么登记" not in page and "没有待查看的 👎 反馈" in page
    assert await fetch_all(runtime.sessions, select(FaqFeedback.handled)) == [True]


async def _unanswered(runtime: Runtime) -> tuple[list[UnansweredQuestion], int]:
    async with runtime.sessions() as session:
        found, total = await faq.unanswered(session)
    return list(found), total


async def test_statistics_show_kpis_as_tables_and_svg_charts(
    client: Client, runtime: Runtime, token: str
) -> None:
    await file_ticket(runtime, external_id="s1")
    await file_ticket(runtime, kind="crisis", external_id="s2", summary="危机内容不应出现")
    response = await client.get("/staff/stats")
    page = await response.text()
    assert response.status == 200
    assert "受理数" in page and "按时签收率" in page and "<svg" in page
    assert "<script" not in page and "危机内容不应出现" not in page
    assert "危机预警" in page  # as a total only
    css = await client.get("/staff/charts.css")
    assert css.status == 200 and css.content_type == "text/css"
    january = await (await client.get("/staff/stats?month=2026-01&grid=hx-1")).text()
    assert "2026-01" in january and "和谐社区第一网格" in january


async def test_admins_manage_staff_accounts_with_one_time_passwords(
    client: Client, runtime: Runtime, token: str
) -> None:
    made = await post(client, "/staff/admin/staff", token, username="grid2", role="grid",
                      grid="hx-2", display_name="刘网格员", telegram_id="12345")  # fmt: skip
    assert made.status == 200
    shown = await made.text()
    assert "一次性密码" in shown
    one_time = shown.split("<code>")[1].split("</code>")[0]
    person = await fetch_one(runtime.sessions, select(Staff).where(Staff.username == "grid2"))
    assert person.must_change_password and person.grid == "hx-2" and person.telegram_id == 12345
    no_grid = await post(client, "/staff/admin/staff", token, username="g3", role="grid")
    assert no_grid.status == 400 and "网格员必须选择" in await no_grid.text()
    dup = await post(client, "/staff/admin/staff", token, username="grid2", role="staff")
    assert dup.status == 400

    edit = await (await client.get(f"/staff/admin/staff/{person.id}")).text()
    assert 'value="刘网格员"' in edit and 'value="12345"' in edit
    changed = await post(client, f"/staff/admin/staff/{person.id}", token, role="staff",
                         grid="", display_name="刘", telegram_id="")  # fmt: skip
    assert changed.status == 303
    reset = await post(client, f"/staff/admin/staff/{person.id}/reset", token)
    assert "一次性密码" in await reset.text()
    client.session.cookie_jar.clear()
    assert (await login(client, "grid2", one_time)).status == 401  # replaced by the reset


async def test_the_audit_log_is_filterable_and_for_admins_only(
    client: Client, runtime: Runtime, token: str
) -> None:
    ticket = await file_ticket(runtime, phone="+8613812345678")
    await post(client, f"/staff/tickets/{ticket.id}/reveal", token)
    page = await (await client.get("/staff/audit?action=ticket.&actor=office")).text()
    assert "查看完整电话" in page and "登录" not in page.split("<tbody>")[1]
    none = await (await client.get("/staff/audit?actor=nobody")).text()
    assert "没有符合条件的记录" in none
    await add_staff(runtime, "plain", "staff")
    client.session.cookie_jar.clear()
    await signed_in(client, "plain")
    assert (await client.get("/staff/audit")).status == 403


async def test_staff_switch_the_dashboard_to_english(client: Client, token: str) -> None:
    switched = await post(client, "/staff/locale", token, lang="en", next="/staff/tickets")
    assert switched.status == 303 and switched.headers["Location"] == "/staff/tickets"
    page = await (await client.get("/staff/tickets")).text()
    assert 'lang="en"' in page and "Tickets" in page and "Log out" in page
    away = await post(client, "/staff/locale", token, lang="zh", next="//evil.example/")
    assert away.headers["Location"] == "/staff/"
    assert (await client.get("/staff/login", allow_redirects=False)).status == 303  # signed in
    client.session.cookie_jar.clear()
    login_page = await (await client.get("/staff/login?lang=en")).text()
    assert "Staff login" in login_page and csrf(login_page)

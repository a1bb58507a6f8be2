"""Broken or hostile input never becomes a server error. Dashboard ids and page numbers of any
size: 404 when no row can have them, 400 when malformed. Forms carrying such ids get the
form's own message. The web chat refuses JSON of any depth or shape with 400. A `next` that
would split a header or leave the site goes to the start page. A chat button with an id
beyond any row's gets the stale-button answer. A property test covers every dashboard page
and the main forms."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from bot.app import Runtime, create_web_app
from bot.dashboard import ROUTES
from bot.dashboard.core import load_texts
from bot.dashboard.ticket_actions import ACTIONS
from handlers import staff_chat
from handlers.ids import MAX_ID
from storage import staff, surveys, topics
from tests.chat import ResidentChat
from tests.staff import Client, add_staff, file_ticket, post, signed_in

# PostgreSQL's integer columns overflow where SQLite's do not: both must refuse the same.
pytestmark = pytest.mark.both_databases
BEYOND = ("2147483648", "9223372036854775808", "99999999999999999999999999", "9" * 5000)
NOT_FOUND = "没有找到这个页面或记录"
BAD_REQUEST = "这个链接或表单里的内容无效"
BEYOND_PATHS = ("/staff/tickets/{}", "/staff/tickets/1/photos/{}", "/staff/hall/{}",
                "/staff/surveys/{}", "/staff/admin/staff/{}", "/staff/tickets?page={}",
                "/staff/audit?page={}", "/staff/tickets?assignee={}",
                "/staff/audit?target_id={}")  # fmt: skip
BEYOND_FORMS = ("/staff/tickets/{}/claim", "/staff/tickets/{}/reveal", "/staff/hall/{}/respond",
                "/staff/notices/{}/cancel", "/staff/admin/staff/{}", "/staff/admin/staff/{}/reset",
                "/staff/admin/staff/{}/active")  # fmt: skip
NOT_POSITIVE = ("/staff/tickets/0", "/staff/tickets?page=0", "/staff/tickets?page=-3",
                "/staff/audit?page=-99999999999999999999",
                "/staff/tickets?assignee=-1")  # fmt: skip
MALFORMED = ("/staff/tickets?page=abc", "/staff/tickets?page=1e3", "/staff/tickets/%EF%BC%91",
             "/staff/audit?page=%C2%B2", "/staff/audit?target_id=x", "/staff/audit?to=junk",
             "/staff/audit?from=9999-12-31", "/staff/tickets?q=%00",
             "/staff/tickets?assignee=1_0")  # fmt: skip
ELSEWHERE = ("/staff/\r\nSet-Cookie: linli_staff=x", "/staff/%0d%0aX: y", "//evil.example/staff",
             "/staff//evil.example", "/staff/\\evil", "https://evil.example/staff", "/staff/\t",
             "/staff/票", "javascript:alert(1)")  # fmt: skip
WRONG_JSON = (b"[" * 10_000 + b"]" * 10_000, b'{"text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
              b"[]", b'"hello"', b"null", b"5", b"true", b'{"text": 5}', b'{"text": ["hi"]}',
              b'{"action": {}}', b'{"action": 7}', b'{"action": "' + b"x" * 65 + b'"}',
              b'{"id": ' + b"9" * 5000 + b"}", b'{"text": 1' + b"0" * 5000 + b"}", b"{",
              b"\xff")  # fmt: skip
BUTTONS = ("topic:view:{}", "topic:pick:{}:0", "topic:cast:1:{}", "topic:opine:{}",
           "topic:read:{}:0", "topic:st:{}", "topic:sv:{}:a", "topic:add:{}", "poll:start:{}",
           "poll:pick:1:{}:2", "rate:{}:T-2026-000001", "staff:claim:{}",
           "status:show:{}")  # fmt: skip
STALE = ("input.stale_button", "input.unknown_button", "topic.gone", "poll.unknown")
NOT_A_TICKET = ("staff.not_found", "topic_staff.bad_ref", "topic_staff.not_found")


@pytest.fixture
async def client(
    runtime: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(create_web_app(runtime))


@pytest.fixture
async def token(client: Client, runtime: Runtime) -> str:
    """An admin signed in, and one ticket, topic and survey to find."""
    await add_staff(runtime, "office", "admin")
    await file_ticket(runtime)
    now = runtime.clock()
    async with runtime.sessions.begin() as session:
        await topics.create_topic(
            session, title="加装电梯", body="", options=["同意", "反对"], mode="vote",
            scope="all", rule="majority", opens_at=now, closes_at=now + timedelta(days=5),
            now=now,
        )  # fmt: skip
        await surveys.create(
            session,
            surveys.SurveySpec(
                title="满意度", title_en=None, intro="", intro_en=None, anonymous=True,
                audience="all", send_at=now, closes_at=None, remind_after_days=None,
                questions=(surveys.QuestionSpec(kind="rating", text="打分"),),
            ),
            now=now,
        )  # fmt: skip
    return await signed_in(client, "office")


async def _status(client: Client, path: str) -> tuple[int, str]:
    response = await client.get(URL(path, encoded=True), allow_redirects=False)
    return response.status, await response.text()


async def test_ids_and_pages_that_cannot_exist_are_not_found(client: Client, token: str) -> None:
    for number in BEYOND:
        for template in BEYOND_PATHS:
            status, text = await _status(client, template.format(number))
            assert status == 404 and NOT_FOUND in text, (template, status)
    for path in NOT_POSITIVE:
        assert (await _status(client, path))[0] == 404, path
    for path in MALFORMED:
        status, text = await _status(client, path)
        assert status == 400 and BAD_REQUEST in text, (path, status)
    for path in ("/staff/tickets/abc", "/staff/tickets/-1"):  # no such route at all
        assert (await _status(client, path))[0] == 404
    assert (await _status(client, "/staff/tickets/1"))[0] == 200
    assert (await _status(client, "/staff/tickets?page=2&assignee=none"))[0] == 200


async def test_ids_in_forms_get_the_forms_own_answer(
    client: Client, runtime: Runtime, token: str
) -> None:
    big, said, staff_texts = BEYOND[2], runtime.services.texts, load_texts()
    for template in BEYOND_FORMS:
        response = await post(client, template.format(big), token, text="x", role="staff")
        assert response.status == 404 and NOT_FOUND in await response.text(), template
    for action, fields, problem in (
        ("assign", {"assignee": big}, "staff.assignee_cannot_see"),
        ("assign", {"assignee": "-" + big}, "staff.assignee_cannot_see"),
        ("merge", {"into": big}, "staff.not_found"),
        ("extend", {"days": big, "reason": "再等等"}, "staff.reason_needed"),
    ):
        response = await post(client, f"/staff/tickets/1/{action}", token, **fields)
        assert response.status == 400, action
        assert said.get("zh", problem) in await response.text(), action
    review = await post(client, "/staff/hall/review", token, ref="O" + big, decision="approve")
    assert review.headers["Location"] == "/staff/hall?problem=topic_staff.bad_ref"
    handled = await post(client, "/staff/knowledge/questions", token, question=big)
    assert handled.status == 303
    account = await post(
        client, "/staff/admin/staff", token, username="newbie", role="staff",
        telegram_id=str(2**63),
    )  # fmt: skip
    assert account.status == 400
    assert staff_texts.get("zh", "admin.bad_telegram") in await account.text()
    nul = await post(client, "/staff/tickets/1/note", token, text="便签\x00")
    assert nul.status == 400 and BAD_REQUEST in await nul.text()
    assert (await post(client, "/staff/tickets/1/note", token, text="便签")).status == 303


@pytest.mark.parametrize("back", ELSEWHERE)
async def test_switching_language_never_leaves_the_site(
    client: Client, token: str, back: str
) -> None:
    moved = await post(client, "/staff/locale", token, lang="en", next=back)
    assert moved.status == 303 and moved.headers["Location"] == "/staff/"
    assert "Set-Cookie" not in moved.headers and "X" not in moved.headers
    kept = await post(client, "/staff/locale", token, lang="zh", next="/staff/tickets?page=2")
    assert kept.headers["Location"] == "/staff/tickets?page=2"


# The property tests: any page or form, any path id, query or field, as an admin: never a 500.
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=MAX_ID - 2, max_value=MAX_ID + 2),
    st.integers(min_value=2**63 - 2, max_value=2**63 + 2),
    st.integers(min_value=-3, max_value=4),
).map(str)
JUNK = st.sampled_from(
    ["", " ", "1e9", "0x10", "١٢", "²", "+1", "-0", "1_000", "\x00", "\r\n", "../", "%",
     "9" * 5000, "2999-12-31", "9999-12-31", "0001-01-01", "9999-12-31T23:59", "me", "none",
     "<script>"]
)  # fmt: skip
VALUES = NUMBERS | JUNK | st.text(max_size=40)
QUERY_NAMES = ("page", "assignee", "status", "category", "grid", "q", "overdue", "month",
               "actor", "action", "target_type", "target_id", "from", "to", "problem",
               "lang")  # fmt: skip
FORM_NAMES = ("text", "assignee", "to", "reason", "days", "into", "question", "faq_id", "ref",
              "decision", "title", "body", "mode", "rule", "scope", "options", "opens", "closes",
              "source", "send_at", "audience", "category", "description", "phone", "grid", "how",
              "address", "name", "role", "telegram_id", "display_name", "username", "lang",
              "next")  # fmt: skip
PLACEHOLDER = re.compile(r"\{(\w+)(?::[^{}]+)?\}")
REAL_OR_NOT = st.sampled_from(["1", "2"]) | VALUES  # the seeded rows, or anything
PATH_VALUES = st.fixed_dictionaries(
    {
        **dict.fromkeys(
            ("ticket_id", "topic_id", "survey_id", "notice_id", "staff_id"), REAL_OR_NOT
        ),
        "index": st.just("0") | VALUES,
        "action": st.sampled_from(ACTIONS) | VALUES,
    }
)
# Not fuzzed: signing out, the password, and resetting or disabling an account (the admin's
# own, among others) would end the session the test runs in; they have tests of their own.
KEEP_OUT = ("/login", "/logout", "/password", "/reset", "/active")
FEW = ("", "login", "password", "locale", "knowledge", "stats", "charts.css")  # one group


def _groups(method: str) -> dict[str, list[str]]:
    """The dashboard's routes by feature (tickets, hall, admin…), from its one route table."""
    grouped: dict[str, list[str]] = {}
    for each, path, _ in ROUTES:
        if each == method and not (method == "POST" and path.endswith(KEEP_OUT)):
            feature = path.split("/")[1]
            grouped.setdefault("other" if feature in FEW else feature, []).append(path)
    return grouped


GETS, POSTS = _groups("GET"), _groups("POST")
FUZZ = settings(
    max_examples=100, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip


def _path(template: str, values: dict[str, str]) -> str:
    return "/staff" + PLACEHOLDER.sub(lambda m: quote(values[m[1]], safe=""), template)


@pytest.mark.parametrize("group", sorted(GETS))
@FUZZ
@given(
    data=st.data(),
    path_values=PATH_VALUES,
    query=st.dictionaries(st.sampled_from(QUERY_NAMES) | st.text(max_size=8), VALUES, max_size=4),
)
async def test_no_dashboard_page_fails_on_any_url(
    client: Client, token: str, group: str, data: st.DataObject, path_values: dict[str, str],
    query: dict[str, str],
) -> None:  # fmt: skip
    template = data.draw(st.sampled_from(GETS[group]))
    url = URL(_path(template, path_values), encoded=True).with_query(query)
    response = await client.get(url, allow_redirects=False)
    assert response.status < 500, (str(url), response.status)


@pytest.mark.parametrize("group", sorted(POSTS))
@FUZZ
@given(
    data=st.data(),
    path_values=PATH_VALUES,
    fields=st.dictionaries(st.sampled_from(FORM_NAMES), VALUES, max_size=6),
)
async def test_no_dashboard_form_fails_on_any_input(
    client: Client, token: str, group: str, data: st.DataObject, path_values: dict[str, str],
    fields: dict[str, str],
) -> None:  # fmt: skip
    template = data.draw(st.sampled_from(POSTS[group]))
    url = URL(_path(template, path_values), encoded=True)
    response = await client.post(url, data={**fields, "csrf_token": token}, allow_redirects=False)
    assert response.status < 500, (str(url), fields, response.status)
    assert "\n" not in response.headers.get("Location", "")


# The web chat's JSON body: any depth, any shape, answered 400 with the usual error object.
@pytest.mark.parametrize("body", WRONG_JSON)
async def test_the_chat_refuses_json_of_the_wrong_depth_or_shape(
    client: Client, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.post(
        "/api/chat", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400, await response.text()
    assert set(await response.json()) == {"error", "locale"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_chat_takes_odd_but_harmless_fields(client: Client) -> None:
    for body in ('{"text": "你好", "id": 5}', '{"action": "topic:view:\\ud800"}', "{}",
                 '{"text": null, "action": null}'):  # fmt: skip
        response = await client.post(
            "/api/chat", data=body.encode(), headers={"Content-Type": "application/json"}
        )
        assert response.status == 200, (body, await response.text())
        assert (await response.json())["replies"]


# Chat buttons: an id no row can have is a stale button, never "something went wrong".
@pytest.mark.parametrize("template", BUTTONS)
async def test_a_button_with_an_impossible_id_is_a_stale_button(
    runtime: Runtime, alice: ResidentChat, template: str, caplog: pytest.LogCaptureFixture
) -> None:
    texts = runtime.services.texts
    stale = {texts.get("zh", key) for key in STALE}
    for number in (*BEYOND[:3], "-" + BEYOND[1], "²", "１"):
        action = template.format(number)[:64]
        replies = await alice.press(action)
        assert replies[0].text in stale, (action, replies[0].text)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_staff_button_with_an_impossible_id_is_a_stale_button(runtime: Runtime) -> None:
    async with runtime.sessions.begin() as session:
        member = await staff.create_staff(
            session, username="zhang", role="admin", password_hash=None, now=runtime.clock()
        )
    texts = runtime.services.texts
    pressed = ("staff:claim:{}", "staff:view:{}", "staff:state:{}:resolved", "staff:approve:O{}",
               "staff:reject:P{}")  # fmt: skip
    typed = ("/claim {}", "/view {}", "/approve O{}", "/respond {} 好的")
    for number in (*BEYOND[:3], "０"):
        for template in pressed + typed:
            written = template.format(number)
            button = not written.startswith("/")
            command = staff_chat.command_of("" if button else written, written if button else None)
            assert command is not None and command.button == button, written
            async with runtime.sessions.begin() as session:
                replies = await staff_chat.answer(
                    session, runtime.services, member, command, now=runtime.clock()
                )
            keys = ("input.stale_button",) if button else NOT_A_TICKET
            assert replies[0].text in {texts.get("zh", key) for key in keys}, written

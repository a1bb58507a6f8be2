"""Tickets on the dashboard: who may open which (by URL too), resident text shown inert on
every page, the actions, the audited phone reveal, delivery states, photos through the
channel without the bot token, and tickets filed on a resident's behalf."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from sqlalchemy import select, update
from telegram import Bot

from bot.app import Runtime, create_web_app
from bot.channels import web as web_channel
from bot.dashboard import setup as setup_dashboard
from bot.dashboard.photos import TelegramPhotos
from storage import faq
from storage.models import AuditLog, Outbox, Ticket, TicketEvent
from tests.chat import ResidentChat, fetch_all, fetch_one
from tests.fake_telegram import FakeTelegram
from tests.staff import Client, add_staff, csrf, file_ticket, post, signed_in

# The search, delivery and knowledge queries run on SQLite and PostgreSQL alike.
pytestmark = pytest.mark.both_databases
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture
async def client(
    runtime: Runtime, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(create_web_app(runtime))


async def test_a_grid_worker_opens_only_their_grid_and_never_a_crisis_ticket(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "grid1", "grid", grid="hx-1")
    mine = await file_ticket(runtime, summary="一网格的路灯", grid="hx-1", external_id="a")
    other = await file_ticket(runtime, summary="二网格的井盖", grid="hx-2", external_id="b")
    crisis = await file_ticket(runtime, summary="危机", kind="crisis", grid="hx-1",
                               external_id="c")  # fmt: skip
    token = await signed_in(client, "grid1")

    assert (await client.get(f"/staff/tickets/{mine.id}")).status == 200
    for hidden in (other, crisis):
        page = await client.get(f"/staff/tickets/{hidden.id}")
        assert page.status == 404
        assert "没有找到这个事项，或您没有权限查看" in await page.text()
        assert hidden.summary not in await page.text()
        assert (await client.get(f"/staff/tickets/{hidden.id}/photos/0")).status == 404
        assert (await post(client, f"/staff/tickets/{hidden.id}/claim", token)).status == 404
        assert (await post(client, f"/staff/tickets/{hidden.id}/reveal", token)).status == 404
    listing = await (await client.get("/staff/tickets")).text()
    assert mine.number in listing and other.number not in listing and crisis.number not in listing
    assert (await client.get(f"/staff/tickets/{mine.id + 1000}")).status == 404
    denied = await fetch_all(
        runtime.sessions, select(AuditLog.target_id).where(AuditLog.action == "ticket.read_denied")
    )
    assert set(denied) == {other.id, crisis.id}
    assert (await client.get("/staff/admin/staff")).status == 403
    assert (await client.get("/staff/stats")).status == 403


async def test_a_counselor_sees_crisis_alerts_and_each_view_is_audited(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "xinli", "counselor")
    crisis = await file_ticket(runtime, summary="需要帮助", kind="crisis")
    await signed_in(client, "xinli")
    today = await (await client.get("/staff/")).text()
    assert "紧急：心理危机预警" in today and crisis.number in today
    assert (await client.get(f"/staff/tickets/{crisis.id}")).status == 200
    reads = await fetch_all(
        runtime.sessions, select(AuditLog.target_id).where(AuditLog.action == "ticket.read")
    )
    assert reads == [crisis.id]


async def test_resident_text_is_inert_on_every_page_that_shows_it(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "admin1", "admin")
    resident = ResidentChat(runtime.engine, user="w-xss", channel="web")
    await resident.say("3号楼门口的路灯坏了" + XSS)
    await resident.press("complaint:category:facilities")
    await resident.say("和谐小区3号楼" + XSS)
    await resident.press("complaint:skip")
    await resident.press("complaint:skip")
    await resident.press("complaint:privacy:named")
    await resident.press("complaint:submit")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    async with runtime.sessions.begin() as session:
        faq.record_unanswered(session, text="问题" + XSS, locale="zh", best_faq_id=None,
                              confidence=0.0, now=runtime.clock())  # fmt: skip
    token = await signed_in(client, "admin1")
    await post(client, f"/staff/tickets/{ticket.id}/note", token, text="备注" + XSS)
    pages = ["/staff/", "/staff/tickets", f"/staff/tickets/{ticket.id}", "/staff/knowledge",
             "/staff/tickets?q=%3Cscript%3E"]  # fmt: skip
    for path in pages:
        html = await (await client.get(path)).text()
        assert "&lt;script&gt;alert(" in html, path
        assert "<script>" not in html and "<img src=x" not in html, path


async def test_staff_claim_reply_note_and_change_state_and_residents_hear(
    client: Client, runtime: Runtime
) -> None:
    me = await add_staff(runtime, "chen", "staff")
    ticket = await file_ticket(runtime, channel="web", external_id="w-r1")
    token = await signed_in(client, "chen")
    base = f"/staff/tickets/{ticket.id}"
    assert (await post(client, f"{base}/claim", token)).status == 303
    assert (await post(client, f"{base}/reply", token, text="师傅明天上午到")).status == 303
    assert (await post(client, f"{base}/note", token, text="已联系物业")).status == 303
    bad = await post(client, f"{base}/state", token, to="rejected", reason="")
    assert bad.status == 400 and "请填写原因" in await bad.text()
    assert (await post(client, f"{base}/state", token, to="in_progress")).status == 303
    assert (await post(client, f"{base}/extend", token, days="2", reason="等配件")).status == 303

    stored = await fetch_one(runtime.sessions, select(Ticket))
    assert stored.assignee_id == me and stored.status == "in_progress"
    kinds = await fetch_all(runtime.sessions, select(TicketEvent.kind).order_by(TicketEvent.id))
    assert kinds == ["created", "assigned", "reply", "note", "status_in_progress", "extended"]
    texts = [m["text"] for m in await fetch_all(runtime.sessions, select(Outbox.payload))]
    assert any("师傅明天上午到" in t for t in texts)
    assert not any("已联系物业" in t for t in texts)  # the note stays internal

    page = await (await client.get(base)).text()
    assert "师傅明天上午到" in page and "等待发送" in page
    async with runtime.sessions.begin() as session:
        await session.execute(update(Outbox).values(state="dead"))
    page = await (await client.get(base)).text()
    assert "发送失败" in page and "请电话联系居民" in page


async def test_merge_into_another_ticket(client: Client, runtime: Runtime) -> None:
    await add_staff(runtime, "he", "staff")
    first = await file_ticket(runtime, external_id="m1")
    second = await file_ticket(runtime, external_id="m2")
    token = await signed_in(client, "he")
    merged = await post(client, f"/staff/tickets/{second.id}/merge", token, into=first.number)
    assert merged.status == 303
    page = await (await client.get(f"/staff/tickets/{second.id}")).text()
    assert "已合并" in page and first.number in page
    unknown = await post(client, f"/staff/tickets/{first.id}/merge", token, into="T-1999-000001")
    assert unknown.status == 400


async def test_the_phone_is_masked_until_revealed_and_the_reveal_is_audited(
    client: Client, runtime: Runtime
) -> None:
    await add_staff(runtime, "lin", "staff")
    ticket = await file_ticket(runtime, phone="+8613812345678")
    token = await signed_in(client, "lin")
    page = await (await client.get(f"/staff/tickets/{ticket.id}")).text()
    assert "138****5678" in page and "13812345678" not in page
    revealed = await post(client, f"/staff/tickets/{ticket.id}/reveal", token)
    assert "+8613812345678" in await revealed.text()
    assert revealed.headers["Cache-Control"] == "no-store"
    actions = await fetch_all(
        runtime.sessions,
        select(AuditLog.action).where(
            AuditLog.target_type == "ticket", AuditLog.target_id == ticket.id
        ),
    )
    assert actions == ["ticket.contact_revealed"]
    again = await (await client.get(f"/staff/tickets/{ticket.id}")).text()
    assert "13812345678" not in again


@pytest.fixture
async def telegram_bot() -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    fake = FakeTelegram()
    await fake.start()
    bot = Bot(fake.token, base_url=fake.base_url,
              base_file_url=fake.base_url.replace("/bot", "/file/bot"))  # fmt: skip
    async with bot:
        yield fake, bot
    await fake.stop()


async def test_telegram_photos_come_through_the_app_without_the_bot_token(
    runtime: Runtime,
    telegram_bot: tuple[FakeTelegram, Bot],
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    fake, bot = telegram_bot
    fake.files["AgAD-photo-1"] = JPEG
    app = web.Application(middlewares=[web_channel.security_headers])
    setup_dashboard(app, runtime, photos=[TelegramPhotos(bot)])
    client = await aiohttp_client(app)
    await add_staff(runtime, "ma", "staff")
    ticket = await file_ticket(runtime, channel="telegram", external_id="777",
                               photos=("AgAD-photo-1", "AgAD-missing"))  # fmt: skip
    web_ticket = await file_ticket(runtime, channel="web", external_id="w-9", photos=("x",))
    await signed_in(client, "ma")
    page = await (await client.get(f"/staff/tickets/{ticket.id}")).text()
    assert f"/staff/tickets/{ticket.id}/photos/0" in page
    assert fake.token not in page and "AgAD-photo-1" not in page
    photo = await client.get(f"/staff/tickets/{ticket.id}/photos/0")
    assert photo.status == 200 and await photo.read() == JPEG
    assert photo.headers["Content-Type"] == "image/jpeg"
    assert fake.token not in str(photo.headers)
    assert (await client.get(f"/staff/tickets/{ticket.id}/photos/1")).status == 502
    assert (await client.get(f"/staff/tickets/{ticket.id}/photos/5")).status == 404
    web_page = await (await client.get(f"/staff/tickets/{web_ticket.id}")).text()
    assert "/photos/0" not in web_page  # the web chat has no photos to fetch


async def test_staff_file_a_ticket_for_a_resident_who_called(
    client: Client, runtime: Runtime
) -> None:
    me = await add_staff(runtime, "gao", "staff")
    await signed_in(client, "gao")
    form = await client.get("/staff/tickets/new")
    token = csrf(await form.text())
    bad = await post(client, "/staff/tickets/new", token, how="phone", category="noise",
                     description="", phone="")  # fmt: skip
    assert bad.status == 400
    filed = await post(client, "/staff/tickets/new", token, how="phone", category="noise",
                       description="楼上每晚装修到十一点", address="和谐小区3号楼",
                       phone="13812345678", name="张阿姨")  # fmt: skip
    assert filed.status == 303
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.category == "noise" and ticket.grid == "hx-1" and ticket.due_at is not None
    assert ticket.contact_phone == "+8613812345678" and ticket.resident_id is None
    events = await fetch_all(runtime.sessions, select(TicketEvent).order_by(TicketEvent.id))
    assert events[0].data["on_behalf"] == "phone" and events[0].data["filed_by"] == me
    assert events[1].kind == "filed_on_behalf" and events[1].actor_id == me
    page = await (await client.get(filed.headers["Location"])).text()
    assert "工作人员代办登记" in page and "来电" in page and "张阿姨" in page

"""The WeChat Official Account channel end to end: a resident's WeChat pushing signed (and in
safe mode encrypted) XML to `/wechat`, the real engine and database, and the outbox
delivering through a local fake of WeChat's API; asserting what the resident would see."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.app import Runtime, build_runtime, create_web_app, start_wechat
from bot.channels import wechat_api
from bot.channels.wechat import WeChatChannel
from bot.channels.wechat_sender import WeChatSender
from bot.config import Settings
from bot.outbox import Sender
from handlers.context import Services
from handlers.engine import Engine, Handled
from handlers.types import Incoming
from storage.models import Outbox, ProcessedUpdate, Resident, Ticket
from tests.fake_wechat import AES_KEY, APPID, SECRET, TOKEN, Client, FakeWeChat, Phone, sign
from tests.staff import add_staff, file_ticket, signed_in

OPENID = "oResident_0001"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    server = FakeWeChat()
    await server.start()
    yield server
    await server.stop()


def wechat_settings(database_url: str, fake: FakeWeChat, *, safe: bool) -> Settings:
    """Settings with the WeChat channel on (safe mode when `safe`)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": "k",
        "wechat_token": TOKEN,
        "wechat_appid": APPID,
        "wechat_secret": SECRET,
        "wechat_api_base": fake.base_url,
    }
    if safe:
        values["wechat_aes_key"] = AES_KEY
    return Settings.from_mapping(values)


@dataclass
class Service:
    """The running service with the WeChat channel, and a resident's phone."""

    runtime: Runtime
    channel: WeChatChannel
    phone: Phone
    client: Client


@pytest.fixture(params=["plain", "safe"])
async def service(
    request: pytest.FixtureRequest,
    sqlite_url: str,
    fake: FakeWeChat,
    services: Services,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> AsyncIterator[Service]:
    """The service wired as `linli serve` wires it, in plain and in safe mode."""
    safe = request.param == "safe"
    runtime = await build_runtime(
        wechat_settings(sqlite_url, fake, safe=safe), upgrade=False, services=services
    )
    channel = start_wechat(runtime)
    assert channel is not None and channel.safe_mode is safe
    assert [type(c) for c in runtime.channels] == [WeChatSender]
    client = await aiohttp_client(create_web_app(runtime, wechat=channel))
    sender = Sender(runtime.sessions, runtime.channels, clock=runtime.clock)
    yield Service(runtime, channel, Phone(client, fake, sender.run_once, safe=safe), client)
    await channel.stop()
    await runtime.close()


async def _count(runtime: Runtime, what: Any) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(what)) or 0)


async def test_url_verification_echoes_only_a_signed_check(service: Service) -> None:
    client, ts, nonce = service.client, str(int(time.time())), "abc123"
    good = {"timestamp": ts, "nonce": nonce, "echostr": "echo-4242",
            "signature": sign(TOKEN, ts, nonce)}  # fmt: skip
    response = await client.get("/wechat", params=good)
    assert response.status == 200 and await response.text() == "echo-4242"
    signed = good["signature"]
    one_digit_off = signed[:-1] + ("1" if signed.endswith("0") else "0")
    for bad in (
        {**good, "signature": sign("another-token", ts, nonce)},
        {**good, "signature": one_digit_off},
        {**good, "nonce": "other"},
        {**good, "timestamp": "1750000000", "signature": sign(TOKEN, "1750000000", nonce)},
        {k: v for k, v in good.items() if k != "signature"},
    ):
        response = await client.get("/wechat", params=bad)
        assert response.status == 403 and "echo-4242" not in await response.text()


async def test_unsigned_or_missigned_pushes_are_refused_unprocessed(service: Service) -> None:
    phone = service.phone
    xml, _ = phone.xml("text", Content="你好")
    assert (await phone.post(xml, signature="0" * 40)).status == 403
    assert await _count(service.runtime, Resident) == 0
    if phone.safe:  # the outer signature is right, the one over the ciphertext is not
        plain = Phone(service.client, phone.fake, phone.deliver, safe=False)
        answer = await plain.post(xml)  # safe mode takes no unencrypted message
        assert answer.status == 400
        assert await _count(service.runtime, Resident) == 0


async def test_subscribe_welcomes_with_the_privacy_notice_and_a_menu(service: Service) -> None:
    seen = await service.phone.send("event", Event="subscribe", EventKey="")
    assert "邻里" in seen[0] and "隐私说明" in seen[1] and "删除我的数据" in seen[1]
    assert "[反映问题]" in seen[2] and "[我的事项]" in seen[2]
    async with service.runtime.sessions() as session:
        resident = (await session.execute(select(Resident))).scalar_one()
    assert (resident.channel, resident.external_id) == ("wechat", OPENID)
    assert resident.display_name is None and resident.welcomed_at is not None  # nothing fetched


async def test_a_complaint_filed_from_text_location_photo_and_buttons(service: Service) -> None:
    phone, runtime = service.phone, service.runtime
    seen = await phone.say("3号楼门口的路灯坏了好几天了")
    assert "道路设施" in seen[0] and "[对]" in seen[0]
    assert "问题在哪里" in (await phone.press("对"))[0]
    seen = await phone.send("location", Location_X="30.0000", Location_Y="120.0040",
                            Scale="16", Label="和谐小区3号楼")  # fmt: skip
    assert "照片" in seen[0]
    seen = await phone.send("image", PicUrl="https://mmbiz.example/p.jpg", MediaId="MEDIA-1")
    assert "第 1 张" in seen[0]
    await phone.press("完成")
    await phone.press("跳过")  # no phone number
    seen = await phone.press("仅工作人员可见")
    assert "[确认提交]" in seen[-1]
    done = await phone.press("确认提交")
    assert "已受理" in done[0]
    async with runtime.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.number in done[0]
    assert ticket.photos == ["MEDIA-1"] and ticket.grid == "hx-1"
    assert ticket.location is not None and ticket.location["lat"] == pytest.approx(30.0)
    # An old button, pressed again minutes later, gets an answer, not a second ticket.
    stale = await phone.press("确认提交")
    assert "过期" in stale[0] and await _count(runtime, Ticket) == 1


async def test_menu_clicks_run_their_actions(service: Service) -> None:
    phone = service.phone
    seen = await phone.send("event", Event="CLICK", EventKey="menu:status")
    assert any("事项" in s for s in seen)
    seen = await phone.send("event", Event="CLICK", EventKey="menu:complaint")
    assert "遇到了什么问题" in seen[0] and seen[0].endswith("[取消]")
    # Events the bot has nothing to say to are acknowledged and dropped.
    xml, _ = phone.xml("event", Event="VIEW", EventKey="https://example.org")
    assert (await phone.post(xml)).body == "success"


async def test_an_unknown_menu_button_gets_the_stale_button_answer(service: Service) -> None:
    seen = await service.phone.send("text", Content="对", bizmsgmenuid="123456789012")
    assert seen == [service.runtime.services.texts.get("zh", "input.stale_button")]


async def test_voice_video_and_links_get_what_the_bot_can_take(service: Service) -> None:
    phone = service.phone
    expected = service.runtime.services.texts.get("zh", "input.unsupported")
    assert await phone.send("voice", MediaId="v1", Format="amr") == [expected]
    assert await phone.send("video", MediaId="v2", ThumbMediaId="t") == [expected]
    assert await phone.send("link", Title="t", Description="d", Url="https://x.example") == [
        expected
    ]


async def test_a_duplicate_msgid_has_one_effect(service: Service) -> None:
    phone, runtime = service.phone, service.runtime
    xml, _ = phone.xml("text", Content="2号楼楼道灯不亮了")
    first = await phone.see(await phone.post(xml))
    assert first
    again = await phone.post(xml)  # WeChat's retry: same MsgId
    assert again.body == "success" and await phone.see(again) == []
    event, _ = phone.xml("event", Event="subscribe")
    assert len(await phone.see(await phone.post(event))) == 3
    assert await phone.see(await phone.post(event)) == []  # same sender + CreateTime
    assert await _count(runtime, ProcessedUpdate) == 2


async def test_the_crisis_reply_and_the_staff_alert(service: Service) -> None:
    phone, runtime = service.phone, service.runtime
    seen = await phone.say("我不想活了，今晚就从楼顶跳下去")
    assert len(seen) == 1  # alone, at once: a passive reply
    assert "110" in seen[0] and "12356" in seen[0] and "工作人员" in seen[0]
    async with runtime.sessions() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        alert = (
            await session.execute(select(Outbox).where(Outbox.channel == "staff"))
        ).scalar_one()
    assert ticket.kind == "crisis"
    assert ticket.number in alert.payload["text"] and "紧急" in alert.payload["text"]
    # The next message stays in the crisis flow, still on WeChat.
    held = await phone.say("你好")
    assert "110" in held[0]


async def test_resident_text_never_becomes_a_link(service: Service) -> None:
    phone = service.phone
    await phone.say('路灯坏了 <a href="https://evil.example">点此领奖</a>')
    await phone.press("对")
    await phone.say("和谐小区3号楼")
    await phone.press("跳过")  # no photo
    await phone.press("跳过")  # no phone number
    summary = (await phone.press("仅工作人员可见"))[-1]
    assert "点此领奖" in summary and "＜a href" in summary  # echoed, but inert
    assert all("<" not in FakeWeChat.seen(m) for m in phone.fake.delivered(OPENID))


class GatedEngine(Engine):
    """The real engine held at a gate before each turn, like a slow database."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()
        self.turns = 0

    async def handle(self, msg: Incoming) -> Handled:
        """Wait at the gate, then handle the update as usual."""
        self.turns += 1
        await self.gate.wait()
        return await super().handle(msg)


async def test_a_slow_turn_answers_success_then_replies_through_the_api(
    sqlite_url: str,
    fake: FakeWeChat,
    services: Services,
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
) -> None:
    runtime = await build_runtime(
        wechat_settings(sqlite_url, fake, safe=True), upgrade=False, services=services
    )
    engine = GatedEngine(runtime.sessions, services, clock=runtime.clock)
    runtime.engine = engine
    api = wechat_api.from_settings(runtime.settings, runtime.sessions, runtime.clock)
    runtime.channels.append(WeChatSender(api, runtime.sessions, clock=runtime.clock.monotonic))
    channel = WeChatChannel(runtime, api, reply_within=0.3)  # WeChat's 5 s, made short
    client = await aiohttp_client(create_web_app(runtime, wechat=channel))
    sender = Sender(runtime.sessions, runtime.channels, clock=runtime.clock)
    phone = Phone(client, fake, sender.run_once, safe=True)
    try:
        xml, _ = phone.xml("text", Content="你好")
        answer = await phone.post(xml)  # answered while the turn is still held at the gate
        assert answer.body == "success"
        assert engine.turns == 1 and fake.delivered() == []
        retry = await phone.post(xml)  # WeChat asks again while the turn is still running
        assert retry.body == "success"
        engine.gate.set()
        await _deliver_until(sender, lambda: len(fake.delivered(OPENID)) >= 1)
        seen = [FakeWeChat.seen(m) for m in fake.delivered(OPENID)]
        assert len(seen) == 1 and "邻里" in seen[0]  # one answer, not two
        assert await _count(runtime, ProcessedUpdate) == 1
    finally:
        engine.gate.set()
        await channel.stop()
        await runtime.close()


async def _deliver_until(sender: Sender, done: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "nothing was delivered"
        await sender.run_once()
        await asyncio.sleep(0.02)


XXE_FILE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file://{path}">]>
<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>oResident_0001</FromUserName>
<CreateTime>1750000000</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content>
<MsgId>1</MsgId></xml>"""
XXE_NETWORK = XXE_FILE.replace("file://{path}", "{url}")
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>oResident_0001</FromUserName>
<CreateTime>1750000000</CreateTime><MsgType>text</MsgType><Content>&d;</Content>
<MsgId>2</MsgId></xml>"""


async def test_xml_with_entities_is_refused_without_reading_them(
    service: Service, tmp_path: Path
) -> None:
    phone, runtime = service.phone, service.runtime
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE")
    for body in (
        XXE_FILE.format(path=secret),
        XXE_NETWORK.format(url=f"{phone.fake.base_url}/leak"),
        LAUGHS,
    ):
        answer = await phone.post(body)
        assert answer.status == 400
        assert "TOP-SECRET" not in answer.body and "lol" not in answer.body
    assert phone.fake.called("/leak") == []  # the external entity was never fetched
    assert await _count(runtime, Resident) == 0 and await _count(runtime, ProcessedUpdate) == 0
    assert phone.fake.delivered() == []


async def test_staff_see_a_wechat_photo_through_the_app(service: Service, fake: FakeWeChat) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 64
    fake.media["MEDIA-1"] = jpeg
    ticket = await file_ticket(service.runtime, channel="wechat", external_id="o-photo",
                               photos=("MEDIA-1", "MEDIA-expired"))  # fmt: skip
    await add_staff(service.runtime, "li", "staff")
    await signed_in(service.client, "li")
    page = await (await service.client.get(f"/staff/tickets/{ticket.id}")).text()
    assert f"/staff/tickets/{ticket.id}/photos/0" in page and "MEDIA-1" not in page
    photo = await service.client.get(f"/staff/tickets/{ticket.id}/photos/0")
    assert photo.status == 200 and await photo.read() == jpeg
    assert photo.headers["Content-Type"] == "image/jpeg" and "TOKEN-" not in str(photo.headers)
    # WeChat keeps a photo three days; after that the page says it could not be fetched.
    assert (await service.client.get(f"/staff/tickets/{ticket.id}/photos/1")).status == 502

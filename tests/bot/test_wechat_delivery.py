"""WeChat delivery through the outbox: the shared access_token and its one refresher, WeChat's
errcodes (expired token, 45015 outside the 48-hour window, 45047 over quota), long texts and
menu messages, the `linli wechat menu` command, the settings and the safe-mode cipher."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from bot import wechat_cli
from bot.app import Runtime, build_runtime, start_wechat
from bot.channels.wechat_api import WeChatApi
from bot.channels.wechat_crypto import CryptoError, MessageCrypto, signature
from bot.channels.wechat_sender import menu_action
from bot.cli import _parser
from bot.config import Settings
from bot.outbox import DeliveryResult, Sender, Undeliverable
from handlers.context import Services
from handlers.types import Button, Reply
from storage import db, outbox, residents
from storage.clock import SYSTEM
from storage.models import Outbox, Resident
from storage.outbox import OutboxMessage
from tests.bot.test_wechat import OPENID, wechat_settings
from tests.fake_wechat import AES_KEY, APPID, SECRET, TOKEN, FakeWeChat, decrypt, encrypt, sign


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChat]:
    server = FakeWeChat()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def runtime(sqlite_url: str, fake: FakeWeChat, services: Services) -> AsyncIterator[Runtime]:
    """The service with the WeChat channel's outbox sender, no web app needed."""
    built = await build_runtime(
        wechat_settings(sqlite_url, fake, safe=False), upgrade=False, services=services
    )
    channel = start_wechat(built)
    assert channel is not None
    yield built
    await channel.stop()
    await built.close()


async def _queue(runtime: Runtime, reply: Reply, key: str, *, openid: str = OPENID) -> int:
    """A message for a WeChat resident in the outbox (as a staff reply would be queued)."""
    async with runtime.sessions.begin() as session:
        state = await residents.load_for_update(
            session, channel="wechat", external_id=openid, locale="zh", now=runtime.clock()
        )
        await outbox.enqueue(
            session, channel="wechat", recipient=openid, resident_id=state.resident.id,
            payload=reply.as_dict(), dedupe_key=key, now=runtime.clock(),
            priority=outbox.PRIORITY_HIGH,
        )  # fmt: skip
        return state.resident.id


async def _row(runtime: Runtime, key: str) -> Outbox:
    async with runtime.sessions() as session:
        return (await session.execute(select(Outbox).where(Outbox.dedupe_key == key))).scalar_one()


async def _reachable(runtime: Runtime, resident_id: int) -> bool:
    async with runtime.sessions() as session:
        resident = await session.get(Resident, resident_id)
        assert resident is not None
        return resident.reachable


def _sender(runtime: Runtime) -> Sender:
    return Sender(runtime.sessions, runtime.channels, clock=runtime.clock)


async def test_an_expired_token_is_renewed_mid_traffic(runtime: Runtime, fake: FakeWeChat) -> None:
    sender = _sender(runtime)
    await _queue(runtime, Reply("您反映的问题已签收。"), "n1")
    await sender.run_once()
    fake.expire_tokens()  # WeChat expires the token between two messages
    await _queue(runtime, Reply("工作人员回复：明天上午来修。"), "n2")
    await sender.run_once()
    assert [FakeWeChat.seen(m) for m in fake.delivered(OPENID)] == [
        "您反映的问题已签收。",
        "工作人员回复：明天上午来修。",
    ]
    tokens = [call["access_token"] for call in fake.called("/cgi-bin/message/custom/send")]
    assert tokens == ["TOKEN-1", "TOKEN-1", "TOKEN-2"]  # refused once (40001), then renewed
    assert len(fake.called("/cgi-bin/token")) == 2
    assert (await _row(runtime, "n2")).state == "sent"


async def test_a_token_that_stays_refused_is_retried_later_not_at_once(
    runtime: Runtime, fake: FakeWeChat
) -> None:
    fake.fail("send", 42001, 42001)  # expired, and still expired after the renewal
    await _queue(runtime, Reply("通知"), "n1")
    await _sender(runtime).run_once()
    row = await _row(runtime, "n1")
    assert row.state == "pending" and row.not_before > runtime.clock() and "42001" in row.last_error
    assert len(fake.called("/cgi-bin/message/custom/send")) == 2  # one call, one retry: no storm


async def test_outside_the_48_hour_window_is_undeliverable_but_the_resident_is_reachable(
    runtime: Runtime, fake: FakeWeChat
) -> None:
    fake.fail("send", 45015)
    resident_id = await _queue(runtime, Reply("您的事项已办结，请评价。"), "late")
    sender = _sender(runtime)
    await sender.run_once()
    row = await _row(runtime, "late")
    assert row.state == "dead" and "45015" in row.last_error and "48" in row.last_error
    assert await _reachable(runtime, resident_id)
    await sender.run_once()
    assert len(fake.called("/cgi-bin/message/custom/send")) == 1  # never tried again
    assert fake.delivered() == []


async def test_over_quota_backs_off_for_that_resident_only(
    runtime: Runtime, fake: FakeWeChat
) -> None:
    fake.fail("send", 45047)
    sender = _sender(runtime)
    await _queue(runtime, Reply("第一条"), "a")
    await sender.run_once()
    row = await _row(runtime, "a")
    assert row.state == "pending" and row.attempts == 1 and "45047" in row.last_error
    await _queue(runtime, Reply("第二条"), "b")
    await _queue(runtime, Reply("给别人的"), "c", openid="oSomeoneElse_02")
    await sender.run_once()
    assert [m["touser"] for m in fake.delivered()] == ["oSomeoneElse_02"]
    assert len(fake.called("/cgi-bin/message/custom/send")) == 2  # "b" waited, unsent
    assert (await _row(runtime, "b")).attempts == 0  # held back, no attempt used


async def test_a_long_message_with_buttons_is_split_and_its_buttons_pressable(
    runtime: Runtime, fake: FakeWeChat
) -> None:
    text = "\n".join(f"第{n}条：小区公告，请各位居民互相转告，注意用电安全。" for n in range(150))
    buttons = (Button("收到", "survey:ok:7"), Button("有疑问", "handoff:start"))
    await _queue(runtime, Reply(text, buttons), "long")
    await _sender(runtime).run_once()
    sent = fake.delivered(OPENID)
    assert len(sent) > 2 and [m["msgtype"] for m in sent][-1] == "msgmenu"
    parts = [m["text"]["content"] for m in sent[:-1]] + [sent[-1]["msgmenu"]["head_content"]]
    assert all(len(part.encode()) <= 2048 for part in parts)
    assert "\n".join(parts) == text
    menu = sent[-1]["msgmenu"]
    assert len(FakeWeChat.seen(sent[-1]).encode()) <= 2048
    assert [item["content"] for item in menu["list"]] == ["收到", "有疑问"]
    async with runtime.sessions() as session:  # any worker, any time later, finds the action
        assert [await menu_action(session, item["id"]) for item in menu["list"]] == [
            "survey:ok:7",
            "handoff:start",
        ]


@dataclass
class Refuses:
    """A channel that cannot deliver anything now."""

    channel: str = "wechat"

    async def turn(self, message: OutboxMessage) -> float:
        """Always its turn."""
        return 0.0

    async def send(self, message: OutboxMessage) -> DeliveryResult:
        """Refuse, as WeChat does outside the 48-hour window."""
        return Undeliverable("window closed")


async def test_undeliverable_is_kept_for_staff_without_retry(runtime: Runtime) -> None:
    resident_id = await _queue(runtime, Reply("通知"), "u")
    sender = Sender(runtime.sessions, [Refuses()], clock=runtime.clock)
    await sender.run_once()
    row = await _row(runtime, "u")
    assert (row.state, row.last_error, row.attempts) == ("dead", "window closed", 1)
    assert await _reachable(runtime, resident_id)
    assert await sender.run_once() == 0


async def test_one_worker_fetches_the_token_for_all(database_url: str, fake: FakeWeChat) -> None:
    fake.token_delay = 0.3  # wide open for a race
    # Four workers: on PostgreSQL each with its own connection pool, as separate processes
    # have; SQLite's one process shares its one connection.
    engines = [
        db.create_engine(database_url) for _ in range(4 if "postgresql" in database_url else 1)
    ]
    workers = [
        WeChatApi(base=fake.base_url, appid=APPID, secret=SecretStr(SECRET),
                  sessions=db.session_factory(engines[n % len(engines)]),
                  clock=SYSTEM.timestamp)
        for n in range(4)
    ]  # fmt: skip
    message = {"touser": OPENID, "msgtype": "text", "text": {"content": "hi"}}
    try:
        answers = await asyncio.gather(*(w.send(message) for w in workers))
        assert all(a.ok for a in answers) and len(fake.called("/cgi-bin/token")) == 1
        fake.expire_tokens()
        answers = await asyncio.gather(*(w.send(message) for w in workers))
        assert all(a.ok for a in answers) and len(fake.called("/cgi-bin/token")) == 2
        assert fake.valid_tokens == {"TOKEN-2"}
    finally:
        for worker in workers:
            await worker.close()
        for engine in engines:
            await engine.dispose()


async def test_menu_command_publishes_the_knowledge_file(
    sqlite_url: str, fake: FakeWeChat, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = wechat_settings(sqlite_url, fake, safe=False)
    dry = _parser().parse_args(["wechat", "menu", "--dry-run"])
    await wechat_cli.run(settings, dry, SYSTEM)
    assert '"name": "议事厅"' in capsys.readouterr().out and fake.calls == []
    await wechat_cli.run(settings, _parser().parse_args(["wechat", "menu"]), SYSTEM)
    (menu,) = [body for path, body in fake.calls if path == "menu-ok"]
    names = [b["name"] for b in menu["button"]] + [
        s["name"] for b in menu["button"] for s in b.get("sub_button", [])
    ]
    assert {"反映问题", "议事厅", "办事指南", "我的工单"} <= set(names)
    assert {"type": "click", "name": "反映问题", "key": "menu:complaint"} in menu["button"]
    assert "Published the WeChat menu: 反映问题 / 议事厅" in capsys.readouterr().out


async def test_menu_command_takes_a_deployments_own_menu_and_checks_it(
    sqlite_url: str, fake: FakeWeChat, tmp_path: Path
) -> None:
    own = tmp_path / "wechat_menu.yaml"
    own.write_text("button:\n  - name: 我的工单\n    action: menu:status\n", "utf-8")
    values = wechat_settings(sqlite_url, fake, safe=False).model_dump()
    settings = Settings.from_mapping({**values, "knowledge_dir": tmp_path})
    await wechat_cli.run(settings, argparse.Namespace(dry_run=False), SYSTEM)
    assert [body for path, body in fake.calls if path == "menu-ok"] == [
        {"button": [{"type": "click", "name": "我的工单", "key": "menu:status"}]}
    ]
    five = "".join(f"  - name: 按钮{n}\n    action: menu:faq\n" for n in range(4))
    for bad, says in (
        ("button:\n" + five, "1 to 3 buttons"),
        ("button:\n  - name: 乱按\n    action: no:such:thing\n", "unknown actions"),
        ("button:\n  - name: 这个名字实在是太长了\n    action: menu:faq\n", "bytes"),
    ):
        own.write_text(bad, "utf-8")
        with pytest.raises(SystemExit, match=says):
            await wechat_cli.run(settings, argparse.Namespace(dry_run=False), SYSTEM)
    own.write_text("button:\n  - name: 我的工单\n    action: menu:status\n", "utf-8")
    fake.fail("menu", 40018)
    with pytest.raises(SystemExit, match="40018"):
        await wechat_cli.run(settings, argparse.Namespace(dry_run=False), SYSTEM)


def test_settings_switch_the_channel_on_and_hide_its_secrets() -> None:
    assert not Settings.from_mapping({}).wechat_enabled
    on = Settings.from_mapping({"wechat_token": TOKEN, "wechat_appid": APPID,
                                "wechat_secret": SECRET, "wechat_aes_key": AES_KEY})  # fmt: skip
    assert on.wechat_enabled and on.wechat_api_base == "https://api.weixin.qq.com"
    assert TOKEN not in repr(on) and SECRET not in repr(on) and AES_KEY not in repr(on)
    with pytest.raises(ValidationError, match="LINLI_WECHAT_SECRET"):
        Settings.from_mapping({"wechat_token": TOKEN, "wechat_appid": APPID})
    with pytest.raises(ValidationError, match="43 characters"):
        Settings.from_mapping({"wechat_aes_key": "short"})


def test_the_safe_mode_cipher_follows_the_spec() -> None:
    crypto = MessageCrypto(AES_KEY, APPID)
    xml = "<xml><Content><![CDATA[你好，邻里]]></Content></xml>"
    assert crypto.decrypt(encrypt(xml)) == xml  # WeChat's ciphertext, read by us
    assert decrypt(crypto.encrypt(xml)) == (xml, APPID)  # ours, read as WeChat would
    with pytest.raises(CryptoError):
        crypto.decrypt(encrypt(xml, appid="wxAnotherAccount00"))
    with pytest.raises(CryptoError):
        crypto.decrypt("bm90IGEgY2lwaGVydGV4dA==")
    assert signature(TOKEN, "1", "n", "e") == sign("e", "n", "1", TOKEN)

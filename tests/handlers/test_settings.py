"""`/settings`: residents turn notices, surveys and the daily check-in on and off, pick their
tags, and notices skip whoever turned them off."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Runtime
from storage import broadcasts
from storage.models import CheckIn, Outbox, Resident
from tests.chat import ResidentChat, fetch_all, fetch_one, texts


async def _notice(runtime: Runtime, audience: str) -> list[str]:
    """Send a notice now; who gets it."""
    async with runtime.sessions.begin() as session:
        notice = await broadcasts.create(
            session,
            text_="周六停水",
            audience=audience,
            send_at=runtime.clock(),
            now=runtime.clock(),
        )
        await broadcasts.fan_out(session, notice, now=runtime.clock())
        prefix = f"broadcast:{notice.id}:"
    return sorted(
        await fetch_all(
            runtime.sessions,
            select(Outbox.recipient).where(Outbox.dedupe_key.startswith(prefix)),
        )
    )


async def test_settings_show_and_toggle_what_the_resident_receives(
    runtime: Runtime, alice: ResidentChat
) -> None:
    bob = ResidentChat(runtime.engine, user="bob")
    await bob.say("你好")
    panel = texts(await alice.say("设置"))
    assert "社区通知：开" in panel and "问卷调查：开" in panel and "每日问候：关" in panel
    assert "我的标签：无" in panel and "语言：中文" in panel
    assert alice.labels() == ["不再接收社区通知", "不再接收问卷调查", "开通每日问候",
                              "选择我的标签", "语言 / Language", "返回菜单"]  # fmt: skip
    assert await _notice(runtime, "all") == ["alice", "bob"]

    off = texts(await alice.tap("不再接收社区通知"))
    assert "已关闭社区通知" in off and "社区通知：关" in off
    assert await _notice(runtime, "all") == ["bob"]
    on = texts(await alice.tap("接收社区通知"))
    assert "已开启社区通知" in on and "社区通知：开" in on
    assert await _notice(runtime, "all") == ["alice", "bob"]

    await alice.tap("不再接收问卷调查")
    assert (
        await fetch_one(
            runtime.sessions,
            select(Resident.receive_surveys).where(Resident.external_id == "alice"),
        )
        is False
    )

    started = texts(await alice.tap("开通每日问候"))
    assert "每天 09:00 问候您" in started and "每日问候：开" in started
    assert (await fetch_one(runtime.sessions, select(CheckIn))).active is True
    stopped = texts(await alice.tap("关闭每日问候"))
    assert "已关闭每日问候" in stopped and "每日问候：关" in stopped
    assert (await fetch_one(runtime.sessions, select(CheckIn))).active is False


async def test_self_chosen_tags_reach_tagged_notices(runtime: Runtime, alice: ResidentChat) -> None:
    await alice.say("/settings")
    await alice.tap("选择我的标签")
    assert alice.labels() == ["长者", "新居民", "有孩家庭", "养宠物", "助残", "完成"]
    await alice.tap("长者")
    added = texts(await alice.tap("养宠物"))
    assert "已添加标签：养宠物" in added and "长者、养宠物" in added
    assert alice.labels()[:4] == ["✓ 长者", "新居民", "有孩家庭", "✓ 养宠物"]
    assert await _notice(runtime, "tag:elderly") == ["alice"]
    removed = texts(await alice.tap("✓ 长者"))
    assert "已去掉标签：长者" in removed
    assert await _notice(runtime, "tag:elderly") == []
    panel = texts(await alice.tap("完成"))
    assert "我的标签：养宠物" in panel
    assert await fetch_one(
        runtime.sessions, select(Resident.tags).where(Resident.external_id == "alice")
    ) == ["pet"]
    assert "过期" in texts(await alice.press("settings:tag:astronaut"))


async def test_settings_in_english(runtime: Runtime) -> None:
    bob = ResidentChat(runtime.engine, user="bob", locale="en")
    panel = texts(await bob.say("settings"))
    assert "Community notices: on" in panel and "Language: English" in panel
    await bob.tap("Choose my tags")
    assert "Tag added: Newcomer" in texts(await bob.tap("Newcomer"))
    assert bob.labels()[1] == "✓ Newcomer"

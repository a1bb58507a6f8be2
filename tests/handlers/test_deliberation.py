"""The residents' deliberation hall as residents see it: browsing, reading, voting, changing a
vote, a vote after closing, scope by building, and buttons that no longer mean anything."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import Runtime
from storage.models import Resident, Vote
from tests.chat import fetch_all, texts
from tests.hall import CLOSES, START, Hall, vote


async def test_browse_lists_open_topics_a_page_at_a_time(runtime: Runtime) -> None:
    hall = Hall(runtime)
    alice = hall.resident("alice")
    none = await alice.press("menu:deliberation")
    assert "没有开放的议题" in texts(none) and "提议新议题" in alice.labels()
    ids = [
        await hall.topic(f"议题{n}号", closes=START + timedelta(days=n + 1)) for n in range(1, 8)
    ]
    await hall.topic("还没开始的议题", opens=START + timedelta(days=2))
    await hall.topic("已经过期的议题", opens=START - timedelta(days=3), closes=START)
    first = texts(await alice.press("menu:deliberation"))
    assert "第 1/2 页" in first and "《议题1号》" in first and "《议题5号》" in first
    assert "议题6号" not in first and "还没开始" not in first and "已经过期" not in first
    assert "还有 2 天截止" in first and "0 人参与" in first
    assert alice.labels()[:2] == ["1. 议题1号", "2. 议题2号"] and "下一页" in alice.labels()
    second = texts(await alice.tap("下一页"))
    assert "第 2/2 页" in second and "《议题7号》" in second and "上一页" in alice.labels()

    await vote(hall.resident("bob"), ids[0], 0)
    assert "1 人参与" in texts(await alice.press("topic:list:0")).split("\n")[1]
    card = texts(await alice.tap("1. 议题1号"))
    assert "《议题1号》" in card and "全体居民" in card and "已有 1 人参与" in card
    assert "简单多数" in card
    assert alice.labels() == ["同意", "不同意", "写意见", "看大家的意见", "议题列表"]


async def test_vote_is_confirmed_changeable_and_one_per_resident(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic()
    alice = hall.resident("alice")
    await alice.press(f"topic:view:{topic}")
    ask = texts(await alice.tap("同意"))
    assert "确认投票吗" in ask and "「同意」" in ask
    assert await fetch_all(runtime.sessions, select(Vote)) == []  # not before confirming
    done = texts(await alice.tap("确认投票"))
    assert "已记录您的投票：「同意」" in done and "2026-12-15 18:00" in done
    card = texts(await alice.press(f"topic:view:{topic}"))
    assert "您已投「同意」" in card
    await alice.tap("不同意")
    changed = texts(await alice.tap("确认投票"))
    assert "从「同意」改为「不同意」" in changed
    votes = await fetch_all(runtime.sessions, select(Vote))
    assert [(v.topic_id, v.option) for v in votes] == [(topic, 1)]


async def test_a_vote_after_closing_is_refused_kindly(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic()
    alice = hall.resident("alice")
    await vote(alice, topic, 0)
    await alice.press(f"topic:pick:{topic}:1")  # she hesitates past the closing time
    hall.clock.now = CLOSES + timedelta(minutes=1)
    late = texts(await alice.tap("确认投票"))
    assert "谢谢您的关心" in late and "已在 2026-12-15 18:00 截止" in late
    assert "结果会通知" in late
    votes = await fetch_all(runtime.sessions, select(Vote.option))
    assert votes == [0]
    late_opinion = texts(await alice.press(f"topic:opine:{topic}"))
    assert "已在 2026-12-15 18:00 截止" in late_opinion
    assert texts(await alice.press("topic:list:0")).startswith("居民议事厅目前没有开放的议题")


async def test_a_building_topic_asks_for_the_building_once(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic(scope="building:3", rule="civil-code-278")
    alice, bob = hall.resident("alice"), hall.resident("bob")
    asked = texts(await alice.press(f"topic:pick:{topic}:0"))
    assert "3号楼居民" in asked and "几号楼" in asked
    again = texts(await alice.say("不知道"))
    assert "没有认出楼号" in again
    confirmed = texts(await alice.say("3号楼"))
    assert "3 号楼" in confirmed and "确认投票吗" in confirmed
    assert "已记录" in texts(await alice.tap("确认投票"))
    await bob.press(f"topic:pick:{topic}:0")
    refused = texts(await bob.say("8"))
    assert "这次不能参与" in refused
    residents = {
        r.external_id: (r.building, r.grid)
        for r in await fetch_all(runtime.sessions, select(Resident))
    }
    assert residents == {"alice": (3, "hx-1"), "bob": (8, "hx-2")}
    assert "改为「不同意」" in await vote(alice, topic, 1)  # known now: no question


async def test_stale_and_unknown_buttons_get_a_friendly_answer(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic()
    alice = hall.resident("alice")
    for action in (
        "topic:view:999",
        "topic:cast:999:0",
        f"topic:cast:{topic}:7",
        f"topic:pick:{topic}:x",
        "topic:sv:999:a",
        "topic:frobnicate:1",
        f"topic:view:{topic}:extra",
    ):
        answer = texts(await alice.press(action))
        assert "已经失效" in answer, action
        assert alice.labels() == ["议题列表"]
    stale = texts(await alice.press("hall:yes"))  # an old offer's button, no offer open
    assert "过期" in stale
    english = hall.resident("eve", locale="en")
    assert "no longer valid" in texts(await english.press("topic:view:999"))

"""Closing topics: each decision rule with its quorum met and missed, the result message every
participant gets (once, however often the sweep runs), and staff's official response."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import Runtime
from bot.scheduler import run_job
from handlers import staff_chat
from storage import staff
from storage.models import Topic
from tests.chat import ResidentChat, fetch_all, texts
from tests.hall import CLOSES, Hall, outbox_texts, vote

pytestmark = pytest.mark.both_databases


async def _topic(runtime: Runtime, topic_id: int) -> Topic:
    found = await fetch_all(runtime.sessions, select(Topic).where(Topic.id == topic_id))
    return found[0]


async def test_majority_result_reaches_every_participant_once(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic()
    alice, bob, carol, dave = (hall.resident(n) for n in ("alice", "bob", "carol", "dave"))
    eve = hall.resident("eve", locale="en")
    await vote(alice, topic, 0)
    await vote(bob, topic, 0)
    await vote(carol, topic, 1)
    await eve.press(f"topic:opine:{topic}")
    await eve.say("Please keep the lawn as small as possible")  # an opinion: she took part
    await dave.say("你好")  # a resident who did not take part

    assert await hall.sweep(CLOSES - timedelta(minutes=1)) == 0  # not closed yet
    assert await hall.sweep(CLOSES) == 1
    assert await hall.sweep(CLOSES + timedelta(minutes=5)) == 0  # run twice: one effect

    closed = await _topic(runtime, topic)
    assert closed.status == "closed" and closed.result is not None
    assert closed.result["votes"] == {"同意": 2, "不同意": 1}
    assert closed.result["decided"] and closed.result["winner"] == "同意"
    assert (closed.result["participants"], closed.result["eligible"]) == (4, 5)
    assert closed.result["turnout"] == 0.6  # 3 voters of 5 residents
    [message] = await outbox_texts(runtime, "alice")
    assert message.startswith("居民议事厅结果通知")
    assert "《是否在3号楼北侧加装电梯》已于 2026-12-15 18:00 截止" in message
    assert "其中投票 3 人；可参与居民 5 人，投票率 60%" in message
    assert "同意 2 票 · 不同意 1 票" in message
    assert "「同意」获得 67% 的票，超过一半，结果为「同意」" in message
    assert len(await outbox_texts(runtime, "bob")) == 1
    assert len(await outbox_texts(runtime, "carol")) == 1
    assert await outbox_texts(runtime, "dave") == []
    [english] = await outbox_texts(runtime, "eve")
    assert "Residents' hall: a result" in english and 'the result is "同意"' in english
    shown = texts(await dave.press(f"topic:view:{topic}"))
    assert "结果为「同意」" in shown  # the result stays readable on the topic's page


async def test_a_tie_under_majority_decides_nothing(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic()
    await vote(hall.resident("alice"), topic, 0)
    await vote(hall.resident("bob"), topic, 1)
    await hall.sweep(CLOSES)
    closed = await _topic(runtime, topic)
    assert not closed.result["decided"] and closed.result["winner"] is None  # type: ignore[index]
    assert "没有选项获得超过一半的票" in (await outbox_texts(runtime, "alice"))[0]


async def _neighbours(hall: Hall, topic: int, count: int) -> list[ResidentChat]:
    """Residents of building 3 (they say so when the first building topic asks)."""
    chats = [hall.resident(f"b3-{n}") for n in range(count)]
    for chat in chats:
        await chat.press(f"topic:pick:{topic}:0")
        await chat.say("3号楼")
    return chats


async def test_civil_code_278_quorum_and_approval(runtime: Runtime) -> None:
    hall = Hall(runtime)
    missed = await hall.topic("垃圾分类亭改到北门", scope="building:3", rule="civil-code-278")
    met = await hall.topic("楼道安装监控", scope="building:3", rule="civil-code-278")
    major_yes = await hall.topic(
        "维修基金更换水泵", scope="building:3", rule="civil-code-278-major"
    )
    major_no = await hall.topic("维修基金翻新外墙", scope="building:3", rule="civil-code-278-major")
    people = await _neighbours(hall, missed, 6)  # six eligible residents of building 3
    outsider = hall.resident("b8")
    await outsider.press(f"topic:pick:{met}:0")
    assert "不能参与" in texts(await outsider.say("8号楼"))
    for chat in people[:3]:  # 3 of 6 vote: fewer than two thirds
        await vote(chat, missed, 0)
    for chat, choice in zip(people[:4], (0, 0, 0, 1), strict=True):  # 4 of 6: 3 yes, 1 no
        await vote(chat, met, choice)
        await vote(chat, major_yes, choice)
    for chat, choice in zip(people[:4], (0, 0, 1, 1), strict=True):  # 4 of 6: 2 yes, 2 no
        await vote(chat, major_no, choice)
    assert await hall.sweep(CLOSES) == 4

    results = {t: (await _topic(runtime, t)).result for t in (missed, met, major_yes, major_no)}
    assert all(r is not None and r["eligible"] == 6 and r["quorum_needed"] == 4
               for r in results.values())  # fmt: skip
    assert results[missed]["quorum_met"] is False and not results[missed]["decided"]  # type: ignore[index]
    assert results[met]["quorum_met"] and results[met]["winner"] == "同意"  # type: ignore[index]
    assert results[major_yes]["decided"] and results[major_yes]["share"] == 0.75  # type: ignore[index]
    assert results[major_no]["quorum_met"] and not results[major_no]["decided"]  # type: ignore[index]

    told = "\n".join(await outbox_texts(runtime, "b3-0"))
    assert "参与表决 3 人，没有达到可参与居民的三分之二（至少需要 4 人）" in told
    assert "「同意」获得参与表决人数的 75%，超过一半，结果为「同意」" in told
    assert "「同意」获得参与表决人数的 75%，达到四分之三，结果为「同意」" in told
    assert "但没有选项达到四分之三，这次没有形成决定" in told
    assert await outbox_texts(runtime, "b3-5") == []  # never voted: not a participant
    assert await outbox_texts(runtime, "b8") == []


async def test_staff_response_is_told_to_participants(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic()
    await vote(hall.resident("alice"), topic, 0)
    await hall.resident("bob").say("你好")
    await hall.sweep(CLOSES)
    async with runtime.sessions.begin() as session:
        member = await staff.create_staff(
            session, username="li", role="staff", password_hash=None, now=runtime.clock()
        )
        command = staff_chat.command_of(f"/respond {topic} 居委会将于下周一公示施工方案", None)
        assert command is not None
        replies = await staff_chat.answer(
            session, runtime.services, member, command, now=runtime.clock()
        )
    assert "1 位参与的居民" in texts(replies)
    told = await outbox_texts(runtime, "alice")
    assert (
        told[-1]
        == "关于议题《是否在3号楼北侧加装电梯》，社区的回应：\n居委会将于下周一公示施工方案"
    )
    assert await outbox_texts(runtime, "bob") == []


async def test_the_scheduler_closes_due_topics_once(runtime: Runtime) -> None:
    hall = Hall(runtime)
    now = runtime.clock()
    await hall.topic(opens=now - timedelta(days=3), closes=now - timedelta(minutes=1))
    await hall.topic(
        "还在讨论的议题", opens=now - timedelta(days=1), closes=now + timedelta(days=3)
    )
    assert await run_job(runtime, "close_due_topics") == 1
    assert await run_job(runtime, "close_due_topics") == 0

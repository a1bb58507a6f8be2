"""Opinions and proposals in the deliberation hall: the word filter, the staff review queue
(from the staff chat) both ways, a proposal accepted, and free text offered to its topic."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Runtime
from handlers import staff_chat, topic_staff
from handlers.topic_spec import parse_spec
from storage import staff
from storage.models import Opinion, Outbox, Topic, TopicProposal
from tests.chat import ResidentChat, fetch_all, fetch_one, texts
from tests.hall import SHANGHAI, START, Hall, outbox_texts


async def _staff_says(runtime: Runtime, text: str, action: str | None = None) -> str:
    """A staff member's command in the staff chat, answered by the real staff-chat code."""
    command = staff_chat.command_of(text, action)
    assert command is not None, text
    async with runtime.sessions.begin() as session:
        member = await staff.get_staff_by_username(session, "wang")
        if member is None:
            member = await staff.create_staff(
                session, username="wang", role="staff", password_hash=None, now=runtime.clock()
            )
        replies = await staff_chat.answer(
            session, runtime.services, member, command, now=runtime.clock()
        )
    return texts(replies)


async def _write(chat: ResidentChat, topic: int, text: str) -> str:
    await chat.press(f"topic:opine:{topic}")
    return texts(await chat.say(text))


async def test_opinions_wait_for_staff_and_are_approved_or_rejected(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic()
    alice, bob = hall.resident("alice"), hall.resident("bob")
    assert "审核后" in await _write(alice, topic, "支持加装，老人上下楼太辛苦了")
    assert "审核后" in await _write(alice, topic, "费用应该按楼层分摊，高层多出一些")
    assert "还没有公开的意见" in texts(await bob.press(f"topic:read:{topic}:0"))

    alerts = await fetch_all(
        runtime.sessions, select(Outbox.payload).where(Outbox.channel == "staff")
    )
    assert "【待审核意见】O1" in alerts[0]["text"] and "老人上下楼" in alerts[0]["text"]
    assert [b["action"] for b in alerts[0]["buttons"]] == ["staff:approve:O1", "staff:reject:O1"]
    queue = await _staff_says(runtime, "/topics")
    assert "O1" in queue and "O2" in queue and "按楼层分摊" in queue

    assert "已通过 O1" in await _staff_says(runtime, "", action="staff:approve:O1")
    assert "已退回 O2" in await _staff_says(
        runtime, "/reject O2 涉及具体分摊方案，请到业主大会讨论"
    )
    assert "已经审核过" in await _staff_says(runtime, "/approve O1")
    assert "没有找到" in await _staff_says(runtime, "/approve O99")

    shown = texts(await bob.press(f"topic:read:{topic}:0"))
    assert "共 1 条" in shown and "老人上下楼太辛苦了" in shown and "按楼层分摊" not in shown
    told = await outbox_texts(runtime, "alice")
    assert any("已通过审核" in m for m in told)
    assert any("没有通过审核" in m and "请到业主大会讨论" in m for m in told)


async def test_the_word_filter_and_length_limit_hand_text_back(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic()
    alice = hall.resident("alice")
    assert "不文明" in await _write(alice, topic, "说反对的人都是傻 逼")
    assert "电话号码" in texts(await alice.say("有问题打我电话13812345678"))
    assert "超过了 500 字" in texts(await alice.say("电梯" * 300))
    assert "太短" in texts(await alice.say("好"))
    assert await fetch_all(runtime.sessions, select(Opinion)) == []
    assert "已提交" in texts(await alice.say("支持加装电梯，但请先公示施工方案"))
    opinion = await fetch_one(runtime.sessions, select(Opinion))
    assert opinion.status == "pending" and opinion.text == "支持加装电梯，但请先公示施工方案"


async def test_a_proposal_is_accepted_and_the_proposer_hears_it(runtime: Runtime) -> None:
    hall = Hall(runtime)
    alice = hall.resident("alice")
    await alice.press("menu:deliberation")
    await alice.tap("提议新议题")
    confirm = texts(await alice.say("建议在小区南门增设电动自行车充电棚，现在大家在楼道充电很危险"))
    assert "确认提交" in confirm and "充电棚" in confirm
    await alice.tap("修改")
    await alice.say("建议在小区南门增设电动自行车充电棚，避免楼道充电")
    done = texts(await alice.tap("提交"))
    assert "编号 P1" in done
    proposal = await fetch_one(runtime.sessions, select(TopicProposal))
    assert proposal.status == "pending" and proposal.text.endswith("避免楼道充电")

    spec = parse_spec(
        {"title": "南门增设电动自行车充电棚", "options": ["同意", "不同意"],
         "closes": "2026-12-20T18:00"},
        tz=SHANGHAI, now=START,
    )  # fmt: skip
    async with runtime.sessions.begin() as session:
        decision = await topic_staff.review(
            session, runtime.services, "p1", approve=True, now=START, spec=spec
        )
    assert decision.approved and decision.topic_id is not None
    topic = await fetch_one(runtime.sessions, select(Topic))
    assert topic.title == "南门增设电动自行车充电棚"
    told = await outbox_texts(runtime, "alice")
    assert any("已被采纳" in m and "《南门增设电动自行车充电棚》已经开放" in m for m in told)
    listed = texts(await alice.press("topic:list:0"))
    assert "南门增设电动自行车充电棚" in listed


async def test_a_rejected_proposal_is_explained(runtime: Runtime) -> None:
    hall = Hall(runtime)
    bob = hall.resident("bob", locale="en")
    offer = texts(await bob.say("I suggest we plant more trees in the courtyard"))
    assert "No topic is open" in offer
    await bob.tap("Propose as a new topic")
    assert "number P1" in texts(await bob.tap("Send"))
    assert "已退回 P1" in await _staff_says(runtime, "/reject P1 绿化方案已列入明年计划")
    told = await outbox_texts(runtime, "bob")
    assert told == [
        'Your proposal "I suggest we plant more trees in the courtyard" was not taken up this '
        "time. Reason: 绿化方案已列入明年计划. Thank you for caring about the community."
    ]


async def test_an_opinion_about_an_open_topic_is_offered_to_it(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic()
    await hall.topic(
        "小区公共收益如何使用", body="停车费等公共收益约12万元，可用于修路或增加健身器材。"
    )
    alice = hall.resident("alice")
    offer = texts(await alice.say("我觉得3号楼加装电梯很有必要，老人上楼太难了"))
    assert "把这条作为对《是否在3号楼北侧加装电梯》的意见提交吗？" in offer
    assert alice.labels() == ["提交", "不用了"]
    assert "已提交" in texts(await alice.tap("提交"))
    opinion = await fetch_one(runtime.sessions, select(Opinion))
    assert (opinion.topic_id, opinion.text) == (
        topic,
        "我觉得3号楼加装电梯很有必要，老人上楼太难了",
    )

    other = texts(await alice.say("公共收益应该用来修路"))
    assert "《小区公共收益如何使用》" in other
    assert "好的，没有提交" in texts(await alice.tap("不用了"))
    unrelated = texts(await alice.say("我建议小区多装几个充电桩"))
    assert "正在讨论 2 个议题" in unrelated and "看看正在讨论的议题" in alice.labels()
    assert len(await fetch_all(runtime.sessions, select(Opinion))) == 1
    replaced = texts(await alice.say("楼道灯坏了"))  # a new message while offered: handled anew
    assert "议事厅" not in replaced

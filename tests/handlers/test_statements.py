"""Statement voting (after Polis) through the real engine: statements one at a time, fewest
votes first, residents' own statements reviewed before others see them, and at closing the
broad agreement and the two opinion groups the synthetic votes were built with."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Runtime
from handlers import topic_staff
from storage.models import Opinion, StatementVote, Topic
from tests.chat import ResidentChat, fetch_all, texts
from tests.hall import CLOSES, START, Hall, outbox_texts

STATEMENTS = (
    "电梯应该尽快加装，老人等不起",
    "占用部分绿地是可以接受的",
    "费用可以按楼层高低分摊",
    "一楼住户的采光和噪音损失必须先解决",
    "应该先把绿地和停车位保住",
    "施工方案和费用明细要先公示",
)
# Two groups known in advance: upper floors want the lift, ground floors fear its costs;
# both want the plan published first.
UPPER = dict(zip(STATEMENTS, "aaadda", strict=True))
GROUND = dict(zip(STATEMENTS, "ddpaaa", strict=True))


async def _answer_all(chat: ResidentChat, topic: int, stance: dict[str, str]) -> int:
    """Answer every statement shown, as this resident's stance says; returns how many."""
    replies = await chat.press(f"topic:st:{topic}")
    answered = 0
    while "您同意这个观点吗" in texts(replies):
        shown = next(s for s in stance if f"「{s}」" in texts(replies))
        choice = stance[shown]
        action = next(b.action for b in replies[-1].buttons if b.action.endswith(f":{choice}"))
        replies = await chat.press(action)
        answered += 1
    assert "都已经表过态" in texts(replies)
    return answered


async def test_statement_voting_finds_the_two_groups(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic(
        "3号楼加装电梯：大家怎么看", options=(), mode="statements", statements=STATEMENTS
    )
    upper = [hall.resident(f"up-{n}") for n in range(6)]
    ground = [hall.resident(f"gr-{n}") for n in range(5)]
    card = texts(await upper[0].press(f"topic:view:{topic}"))
    assert "参与观点投票" in upper[0].labels() and "添加我的观点" in upper[0].labels()
    assert "《3号楼加装电梯：大家怎么看》" in card
    first = texts(await upper[0].press(f"topic:st:{topic}"))
    assert "第 1/6 条" in first and f"「{STATEMENTS[0]}」" in first
    assert upper[0].labels() == ["同意", "不同意", "跳过", "添加我的观点", "返回议题"]
    for chat in upper:
        assert await _answer_all(chat, topic, UPPER) == 6
    for chat in ground:
        assert await _answer_all(chat, topic, GROUND) == 6
    assert len(await fetch_all(runtime.sessions, select(StatementVote))) == 66

    # A resident's own statement waits for review, then goes to others first (fewest votes).
    await ground[0].press(f"topic:add:{topic}")
    assert "审核后" in texts(await ground[0].say("电梯噪音要有补偿方案"))
    assert "都已经表过态" in texts(await upper[1].press(f"topic:st:{topic}"))
    async with runtime.sessions.begin() as session:
        await topic_staff.review(session, runtime.services, "O7", approve=True, now=START)
    newest = texts(await upper[1].press(f"topic:st:{topic}"))
    assert "「电梯噪音要有补偿方案」" in newest and "第 7/7 条" in newest
    assert "都已经表过态" in texts(await ground[0].press(f"topic:st:{topic}"))  # not their own

    assert await hall.sweep(CLOSES) == 1
    [closed] = await fetch_all(runtime.sessions, select(Topic))
    found = closed.result["statements"]
    assert found["participants"] == 11
    assert [c["text"] for c in found["consensus"]] == [STATEMENTS[5]]
    groups = found["groups"]
    assert sorted(g["size"] for g in groups) == [5, 6]
    big, small = sorted(groups, key=lambda g: -g["size"])
    assert {a["text"] for a in big["agrees"]} <= set(STATEMENTS[:3])
    assert {d["text"] for d in big["disagrees"]} <= {STATEMENTS[3], STATEMENTS[4]}
    assert {a["text"] for a in small["agrees"]} <= {STATEMENTS[3], STATEMENTS[4]}
    message = (await outbox_texts(runtime, "gr-3"))[0]
    assert f"大家普遍同意的观点：\n· 「{STATEMENTS[5]}」（100% 同意）" in message
    assert "参与者大致分成 2 组" in message
    assert "第 1 组（6 人）：多数同意「" in message and "第 2 组（5 人）：多数同意「" in message
    opinions = await fetch_all(runtime.sessions, select(Opinion.status))
    assert opinions.count("approved") == 7


async def test_statement_votes_are_refused_kindly_after_closing(runtime: Runtime) -> None:
    hall = Hall(runtime)
    topic = await hall.topic(options=(), mode="statements", statements=STATEMENTS[:2])
    alice = hall.resident("alice")
    replies = await alice.press(f"topic:st:{topic}")
    agree = replies[-1].buttons[0].action
    hall.clock.now = CLOSES
    assert "已在 2026-12-15 18:00 截止" in texts(await alice.press(agree))
    assert await fetch_all(runtime.sessions, select(StatementVote)) == []

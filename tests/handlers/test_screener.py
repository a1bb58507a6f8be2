"""The ask-directly tier: a message with some risk markers gets the plain question, with the
hotlines in the same message, and each answer goes where it should (issue 17)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import Runtime, build_runtime
from bot.config import Settings
from handlers.context import Services
from knowledge.crisis import CrisisScreen
from knowledge.crisis_model import CrisisModel, Example
from storage.clock import ManualClock
from storage.models import Outbox, Ticket, TicketEvent
from tests.chat import ResidentChat, fetch_all, texts

pytestmark = pytest.mark.both_databases

WORRYING = "最近总觉得活着挺累的，也不知道为了什么"
TINY_CORPUS = [
    Example("药都攒好了，今晚就够了", True, "means_prepared", "zh"),
    Example("把猫托付给妹妹了，以后拜托她了", True, "settling_affairs", "zh"),
    Example("明天天气怎么样", False, "everyday", "zh"),
    Example("垃圾几点收", False, "everyday", "zh"),
]


@pytest.fixture
async def asking(
    settings: Settings, services: Services, clock: ManualClock
) -> AsyncIterator[Runtime]:
    """A service whose learned detector finds every message worth asking about (and none
    definite), so each answer of the screener can be followed."""
    screen = CrisisScreen.load()
    screen.model = CrisisModel.train(TINY_CORPUS, screen.prepare)
    screen.thresholds = (0.0, 1.01)
    runtime = await build_runtime(
        settings,
        upgrade=False,
        services=dataclasses.replace(services, crisis=screen),
        clock=clock,
    )
    yield runtime
    await runtime.close()


async def test_the_question_is_asked_plainly_with_the_hotlines(asking: Runtime) -> None:
    resident = ResidentChat(asking.engine, user="lin")
    asked = await resident.say(WORRYING)
    assert len(asked) == 1
    assert "有没有想过结束自己的生命" in asked[0].text and "12356" in asked[0].text
    assert resident.labels() == ["有", "没有", "不想说"]
    assert await fetch_all(asking.sessions, select(Ticket)) == []  # nothing filed yet


async def test_yes_takes_the_full_crisis_path_with_the_answer_on_the_ticket(
    asking: Runtime,
) -> None:
    resident = ResidentChat(asking.engine, user="lin")
    await resident.say(WORRYING)
    reply = await resident.tap("有")
    assert "已经转给社区工作人员" in texts(reply) and "12356" in texts(reply)
    ticket = (await fetch_all(asking.sessions, select(Ticket)))[0]
    assert (ticket.kind, ticket.priority, ticket.summary) == ("crisis", 2, WORRYING)
    answers = await fetch_all(
        asking.sessions, select(TicketEvent.data).where(TicketEvent.kind == "screener_answer")
    )
    assert answers == [{"answer": "yes"}]
    alerts = await fetch_all(asking.sessions, select(Outbox.payload))
    assert any("【紧急】" in a["text"] for a in alerts)


async def test_rather_not_say_gets_hotlines_a_counsellor_and_an_amber_alert(
    asking: Runtime,
) -> None:
    resident = ResidentChat(asking.engine, user="lin")
    await resident.say(WORRYING)
    reply = await resident.tap("不想说")
    assert "没关系" in texts(reply) and "12356" in texts(reply)
    assert "预约心理咨询室" in resident.labels()
    ticket = (await fetch_all(asking.sessions, select(Ticket)))[0]
    assert (ticket.kind, ticket.priority) == ("crisis", 1)
    alerts = [a["text"] for a in await fetch_all(asking.sessions, select(Outbox.payload))]
    assert any("【关注】" in a and ticket.number in a for a in alerts)
    assert all(WORRYING not in a for a in alerts)  # staff open the ticket to read it


async def test_no_goes_to_the_counselling_referral_and_files_nothing(asking: Runtime) -> None:
    resident = ResidentChat(asking.engine, user="lin")
    await resident.say(WORRYING)
    reply = await resident.tap("没有")
    assert "谢谢您愿意说出来" in texts(reply)
    assert await fetch_all(asking.sessions, select(Ticket)) == []
    assert await fetch_all(asking.sessions, select(Outbox)) == []


async def test_a_typed_answer_counts_and_an_old_yes_is_never_ignored(asking: Runtime) -> None:
    resident = ResidentChat(asking.engine, user="lin")
    await resident.say(WORRYING)
    assert "没关系" in texts(await resident.say("不想说"))
    assert "过期" in texts(await resident.press("screener:no"))  # an old "no" just expires
    # The "有" button of that old question, pressed later, still takes the crisis path.
    later = await resident.press("screener:yes")
    assert "已经转给社区工作人员" in texts(later)


async def test_a_definite_crisis_needs_no_question(asking: Runtime) -> None:
    resident = ResidentChat(asking.engine, user="lin")
    reply = await resident.say("我不想活了，今晚就从楼上跳下去")
    assert "请现在就拨打 110 或 120" in texts(reply) and resident.labels() == []


@pytest.fixture
async def lexicon_only(
    settings: Settings, services: Services, clock: ManualClock
) -> AsyncIterator[Runtime]:
    """A service screening with the lexicon alone, whose vague words carry some risk."""
    runtime = await build_runtime(
        settings,
        upgrade=False,
        services=dataclasses.replace(services, crisis=CrisisScreen.load()),
        clock=clock,
    )
    yield runtime
    await runtime.close()


VAGUE = ("活着好累", "好想消失", "好绝望")


async def test_vague_messages_within_an_hour_add_up_to_the_question(
    lexicon_only: Runtime, clock: ManualClock
) -> None:
    resident = ResidentChat(lexicon_only.engine, user="wu")
    for text in VAGUE[:2]:
        assert "有没有想过结束自己的生命" not in texts(await resident.say(text))
        clock.advance(minutes=20)
    asked = await resident.say(VAGUE[2])
    assert "有没有想过结束自己的生命" in texts(asked) and resident.labels()[0] == "有"


async def test_vague_messages_hours_apart_do_not(lexicon_only: Runtime, clock: ManualClock) -> None:
    resident = ResidentChat(lexicon_only.engine, user="wu")
    for text in VAGUE:
        assert "有没有想过结束自己的生命" not in texts(await resident.say(text))
        clock.advance(minutes=61)


class _BrokenModel:
    """A learned detector that fails on every message."""

    def assess(self, prepared: str) -> tuple[float, str]:
        raise RuntimeError("the model file is damaged")


async def test_a_failing_detector_fails_safe(
    settings: Settings, services: Services, clock: ManualClock
) -> None:
    screen = CrisisScreen.load()
    screen.model = _BrokenModel()  # type: ignore[assignment]
    runtime = await build_runtime(
        settings,
        upgrade=False,
        services=dataclasses.replace(services, crisis=screen),
        clock=clock,
    )
    try:
        reply = await ResidentChat(runtime.engine, user="he").say("今天天气不错")
        assert "12356" in texts(reply)  # any error in the screen counts as crisis
        assert [t.kind for t in await fetch_all(runtime.sessions, select(Ticket))] == ["crisis"]
    finally:
        await runtime.close()


async def test_a_message_only_the_model_flags_gets_the_crisis_path(alice: ResidentChat) -> None:
    """Settling affairs, written around the lexicon's words: the learned half of the screen
    (trained on the packaged corpus) flags it, and the resident gets the crisis reply."""
    text = "窗户的宽度我量过了，够了"
    assert not CrisisScreen.load().screen(text).flagged  # the lexicon alone misses it
    reply = await alice.say(text)
    assert "12356" in texts(reply) and "已经转给社区工作人员" in texts(reply)

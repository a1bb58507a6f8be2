"""The crisis response as the resident sees it and as staff find it (safety.md §3)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.app import Runtime
from handlers.engine import Engine
from storage.models import Conversation, Outbox, Ticket, TicketEvent
from tests.chat import ResidentChat, fetch_all, fetch_one, texts

pytestmark = pytest.mark.both_databases

# (message, words the reply must contain, words it must not contain)
VARIANTS = [
    (
        "我真的不想活了",
        ["你并不孤单", "12356", "010-82951332", "你现在安全吗"],
        ["110 或 120，告诉他们"],
    ),
    ("我老公又打我了，我好害怕", ["这不是你的错", "12338", "只在安全的时候回复我", "110"], []),
    ("我真想拿刀砍死楼上那个人", ["放下手里的东西", "110", "冷静"], ["砍"]),
    ("我邻居说他不想活了，要跳楼", ["请立刻拨打 110/120", "陪着他/她"], ["跳楼"]),
    ("我已经吃了一整瓶安眠药", ["请现在就拨打 110 或 120", "12356"], ["安眠药", "一整瓶"]),
    ("我在楼顶，准备跳下去", ["请现在就拨打 110 或 120"], ["楼顶", "跳"]),
    # 楼上 is where, not who: the writer is the one at risk, never "him/her".
    ("我不想活了，今晚就从楼上跳下去", ["请现在就拨打 110 或 120", "12356"], ["陪着他/她", "跳"]),
    ("我要从楼上跳下去", ["请现在就拨打 110 或 120"], ["陪着他/她", "楼上"]),
    ("我想割腕", ["你并不孤单"], ["割腕", "腕"]),
]


@pytest.mark.parametrize(("message", "present", "absent"), VARIANTS)
async def test_each_variant_is_the_fixed_reply_alone_and_never_echoes_a_method(
    alice: ResidentChat, message: str, present: list[str], absent: list[str]
) -> None:
    replies = await alice.say(message)
    assert len(replies) == 1 and replies[0].buttons == ()  # alone: no menu, no rating
    reply = replies[0].text
    for words in present:
        assert words in reply
    for words in absent:
        assert words not in reply
    assert "社区的自动助手" in reply and "已经转给社区工作人员" in reply
    for stigma in ("自杀成功", "自杀失败", "想想你父母", "😊"):
        assert stigma not in reply


async def test_imminent_danger_puts_emergency_numbers_first(alice: ResidentChat) -> None:
    replies = await alice.say("我已经吃了一整瓶安眠药")
    assert replies[0].text.startswith("请现在就拨打 110 或 120")


@pytest.mark.parametrize(
    ("message", "present"),
    [
        ("I want to kill myself", ["not alone", "110", "12356", "Are you safe right now?"]),
        ("my husband beats me every night", ["not your fault", "12338", "Only reply"]),
        ("I took all my pills", ["call 110 (police) or 120 (ambulance) now"]),
        ("my friend says she wants to end her life", ["stay with them"]),
    ],
)
async def test_english_residents_get_the_english_reply(
    runtime: Runtime, message: str, present: list[str]
) -> None:
    dana = ResidentChat(runtime.engine, user="dana", locale="en")
    reply = (await dana.say(message))[0].text
    for words in present:
        assert words in reply
    assert "pills" not in reply


async def test_the_urgent_ticket_keeps_what_staff_need_and_staff_are_alerted(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.say("我真的不想活了")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert (ticket.kind, ticket.priority, ticket.status) == ("crisis", 2, "new")
    assert ticket.summary == "我真的不想活了"
    created = await fetch_one(runtime.sessions, select(TicketEvent.data))
    assert created["severity"] == "high" and created["signal"] == "self"
    assert created["channel"] == "console"
    alert = await fetch_one(runtime.sessions, select(Outbox))
    assert (alert.channel, alert.recipient, alert.priority) == ("staff", "alerts", 100)
    assert ticket.number in alert.payload["text"] and "不想活" not in alert.payload["text"]


async def test_a_resident_on_a_height_is_not_filed_as_someone_elses_crisis(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.say("我不想活了，今晚就从楼上跳下去")
    created = await fetch_one(runtime.sessions, select(TicketEvent.data))
    assert (created["severity"], created["signal"]) == ("imminent", "self")
    alert = await fetch_one(runtime.sessions, select(Outbox))
    assert "他人报告" not in alert.payload["text"]


async def test_crisis_in_the_middle_of_a_report_interrupts_it(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.press("menu:complaint")
    await alice.say("楼道的灯坏了")
    crisis = await alice.say("算了，反正我也不想活了")
    assert "12356" in texts(crisis) and alice.seen[-1].buttons == ()
    kinds = await fetch_all(runtime.sessions, select(Ticket.kind))
    assert kinds == ["crisis"]  # the half-finished report was not filed
    conversation = await fetch_one(runtime.sessions, select(Conversation))
    assert (conversation.flow, conversation.step) == ("crisis", "hold")


async def test_crisis_mode_appends_to_the_ticket_until_the_resident_is_safe(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.say("我想自杀")
    held = await alice.say("/menu")
    assert "你现在安全吗" in texts(held) and alice.labels() == ["我现在安全"]
    await alice.say("还是很难受")
    again = await alice.say("我真的不想活了")
    assert "12356" in texts(again)
    assert await fetch_one(runtime.sessions, select(func.count()).select_from(Ticket)) == 1
    bodies = await fetch_all(
        runtime.sessions,
        select(TicketEvent.body).where(TicketEvent.kind == "resident_message"),
    )
    assert bodies == ["/menu", "还是很难受", "我真的不想活了"]
    alerts = await fetch_all(runtime.sessions, select(Outbox.dedupe_key))
    assert len(alerts) == 1  # the same severity does not alert again
    safe = await alice.tap("我现在安全")
    assert "安全" in texts(safe)
    menu = await alice.say("菜单")
    assert "反映问题" in [b.label for r in menu for b in r.buttons]


async def test_a_turn_to_imminent_danger_alerts_staff_again(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.say("我想自杀")
    await alice.say("我已经吃了一整瓶安眠药")
    alerts = await fetch_all(runtime.sessions, select(Outbox.dedupe_key))
    assert sorted(key.rsplit(":", 1)[1] for key in alerts) == ["high", "imminent"]


async def test_when_staff_close_the_crisis_ticket_the_resident_is_released(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.say("我想自杀")
    async with runtime.sessions.begin() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        ticket.status = "closed"
    replies = await alice.say("你好")
    assert "很高兴为您服务" in texts(replies)


class FlakySessions:
    """A session factory whose first transactions fail as if the database were down."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real = real
        self.failures = failures

    def begin(self) -> Any:
        return _Down() if self._fails() else self.real.begin()

    def __call__(self) -> Any:
        return _Down() if self._fails() else self.real()

    def _fails(self) -> bool:
        self.failures -= 1
        return self.failures >= 0


def _locked(*_: object, **__: object) -> None:
    raise OperationalError("BEGIN", {}, Exception("database is locked"))


class _Down:
    """A transaction or session on a database that is down: every use fails."""

    async def __aenter__(self) -> None:
        _locked()

    async def __aexit__(self, *exc: object) -> bool:
        return False

    async def execute(self, *args: object, **kwargs: object) -> None:
        _locked()

    async def commit(self) -> None:
        _locked()

    async def close(self) -> None:
        pass


async def test_if_storing_fails_the_reply_still_goes_out_and_the_alert_is_retried(
    runtime: Runtime,
) -> None:
    flaky = FlakySessions(runtime.sessions, failures=3)
    engine = Engine(flaky, runtime.services, clock=runtime.clock, rescue_delay=0.01)  # type: ignore[arg-type]
    erin = ResidentChat(engine, user="erin")
    replies = await erin.say("我真的不想活了")
    reply = texts(replies)
    assert "12356" in reply and "110" in reply
    assert "已经转给社区工作人员" not in reply  # said only once an alert is really queued
    await engine.drain()
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.kind == "crisis" and ticket.summary == "我真的不想活了"
    alert = await fetch_one(runtime.sessions, select(Outbox))
    assert alert.priority == 100
    held = await erin.say("还在吗")
    assert "你现在安全吗" in texts(held)


async def test_a_plain_message_during_an_outage_asks_to_try_again(runtime: Runtime) -> None:
    engine = Engine(
        FlakySessions(runtime.sessions, failures=1), runtime.services, clock=runtime.clock
    )  # type: ignore[arg-type]
    frank = ResidentChat(engine, user="frank")
    assert "请稍等片刻再发一次" in texts(await frank.say("路灯坏了"))
    assert "对" in [b.label for r in await frank.say("路灯坏了") for b in r.buttons]

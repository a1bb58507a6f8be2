"""The psych route: a warm reply, hotlines, "just talk", and the counselling booking."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.app import Runtime
from storage.models import Conversation, Resident, Ticket, TicketEvent
from tests.chat import ResidentChat, fetch_one, texts

pytestmark = pytest.mark.both_databases

OPTIONS = ["预约心理咨询室", "心理援助热线", "只想聊聊"]


async def test_distress_gets_a_warm_reply_three_options_and_nothing_is_stored(
    alice: ResidentChat, runtime: Runtime
) -> None:
    replies = await alice.say("最近老是失眠，感觉好孤独")
    assert "您不是一个人" in texts(replies) and alice.labels() == OPTIONS
    assert "失眠" not in texts(replies)
    conversation = await fetch_one(runtime.sessions, select(Conversation))
    assert conversation.data == {} and conversation.flow is None
    assert await fetch_one(runtime.sessions, select(func.count()).select_from(Ticket)) == 0
    assert await fetch_one(runtime.sessions, select(func.count()).select_from(TicketEvent)) == 0


async def test_hotlines_and_just_talk(alice: ResidentChat) -> None:
    await alice.say("压力好大，心里很难受")
    hotlines = await alice.tap("心理援助热线")
    assert "12356" in texts(hotlines) and "18" in texts(hotlines)  # hours, never "24h" for 12356
    talk = await alice.tap("只想聊聊")
    assert "深呼吸" in texts(talk) and "预约心理咨询室" in alice.labels()


async def test_booking_with_phone_and_consent_files_a_counseling_ticket(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.press("menu:psych")
    intro = await alice.tap("预约心理咨询室")
    assert "示例路 1 号" in texts(intro) and "9:00–17:00" in texts(intro)
    assert alice.labels()[:3] == [
        "工作日上午 9:00–11:30",
        "工作日下午 14:00–17:00",
        "周六上午 9:00–12:00",
    ]
    await alice.tap("周六上午 9:00–12:00")
    await alice.tap("打电话给我")
    bad = await alice.say("12345")
    assert "号码好像不太对" in texts(bad)
    await alice.say("138 1234 5678")
    consent = alice.last_text
    assert "单独同意" in consent and "只有咨询师能看到" in consent
    await alice.tap("同意，补充说明")
    summary = await alice.say("工作压力大，晚上睡不着")
    assert "138****5678" in texts(summary) and "13812345678" not in texts(summary)
    assert "周六上午" in texts(summary) and "已填写" in texts(summary)
    done = await alice.tap("确认预约")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.number in texts(done) and "2 个工作日" in texts(done)
    assert ticket.kind == "counseling" and ticket.summary == "工作压力大，晚上睡不着"
    assert ticket.contact_phone == "+8613812345678"
    event = await fetch_one(runtime.sessions, select(TicketEvent.data))
    assert event["slot"] == "sat-am" and event["consent"] is True
    resident = await fetch_one(runtime.sessions, select(Resident))
    assert resident.consents["sensitive"]["purpose"] == "counseling"


async def test_booking_without_consent_keeps_no_note_and_typed_answers_work(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.press("psych:book")
    await alice.say("周三下午三点以后")
    await alice.say("在这里给我发消息")
    await alice.say("不同意")
    summary = alice.last_text
    assert "周三下午三点以后" in summary and "在这里发消息" in summary and "无" in summary
    await alice.say("确认预约")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.kind == "counseling" and ticket.summary == "" and ticket.contact_phone is None
    resident = await fetch_one(runtime.sessions, select(Resident))
    assert "sensitive" not in resident.consents


async def test_a_note_can_be_skipped_and_the_booking_cancelled(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.press("psych:book")
    await alice.tap("工作日上午 9:00–11:30")
    await alice.say("13812345678")  # a number typed instead of choosing "call me"
    await alice.tap("同意，补充说明")
    await alice.say("跳过")
    assert "138****5678" in alice.last_text and "无" in alice.last_text
    await alice.tap("取消")
    assert "已取消" in alice.last_text
    assert await fetch_one(runtime.sessions, select(func.count()).select_from(Ticket)) == 0


async def test_stale_booking_buttons_are_answered(alice: ResidentChat) -> None:
    replies = await alice.press("counseling:slot:wd-am")
    assert "过期" in texts(replies)

"""What a resident sees, turn by turn, through the real engine on a throwaway database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Runtime
from handlers.types import Incoming
from storage.models import Resident, Ticket
from tests.chat import ResidentChat, fetch_one, texts

pytestmark = pytest.mark.both_databases


async def _one(runtime: Runtime, statement: Any) -> Any:
    return await fetch_one(runtime.sessions, statement)


async def test_start_welcomes_with_privacy_notice_and_menu(
    alice: ResidentChat, runtime: Runtime
) -> None:
    replies = await alice.say("/start")
    shown = texts(replies)
    assert "邻里" in shown
    assert "隐私" in shown and "Telegram" in shown and "删除" in shown
    assert "示例市幸福街道和谐社区居委会" in shown  # the operator, from places.yaml
    assert "365 天" in shown and "180 天" in shown  # the retention the scheduler enforces
    assert alice.labels() == [
        "反映问题",
        "心理支持",
        "办事咨询",
        "居民议事厅",
        "我的事项",
        "联系工作人员",
        "语言 / Language",
    ]
    resident = await _one(runtime, select(Resident).where(Resident.external_id == "alice"))
    assert resident.welcomed_at is not None and resident.locale == "zh"


async def test_first_visit_gets_welcome_and_return_visit_a_short_greeting(
    alice: ResidentChat,
) -> None:
    first = await alice.press("hello")
    assert "隐私" in texts(first)
    again = await alice.press("hello")
    assert "欢迎回来" in texts(again) and "隐私" not in texts(again)
    assert "联系工作人员" in alice.labels()


async def test_language_is_chosen_remembered_and_used(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.say("/lang")
    assert alice.labels() == ["中文", "English"]
    replies = await alice.tap("English")
    assert "English" in texts(replies)
    help_replies = await alice.say("/help")
    assert "Report a problem" in texts(help_replies)
    resident = await _one(runtime, select(Resident).where(Resident.external_id == "alice"))
    assert resident.locale == "en"
    await alice.say("/lang zh")
    assert "中文" in alice.last_text


async def test_english_client_is_answered_in_english(runtime: Runtime) -> None:
    bob = ResidentChat(runtime.engine, user="bob", locale="en-GB")
    replies = await bob.say("/start")
    assert "Privacy" in texts(replies)


async def test_a_request_for_a_person_becomes_a_consultation_ticket(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.press("handoff:start")
    await alice.say("想咨询一下社区食堂的开放时间和价格")
    done = await alice.tap("确认转给工作人员")
    ticket = await _one(runtime, select(Ticket))
    assert ticket.kind == "consultation" and ticket.number in texts(done)
    status = await alice.say("我的事项")
    assert ticket.number in texts(status) and "待受理" in texts(status)


async def test_the_same_update_twice_has_one_effect(alice: ResidentChat, runtime: Runtime) -> None:
    await alice.press("handoff:start")
    await alice.say("想咨询一下社区食堂的开放时间")
    first = await alice.send(action="handoff:confirm", update_id="dup-1")
    second = await alice.send(action="handoff:confirm", update_id="dup-1")
    assert first and second == []
    # What the update was answered is kept, for a channel to give again (the web chat).
    redelivery = Incoming(
        channel="console", user_id="alice", update_id="dup-1", action="handoff:confirm"
    )
    handled = await runtime.engine.handle(redelivery)
    assert handled.duplicate and handled.earlier == tuple(first)
    assert await _one(runtime, select(func.count()).select_from(Ticket)) == 1
    again = await alice.press("handoff:confirm")  # an old button from a finished flow
    assert "过期" in texts(again)
    assert await _one(runtime, select(func.count()).select_from(Ticket)) == 1


async def test_cancel_leaves_the_flow_and_files_nothing(
    alice: ResidentChat, runtime: Runtime
) -> None:
    await alice.press("handoff:start")
    await alice.say("取消")
    assert "已取消" in alice.last_text
    await alice.say("/cancel")
    assert "没有进行中" in alice.last_text
    assert await _one(runtime, select(func.count()).select_from(Ticket)) == 0


async def test_stale_and_unknown_buttons_get_a_friendly_answer(alice: ResidentChat) -> None:
    stale = await alice.press("handoff:confirm")
    assert "过期" in texts(stale) and "联系工作人员" in alice.labels()
    unknown = await alice.press("zzz:42")
    assert "不认识" in texts(unknown)
    wrong_lang = await alice.press("lang:fr")
    assert "不认识" in texts(wrong_lang)
    command = await alice.say("/frobnicate")
    assert "不认识这个指令" in texts(command)


async def test_a_flow_resumes_after_the_engine_is_rebuilt(runtime: Runtime, settings) -> None:  # type: ignore[no-untyped-def]
    from bot.app import build_runtime

    first = ResidentChat(runtime.engine, user="carol")
    await first.press("handoff:start")
    restarted = await build_runtime(settings, upgrade=False, services=runtime.services)
    try:
        carol = ResidentChat(restarted.engine, user="carol")
        replies = await carol.say("想咨询一下社区食堂的开放时间")
        assert "社区食堂" in texts(replies) and "确认转给工作人员" in carol.labels()
    finally:
        await restarted.close()


async def test_bad_input_gets_clear_answers(alice: ResidentChat) -> None:
    assert "没有收到文字" in texts(await alice.say("   "))
    too_long = await alice.say("楼" * 20_000)
    assert "太长" in texts(too_long) and "2000" in texts(too_long)
    emoji = await alice.say("😀😀🎉")
    assert "没太明白" in texts(emoji)
    sticker = await alice.send(unsupported="sticker")
    assert "文字" in texts(sticker)
    photo = await alice.send(photo="file-1")
    assert "反映问题" in texts(photo)


async def test_greeting_question_and_proposal_each_get_their_answer(alice: ResidentChat) -> None:
    assert "很高兴为您服务" in texts(await alice.say("你好"))
    assert "不客气" in texts(await alice.say("谢谢！"))
    question = await alice.say("居住证怎么办理？")
    assert "居住证" in texts(question) and "有帮助吗" in texts(question)
    proposal = await alice.say("我建议在小区里多装几个健身器材")
    assert "谢谢您的想法" in texts(proposal)


async def test_status_without_tickets(alice: ResidentChat) -> None:
    assert "还没有提交过" in texts(await alice.press("status"))

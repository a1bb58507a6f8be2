"""Service questions: answers from the knowledge base with the office, feedback, and an
honest "not sure" that records the question and offers a person."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import Runtime
from storage.models import FaqFeedback, Ticket, UnansweredQuestion
from tests.chat import ResidentChat, fetch_all, fetch_one, texts


async def test_a_question_is_answered_with_the_office_and_a_feedback_question(
    alice: ResidentChat,
) -> None:
    replies = await alice.say("外地人来这边打工，要办居住证需要带什么材料？")
    shown = texts(replies)
    assert "身份证" in shown
    assert "示例路派出所户籍窗口" in shown and "0000-0000004" in shown  # from places.yaml
    assert "有帮助吗" in shown
    assert alice.labels()[:2] == ["👍 有帮助", "👎 没帮助"]


async def test_feedback_is_stored(alice: ResidentChat, runtime: Runtime) -> None:
    await alice.say("低保怎么申请？")
    thanks = await alice.tap("👍 有帮助")
    assert "谢谢您的反馈" in texts(thanks)
    await alice.say("家里的狗要去哪里登记")
    sorry = await alice.tap("👎 没帮助")
    assert "转给社区工作人员" in texts(sorry) and "联系工作人员" in alice.labels()
    votes = await fetch_all(runtime.sessions, select(FaqFeedback).order_by(FaqFeedback.id))
    assert [(v.faq_id, v.helpful) for v in votes] == [
        ("low-income", True),
        ("dog-registration", False),
    ]


async def test_an_english_question_gets_the_english_answer(runtime: Runtime) -> None:
    ben = ResidentChat(runtime.engine, user="ben")  # a Chinese-locale resident asking in English
    replies = await ben.say("How do I register my dog?")
    shown = texts(replies)
    assert "Was this helpful?" in shown and "Where:" in shown


async def test_an_unknown_question_is_recorded_and_a_person_offered(
    alice: ResidentChat, runtime: Runtime
) -> None:
    replies = await alice.say("办理护照要去哪里？")
    shown = texts(replies)
    assert "不太确定" in shown and "确认转给工作人员" in alice.labels()
    question = await fetch_one(runtime.sessions, select(UnansweredQuestion))
    assert "护照" in question.text and question.handled is False
    await alice.tap("确认转给工作人员")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.kind == "consultation" and "护照" in ticket.summary


async def test_out_of_scope_questions_are_not_answered_from_the_knowledge_base(
    alice: ResidentChat, runtime: Runtime
) -> None:
    for question in ("红烧肉怎么做才好吃", "明天会下雨吗", "how do I reset my iphone"):
        replies = await alice.say(question)
        assert "有帮助吗" not in texts(replies) and "Was this helpful" not in texts(replies)
    count = select(func.count()).select_from(FaqFeedback)
    assert await fetch_one(runtime.sessions, count) == 0


async def test_stale_feedback_buttons_are_answered(alice: ResidentChat) -> None:
    assert "过期" in texts(await alice.press("faq:up:no-such-topic"))
    assert "过期" in texts(await alice.press("faq:sideways"))


AMBIGUOUS = "物業亂收停車費 業主自己的車位還要交管理費"  # a report, or a question about fees?


async def test_when_two_routes_are_close_the_bot_asks_instead_of_guessing(
    alice: ResidentChat, runtime: Runtime
) -> None:
    asked = await alice.say(AMBIGUOUS)
    assert "您是想" in texts(asked) and sorted(alice.labels()) == ["办事咨询", "反映问题"]
    offer = await alice.tap("反映问题")
    assert "物业服务" in texts(offer) and alice.labels()[0] == "对"
    await alice.tap("对")
    await alice.say("和谐小区6号楼")
    await alice.tap("跳过")
    await alice.tap("跳过")
    await alice.tap("仅工作人员可见")
    await alice.tap("确认提交")
    ticket = await fetch_one(runtime.sessions, select(Ticket))
    assert ticket.summary == AMBIGUOUS and ticket.category == "property"


async def test_a_new_message_instead_of_choosing_is_handled_as_new(alice: ResidentChat) -> None:
    await alice.say(AMBIGUOUS)
    replies = await alice.say("你好")
    assert "很高兴为您服务" in texts(replies)
    assert "过期" in texts(await alice.press("clarify:complaint"))

"""Matching opinion-like messages to open topics, and the hall's word filter."""

from __future__ import annotations

from handlers.context import Services
from handlers.router import understand
from knowledge.moderation import WordFilter
from knowledge.topic_match import TopicMatcher, TopicText, with_topic

TOPICS = [
    TopicText(
        1, "是否在3号楼北侧加装电梯", "3号楼共18户，多位老人上下楼困难。加装电梯需要占用北侧绿地。"
    ),
    TopicText(
        2, "小区公共收益如何使用", "停车费等公共收益约12万元，可用于修缮道路或增加健身器材。"
    ),
    TopicText(
        3, "More benches in the courtyard", "Residents asked for seating near the playground."
    ),
]


def test_opinions_find_their_topic_and_others_none(services: Services) -> None:
    matcher = TopicMatcher(services.faq.analyzer, TOPICS)
    cases = {
        "我觉得3号楼加装电梯很有必要，老人上楼太难了": 1,
        "我支持加装电梯": 1,
        "電梯加裝後一樓採光會受影響": 1,  # traditional characters
        "北侧绿地不能占用": 1,
        "公共收益应该用来修路": 2,
        "we should have more benches": 3,
        "我建议小区多装几个充电桩": None,
        "我反对在小区里建停车场": None,
        "同意方案二": None,
    }
    assert {text: matcher.best(text) for text in cases} == cases


def test_route_decision_gets_the_topic_only_for_opinions(services: Services) -> None:
    matcher = TopicMatcher(services.faq.analyzer, TOPICS)
    opinion = with_topic(understand(services, "我支持加装电梯"), matcher)
    assert (opinion.intent, opinion.topic_id) == ("deliberation", 1)
    report = with_topic(understand(services, "3号楼的电梯坏了"), matcher)
    assert (report.intent, report.topic_id) == ("complaint", None)
    assert with_topic(understand(services, "我支持加装电梯"), None).topic_id is None


def test_word_filter_finds_insults_and_numbers_not_ordinary_words() -> None:
    words = WordFilter.load()
    assert words.check("说反对的人都是傻 逼") == ["abuse"]
    assert words.check("you IDIOTS... no, you idiot") == ["abuse"]
    assert words.check("电话 13812345678") == ["personal"]
    assert words.check("身份证110101199003071234") == ["personal"]
    for fine in ("我坚决反对这个方案", "Idiomatic English is fine", "楼层有18层，需要13号线",
                 "shiitake mushrooms"):  # fmt: skip
        assert words.check(fine) == [], fine

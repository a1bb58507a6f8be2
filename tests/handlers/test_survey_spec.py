"""Survey definitions: the documented example reads as intended, and every mistake is named
in the staff member's language."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.dashboard.core import load_texts
from handlers.spec_problem import describe
from handlers.survey_spec import SurveyError, parse_survey

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "survey-example.yaml"
QUESTION = "  - kind: rating\n    text: 打分\n"


def _problems(source: str, locale: str = "en") -> list[str]:
    """What staff read about `source` (English, as the CLI prints it, unless told)."""
    with pytest.raises(SurveyError) as caught:
        parse_survey(source, tz=SHANGHAI, now=NOW)
    texts = load_texts()
    return [describe(texts, locale, problem) for problem in caught.value.problems]


def test_the_documented_example() -> None:
    spec = parse_survey(EXAMPLE.read_text("utf-8"), tz=SHANGHAI, now=NOW)
    assert spec.title == "小区停车满意度调查" and spec.title_en == "Parking satisfaction survey"
    assert spec.anonymous and spec.audience == "all" and spec.remind_after_days == 3
    assert spec.send_at == datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    assert spec.closes_at == datetime(2026, 12, 10, 18, 0, tzinfo=SHANGHAI)
    assert [q.kind for q in spec.questions] == ["single", "multiple", "rating", "text"]
    assert spec.questions[0].options == ("满意", "一般", "不满意")
    assert spec.questions[1].options_en == ("Too few spaces", "Fees", "Illegal parking")
    assert [q.optional for q in spec.questions] == [False, False, False, True]


def test_defaults_send_now_to_everyone_anonymously() -> None:
    spec = parse_survey(f"title: 小调查\nquestions:\n{QUESTION}", tz=SHANGHAI, now=NOW)
    assert spec.send_at == NOW and spec.closes_at is None and spec.anonymous
    assert spec.audience == "all" and spec.intro == "" and spec.remind_after_days is None


ELEVEN = ", ".join(f"选项{i}" for i in range(11))
MISTAKES = (
    "title: 调查\n"
    "audience: building:3\n"
    "send_at: 2026-12-05T09:00\n"
    "closes: 2026-12-01T09:00\n"
    "colour: red\n"
    "questions:\n"
    "  - kind: scale\n    text: 打分\n"
    "  - kind: single\n    text: 选一个\n"
    f"  - kind: multiple\n    text: 多选\n    options: [{ELEVEN}]\n"
    "  - kind: rating\n    text: 打分\n    options: [1, 2]\n"
    "  - kind: single\n    text: 重复\n    options: [是, 是]\n"
    "  - kind: text\n"
)


def test_each_mistake_is_named() -> None:
    problems = _problems(MISTAKES)
    assert problems == [
        "unknown field 'colour'",
        "audience must be all, grid:<id> or tag:<name>, not 'building:3'",
        "closes must be after send_at (and in the future)",
        "question 1: unknown kind 'scale' (use single, multiple, rating or text)",
        "question 2: a single choice question needs options: a list of at least 2",
        "question 3: at most 10 options, not 11",
        "question 4: options are only for single and multiple choice questions",
        "question 5: options must all be different",
        "question 6: text is required",
    ]


def test_each_mistake_is_named_in_chinese_for_chinese_staff() -> None:
    assert _problems(MISTAKES, "zh") == [
        "无法识别的字段“colour”。",
        "发送对象（audience）只能是 all、grid:<网格编号> 或 tag:<标签名>，不能是“building:3”。",
        "截止时间（closes）必须晚于发送时间（send_at），而且要在将来。",
        "第 1 题：题型（kind）“scale”不存在，请用 single、multiple、rating 或 text。",
        "第 2 题：选择题（single）需要填写 options，至少 2 个选项。",
        "第 3 题：options 最多 10 个，现在有 11 个。",
        "第 4 题：只有单选题和多选题（single、multiple）才能填 options。",
        "第 5 题：options 里的选项不能重复。",
        "第 6 题：text 必填。",
    ]


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("title: [unclosed", "not valid YAML"),
        ("- just a list", "the file must be a mapping"),
        ("questions: []", "title is required"),
        ("title: x\nquestions: []", "questions: a list of at least one question is needed"),
        (f"title: x\nsend_at: next monday\nquestions:\n{QUESTION}", "send_at must look like"),
        (f"title: x\nremind_after_days: 0\nquestions:\n{QUESTION}", "remind_after_days must be"),
        (
            f"title: x\nsend_at: 2026-12-01T09:00\ncloses: 2026-12-02T09:00\n"
            f"remind_after_days: 3\nquestions:\n{QUESTION}",
            "the reminder would come after the survey closes",
        ),
        (f"title: x\nanonymous: maybe\nquestions:\n{QUESTION}", "anonymous must be true or false"),
        ("title: x\nquestions:\n  - text: y\n", "question 1: kind is required"),
        (
            "title: x\nquestions:\n  - kind: single\n    text: y\n    options: [a, b]\n"
            "    options_en: [A]\n",
            "options_en must have as many entries as options",
        ),
        (
            "title: x\nquestions:\n  - kind: single\n    text: y\n    options: [a, "
            + "长" * 41
            + "]\n",
            "options longer than 40 characters",
        ),
    ],
)
def test_one_mistake(source: str, problem: str) -> None:
    assert any(problem in p for p in _problems(source)), _problems(source)

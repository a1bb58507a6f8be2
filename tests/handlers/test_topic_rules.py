"""Decision rules at their edges, and the topic YAML staff write."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.dashboard.core import load_texts
from handlers.spec_problem import describe
from handlers.topic_rules import decide
from handlers.topic_spec import TopicError, parse_spec, read_spec

YES_NO = ("同意", "不同意")
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)


def test_majority_needs_more_than_half_of_votes_cast() -> None:
    assert decide("majority", YES_NO, [3, 2], eligible=100, participants=5)["winner"] == "同意"
    assert not decide("majority", YES_NO, [2, 2], eligible=4, participants=4)["decided"]
    three = decide("majority", ("A", "B", "C"), [4, 3, 3], eligible=10, participants=10)
    assert not three["decided"] and three["share"] == 0.4  # a plurality is not a majority
    assert decide("majority", (), [], eligible=10, participants=4)["turnout"] == 0.4


def test_civil_code_278_quorum_is_two_thirds_of_eligible() -> None:
    missed = decide("civil-code-278", YES_NO, [5, 0], eligible=9, participants=5)
    assert (missed["quorum_needed"], missed["quorum_met"], missed["decided"]) == (6, False, False)
    met = decide("civil-code-278", YES_NO, [4, 2], eligible=9, participants=6)
    assert met["quorum_met"] and met["winner"] == "同意" and met["turnout"] == 0.6667
    half = decide("civil-code-278", YES_NO, [3, 3], eligible=9, participants=6)
    assert half["quorum_met"] and not half["decided"]  # exactly half is not more than half


def test_civil_code_278_major_needs_three_quarters_of_those_voting() -> None:
    assert decide("civil-code-278-major", YES_NO, [6, 2], eligible=12, participants=8)["decided"]
    short = decide("civil-code-278-major", YES_NO, [5, 3], eligible=12, participants=8)
    assert short["quorum_met"] and not short["decided"]
    none = decide("civil-code-278-major", YES_NO, [0, 0], eligible=3, participants=0)
    assert none["quorum_met"] is False and none["eligible"] == 3


def test_topic_yaml_is_read_in_local_time_with_defaults() -> None:
    spec = parse_spec(
        {"title": "是否在3号楼北侧加装电梯", "body": "背景说明", "options": ["同意", "不同意"],
         "opens": "2026-12-01T09:00", "closes": "2026-12-15T18:00", "scope": "building:3",
         "rule": "civil-code-278", "mode": "vote"},
        tz=TZ, now=NOW,
    )  # fmt: skip
    assert spec.closes_at == datetime(2026, 12, 15, 18, 0, tzinfo=TZ)
    assert (spec.scope, spec.rule, spec.options) == ("building:3", "civil-code-278", YES_NO)
    plain = parse_spec({"title": "征求意见", "closes": "2026-12-10T12:00"}, tz=TZ, now=NOW)
    assert plain.opens_at == NOW and plain.options == () and plain.rule == "majority"


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ({"closes": "2026-12-15T18:00"}, "title is required, at most 100 characters"),
        ({"title": "x"}, "closes is required (local time, e.g. 2026-12-15T18:00)"),
        ({"title": "x", "closes": "15/12/2026"}, "closes must look like 2026-12-15T18:00"),
        ({"title": "x", "closes": "2026-11-01T00:00"}, "closes must be after opens"),
        (
            {"title": "x", "closes": "2026-12-15", "scope": "street:1"},
            "scope must be all, grid:<id> or building:<number>, not 'street:1'",
        ),
        (
            {"title": "x", "closes": "2026-12-15", "rule": "civil-code-278"},
            "rule civil-code-278 needs options to vote on",
        ),
        (
            {"title": "x", "closes": "2026-12-15", "options": ["同意"]},
            "options: none, or 2 to 8 different labels",
        ),
        ({"title": "x", "closes": "2026-12-15", "colour": "red"}, "unknown fields: colour; known"),
    ],
)
def test_bad_topic_yaml_says_what_is_wrong(data: dict[str, object], complaint: str) -> None:
    with pytest.raises(TopicError) as caught:
        parse_spec(data, tz=TZ, now=NOW)
    assert isinstance(caught.value, ValueError)  # callers that catch ValueError still do
    assert describe(load_texts(), "en", caught.value.problem).startswith(complaint)


def test_a_topic_problem_reads_naturally_in_chinese() -> None:
    with pytest.raises(TopicError) as caught:
        parse_spec({"title": "x" * 101, "closes": "2026-12-15"}, tz=TZ, now=NOW)
    assert (
        describe(load_texts(), "zh", caught.value.problem) == "标题（title）必填，最多 100 个字。"
    )


def test_a_topic_file_that_is_not_yaml_is_named() -> None:
    with pytest.raises(TopicError) as caught:
        read_spec("title: [unclosed\n", tz=TZ, now=NOW)
    assert describe(load_texts(), "en", caught.value.problem).startswith("not valid YAML: ")

"""Every problem a topic or survey definition can have is in the staff catalogue, in Chinese
and English, and reads whole: each one is triggered here and rendered in both languages."""

from __future__ import annotations

import re
import string
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.dashboard.core import load_texts
from handlers.i18n import LOCALES
from handlers.spec_problem import IN_QUESTION, Problem, describe
from handlers.survey_spec import SurveyError, parse_survey
from handlers.topic_spec import TopicError, read_spec

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
SOURCES = ("spec_problem.py", "topic_spec.py", "survey_spec.py")
KEY = re.compile(r'"((?:topic|survey)_spec\.[a-z_]+)"')
SECTIONS = ("topic_spec", "survey_spec")
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
CJK = re.compile(r"[\u4e00-\u9fff]")

TOPICS = [
    "title: [unclosed\n",
    "- a list\n",
    "title: x\ncloses: 2026-12-15T18:00\ncolour: red\n",
    "closes: 2026-12-15T18:00\n",
    "title: x\ncloses: 2026-12-15T18:00\noptions: [同意]\n",
    "title: x\ncloses: 2026-12-15T18:00\nrule: lottery\n",
    "title: x\ncloses: 2026-12-15T18:00\nmode: poll\n",
    "title: x\ncloses: 2026-12-15T18:00\nrule: civil-code-278\n",
    "title: x\ncloses: 2026-12-15T18:00\nscope: street:1\n",
    "title: x\n",
    "title: x\ncloses: 15/12/2026\n",
    "title: x\ncloses: 2026-11-01T09:00\n",
    "title: x\ncloses: 2026-12-15T18:00\nstatements: one\n",
    "title: x\ncloses: 2026-12-15T18:00\nstatements: ['']\n",
]
RATING = {"kind": "rating", "text": "y"}
CHOICE = {"kind": "single", "text": "y"}
SURVEYS: list[Any] = [
    "title: [unclosed\n",
    ["a list"],
    {"title": "x", "questions": []},
    {"title": "x", "questions": [RATING] * 31},
    {
        "title": "x",
        "send_at": "2026-12-02T09:00",
        "closes": "2026-12-03T09:00",
        "remind_after_days": 3,
        "questions": [RATING],
    },
    {
        "title": ["not", "text"],
        "title_en": "x" * 201,
        "colour": "red",
        "audience": "building:3",
        "anonymous": "maybe",
        "send_at": "next monday",
        "closes": "2026-11-01T09:00",
        "remind_after_days": 0,
        "questions": [
            "just text",
            {**RATING, "hue": "red"},
            {"text": "no kind"},
            {"kind": "scale", "text": "y"},
            {**RATING, "options": ["a", "b"]},
            CHOICE,
            {**CHOICE, "options": [str(n) for n in range(11)]},
            {**CHOICE, "options": ["a", ""]},
            {**CHOICE, "options": ["a", "a"]},
            {**CHOICE, "options": ["a", "长" * 41]},
            {**CHOICE, "options": ["a", "b"], "options_en": ["A", "B", "C"]},
            {**RATING, "optional": "maybe"},
        ],
    },
]


def _used() -> set[str]:
    return {key for name in SOURCES for key in KEY.findall((HANDLERS / name).read_text("utf-8"))}


def _triggered() -> list[Problem]:
    found: list[Problem] = []
    for source in TOPICS:
        try:
            read_spec(source, tz=TZ, now=NOW)
        except TopicError as error:
            found.append(error.problem)
    for survey in SURVEYS:
        text = survey if isinstance(survey, str) else yaml.safe_dump(survey, allow_unicode=True)
        try:
            parse_survey(text, tz=TZ, now=NOW)
        except SurveyError as error:
            found += error.problems
    return found


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_problem_key_in_the_code_is_in_both_catalogues_and_no_other() -> None:
    texts = load_texts()
    used = _used()
    assert len(used) > 35 and IN_QUESTION in used
    assert used - texts.all_keys() == set()
    assert {key for key in texts.all_keys() if key.split(".")[0] in SECTIONS} == used
    for key in used:
        zh, en = texts.get("zh", key), texts.get("en", key)
        assert CJK.search(zh) and not CJK.search(en), key
        assert _placeholders(zh) == _placeholders(en), key


def test_every_problem_is_triggered_and_reads_whole_in_both_languages() -> None:
    texts = load_texts()
    problems = _triggered()
    keys = {p.key for p in problems} | {IN_QUESTION for p in problems if p.question}
    assert keys == _used()  # a new problem needs a case above
    for problem in problems:
        for locale in LOCALES:
            text = describe(texts, locale, problem)  # a missing value raises KeyError
            assert text and "{" not in text, (problem, locale)


def test_a_list_of_choices_is_joined_as_each_language_joins_lists() -> None:
    texts = load_texts()
    with pytest.raises(TopicError) as caught:
        read_spec("title: x\ncloses: 2026-12-15T18:00\nmode: poll\n", tz=TZ, now=NOW)
    problem = caught.value.problem
    assert "vote、statements" in describe(texts, "zh", problem)
    assert "vote, statements" in describe(texts, "en", problem)

"""What is wrong with a definition staff wrote (a topic or a survey), as a key of the staff
catalogue with its values, so the dashboard says it in the staff member's language and the
CLI in English."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from handlers.i18n import Texts

IN_QUESTION = "survey_spec.in_question"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing to fix; `question` is the survey question it is about (from 1), if any."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict)
    question: int | None = None


def describe(texts: Texts, locale: str, problem: Problem) -> str:
    """The problem as staff read it, from the staff (dashboard) catalogue `texts`; a list of
    values (field names, allowed choices) is joined as the language joins lists."""
    separator = "、" if locale == "zh" else ", "
    params = {
        name: separator.join(map(str, value)) if isinstance(value, tuple) else value
        for name, value in problem.params.items()
    }
    text = texts.get(locale, problem.key, **params)
    if problem.question is None:
        return text
    return texts.get(locale, IN_QUESTION, number=problem.question, problem=text)

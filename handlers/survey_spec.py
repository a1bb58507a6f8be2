"""Reading a survey definition (YAML) and saying clearly what is wrong with it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from handlers.spec_problem import Problem
from knowledge.data import load_yaml
from storage.broadcasts import parse_audience
from storage.surveys import CHOICE_KINDS, KINDS, QuestionSpec, SurveySpec

MAX_QUESTIONS = 30
MAX_OPTIONS = 10
MAX_OPTION_CHARS = 40  # an option is a button label
MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 1000
SURVEY_KEYS = {"title", "title_en", "intro", "intro_en", "anonymous", "audience", "send_at",
               "closes", "remind_after_days", "questions"}  # fmt: skip
QUESTION_KEYS = {"kind", "text", "text_en", "options", "options_en", "optional"}


class SurveyError(ValueError):
    """A survey definition with problems; `problems` lists each one for the person fixing it
    (staff catalogue keys, see `handlers.spec_problem.describe`)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(problem.key for problem in problems))
        self.problems = problems


def parse_survey(source: str, *, tz: ZoneInfo, now: datetime) -> SurveySpec:
    """Validate a YAML survey definition; times without a zone are local time in `tz`."""
    try:
        data = load_yaml(source)
    except yaml.YAMLError as exc:
        raise SurveyError([Problem("survey_spec.bad_yaml", {"error": str(exc)})]) from None
    if not isinstance(data, dict):
        raise SurveyError([Problem("survey_spec.not_mapping")])
    problems = [
        Problem("survey_spec.unknown_field", {"field": k}) for k in data if k not in SURVEY_KEYS
    ]
    title = _text(data, "title", problems, required=True, limit=MAX_TITLE_CHARS)
    audience = str(data.get("audience", "all"))
    try:
        parse_audience(audience)
    except ValueError:
        problems.append(Problem("survey_spec.audience", {"audience": audience}))
    anonymous = data.get("anonymous", True)
    if not isinstance(anonymous, bool):
        problems.append(Problem("survey_spec.anonymous"))
    send_at = _time(data.get("send_at"), "send_at", tz, problems) or now
    closes_at = _time(data.get("closes"), "closes", tz, problems)
    if closes_at is not None and closes_at <= max(send_at, now):
        problems.append(Problem("survey_spec.closes_too_early"))
    remind = data.get("remind_after_days")
    if remind is not None and (
        not isinstance(remind, int) or isinstance(remind, bool) or remind < 1
    ):
        problems.append(Problem("survey_spec.remind_days"))
        remind = None
    if remind is not None and closes_at is not None and (closes_at - send_at).days < remind:
        problems.append(Problem("survey_spec.remind_too_late"))
    title_en = _text(data, "title_en", problems, limit=MAX_TITLE_CHARS) or None
    intro = _text(data, "intro", problems, limit=MAX_TEXT_CHARS)
    intro_en = _text(data, "intro_en", problems, limit=MAX_TEXT_CHARS) or None
    questions = _questions(data.get("questions"), problems)
    if problems:
        raise SurveyError(problems)
    return SurveySpec(
        title=title, title_en=title_en, intro=intro, intro_en=intro_en,
        anonymous=bool(anonymous), audience=audience, send_at=send_at, closes_at=closes_at,
        remind_after_days=remind, questions=tuple(questions),
    )  # fmt: skip


def _questions(raw: Any, problems: list[Problem]) -> list[QuestionSpec]:
    if not isinstance(raw, list) or not raw:
        problems.append(Problem("survey_spec.no_questions"))
        return []
    if len(raw) > MAX_QUESTIONS:
        problems.append(Problem("survey_spec.too_many_questions", {"most": MAX_QUESTIONS}))
    found = []
    for number, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(Problem("survey_spec.question_not_mapping", question=number))
            continue
        problems += [
            Problem("survey_spec.unknown_field", {"field": k}, number)
            for k in item
            if k not in QUESTION_KEYS
        ]
        kind = item.get("kind")
        if kind is None:
            problems.append(Problem("survey_spec.required", {"field": "kind"}, number))
            continue
        if kind not in KINDS:
            problems.append(Problem("survey_spec.unknown_kind", {"kind": kind}, number))
            continue
        text = _text(item, "text", problems, required=True, limit=MAX_TEXT_CHARS, question=number)
        options = _options(item, "options", kind, problems, number)
        options_en = (
            _options(item, "options_en", kind, problems, number) if "options_en" in item else None
        )
        if options_en is not None and len(options_en) != len(options):
            problems.append(Problem("survey_spec.options_en_count", question=number))
        optional = item.get("optional", False)
        if not isinstance(optional, bool):
            problems.append(Problem("survey_spec.optional", question=number))
        text_en = _text(item, "text_en", problems, limit=MAX_TEXT_CHARS, question=number)
        found.append(
            QuestionSpec(
                kind=kind,
                text=text,
                options=tuple(options),
                optional=bool(optional),
                text_en=text_en or None,
                options_en=tuple(options_en) if options_en else None,
            )
        )
    return found


def _options(
    item: dict[str, Any], key: str, kind: str, problems: list[Problem], number: int
) -> list[str]:
    def problem(name: str, **params: object) -> None:
        problems.append(Problem(name, {"field": key, **params}, number))

    raw = item.get(key)
    if kind not in CHOICE_KINDS:
        if raw is not None:
            problem("survey_spec.options_not_for_kind")
        return []
    if not isinstance(raw, list) or len(raw) < 2:
        problem("survey_spec.options_needed", kind=kind)
        return []
    if len(raw) > MAX_OPTIONS:
        problem("survey_spec.too_many_options", most=MAX_OPTIONS, count=len(raw))
    labels = [str(o).strip() if o is not None else "" for o in raw]
    if any(not label for label in labels):
        problem("survey_spec.empty_option")
    if len(set(labels)) != len(labels):
        problem("survey_spec.duplicate_options")
    long = [label for label in labels if len(label) > MAX_OPTION_CHARS]
    if long:
        problem("survey_spec.long_option", limit=MAX_OPTION_CHARS, label=long[0])
    return labels


def _text(
    data: dict[str, Any], key: str, problems: list[Problem], *, required: bool = False,
    limit: int, question: int | None = None,
) -> str:  # fmt: skip
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(Problem("survey_spec.required", {"field": key}, question))
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        problems.append(Problem("survey_spec.not_text", {"field": key}, question))
        return ""
    text = str(value).strip()
    if len(text) > limit:
        problems.append(Problem("survey_spec.too_long", {"field": key, "limit": limit}, question))
    return text


def _time(value: Any, key: str, tz: ZoneInfo, problems: list[Problem]) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            problems.append(Problem("survey_spec.bad_time", {"field": key, "value": value}))
            return None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed

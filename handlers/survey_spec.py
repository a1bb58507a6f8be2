"""Reading a survey definition (YAML) and saying clearly what is wrong with it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import yaml

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
    """A survey definition with problems; `problems` lists each one for the person fixing it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_survey(source: str, *, tz: ZoneInfo, now: datetime) -> SurveySpec:
    """Validate a YAML survey definition; times without a zone are local time in `tz`."""
    try:
        data = load_yaml(source)
    except yaml.YAMLError as exc:
        raise SurveyError([f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise SurveyError(["the file must be a mapping with title, questions, …"])
    problems: list[str] = [f"unknown field {k!r}" for k in data if k not in SURVEY_KEYS]
    title = _text(data, "title", problems, required=True, limit=MAX_TITLE_CHARS)
    audience = str(data.get("audience", "all"))
    try:
        parse_audience(audience)
    except ValueError as exc:
        problems.append(str(exc))
    anonymous = data.get("anonymous", True)
    if not isinstance(anonymous, bool):
        problems.append("anonymous must be true or false")
    send_at = _time(data.get("send_at"), "send_at", tz, problems) or now
    closes_at = _time(data.get("closes"), "closes", tz, problems)
    if closes_at is not None and closes_at <= max(send_at, now):
        problems.append("closes must be after send_at (and in the future)")
    remind = data.get("remind_after_days")
    if remind is not None and (
        not isinstance(remind, int) or isinstance(remind, bool) or remind < 1
    ):
        problems.append("remind_after_days must be a whole number of days, at least 1")
        remind = None
    if remind is not None and closes_at is not None and (closes_at - send_at).days < remind:
        problems.append("remind_after_days: the reminder would come after the survey closes")
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


def _questions(raw: Any, problems: list[str]) -> list[QuestionSpec]:
    if not isinstance(raw, list) or not raw:
        problems.append("questions: a list of at least one question is needed")
        return []
    if len(raw) > MAX_QUESTIONS:
        problems.append(f"questions: at most {MAX_QUESTIONS} questions")
    found = []
    for number, item in enumerate(raw, 1):
        where = f"question {number}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a mapping with kind and text")
            continue
        problems += [f"{where}: unknown field {k!r}" for k in item if k not in QUESTION_KEYS]
        kind = item.get("kind")
        if kind not in KINDS:
            problems.append(
                f"{where}: unknown kind {kind!r} (use single, multiple, rating or text)"
            )
            continue
        text = _text(item, "text", problems, required=True, limit=MAX_TEXT_CHARS, where=where)
        options = _options(item, "options", kind, problems, where)
        options_en = (
            _options(item, "options_en", kind, problems, where) if "options_en" in item else None
        )
        if options_en is not None and len(options_en) != len(options):
            problems.append(f"{where}: options_en must have as many entries as options")
        optional = item.get("optional", False)
        if not isinstance(optional, bool):
            problems.append(f"{where}: optional must be true or false")
        found.append(
            QuestionSpec(
                kind=kind,
                text=text,
                options=tuple(options),
                optional=bool(optional),
                text_en=_text(item, "text_en", problems, limit=MAX_TEXT_CHARS, where=where) or None,
                options_en=tuple(options_en) if options_en else None,
            )
        )
    return found


def _options(
    item: dict[str, Any], key: str, kind: str, problems: list[str], where: str
) -> list[str]:
    raw = item.get(key)
    if kind not in CHOICE_KINDS:
        if raw is not None:
            problems.append(f"{where}: {key} are only for single and multiple choice questions")
        return []
    if not isinstance(raw, list) or len(raw) < 2:
        problems.append(f"{where}: a {kind} choice question needs {key}: a list of at least 2")
        return []
    if len(raw) > MAX_OPTIONS:
        problems.append(f"{where}: at most {MAX_OPTIONS} {key}, not {len(raw)}")
    labels = [str(o).strip() if o is not None else "" for o in raw]
    if any(not label for label in labels):
        problems.append(f"{where}: {key} must not be empty")
    if len(set(labels)) != len(labels):
        problems.append(f"{where}: {key} must all be different")
    long = [label for label in labels if len(label) > MAX_OPTION_CHARS]
    if long:
        problems.append(f"{where}: {key} longer than {MAX_OPTION_CHARS} characters: {long[0]!r}")
    return labels


def _text(
    data: dict[str, Any], key: str, problems: list[str], *, required: bool = False,
    limit: int, where: str = "",
) -> str:  # fmt: skip
    value = data.get(key)
    label = f"{where}: {key}" if where else key
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"{label} is required")
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        problems.append(f"{label} must be text")
        return ""
    text = str(value).strip()
    if len(text) > limit:
        problems.append(f"{label} is longer than {limit} characters")
    return text


def _time(value: Any, key: str, tz: ZoneInfo, problems: list[str]) -> datetime | None:
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
            problems.append(f'{key} must look like 2026-12-01T09:00, not "{value}"')
            return None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed

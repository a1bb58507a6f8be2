"""A topic as staff write it (YAML for `linli topic add`), checked and turned into values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.spec_problem import Problem
from handlers.topic_rules import CC278, CC278_MAJOR
from knowledge.data import load_yaml
from storage import topics
from storage.models import Topic
from storage.topics import MODES, RULES, parse_scope

FIELDS = {"title", "body", "options", "opens", "closes", "scope", "rule", "mode", "statements"}
MAX_TITLE = 100
MAX_OPTION = 20
MAX_OPTIONS = 8
MAX_STATEMENT = 140


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A checked topic definition."""

    title: str
    body: str
    options: tuple[str, ...]
    opens_at: datetime
    closes_at: datetime
    scope: str
    rule: str
    mode: str
    statements: tuple[str, ...]


class TopicError(ValueError):
    """A topic definition with a problem; `problem` says what to fix (staff catalogue key)."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.problem = Problem(key, params)


def read_spec(source: str, *, tz: ZoneInfo, now: datetime) -> TopicSpec:
    """Check a topic file's YAML text; TopicError saying what is wrong."""
    try:
        data = load_yaml(source)
    except yaml.YAMLError as exc:
        raise TopicError("topic_spec.bad_yaml", error=str(exc)) from None
    return parse_spec(data, tz=tz, now=now)


def parse_spec(data: Any, *, tz: ZoneInfo, now: datetime) -> TopicSpec:
    """Check a topic definition; TopicError saying what is wrong (the first problem)."""
    if not isinstance(data, dict):
        raise TopicError("topic_spec.not_mapping")
    unknown = set(map(str, data)) - FIELDS
    if unknown:
        fields, known = tuple(sorted(unknown)), tuple(sorted(FIELDS))
        raise TopicError("topic_spec.unknown_fields", fields=fields, known=known)
    title = str(data.get("title") or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise TopicError("topic_spec.title", limit=MAX_TITLE)
    options = _texts(data.get("options"), "options", MAX_OPTION)
    if len(options) == 1 or len(options) > MAX_OPTIONS or len(set(options)) != len(options):
        raise TopicError("topic_spec.options", most=MAX_OPTIONS)
    rule = str(data.get("rule") or "majority")
    mode = str(data.get("mode") or "vote")
    if rule not in RULES:
        raise TopicError("topic_spec.rule", choices=tuple(RULES))
    if mode not in MODES:
        raise TopicError("topic_spec.mode", choices=tuple(MODES))
    if rule in (CC278, CC278_MAJOR) and not options:
        raise TopicError("topic_spec.rule_needs_options", rule=rule)
    scope = str(data.get("scope") or "all")
    try:
        parse_scope(scope)
    except ValueError:
        raise TopicError("topic_spec.scope", scope=scope) from None
    if "closes" not in data:
        raise TopicError("topic_spec.closes_required")
    opens_at = _when(data.get("opens"), tz, "opens") if data.get("opens") else now
    closes_at = _when(data["closes"], tz, "closes")
    if closes_at <= opens_at:
        raise TopicError("topic_spec.closes_before_opens")
    statements = _texts(data.get("statements"), "statements", MAX_STATEMENT)
    return TopicSpec(
        title,
        str(data.get("body") or "").strip(),
        tuple(options),
        opens_at,
        closes_at,
        scope,
        rule,
        mode,
        tuple(statements),
    )


def _texts(value: Any, name: str, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TopicError("topic_spec.not_list", field=name)
    texts = [str(item).strip() for item in value]
    if any(not text or len(text) > limit for text in texts):
        raise TopicError("topic_spec.item_length", field=name, limit=limit)
    return texts


def _when(value: Any, tz: ZoneInfo, name: str) -> datetime:
    """A local time (YAML date, datetime or ISO text) as an aware datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0, 0))
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise TopicError("topic_spec.bad_time", field=name) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


async def create_topic_from(session: AsyncSession, spec: TopicSpec, *, now: datetime) -> Topic:
    """Store a topic as its checked definition says (CLI, staff chat and dashboard alike)."""
    return await topics.create_topic(
        session,
        title=spec.title,
        body=spec.body,
        options=spec.options,
        mode=spec.mode,
        scope=spec.scope,
        rule=spec.rule,
        opens_at=spec.opens_at,
        closes_at=spec.closes_at,
        now=now,
        statements=spec.statements,
    )

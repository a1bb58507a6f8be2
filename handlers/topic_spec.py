"""A topic as staff write it (YAML for `linli topic add`), checked and turned into values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.topic_rules import CC278, CC278_MAJOR
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


def parse_spec(data: Any, *, tz: ZoneInfo, now: datetime) -> TopicSpec:
    """Check a topic definition; ValueError saying what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("a topic file is a mapping with title, closes, …")
    unknown = set(map(str, data)) - FIELDS
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}; known: {sorted(FIELDS)}")
    title = str(data.get("title") or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise ValueError(f"title is required, at most {MAX_TITLE} characters")
    options = _texts(data.get("options"), "options", MAX_OPTION)
    if len(options) == 1 or len(options) > MAX_OPTIONS or len(set(options)) != len(options):
        raise ValueError(f"options: none, or 2 to {MAX_OPTIONS} different labels")
    rule = str(data.get("rule") or "majority")
    mode = str(data.get("mode") or "vote")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {list(RULES)}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}")
    if rule in (CC278, CC278_MAJOR) and not options:
        raise ValueError(f"rule {rule} needs options to vote on")
    scope = str(data.get("scope") or "all")
    parse_scope(scope)
    if "closes" not in data:
        raise ValueError("closes is required (local time, e.g. 2026-12-15T18:00)")
    opens_at = _when(data.get("opens"), tz, "opens") if data.get("opens") else now
    closes_at = _when(data["closes"], tz, "closes")
    if closes_at <= opens_at:
        raise ValueError("closes must be after opens")
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
        raise ValueError(f"{name} must be a list")
    texts = [str(item).strip() for item in value]
    if any(not text or len(text) > limit for text in texts):
        raise ValueError(f"each of {name} needs 1 to {limit} characters")
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
            raise ValueError(f"{name} must look like 2026-12-15T18:00") from None
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

"""Deliberation topics: creating and finding them, votes, who may take part (scope) and who
did (participants), and staff's official responses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.selectable import CompoundSelect

from storage.models import Opinion, Resident, StatementVote, Topic, TopicResponse, Vote

OPEN, CLOSED = "open", "closed"
MODES = ("vote", "statements")
RULES = ("majority", "civil-code-278", "civil-code-278-major")
RESIDENT_CHANNELS = ("telegram", "web", "console", "wechat")


def parse_scope(scope: str) -> tuple[str, str]:
    """("all", ""), ("grid", id) or ("building", number); ValueError for anything else."""
    kind, _, value = scope.partition(":")
    if kind == "all" and not value:
        return kind, value
    if kind == "grid" and value:
        return kind, value
    if kind == "building" and value.isdigit():
        return kind, value
    raise ValueError(f"scope must be all, grid:<id> or building:<number>, not {scope!r}")


def in_scope(scope: str, *, grid: str | None, building: int | None) -> bool | None:
    """Whether a resident with this grid and building may take part; None when the scope
    needs a grid or building the bot does not know yet."""
    kind, value = parse_scope(scope)
    if kind == "all":
        return True
    if kind == "grid":
        if grid is None:
            return None if building is None else False
        return grid == value
    return None if building is None else building == int(value)


def _eligible(scope: str) -> ColumnElement[bool]:
    kind, value = parse_scope(scope)
    residents = Resident.channel.in_(RESIDENT_CHANNELS)
    if kind == "grid":
        return and_(residents, Resident.grid == value)
    if kind == "building":
        return and_(residents, Resident.building == int(value))
    return residents


async def create_topic(
    session: AsyncSession,
    *,
    title: str,
    body: str,
    options: Sequence[str],
    mode: str,
    scope: str,
    rule: str,
    opens_at: datetime,
    closes_at: datetime,
    now: datetime,
    statements: Sequence[str] = (),
) -> Topic:
    """Record a topic (and the statements staff seed a statement-mode topic with)."""
    parse_scope(scope)
    if mode not in MODES or rule not in RULES:
        raise ValueError(f"mode must be one of {MODES} and rule one of {RULES}")
    if closes_at <= opens_at:
        raise ValueError("a topic must close after it opens")
    topic = Topic(
        title=title,
        body=body,
        options=list(options),
        mode=mode,
        scope=scope,
        rule=rule,
        status=OPEN,
        opens_at=opens_at,
        closes_at=closes_at,
        created_at=now,
    )
    session.add(topic)
    await session.flush()
    for text in statements:
        session.add(
            Opinion(
                topic_id=topic.id,
                resident_id=None,
                text=text,
                status="approved",
                created_at=now,
                reviewed_at=now,
            )
        )
    await session.flush()
    return topic


def _running(now: datetime) -> ColumnElement[bool]:
    return and_(Topic.status == OPEN, Topic.opens_at <= now, Topic.closes_at > now)


async def open_topics(
    session: AsyncSession, *, now: datetime, limit: int = 100, offset: int = 0
) -> list[Topic]:
    """Topics open for taking part now, closing soonest first."""
    result = await session.execute(
        select(Topic)
        .where(_running(now))
        .order_by(Topic.closes_at, Topic.id)
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars().all())


async def count_open(session: AsyncSession, *, now: datetime) -> int:
    """How many topics are open now."""
    return int(await session.scalar(select(func.count()).where(_running(now))) or 0)


async def due_to_close(session: AsyncSession, *, now: datetime) -> list[Topic]:
    """Open topics past their closing time, locked (other schedulers skip them)."""
    result = await session.execute(
        select(Topic)
        .where(Topic.status == OPEN, Topic.closes_at <= now)
        .order_by(Topic.id)
        .with_for_update(skip_locked=True)
    )
    return list(result.scalars().all())


def _participant_ids(topic_ids: Sequence[int]) -> CompoundSelect:
    return union(
        select(Vote.topic_id, Vote.resident_id).where(Vote.topic_id.in_(topic_ids)),
        select(Opinion.topic_id, Opinion.resident_id).where(
            Opinion.topic_id.in_(topic_ids), Opinion.resident_id.is_not(None)
        ),
        select(Opinion.topic_id, StatementVote.resident_id)
        .join(Opinion, Opinion.id == StatementVote.opinion_id)
        .where(Opinion.topic_id.in_(topic_ids)),
    )


async def participant_counts(session: AsyncSession, topic_ids: Sequence[int]) -> dict[int, int]:
    """Topic id → how many residents took part (voted, gave an opinion or a statement, or
    voted on statements)."""
    if not topic_ids:
        return {}
    both = _participant_ids(topic_ids).subquery()
    rows = await session.execute(select(both.c.topic_id, func.count()).group_by(both.c.topic_id))
    return {int(topic_id): int(count) for topic_id, count in rows.all()}


async def participants(session: AsyncSession, topic_id: int) -> list[Resident]:
    """The residents who took part in a topic (to tell them the result)."""
    both = _participant_ids([topic_id]).subquery()
    result = await session.execute(
        select(Resident).where(Resident.id.in_(select(both.c.resident_id))).order_by(Resident.id)
    )
    return list(result.scalars().all())


async def eligible_count(session: AsyncSession, scope: str) -> int:
    """How many residents known to the bot the scope covers."""
    return int(
        await session.scalar(select(func.count()).select_from(Resident).where(_eligible(scope)))
        or 0
    )


async def get_vote(session: AsyncSession, *, topic_id: int, resident_id: int) -> Vote | None:
    """A resident's vote on a topic, if they voted."""
    result = await session.execute(
        select(Vote).where(Vote.topic_id == topic_id, Vote.resident_id == resident_id)
    )
    return result.scalar_one_or_none()


async def cast_vote(
    session: AsyncSession, *, topic_id: int, resident_id: int, option: int, now: datetime
) -> int | None:
    """Record or change a resident's vote; returns the option they had before (None if new).
    The engine holds the resident's row lock, so one resident's votes never race."""
    vote = await get_vote(session, topic_id=topic_id, resident_id=resident_id)
    if vote is None:
        session.add(
            Vote(
                topic_id=topic_id,
                resident_id=resident_id,
                option=option,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        return None
    before, vote.option, vote.updated_at = vote.option, option, now
    return before


async def vote_counts(session: AsyncSession, topic_id: int) -> dict[int, int]:
    """Option index → votes."""
    rows = await session.execute(
        select(Vote.option, func.count()).where(Vote.topic_id == topic_id).group_by(Vote.option)
    )
    return {int(option): int(count) for option, count in rows.all()}


async def add_response(
    session: AsyncSession, *, topic_id: int, text: str, now: datetime
) -> TopicResponse:
    """Record staff's official response or a follow-up action on a topic."""
    response = TopicResponse(topic_id=topic_id, text=text, created_at=now)
    session.add(response)
    await session.flush()
    return response


async def responses(session: AsyncSession, topic_id: int) -> list[TopicResponse]:
    """Staff's responses to a topic, oldest first."""
    result = await session.execute(
        select(TopicResponse).where(TopicResponse.topic_id == topic_id).order_by(TopicResponse.id)
    )
    return list(result.scalars().all())

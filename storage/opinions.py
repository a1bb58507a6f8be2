"""Residents' words in the deliberation hall: opinions and statements (held for staff review
before others see them), votes on statements, and proposals for new topics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Opinion, StatementVote, TopicProposal

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
ACCEPTED = "accepted"
AGREE, DISAGREE, PASS = 1, -1, 0


async def add_opinion(
    session: AsyncSession, *, topic_id: int, resident_id: int, text: str, now: datetime
) -> Opinion:
    """Hold a resident's opinion (or statement) for staff review."""
    opinion = Opinion(
        topic_id=topic_id, resident_id=resident_id, text=text, status=PENDING, created_at=now
    )
    session.add(opinion)
    await session.flush()
    return opinion


async def approved(
    session: AsyncSession, *, topic_id: int, limit: int = 100, offset: int = 0
) -> list[Opinion]:
    """Approved opinions of a topic, newest first."""
    result = await session.execute(
        select(Opinion)
        .where(Opinion.topic_id == topic_id, Opinion.status == APPROVED)
        .order_by(Opinion.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars().all())


async def count_approved(session: AsyncSession, *, topic_id: int) -> int:
    """How many approved opinions a topic has."""
    statement = select(func.count()).where(Opinion.topic_id == topic_id, Opinion.status == APPROVED)
    return int(await session.scalar(statement) or 0)


async def pending(session: AsyncSession, *, limit: int = 20) -> list[Opinion]:
    """Opinions and statements waiting for review, oldest first."""
    result = await session.execute(
        select(Opinion).where(Opinion.status == PENDING).order_by(Opinion.id).limit(limit)
    )
    return list(result.scalars().all())


async def review(
    session: AsyncSession,
    *,
    opinion_id: int,
    approve: bool,
    now: datetime,
    reason: str | None = None,
) -> Opinion:
    """Approve or reject a pending opinion; LookupError if there is none with that id,
    ValueError if it was already reviewed."""
    opinion = await session.get(Opinion, opinion_id, with_for_update=True)
    if opinion is None:
        raise LookupError(opinion_id)
    if opinion.status != PENDING:
        raise ValueError(opinion.status)
    opinion.status = APPROVED if approve else REJECTED
    opinion.reason = reason or None
    opinion.reviewed_at = now
    return opinion


async def next_statement(
    session: AsyncSession, *, topic_id: int, resident_id: int
) -> tuple[Opinion, int, int] | None:
    """The approved statement this resident should vote on next — the one with the fewest
    votes so far, so every statement gets enough — with how many they have done and how many
    there are; None when they have seen them all."""
    voted = select(StatementVote.opinion_id).where(StatementVote.resident_id == resident_id)
    votes = (
        select(StatementVote.opinion_id, func.count().label("n"))
        .group_by(StatementVote.opinion_id)
        .subquery()
    )
    own = Opinion.resident_id.is_(None) | (Opinion.resident_id != resident_id)
    statements = (Opinion.topic_id == topic_id, Opinion.status == APPROVED, own)
    total = int(await session.scalar(select(func.count()).where(*statements)) or 0)
    done = int(
        await session.scalar(select(func.count()).where(*statements, Opinion.id.in_(voted))) or 0
    )
    row = (
        await session.execute(
            select(Opinion)
            .outerjoin(votes, votes.c.opinion_id == Opinion.id)
            .where(*statements, Opinion.id.not_in(voted))
            .order_by(func.coalesce(votes.c.n, 0), Opinion.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    return None if row is None else (row, done, total)


async def vote_statement(
    session: AsyncSession, *, opinion_id: int, resident_id: int, value: int, now: datetime
) -> None:
    """Record (or change) a resident's agree / disagree / pass on a statement."""
    existing = (
        await session.execute(
            select(StatementVote).where(
                StatementVote.opinion_id == opinion_id, StatementVote.resident_id == resident_id
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        existing.value = value
        return
    session.add(
        StatementVote(opinion_id=opinion_id, resident_id=resident_id, value=value, created_at=now)
    )
    await session.flush()


async def statement_votes(
    session: AsyncSession, *, topic_id: int
) -> tuple[list[Opinion], list[tuple[int, int, int]]]:
    """A topic's approved statements and every vote on them as (resident, opinion, value)."""
    statements = await approved(session, topic_id=topic_id, limit=10_000)
    statements.sort(key=lambda o: o.id)
    rows = await session.execute(
        select(StatementVote.resident_id, StatementVote.opinion_id, StatementVote.value)
        .join(Opinion, Opinion.id == StatementVote.opinion_id)
        .where(Opinion.topic_id == topic_id, Opinion.status == APPROVED)
    )
    return statements, [(int(r), int(o), int(v)) for r, o, v in rows.all()]


async def add_proposal(
    session: AsyncSession, *, resident_id: int, text: str, now: datetime
) -> TopicProposal:
    """Hold a resident's proposal for a new topic for staff review."""
    proposal = TopicProposal(resident_id=resident_id, text=text, status=PENDING, created_at=now)
    session.add(proposal)
    await session.flush()
    return proposal


async def pending_proposals(session: AsyncSession, *, limit: int = 20) -> list[TopicProposal]:
    """Proposals waiting for review, oldest first."""
    result = await session.execute(
        select(TopicProposal)
        .where(TopicProposal.status == PENDING)
        .order_by(TopicProposal.id)
        .limit(limit)
    )
    return list(result.scalars().all())


async def decide_proposal(
    session: AsyncSession,
    *,
    proposal_id: int,
    accept: bool,
    now: datetime,
    reason: str | None = None,
    topic_id: int | None = None,
) -> TopicProposal:
    """Accept (optionally as a created topic) or reject a pending proposal; LookupError if
    there is none with that id, ValueError if it was already decided."""
    proposal = await session.get(TopicProposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise LookupError(proposal_id)
    if proposal.status != PENDING:
        raise ValueError(proposal.status)
    proposal.status = ACCEPTED if accept else REJECTED
    proposal.reason = reason or None
    proposal.topic_id = topic_id
    proposal.decided_at = now
    return proposal

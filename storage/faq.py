"""What residents made of the FAQ: unanswered questions and answer feedback."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FaqFeedback, UnansweredQuestion


def record_unanswered(
    session: AsyncSession,
    *,
    text: str,
    locale: str,
    best_faq_id: str | None,
    confidence: float,
    now: datetime,
) -> None:
    """Keep a question the knowledge base could not answer, for staff."""
    session.add(
        UnansweredQuestion(
            text=text,
            locale=locale,
            best_faq_id=best_faq_id,
            confidence=confidence,
            handled=False,
            created_at=now,
        )
    )


def record_feedback(
    session: AsyncSession, *, faq_id: str, helpful: bool, locale: str, now: datetime
) -> None:
    """Store a 👍 or 👎 on an answer."""
    session.add(FaqFeedback(faq_id=faq_id, helpful=helpful, locale=locale, created_at=now))


async def unanswered(
    session: AsyncSession, *, handled: bool = False, limit: int = 50, offset: int = 0
) -> tuple[list[UnansweredQuestion], int]:
    """Questions the knowledge base could not answer, newest first, and how many in all."""
    where = UnansweredQuestion.handled.is_(handled)
    total = await session.scalar(select(func.count()).select_from(UnansweredQuestion).where(where))
    result = await session.execute(
        select(UnansweredQuestion)
        .where(where)
        .order_by(UnansweredQuestion.created_at.desc(), UnansweredQuestion.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars().all()), int(total or 0)


async def mark_handled(session: AsyncSession, *, question_ids: list[int]) -> int:
    """Staff dealt with these questions (added or fixed an entry); returns how many."""
    if not question_ids:
        return 0
    result = await session.execute(
        update(UnansweredQuestion)
        .where(UnansweredQuestion.id.in_(question_ids), UnansweredQuestion.handled.is_(False))
        .values(handled=True)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def feedback_summary(session: AsyncSession) -> list[tuple[str, int, int]]:
    """(FAQ id, 👍 count, 👎 count) of the feedback staff have not reviewed yet, for every
    answer with a 👎 among it, most 👎 first."""
    query = (
        select(
            FaqFeedback.faq_id,
            func.count().filter(FaqFeedback.helpful.is_(True)),
            func.count().filter(FaqFeedback.helpful.is_(False)),
        )
        .where(FaqFeedback.handled.is_(False))
        .group_by(FaqFeedback.faq_id)
    )
    rows = [(str(i), int(up), int(no)) for i, up, no in (await session.execute(query)).all()]
    return sorted((r for r in rows if r[2]), key=lambda r: (-r[2], r[0]))


async def mark_feedback_handled(session: AsyncSession, *, faq_id: str) -> int:
    """Staff reviewed the feedback on one answer; returns how many ratings that covered."""
    result = await session.execute(
        update(FaqFeedback)
        .where(FaqFeedback.faq_id == faq_id, FaqFeedback.handled.is_(False))
        .values(handled=True)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

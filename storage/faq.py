"""What residents made of the FAQ: unanswered questions and answer feedback."""

from __future__ import annotations

from datetime import datetime

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

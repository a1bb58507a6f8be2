"""What the dashboard lists besides tickets: topics, surveys and notices, newest first."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast, Survey, SurveyResponse, Topic


async def recent_topics(session: AsyncSession, *, limit: int = 50) -> list[Topic]:
    """Topics of every state, the newest first."""
    result = await session.execute(select(Topic).order_by(Topic.id.desc()).limit(limit))
    return list(result.scalars().all())


async def recent_surveys(session: AsyncSession, *, limit: int = 50) -> list[Survey]:
    """Surveys of every state, the newest first."""
    result = await session.execute(select(Survey).order_by(Survey.id.desc()).limit(limit))
    return list(result.scalars().all())


async def recent_broadcasts(session: AsyncSession, *, limit: int = 50) -> list[Broadcast]:
    """Notices of every state, the newest first."""
    result = await session.execute(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit))
    return list(result.scalars().all())


async def completed_counts(session: AsyncSession, survey_ids: list[int]) -> dict[int, int]:
    """Survey id → completed responses."""
    if not survey_ids:
        return {}
    rows = await session.execute(
        select(SurveyResponse.survey_id, func.count())
        .where(SurveyResponse.survey_id.in_(survey_ids))
        .group_by(SurveyResponse.survey_id)
    )
    return {int(i): int(n) for i, n in rows.all()}

"""The community's ticket figures for a period and scope — what 12345 and grid centres report:
received, 按时签收率, 按期办结率, 解决率, 满意率 (with the response rate) and 发回重办率.

Every rate is a share of tickets RECEIVED in the period (created in [start, end)) within the
scope, so one ticket counts once however long it runs; a rate with nothing to count is None."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.workdays import WorkCalendar
from storage.models import Ticket
from storage.tickets import COMPLAINT_KINDS

SATISFIED = 4  # ratings of 4 and 5 out of 5 count as satisfied
CLAIM_WORKING_DAYS = 1  # 签收 within one working day of filing is on time


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of one period and scope."""

    received: int
    claimed_on_time: float | None  # 按时签收率: 签收 within a working day ÷ received
    resolved_on_time: float | None  # 按期办结率: resolved by the deadline ÷ those due or resolved
    solved: float | None  # 解决率: confirmed solved by the resident ÷ resolved at least once
    satisfied: float | None  # 满意率: ratings ≥ 4 ÷ ratings given
    survey_response: float | None  # ratings given ÷ resolved at least once
    reopened: float | None  # 发回重办率: reopened at least once ÷ resolved at least once


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def figures(
    session: AsyncSession,
    calendar: WorkCalendar,
    *,
    start: datetime,
    end: datetime,
    grid: str | None = None,
    category: str | None = None,
) -> Figures:
    """Compute the figures for tickets received in [start, end), in one grid (and category)
    or everywhere."""
    query = select(Ticket).where(
        Ticket.kind.in_(COMPLAINT_KINDS), Ticket.created_at >= start, Ticket.created_at < end
    )
    if grid is not None:
        query = query.where(Ticket.grid == grid)
    if category is not None:
        query = query.where(Ticket.category == category)
    received = list((await session.execute(query)).scalars().all())
    return figures_of(received, calendar, end=end)


def figures_of(received: Sequence[Ticket], calendar: WorkCalendar, *, end: datetime) -> Figures:
    """The figures of tickets already selected as received in a period ending at `end`."""
    claimed = sum(
        1
        for t in received
        if t.assigned_at is not None
        and t.assigned_at <= calendar.add_working_days(t.created_at, CLAIM_WORKING_DAYS)
    )
    resolved_once = [t for t in received if t.resolved_at is not None or t.reopen_count > 0]
    due_or_resolved = [
        t
        for t in received
        if t.resolved_at is not None or (t.due_at is not None and t.due_at < end)
    ]
    on_time = sum(
        1 for t in due_or_resolved
        if t.resolved_at is not None and t.due_at is not None and t.resolved_at <= t.due_at
    )  # fmt: skip
    rated = [t for t in received if t.satisfaction is not None]
    return Figures(
        received=len(received),
        claimed_on_time=_share(claimed, len(received)),
        resolved_on_time=_share(on_time, len(due_or_resolved)),
        solved=_share(sum(t.survey == "solved" for t in resolved_once), len(resolved_once)),
        satisfied=_share(sum(t.satisfaction >= SATISFIED for t in rated), len(rated)),  # type: ignore[operator]
        survey_response=_share(len(rated), len(resolved_once)),
        reopened=_share(sum(t.reopen_count > 0 for t in resolved_once), len(resolved_once)),
    )

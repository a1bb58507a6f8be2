"""Work on a clock (APScheduler 3, inside `linli serve` or a `--role scheduler` process): each
job is an idempotent sweep over the database in a transaction of its own, so a restart or a
second scheduler does no harm."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Runtime
from handlers import checkin, survey_sweeps, sweeps, topic_close
from handlers.access import SENSITIVE_KINDS
from handlers.context import Services
from storage import broadcasts, residents, updates
from storage.models import Ticket

log = logging.getLogger(__name__)

# Each sweep takes the transaction, the services and the runtime clock's `now` (keyword).
Sweep = Callable[..., Awaitable[int]]
UPDATE_KEYS_KEPT = timedelta(days=7)  # no channel redelivers an update after days
REPLIES_KEPT = timedelta(hours=1)  # a redelivery comes within minutes; replies quote residents
DRAFTS_KEPT = timedelta(days=7)  # a flow left unfinished this long is forgotten
RETENTION = "anonymise_old_tickets"  # daily; needs the settings, so not a plain sweep


async def _forget_update_keys(session: AsyncSession, services: Services, *, now: datetime) -> int:
    cleared = await updates.forget_replies_before(session, cutoff=now - REPLIES_KEPT)
    return cleared + await updates.forget_updates_before(session, cutoff=now - UPDATE_KEYS_KEPT)


async def _send_due_broadcasts(session: AsyncSession, services: Services, *, now: datetime) -> int:
    return sum(
        [
            await broadcasts.fan_out(session, b, now=now)
            for b in await broadcasts.due(session, now=now)
        ]
    )


async def _clear_drafts(session: AsyncSession, services: Services, *, now: datetime) -> int:
    return await residents.clear_stale_drafts(session, before=now - DRAFTS_KEPT)


# name → (sweep, minutes between runs)
JOBS: dict[str, tuple[Sweep, int]] = {
    "send_due_broadcasts": (_send_due_broadcasts, 1),
    "senior_check_ins": (checkin.sweep, 10),
    "close_due_topics": (topic_close.close_due, 5),  # 议事厅 results, told to participants
    "escalate_overdue_tickets": (sweeps.escalate_overdue, 10),
    "close_unanswered_surveys": (sweeps.close_unanswered, 60),  # the ticket follow-up question
    "send_due_surveys": (survey_sweeps.send_due, 1),  # 问卷 invitations at their send time
    "remind_survey_non_respondents": (survey_sweeps.remind, 30),
    "close_ended_surveys": (survey_sweeps.close_ended, 5),
    "forget_old_update_keys": (_forget_update_keys, 60),
    "clear_stale_drafts": (_clear_drafts, 360),
}


async def _retention(runtime: Runtime, now: datetime) -> int:
    """Anonymise closed tickets past their retention (safety.md §4.4): 365 days, and 180 for
    crisis and counselling tickets, unless the settings say otherwise."""
    settings = runtime.settings
    sensitive = Ticket.kind.in_(SENSITIVE_KINDS)
    ended = Ticket.status.in_(("closed", "rejected", "merged"))
    due = or_(
        and_(~sensitive, Ticket.closed_at < now - timedelta(days=settings.retention_days)),
        and_(sensitive, Ticket.closed_at < now - timedelta(days=settings.sensitive_retention_days)),
    )
    async with runtime.sessions.begin() as session:
        return await residents.anonymise_tickets(session, and_(ended, due))


async def run_job(runtime: Runtime, name: str) -> int:
    """Run one sweep now (by the runtime's clock), in its own transaction; errors are logged,
    never raised."""
    now = runtime.clock()
    try:
        if name == RETENTION:
            changed = await _retention(runtime, now)
        else:
            sweep, _ = JOBS[name]
            async with runtime.sessions.begin() as session:
                changed = await sweep(session, runtime.services, now=now)
    except Exception:
        log.exception("scheduled job %s failed; it runs again at its next time", name)
        return 0
    if changed:
        log.info("scheduled job %s changed %d row(s)", name, changed)
    return changed


def schedule(overrides: dict[str, int]) -> dict[str, int]:
    """Minutes between runs of each job: the defaults, changed by the settings (0 = off)."""
    defaults = {name: minutes for name, (_, minutes) in JOBS.items()} | {RETENTION: 24 * 60}
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ValueError(f"LINLI_SCHEDULE names unknown jobs {unknown}; known: {sorted(defaults)}")
    return {name: m for name, m in (defaults | overrides).items() if m > 0}


def build_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    """A scheduler with every sweep; the caller starts and shuts it down."""
    scheduler = AsyncIOScheduler(timezone=runtime.settings.tz)
    for name, minutes in schedule(runtime.settings.schedule).items():
        scheduler.add_job(
            run_job,
            "interval",
            minutes=minutes,
            args=(runtime, name),
            id=name,
            coalesce=True,
            max_instances=1,
        )
    return scheduler

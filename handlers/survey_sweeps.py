"""The scheduler's survey sweeps: invitations at the send time, one reminder to those who have
not finished, closing at the closing time. Each is safe to run again and again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Services
from handlers.i18n import DEFAULT_LOCALE, LOCALES
from handlers.types import Button, Reply
from storage import survey_delivery, surveys
from storage.models import Survey


async def send_due(session: AsyncSession, services: Services, *, now: datetime) -> int:
    """Invite the audience of every survey whose time has come; returns the invitations."""
    invited = 0
    for survey in await survey_delivery.due_to_send(session, now=now):
        await survey_delivery.invite(session, survey, now=now)
        payloads = await _payloads(session, services, survey, "poll.invite")
        await survey_delivery.queue_messages(
            session, survey, tag="invite", payloads=payloads, default_locale=DEFAULT_LOCALE,
            now=now,
        )  # fmt: skip
        invited += survey.invited
    return invited


async def remind(session: AsyncSession, services: Services, *, now: datetime) -> int:
    """One reminder, `remind_after_days` after sending, to invitees who have not finished;
    returns how many were reminded."""
    reminded = 0
    for survey in await survey_delivery.due_for_reminder(session, now=now):
        payloads = await _payloads(session, services, survey, "poll.remind")
        await survey_delivery.queue_messages(
            session, survey, tag="remind", payloads=payloads, default_locale=DEFAULT_LOCALE,
            now=now, only_unfinished=True,
        )  # fmt: skip
        reminded += await survey_delivery.mark_reminded(session, survey, now=now)
    return reminded


async def close_ended(session: AsyncSession, services: Services, *, now: datetime) -> int:
    """Close the surveys past their closing time; returns how many closed."""
    return len(await survey_delivery.close_ended(session, now=now))


async def _payloads(
    session: AsyncSession, services: Services, survey: Survey, key: str
) -> dict[str, dict[str, Any]]:
    """The invitation or reminder in each language, with its [开始填写] button."""
    count = len(await surveys.questions(session, survey.id))
    found: dict[str, dict[str, Any]] = {}
    for locale in LOCALES:
        english = locale == "en"
        title = survey.title_en if english and survey.title_en else survey.title
        intro = survey.intro_en if english and survey.intro_en else survey.intro
        t = services.texts
        lines = [t.get(locale, key, title=title)]
        if intro and key == "poll.invite":
            lines.append(intro)
        lines.append(t.get(locale, "poll.size", count=count))
        lines.append(
            t.get(locale, "poll.anonymous_note" if survey.anonymous else "poll.named_note")
        )
        if survey.closes_at is not None:
            when = survey.closes_at.astimezone(services.timezone).strftime("%Y-%m-%d %H:%M")
            lines.append(t.get(locale, "poll.closes", when=when))
        start = Button(t.get(locale, "poll.start_button"), f"poll:start:{survey.id}")
        found[locale] = Reply("\n".join(lines), (start,)).as_dict()
    return found

"""Senior check-ins (独居老人关爱): a daily "今天身体还好吗？", one reminder when there is no
answer, then a `checkin` ticket for the grid worker; "需要帮助" files one at once. Opting in
and out is one tap."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import staff_chat
from handlers.context import Outcome, Services, Turn
from handlers.types import Button, Reply
from storage import audit, outbox, tickets
from storage.models import CheckIn, Resident

REMIND_AFTER = timedelta(hours=2)
ESCALATE_AFTER = timedelta(hours=4)
DEFAULT_AT = "09:00"
TIMES = ("07:00", "08:00", "09:00", "10:00", "18:00")  # the resident picks one with a tap


async def offer(turn: Turn) -> Outcome:
    """`/checkin` or the word 每日问候: explain it and offer to turn it on (or off)."""
    current = await turn.session.get(CheckIn, turn.resident.id)
    if current is not None and current.active:
        stop = turn.button("checkin.stop_button", "checkin:stop")
        return Outcome.stay(turn.reply("checkin.already", *_times(), stop, at=current.at))
    start = turn.button("checkin.start_button", "checkin:start")
    return Outcome.stay(
        turn.reply("checkin.offer", start, turn.button("menu.back", "menu:open"), at=DEFAULT_AT)
    )


async def press(turn: Turn) -> Outcome:
    """checkin:start / checkin:at:HHMM / checkin:stop / checkin:ok / checkin:help."""
    verb = (turn.msg.action or "").partition(":")[2]
    current = await turn.session.get(CheckIn, turn.resident.id)
    today = _today(turn.services, turn.now)
    if verb == "start":
        started = await switch(turn.session, resident_id=turn.resident.id, on=True, now=turn.now)
        at = started.at if started else DEFAULT_AT
        return Outcome.stay(turn.reply("checkin.started", *_times(), at=at))
    if current is None or not current.active:
        return Outcome.stay(turn.reply("input.stale_button"))
    if verb.startswith("at:") and verb[3:] in {at.replace(":", "") for at in TIMES}:
        current.at = f"{verb[3:5]}:{verb[5:]}"
        return Outcome.stay(turn.reply("checkin.time_set", at=current.at))
    if verb == "stop":
        current.active = False
        return Outcome.stay(turn.reply("checkin.stopped"))
    if verb == "ok":
        current.answered_on = today
        return Outcome.stay(turn.reply("checkin.glad"))
    if verb == "help":
        current.answered_on = today
        await _ticket(turn.session, turn.services, turn.resident, turn.now, urgent=True)
        return Outcome.stay(turn.reply("checkin.helping"))
    return Outcome.stay(turn.reply("input.stale_button"))


async def arrange(
    session: AsyncSession,
    services: Services,
    *,
    resident: Resident,
    on: bool,
    at: str | None,
    staff_id: int,
    now: datetime,
) -> None:
    """Staff turn a resident's check-in on (at `at`, HH:MM, or the time they had) or off, for
    someone who asked in person. The resident is told, and stopping it stays one tap away."""
    current = await switch(session, resident_id=resident.id, on=on, now=now)
    if current is not None and on and at:
        current.at = at
    audit.record(
        session, actor_type="staff", actor_id=staff_id, now=now,
        action="checkin_on" if on else "checkin_off", target_type="resident",
        target_id=resident.id, detail={"at": current.at} if current and on else {},
    )  # fmt: skip
    t, lang = services.texts, resident.locale
    if on and current is not None:
        stop = Button(t.get(lang, "checkin.stop_button"), "checkin:stop")
        message = Reply(t.get(lang, "checkin.arranged", at=current.at), (*_times(), stop))
    else:
        message = Reply(t.get(lang, "checkin.stopped_by_staff"))
    await outbox.enqueue(
        session, channel=resident.channel, recipient=resident.external_id,
        resident_id=resident.id, payload=message.as_dict(),
        dedupe_key=f"checkin:arranged:{resident.id}:{now.isoformat()}", now=now,
    )  # fmt: skip


def _times() -> list[Button]:
    """One button per greeting time ("07:00" → checkin:at:0700)."""
    return [Button(at, f"checkin:at:{at.replace(':', '')}") for at in TIMES]


async def switch(
    session: AsyncSession, *, resident_id: int, on: bool, now: datetime
) -> CheckIn | None:
    """Turn a resident's daily check-in on (at the default time the first time) or off."""
    current = await session.get(CheckIn, resident_id)
    if current is None and on:
        current = CheckIn(resident_id=resident_id, at=DEFAULT_AT, active=True, created_at=now)
        session.add(current)
    elif current is not None:
        current.active = on
    return current


async def sweep(session: AsyncSession, services: Services, *, now: datetime) -> int:
    """Ask, remind or alert, once each per day; safe to run as often as wanted."""
    today = _today(services, now)
    rows = (
        await session.execute(
            select(CheckIn, Resident)
            .join(Resident, Resident.id == CheckIn.resident_id)
            .where(CheckIn.active.is_(True))
        )
    ).all()
    acted = 0
    for check, resident in rows:
        due = _at(services, now, check.at)
        if now < due or check.answered_on == today:
            continue
        if check.asked_on != today:
            check.asked_on = today
            await _send(session, services, resident, "checkin.ask", f"checkin:{today}:ask", now)
        elif now >= due + REMIND_AFTER and check.reminded_on != today:
            check.reminded_on = today
            await _send(
                session, services, resident, "checkin.remind", f"checkin:{today}:remind", now
            )
        elif now >= due + ESCALATE_AFTER and check.escalated_on != today:
            check.escalated_on = today
            await _ticket(session, services, resident, now, urgent=False)
        else:
            continue
        acted += 1
    return acted


async def _send(
    session: AsyncSession, services: Services, resident: Resident, key: str, tag: str,
    now: datetime,
) -> None:  # fmt: skip
    t, lang = services.texts, resident.locale
    message = Reply(
        t.get(lang, key),
        (
            Button(t.get(lang, "checkin.ok_button"), "checkin:ok"),
            Button(t.get(lang, "checkin.help_button"), "checkin:help"),
            Button(t.get(lang, "checkin.stop_button"), "checkin:stop"),
        ),
    )
    await outbox.enqueue(
        session, channel=resident.channel, recipient=resident.external_id,
        resident_id=resident.id, payload=message.as_dict(),
        dedupe_key=f"{tag}:{resident.id}", priority=outbox.PRIORITY_HIGH, now=now,
    )  # fmt: skip


async def _ticket(
    session: AsyncSession, services: Services, resident: Resident, now: datetime, *, urgent: bool
) -> None:
    summary = services.texts.get("zh", "checkin.ticket_help" if urgent else "checkin.ticket_silent")
    ticket = await tickets.create_ticket(
        session, kind="checkin", resident_id=resident.id, summary=summary, now=now,
        year=now.astimezone(services.timezone).year, priority=1 if urgent else 0,
        grid=resident.grid, due_at=services.calendar.add_working_days(now, 0),
    )  # fmt: skip
    await staff_chat.alert_new_ticket(session, services, ticket, now)


def _today(services: Services, now: datetime) -> str:
    return now.astimezone(services.timezone).date().isoformat()


def _at(services: Services, now: datetime, at: str) -> datetime:
    local = now.astimezone(services.timezone)
    hour, minute = (int(part) for part in at.split(":"))
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)

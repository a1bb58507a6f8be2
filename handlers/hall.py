"""What every part of the deliberation hall shares: its flow's steps, finding a topic, who may
take part (asking a resident's building when a topic's scope needs it), and messages to
residents and staff through the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Outcome, Services, Turn
from handlers.types import Button, Reply
from storage import outbox
from storage.models import Resident, Topic
from storage.topics import OPEN, in_scope, parse_scope

NAME = "hall"
OPINION, STATEMENT, PROPOSAL, PROPOSAL_CONFIRM, OFFER, BUILDING = (
    "opinion",
    "statement",
    "proposal",
    "proposal_ok",
    "offer",
    "building",
)
LABEL_CHARS = 24
QUOTE_CHARS = 120


def goto(step: str, *replies: Reply) -> Outcome:
    """Continue the hall's flow at `step` (keeping its draft)."""
    return Outcome(replies, NAME, step)


def done(turn: Turn, *replies: Reply) -> Outcome:
    """Answer, leaving the hall's flow if the resident was in it (another feature's flow is
    left alone: a hall button pressed in the middle of a report does not end the report)."""
    return Outcome.end(*replies) if turn.conversation.flow == NAME else Outcome.stay(*replies)


def short(text: str, limit: int = LABEL_CHARS) -> str:
    """A text cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def load(turn: Turn, topic_id: int) -> Topic | None:
    """A topic residents may see (any but a withdrawn one)."""
    return await turn.session.get(Topic, topic_id)


def running(topic: Topic, now: datetime) -> bool:
    """True while residents can vote and write on the topic."""
    return topic.status == OPEN and topic.opens_at <= now < topic.closes_at


def local(services: Services, moment: datetime) -> str:
    """A moment as local "YYYY-MM-DD HH:MM"."""
    return moment.astimezone(services.timezone).strftime("%Y-%m-%d %H:%M")


def closes_text(turn: Turn, topic: Topic) -> str:
    """ "还有 3 天" / "今天 18:00 截止", in the resident's language."""
    tz = turn.services.timezone
    closes = topic.closes_at.astimezone(tz)
    days = (closes.date() - turn.now.astimezone(tz).date()).days
    if days <= 0:
        return turn.t("topic.closes_today", time=closes.strftime("%H:%M"))
    return turn.t("topic.days_left", days=days)


def scope_label(services: Services, locale: str, scope: str) -> str:
    """Who a topic is for: all residents, a grid, a building."""
    kind, value = parse_scope(scope)
    if kind == "grid":
        grid = services.grids.get(value)
        return grid.label(locale) if grid else value
    if kind == "building":
        return services.texts.get(locale, "topic.scope_building", number=value)
    return services.texts.get(locale, "topic.scope_all")


def view_button(turn: Turn, topic_id: int) -> Button:
    """Back to the topic's page."""
    return turn.button("topic.back_to_topic", f"topic:view:{topic_id}")


def list_button(turn: Turn) -> Button:
    """Back to the list of open topics."""
    return turn.button("topic.back_to_list", "topic:list:0")


def cancel_button(turn: Turn) -> Button:
    """Leave the hall's flow."""
    return turn.button("common.cancel", f"{NAME}:cancel")


def gone(turn: Turn) -> Outcome:
    """A button for a topic or statement that no longer exists."""
    return done(turn, turn.reply("topic.gone", list_button(turn)))


async def gate(turn: Turn, topic: Topic, *, then: str) -> Outcome | None:
    """None when the resident may take part in the topic now; otherwise the kind answer (it
    has closed, not opened yet, is for other residents) or the question of their building,
    after which `then` (an action) runs again."""
    if topic.status != OPEN or turn.now >= topic.closes_at:
        closed = local(turn.services, topic.closes_at)
        reply = turn.reply(
            "topic.closed_kindly", view_button(turn, topic.id), title=topic.title, closed=closed
        )
        return done(turn, reply)
    if turn.now < topic.opens_at:
        opens = local(turn.services, topic.opens_at)
        return done(turn, turn.reply("topic.not_yet", list_button(turn), opens=opens))
    resident = turn.resident
    allowed = in_scope(topic.scope, grid=resident.grid, building=resident.building)
    scope = scope_label(turn.services, turn.locale, topic.scope)
    if allowed:
        return None
    if allowed is False:
        return done(turn, turn.reply("topic.not_eligible", list_button(turn), scope=scope))
    keep: dict[str, Any] = dict(turn.draft) if turn.conversation.flow == NAME else {}
    keep["then"] = then
    ask = turn.reply("topic.ask_building", cancel_button(turn), scope=scope)
    return Outcome.start(NAME, BUILDING, ask, draft=keep)


def resident_message(
    services: Services, resident: Resident, key: str, *buttons: tuple[str, str], **values: object
) -> Reply:
    """A catalogue text for a resident who is not in this conversation, in their language;
    buttons as (label key, action)."""
    t, lang = services.texts, resident.locale
    return Reply(t.get(lang, key, **values), tuple(Button(t.get(lang, k), a) for k, a in buttons))


async def tell(
    session: AsyncSession, resident: Resident, message: Reply, *, key: str, now: datetime
) -> bool:
    """Queue a message to a resident, once per dedupe key."""
    return await outbox.enqueue(
        session,
        channel=resident.channel,
        recipient=resident.external_id,
        resident_id=resident.id,
        payload=message.as_dict(),
        dedupe_key=key,
        now=now,
    )


async def alert_staff(session: AsyncSession, message: Reply, *, key: str, now: datetime) -> None:
    """Queue a message for the staff chat (a review request)."""
    await outbox.enqueue(
        session,
        channel="staff",
        recipient="tickets",
        payload=message.as_dict(),
        dedupe_key=key,
        now=now,
    )

"""Residents and their conversation state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from storage.db import insert_ignoring_conflicts
from storage.models import Conversation, Outbox, Resident, Ticket, TicketEvent

# Built once: it runs for every update, and building a statement costs more than running it.
_SELECT_LOCKED = (
    select(Resident, Conversation)
    .join(Conversation, Conversation.resident_id == Resident.id)
    .where(
        Resident.channel == bindparam("channel"),
        Resident.external_id == bindparam("external_id"),
    )
    .with_for_update()
)

# "Last seen" serves activity reports; a few minutes' precision spares a write per message.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(slots=True)
class ResidentState:
    """A resident together with their (row-locked) conversation."""

    resident: Resident
    conversation: Conversation


async def load_for_update(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    locale: str,
    now: datetime,
    display_name: str | None = None,
) -> ResidentState:
    """Load the resident and conversation, creating both on first contact, and lock them
    for this transaction so two updates of one resident are handled one after the other."""
    state = await _select_locked(session, channel=channel, external_id=external_id)
    if state is None:
        await session.execute(
            insert_ignoring_conflicts(session, Resident.__table__).values(
                channel=channel,
                external_id=external_id,
                display_name=display_name,
                locale=locale,
                tags=[],
                consents={},
                reachable=True,
                created_at=now,
                last_seen_at=now,
            )
        )
        resident = (
            await session.execute(
                select(Resident)
                .where(Resident.channel == channel, Resident.external_id == external_id)
                .with_for_update()
            )
        ).scalar_one()
        await session.execute(
            insert_ignoring_conflicts(session, Conversation.__table__).values(
                resident_id=resident.id, data={}, updated_at=now
            )
        )
        state = await _select_locked(session, channel=channel, external_id=external_id)
        assert state is not None
    if now - state.resident.last_seen_at >= LAST_SEEN_RESOLUTION:
        state.resident.last_seen_at = now
    if not state.resident.reachable:
        state.resident.reachable = True
    return state


async def _select_locked(
    session: AsyncSession, *, channel: str, external_id: str
) -> ResidentState | None:
    parameters = {"channel": channel, "external_id": external_id}
    row = (await session.execute(_SELECT_LOCKED, parameters)).first()
    return None if row is None else ResidentState(row[0], row[1])


def set_flow(
    conversation: Conversation,
    *,
    flow: str | None,
    step: str | None,
    data: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Move the conversation to a flow step (or out of any flow when `flow` is None)."""
    conversation.flow = flow
    conversation.step = step if flow else None
    conversation.data = dict(data or {}) if flow else {}
    # The draft is edited in place, which the ORM cannot see; say so explicitly.
    flag_modified(conversation, "data")
    conversation.updated_at = now


async def mark_unreachable(session: AsyncSession, *, resident_id: int) -> None:
    """Remember that a resident can no longer be reached (blocked the bot, left the app)."""
    await session.execute(
        update(Resident).where(Resident.id == resident_id).values(reachable=False)
    )


async def find(session: AsyncSession, *, channel: str, external_id: str) -> Resident | None:
    """A resident by channel identity."""
    result = await session.execute(
        select(Resident).where(Resident.channel == channel, Resident.external_id == external_id)
    )
    return result.scalar_one_or_none()


ANONYMISED = "[已按居民要求删除 · deleted at the resident's request]"


async def forget_resident(session: AsyncSession, *, resident_id: int) -> int:
    """Delete a resident and everything that identifies them (`/forget`).

    Tickets stay for the community's statistics but lose the resident link, their words,
    phone, location and photos; queued messages to them are dropped. Returns how many
    tickets were anonymised."""
    numbers = (
        (await session.execute(select(Ticket.number).where(Ticket.resident_id == resident_id)))
        .scalars()
        .all()
    )
    anonymised = await anonymise_tickets(session, Ticket.resident_id == resident_id)
    # Queued messages to them, and staff alerts that quote their words.
    alerts = [f"new-ticket:{number}" for number in numbers]
    await session.execute(
        delete(Outbox)
        .where(or_(Outbox.resident_id == resident_id, Outbox.dedupe_key.in_(alerts)))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(Resident)
        .where(Resident.id == resident_id)
        .execution_options(synchronize_session=False)
    )
    return anonymised


async def anonymise_tickets(session: AsyncSession, which: Any) -> int:
    """Strip the tickets matching `which` of the resident link, their words, phone, location
    and photos (the figures stay). Returns how many tickets changed."""
    chosen = select(Ticket.id).where(which, Ticket.summary != ANONYMISED).scalar_subquery()
    await session.execute(
        update(TicketEvent)
        .where(TicketEvent.ticket_id.in_(chosen), TicketEvent.actor_type == "resident")
        .values(body=ANONYMISED, data={})
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        update(Ticket)
        .where(Ticket.id.in_(chosen))
        .values(
            resident_id=None,
            summary=ANONYMISED,
            contact_phone=None,
            location=None,
            photos=[],
            anonymous=True,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def clear_stale_drafts(session: AsyncSession, *, before: datetime) -> int:
    """Forget half-finished flows untouched since `before`: a draft holds what a resident
    typed, and chat text outside tickets is not kept (safety.md §4.4)."""
    result = await session.execute(
        update(Conversation)
        .where(Conversation.flow.is_not(None), Conversation.updated_at < before)
        .values(flow=None, step=None, data={}, updated_at=before)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

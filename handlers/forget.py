"""`/forget` (删除我的数据): a resident deletes their data after confirming (safety.md §4.5)."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.context import Flow, Outcome, Turn
from storage import audit, residents
from storage.models import Ticket
from storage.tickets import OPEN_STATUSES

NAME = "forget"
CONFIRM = "confirm"


async def ask(turn: Turn) -> Outcome:
    """Explains what will be deleted (and which open requests it ends) and asks to confirm."""
    open_count = await turn.session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.resident_id == turn.resident.id, Ticket.status.in_(OPEN_STATUSES))
    )
    key = "forget.ask_with_open" if open_count else "forget.ask"
    return Outcome.start(
        NAME,
        CONFIRM,
        turn.reply(
            key,
            turn.button("forget.confirm_button", "forget:confirm"),
            turn.button("common.cancel", "forget:cancel"),
            open=open_count or 0,
        ),
    )


async def confirm(turn: Turn) -> Outcome:
    """Deletes on `confirm`; anything else keeps the data."""
    if turn.msg.action != "forget:confirm" and not turn.typed("forget.confirm_button"):
        return Outcome.end(turn.reply("forget.kept"))
    resident = turn.resident
    channel = resident.channel
    anonymised = await residents.forget_resident(turn.session, resident_id=resident.id)
    # The rows are gone: keep the engine from writing the loaded copies back.
    turn.session.expunge(turn.conversation)
    turn.session.expunge(resident)
    audit.record(
        turn.session,
        actor_type="resident",
        actor_id=None,
        action="resident.forget",
        now=turn.now,
        detail={"channel": channel, "tickets_anonymised": anonymised},
    )
    return Outcome.end(turn.reply("forget.done"))


FLOW = Flow(NAME, {CONFIRM: confirm}, cancelled="forget.kept")

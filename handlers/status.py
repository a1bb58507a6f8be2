""" "Where is my report?": the resident's own tickets and where each stands."""

from __future__ import annotations

from handlers.context import Outcome, Turn
from handlers.types import Reply
from storage import tickets

SHOWN = 5


async def show(turn: Turn) -> Outcome:
    """Lists the resident's newest tickets with their state."""
    own = await tickets.tickets_of_resident(turn.session, resident_id=turn.resident.id, limit=SHOWN)
    menu = turn.button("menu.back", "menu:open")
    if not own:
        return Outcome.stay(turn.reply("status.none", menu))
    tz = turn.services.timezone
    lines = [
        turn.t(
            "status.line",
            number=ticket.number,
            kind=turn.t(f"ticket_kind.{ticket.kind}"),
            state=turn.t(f"ticket_status.{ticket.status}"),
            date=ticket.created_at.astimezone(tz).strftime("%Y-%m-%d"),
        )
        for ticket in own
    ]
    return Outcome.stay(Reply("\n".join([turn.t("status.title"), *lines]), (menu,)))

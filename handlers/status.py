""" "Where is my report?": the resident's tickets with state and deadline, one ticket's
timeline, adding to an open ticket, and the question after it is resolved."""

from __future__ import annotations

from handlers.context import Flow, Outcome, Turn
from handlers.types import Button, Reply
from storage import tickets
from storage.models import Ticket

SHOWN = 5
ADD = "addinfo"
ADD_STEP = "add"
RATINGS = range(1, 6)


async def show(turn: Turn) -> Outcome:
    """Lists the resident's newest tickets with their state and deadline."""
    own = await tickets.tickets_of_resident(turn.session, resident_id=turn.resident.id, limit=SHOWN)
    menu = turn.button("menu.back", "menu:open")
    if not own:
        return Outcome.stay(turn.reply("status.none", menu))
    lines = [_line(turn, ticket) for ticket in own]
    buttons = [Button(t.number, f"status:show:{t.number}") for t in own]
    return Outcome.stay(Reply("\n".join([turn.t("status.title"), *lines]), (*buttons, menu)))


def _line(turn: Turn, ticket: Ticket) -> str:
    tz = turn.services.timezone
    line = turn.t(
        "status.line",
        number=ticket.number,
        kind=turn.t(f"ticket_kind.{ticket.kind}"),
        state=turn.t(f"ticket_status.{ticket.status}"),
        date=ticket.created_at.astimezone(tz).strftime("%Y-%m-%d"),
    )
    if ticket.due_at and ticket.status in tickets.OPEN_STATUSES:
        line += turn.t("status.due", due=ticket.due_at.astimezone(tz).strftime("%Y-%m-%d"))
    return line


async def _own_ticket(turn: Turn) -> Ticket | None:
    number = (turn.msg.action or "").rpartition(":")[2]
    ticket = await tickets.get_ticket_by_number(turn.session, number)
    if ticket is None or ticket.resident_id != turn.resident.id:
        return None  # residents see only their own tickets
    return ticket


async def press(turn: Turn) -> Outcome:
    """`status:show:T-…` shows a timeline; `status:add:T-…` adds to an open ticket."""
    verb = (turn.msg.action or "").split(":")[1] if ":" in (turn.msg.action or "") else ""
    ticket = await _own_ticket(turn) if verb in ("show", "add") else None
    if ticket is None:
        return await show(turn) if verb == "" else Outcome.stay(turn.reply("input.stale_button"))
    if verb == "add":
        if ticket.status not in tickets.OPEN_STATUSES:
            return Outcome.stay(turn.reply("status.closed_cannot_add"))
        ask = turn.reply("status.ask_add", turn.button("common.cancel", "addinfo:cancel"))
        return Outcome.start(ADD, ADD_STEP, ask, draft={"number": ticket.number})
    return Outcome.stay(await _timeline(turn, ticket))


async def _timeline(turn: Turn, ticket: Ticket) -> Reply:
    tz = turn.services.timezone
    lines = [_line(turn, ticket), turn.t("status.description", text=_short(ticket.summary))]
    for event in await tickets.visible_events(turn.session, ticket_id=ticket.id):
        when = event.created_at.astimezone(tz).strftime("%m-%d %H:%M")
        key = f"timeline.{event.kind}"
        what = turn.t(key) if turn.services.texts.has(key) else event.kind
        lines.append(f"{when} {what}" + (f"：{_short(event.body, 120)}" if event.body else ""))
    buttons = [turn.button("menu.back", "menu:open")]
    if ticket.status in tickets.OPEN_STATUSES:
        buttons.insert(0, turn.button("status.add_button", f"status:add:{ticket.number}"))
    return Reply("\n".join(lines), tuple(buttons))


async def add_info(turn: Turn) -> Outcome:
    """Text or a photo joins the open ticket's timeline."""
    ticket = await tickets.get_ticket_by_number(turn.session, turn.draft.get("number", ""))
    if ticket is None or ticket.resident_id != turn.resident.id:
        return Outcome.end(turn.reply("input.stale_button"))
    if turn.msg.photo:
        ticket.photos = [*ticket.photos, turn.msg.photo]
        kind, body = "resident_photo", ""
    elif turn.text:
        kind, body = "resident_message", turn.text
    else:
        ask = turn.reply("status.ask_add", turn.button("common.cancel", "addinfo:cancel"))
        return FLOW.goto(ADD_STEP, ask)
    await tickets.add_event(
        turn.session, ticket=ticket, kind=kind, actor_type="resident",
        actor_id=turn.resident.id, now=turn.now, body=body, visible_to_resident=True,
    )  # fmt: skip
    return Outcome.end(turn.reply("status.added", number=ticket.number))


async def survey(turn: Turn) -> Outcome:
    """After `resolved`: solved → a 1–5 rating and the ticket closes; unsolved → reopened."""
    parts = (turn.msg.action or "").split(":")
    verb = parts[1] if len(parts) > 1 else ""
    ticket = await _own_ticket(turn) if len(parts) >= 3 else None
    if ticket is None:
        return Outcome.stay(turn.reply("input.stale_button"))
    if ticket.status != "resolved" or ticket.survey != "asked":
        return Outcome.stay(turn.reply("survey.already"))
    if verb == "solved":
        ticket.survey = "solved"
        buttons = [Button(f"{n}", f"rate:{n}:{ticket.number}") for n in RATINGS]
        return Outcome.stay(Reply(turn.t("survey.ask_rating"), tuple(buttons)))
    if verb == "unsolved":
        ticket.survey = None
        ticket.status = "in_progress"
        ticket.resolved_at = None
        ticket.reopen_count += 1
        ticket.escalation = 0
        await tickets.add_event(
            turn.session, ticket=ticket, kind="reopened", actor_type="resident",
            actor_id=turn.resident.id, now=turn.now, visible_to_resident=True,
        )  # fmt: skip
        return Outcome.stay(turn.reply("survey.reopened", number=ticket.number))
    return Outcome.stay(turn.reply("input.stale_button"))


async def rate(turn: Turn) -> Outcome:
    """`rate:N:T-…`: the satisfaction rating; the ticket closes."""
    parts = (turn.msg.action or "").split(":")
    if len(parts) != 3 or parts[1] not in {str(n) for n in RATINGS}:  # not int(): "²" is a digit
        return Outcome.stay(turn.reply("input.stale_button"))
    ticket = await tickets.get_ticket_by_number(turn.session, parts[2])
    if ticket is None or ticket.resident_id != turn.resident.id:
        return Outcome.stay(turn.reply("input.stale_button"))
    if ticket.satisfaction is not None or ticket.survey != "solved":
        return Outcome.stay(turn.reply("survey.already"))
    ticket.satisfaction = int(parts[1])
    ticket.status = "closed"
    ticket.closed_at = turn.now
    await tickets.add_event(
        turn.session, ticket=ticket, kind="rated", actor_type="resident",
        actor_id=turn.resident.id, now=turn.now, visible_to_resident=True,
        data={"satisfaction": ticket.satisfaction},
    )  # fmt: skip
    return Outcome.stay(turn.reply("survey.thanks"))


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


FLOW = Flow(ADD, {ADD_STEP: add_info})

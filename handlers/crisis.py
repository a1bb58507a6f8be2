"""The crisis response: the fixed safe reply, the urgent ticket, the staff alert, the hold.

The reply is reviewed template text (safety.md §3): sent at once and alone, never generated,
never echoing a method, in the resident's language, 110/120 first when the danger is now."""

from __future__ import annotations

from handlers.context import Flow, Outcome, Services, Turn
from handlers.types import Reply
from knowledge.crisis import CrisisResult
from knowledge.hotlines import Hotline
from storage import outbox, tickets
from storage.models import Ticket

CRISIS = "crisis"
HOLD = "hold"
STAFF_ALERTS = ("staff", "alerts")  # (channel, recipient) of the staff alert queue
URGENT = 2  # ticket priority
EMERGENCY = "emergency"  # the 110/120/119 entry of hotlines.yaml
# What to do right now, put first when the danger is immediate. A third-party report's
# template already opens with "call 110/120 and stay with them".
IMMINENT_FIRST = {
    "self": "crisis.imminent",
    "domestic_violence": "crisis.imminent_domestic_violence",
    "others": "crisis.imminent_others",
}


def crisis_reply(
    services: Services, locale: str, result: CrisisResult, *, staff_alerted: bool
) -> Reply:
    """The fixed crisis template for the kind of signal; 110/120 first when imminent."""
    texts = services.texts
    kind = result.kind or "self"
    parts = []
    if result.severity == "imminent" and kind in IMMINENT_FIRST:
        parts.append(texts.get(locale, IMMINENT_FIRST[kind]))
    lines = hotline_lines(services, locale, kind, limit=2)
    parts.append(texts.get(locale, f"crisis.{kind}", hotlines=lines))
    parts.append(texts.get(locale, "crisis.staff_told" if staff_alerted else "crisis.automated"))
    return Reply("\n\n".join(parts))


def hotline_lines(services: Services, locale: str, kind: str, *, limit: int) -> str:
    """The first lines offered for `kind` (or, if none, for every crisis), one per line;
    110/120 are already in every template, so the emergency entry is not repeated."""
    lines = [h for h in services.hotlines if h.id != EMERGENCY]
    chosen = [h for h in lines if h.serves(kind)] or [h for h in lines if h.serves("crisis")]
    return "\n".join(describe_hotline(h, locale) for h in chosen[:limit])


def describe_hotline(hotline: Hotline, locale: str) -> str:
    """One hotline as a line of text: name, number, hours."""
    name = hotline.name_en if locale == "en" else hotline.name_zh
    hours = hotline.hours_en if locale == "en" else hotline.hours_zh
    return f"· {name} {hotline.number}" + (f" ({hours})" if hours else "")


async def respond(turn: Turn, result: CrisisResult) -> Outcome:
    """Answers a crisis at once, files or extends the urgent ticket and alerts staff."""
    await record(turn, result)
    reply = crisis_reply(turn.services, turn.locale, result, staff_alerted=True)
    return Outcome((reply,), CRISIS, HOLD)


async def record(turn: Turn, result: CrisisResult, *, text: str | None = None) -> Ticket:
    """Store the crisis: a new urgent ticket (or the open one, extended) and a staff alert.

    The ticket keeps what staff need and nothing more: the triggering text (`text`, when it
    was an earlier message than this turn's), the kind and severity of the signal, and the
    channel identity of the resident."""
    written = turn.text if text is None else text
    details = {
        "severity": result.severity,
        "signal": result.kind,
        "signals": list(result.signals),
        "channel": turn.msg.channel,
    }
    ticket = await tickets.open_ticket_of_kind(
        turn.session, resident_id=turn.resident.id, kind=CRISIS
    )
    if ticket is None:
        ticket = await tickets.create_ticket(
            turn.session,
            kind=CRISIS,
            resident_id=turn.resident.id,
            summary=written,
            now=turn.now,
            year=turn.now.astimezone(turn.services.timezone).year,
            priority=URGENT,
            grid=turn.resident.grid,
            details=details,
        )
    else:
        await tickets.add_event(
            turn.session,
            ticket=ticket,
            kind="resident_message",
            actor_type="resident",
            actor_id=turn.resident.id,
            now=turn.now,
            body=written,
            data=details,
        )
    await _alert_staff(turn, ticket, result)
    return ticket


async def _alert_staff(turn: Turn, ticket: Ticket, result: CrisisResult) -> None:
    texts = turn.services.texts
    severity = result.severity or "high"
    text = texts.get(
        "zh",
        "staff.crisis_alert",
        number=ticket.number,
        severity=texts.get("zh", f"staff.severity.{severity}"),
        kind=texts.get("zh", f"staff.crisis_kind.{result.kind or 'self'}"),
    )
    channel, recipient = STAFF_ALERTS
    # One alert per ticket and severity: a resident writing on causes no alert storm,
    # but a turn from "high" to "imminent" alerts again.
    await outbox.enqueue(
        turn.session,
        channel=channel,
        recipient=recipient,
        payload={"text": text, "buttons": [], "ticket": ticket.number},
        dedupe_key=f"crisis-alert:{ticket.number}:{severity}",
        priority=outbox.PRIORITY_URGENT,
        now=turn.now,
    )


async def hold(turn: Turn) -> Outcome | None:
    """While in crisis, every message joins the urgent ticket and gets a calm, short answer.
    None once staff have closed the ticket: the resident is free again."""
    ticket = await tickets.open_ticket_of_kind(
        turn.session, resident_id=turn.resident.id, kind=CRISIS
    )
    if ticket is None:
        return None
    safe = turn.msg.action == "crisis:safe" or turn.typed("crisis.safe_button")
    if turn.text or safe:
        await tickets.add_event(
            turn.session,
            ticket=ticket,
            kind="resident_safe" if safe else "resident_message",
            actor_type="resident",
            actor_id=turn.resident.id,
            now=turn.now,
            body="" if safe else turn.text,
        )
    if safe:
        return Outcome.end(turn.reply("crisis.safe_ack", turn.button("menu.back", "menu:open")))
    lines = hotline_lines(turn.services, turn.locale, "crisis", limit=1)
    safe_button = turn.button("crisis.safe_button", "crisis:safe")
    return Outcome.stay(turn.reply("crisis.hold", safe_button, hotlines=lines))


# The registry runs the hold itself (before commands and buttons); the flow names the state.
FLOW = Flow(CRISIS)

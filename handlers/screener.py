"""The ask-directly tier: a message with some risk markers, short of a definite crisis, gets
a plain, kind question — "have you thought about ending your life?" — with the hotlines in
the same message (as the Columbia screener asks; asking does not plant the idea, not asking
misses people). 有 → the full crisis path; 不想说 → the hotlines again, a counsellor offered
and an amber alert to staff; 没有 → the counselling referral."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from handlers import crisis, psych
from handlers.context import Flow, Outcome, Turn
from handlers.types import Reply
from knowledge.crisis import CrisisResult
from storage import outbox, tickets
from storage.models import Conversation, Ticket

NAME = "screener"
STALE = "input.stale_button"
ASK = "ask"
AMBER = 1  # ticket priority: someone should call, not an emergency
YES, NO, SKIP = "screener:yes", "screener:no", "screener:skip"
# Conversation-level risk: messages of the last WINDOW each carrying at least VAGUE risk add
# up; at TOGETHER (from two messages on) the resident is asked directly.
WINDOW = timedelta(hours=1)
VAGUE = 0.5
TOGETHER = 1.5
ACCUMULATED = "accumulated"


def accumulate(conversation: Conversation, result: CrisisResult, now: datetime) -> CrisisResult:
    """Add this message's risk to the last hour's (stored on the conversation, forgotten
    with it); vague messages that cross the line together make the result `possible`."""
    if result.flagged:
        conversation.risk = None  # asked or answered now: start counting afresh
        return result
    if result.risk < VAGUE:
        return result
    cutoff = (now - WINDOW).timestamp()
    kept = [[at, risk] for at, risk in conversation.risk or [] if at >= cutoff]
    kept.append([now.timestamp(), round(result.risk, 3)])
    if len(kept) >= 2 and sum(risk for _, risk in kept) >= TOGETHER:
        conversation.risk = None
        return replace(result, severity="possible", kind=result.kind or "self",
                       signals=(*result.signals, ACCUMULATED))  # fmt: skip
    conversation.risk = kept
    return result


def question(turn: Turn) -> Reply:
    """The direct question, the hotlines in the same message, and the three answers."""
    lines = crisis.hotline_lines(turn.services, turn.locale, "self", limit=2)
    return turn.reply(
        "screener.ask",
        turn.button("screener.yes", YES),
        turn.button("screener.no", NO),
        turn.button("screener.skip", SKIP),
        hotlines=lines,
    )


async def ask(turn: Turn, result: CrisisResult) -> Outcome:
    """Ask directly; what the resident wrote is kept in the draft for the ticket."""
    draft = {"text": turn.text, "kind": result.kind or "self", "signals": list(result.signals)}
    return Outcome.start(NAME, ASK, question(turn), draft=draft)


async def answer(turn: Turn) -> Outcome:
    """A typed answer; anything else gets the question's buttons again."""
    if turn.typed("screener.yes"):
        return await _yes(turn)
    if turn.typed("screener.no"):
        return await _no(turn)
    if turn.typed("screener.skip"):
        return await _skip(turn)
    return FLOW.goto(ASK, question(turn))


async def press(turn: Turn) -> Outcome:
    """A pressed answer. 有 always counts, even from an old message: it is never ignored."""
    if turn.msg.action == YES:
        return await _yes(turn)
    if turn.conversation.flow == NAME and turn.msg.action == NO:
        return await _no(turn)
    if turn.conversation.flow == NAME and turn.msg.action == SKIP:
        return await _skip(turn)
    return Outcome.stay(turn.reply(STALE))


async def _yes(turn: Turn) -> Outcome:
    """They have thought of it: the crisis path, with the screener's answer on the ticket."""
    kind = str(turn.draft.get("kind") or "self")
    result = CrisisResult("high", kind, ("screener_yes",))  # type: ignore[arg-type]
    ticket = await crisis.record(turn, result, text=str(turn.draft.get("text") or turn.text))
    await _answered(turn, ticket, "yes")
    reply = crisis.crisis_reply(turn.services, turn.locale, result, staff_alerted=True)
    return Outcome((reply,), crisis.CRISIS, crisis.HOLD)


async def _no(turn: Turn) -> Outcome:
    """Not that: the warm counselling referral."""
    return Outcome.end(*(await psych.support(turn)).replies)


async def _skip(turn: Turn) -> Outcome:
    """They would rather not say: the hotlines again, a counsellor offered, and staff get an
    amber alert to reach out gently."""
    ticket = await tickets.open_ticket_of_kind(
        turn.session, resident_id=turn.resident.id, kind=crisis.CRISIS
    )
    if ticket is None:
        ticket = await tickets.create_ticket(
            turn.session,
            kind=crisis.CRISIS,
            resident_id=turn.resident.id,
            summary=str(turn.draft.get("text") or ""),
            now=turn.now,
            year=turn.now.astimezone(turn.services.timezone).year,
            priority=AMBER,
            grid=turn.resident.grid,
            details={
                "severity": "possible",
                "signal": str(turn.draft.get("kind") or "self"),
                "signals": list(turn.draft.get("signals") or []),
                "channel": turn.msg.channel,
            },
        )
    await _answered(turn, ticket, "skip")
    texts = turn.services.texts
    await outbox.enqueue(
        turn.session,
        channel=crisis.STAFF_ALERTS[0],
        recipient=crisis.STAFF_ALERTS[1],
        payload={
            "text": texts.get("zh", "staff.screener_alert", number=ticket.number),
            "buttons": [],
            "ticket": ticket.number,
        },
        dedupe_key=f"screener-alert:{ticket.number}",
        priority=outbox.PRIORITY_URGENT,
        now=turn.now,
    )
    lines = crisis.hotline_lines(turn.services, turn.locale, "self", limit=2)
    book = turn.button("psych.book_button", "psych:book")
    return Outcome.end(turn.reply("screener.skipped", book, hotlines=lines))


async def _answered(turn: Turn, ticket: Ticket, answer: str) -> None:
    """Put the screener's question and answer on the ticket's timeline for staff."""
    await tickets.add_event(
        turn.session,
        ticket=ticket,
        kind="screener_answer",
        actor_type="resident",
        actor_id=turn.resident.id,
        now=turn.now,
        data={"answer": answer},
    )


FLOW = Flow(NAME, {ASK: answer})

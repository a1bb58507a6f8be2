"""Reaching a person: the resident's request becomes a ticket community staff answer.

Unanswered questions also come here, so that whatever a resident asks, a person can take it
up. (Opinions and proposals go to the deliberation hall: handlers/deliberation.py.)"""

from __future__ import annotations

from handlers import staff_chat
from handlers.context import Flow, Outcome, Turn
from handlers.types import Reply
from storage import tickets

NAME = "handoff"
DESCRIBE, CONFIRM = "describe", "confirm"
MIN_DETAIL_CHARS = 2
QUOTE_CHARS = 300


async def start(turn: Turn) -> Outcome:
    """`Contact a person`: asks what the resident needs."""
    return _ask(turn, kind="consultation", prompt="handoff.ask")


def offer_for_unanswered(turn: Turn) -> Outcome:
    """The knowledge base has no good answer: say so, offer to rephrase or ask a person."""
    return _offer(turn, intro="faq.not_sure", topic="question")


def _ask(turn: Turn, *, kind: str, prompt: str, topic: str = "request") -> Outcome:
    draft = {"kind": kind, "topic": topic}
    return Outcome.start(NAME, DESCRIBE, _with_cancel(turn, prompt), draft=draft)


def _offer(turn: Turn, *, intro: str, topic: str) -> Outcome:
    route = turn.route
    draft = {
        "kind": "consultation",
        "topic": topic,
        "category": route.category if route else None,
        "text": turn.text,
    }
    return Outcome.start(NAME, CONFIRM, _confirm_prompt(turn, intro, turn.text), draft=draft)


async def describe(turn: Turn) -> Outcome:
    """Takes the resident's description and asks to confirm it."""
    if len(turn.text) < MIN_DETAIL_CHARS:
        return FLOW.goto(DESCRIBE, _with_cancel(turn, "handoff.need_text"))
    turn.draft["text"] = turn.text
    return FLOW.goto(CONFIRM, _confirm_prompt(turn, "handoff.confirm_intro", turn.text))


async def confirm(turn: Turn) -> Outcome:
    """Files the ticket on `confirm`; other text replaces the description."""
    action = turn.msg.action
    if action == "handoff:edit":
        return FLOW.goto(DESCRIBE, _with_cancel(turn, "handoff.ask_again"))
    if action == "handoff:confirm" or turn.typed("handoff.confirm_button"):
        return await _file(turn)
    if action is not None:
        return FLOW.goto(CONFIRM, turn.reply("input.stale_button"), _confirm_question(turn))
    if len(turn.text) < MIN_DETAIL_CHARS:
        return FLOW.goto(CONFIRM, _confirm_question(turn))
    turn.draft["text"] = turn.text
    return FLOW.goto(CONFIRM, _confirm_prompt(turn, "handoff.confirm_intro", turn.text))


async def _file(turn: Turn) -> Outcome:
    draft = turn.draft
    ticket = await tickets.create_ticket(
        turn.session,
        kind=draft.get("kind", "consultation"),
        category=draft.get("category"),
        resident_id=turn.resident.id,
        summary=str(draft.get("text", "")),
        now=turn.now,
        year=turn.now.astimezone(turn.services.timezone).year,
        grid=turn.resident.grid,
        details={"channel": turn.msg.channel, "topic": draft.get("topic")},
    )
    await staff_chat.alert_new_ticket(turn.session, turn.services, ticket, turn.now)
    return Outcome.end(turn.reply("handoff.done", number=ticket.number))


def _with_cancel(turn: Turn, key: str) -> Reply:
    return turn.reply(key, turn.button("common.cancel", "handoff:cancel"))


def _confirm_prompt(turn: Turn, intro: str, text: str) -> Reply:
    quoted = text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "…"
    question = _confirm_question(turn)
    return Reply(f"{turn.t(intro, text=quoted)}\n\n{question.text}", question.buttons)


def _confirm_question(turn: Turn) -> Reply:
    return turn.reply(
        "handoff.confirm_question",
        turn.button("handoff.confirm_button", "handoff:confirm"),
        turn.button("handoff.edit_button", "handoff:edit"),
        turn.button("common.cancel", "handoff:cancel"),
    )


FLOW = Flow(NAME, {DESCRIBE: describe, CONFIRM: confirm})

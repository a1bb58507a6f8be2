"""Residents' words in the hall: writing an opinion or a statement (length limit, word filter,
then the staff review queue), reading approved opinions, and proposing a new topic."""

from __future__ import annotations

from handlers import hall
from handlers.context import Outcome, Turn
from handlers.hall import NAME, OPINION, PROPOSAL, PROPOSAL_CONFIRM, STATEMENT
from handlers.ids import whole
from handlers.types import Button, Reply
from storage import opinions
from storage.models import Topic

MAX_OPINION = 500
MAX_STATEMENT = 140
MAX_PROPOSAL = 1000
MIN_CHARS = 4
PAGE = 5
SHOWN_CHARS = 200
STAFF_LANG = "zh"  # staff tools speak Chinese


async def start_opinion(turn: Turn, topic_id: str) -> Outcome:
    """`Write an opinion` on a topic: asks for it, with the length limit."""
    return await _start(turn, whole(topic_id), statement=False)


async def start_statement(turn: Turn, topic_id: str) -> Outcome:
    """`Add my statement` to a statement-voting topic."""
    return await _start(turn, whole(topic_id), statement=True)


async def _start(turn: Turn, topic_id: int, *, statement: bool) -> Outcome:
    topic = await hall.load(turn, topic_id)
    if topic is None:
        return hall.gone(turn)
    verb = "add" if statement else "opine"
    refused = await hall.gate(turn, topic, then=f"topic:{verb}:{topic_id}")
    if refused is not None:
        return refused
    key, limit = (
        ("topic.ask_statement", MAX_STATEMENT) if statement else ("topic.ask_opinion", MAX_OPINION)
    )
    ask = turn.reply(key, hall.cancel_button(turn), title=topic.title, limit=limit)
    return Outcome.start(NAME, STATEMENT if statement else OPINION, ask, draft={"topic": topic_id})


async def write(turn: Turn) -> Outcome:
    """The OPINION and STATEMENT steps: the resident's text goes to the review queue."""
    step = turn.conversation.step or OPINION
    if turn.msg.action is not None:
        return hall.goto(step, turn.reply("input.stale_button"))
    topic = await hall.load(turn, int(turn.draft.get("topic", 0)))
    if topic is None:
        return hall.gone(turn)
    return await submit(turn, topic, turn.text, statement=step == STATEMENT)


def _problem(turn: Turn, text: str, limit: int) -> Reply | None:
    """Why the text cannot go to review as it is, or None."""
    if len(text) < MIN_CHARS:
        return turn.reply("topic.too_short", hall.cancel_button(turn))
    if len(text) > limit:
        return turn.reply("topic.too_long", hall.cancel_button(turn), limit=limit, length=len(text))
    moderation = turn.services.moderation
    found = moderation.check(text) if moderation is not None else []
    if found:
        key = "topic.filtered_personal" if "personal" in found else "topic.filtered_abuse"
        return turn.reply(key, hall.cancel_button(turn))
    return None


async def submit(turn: Turn, topic: Topic, text: str, *, statement: bool) -> Outcome:
    """Hold an opinion or statement for review and ask staff to look at it."""
    step = STATEMENT if statement else OPINION
    if not hall.running(topic, turn.now):
        return await hall.gate(turn, topic, then="") or hall.gone(turn)
    problem = _problem(turn, text, MAX_STATEMENT if statement else MAX_OPINION)
    if problem is not None:
        turn.draft["topic"] = topic.id
        return Outcome(
            (problem,), NAME, step, None if turn.conversation.flow == NAME else {"topic": topic.id}
        )
    opinion = await opinions.add_opinion(
        turn.session, topic_id=topic.id, resident_id=turn.resident.id, text=text, now=turn.now
    )
    t = turn.services.texts
    ref = f"O{opinion.id}"
    alert = Reply(
        t.get(STAFF_LANG, "topic_staff.opinion", ref=ref, title=topic.title, text=text),
        (
            Button(t.get(STAFF_LANG, "topic_staff.approve_button"), f"staff:approve:{ref}"),
            Button(t.get(STAFF_LANG, "topic_staff.reject_button"), f"staff:reject:{ref}"),
        ),
    )
    await hall.alert_staff(turn.session, alert, key=f"review:{ref}", now=turn.now)
    key = "topic.statement_received" if statement else "topic.opinion_received"
    return Outcome.end(turn.reply(key, hall.view_button(turn, topic.id), title=topic.title))


async def read(turn: Turn, topic_id: str, page: str = "0") -> Outcome:
    """The approved opinions on a topic, newest first, a page at a time."""
    topic = await hall.load(turn, whole(topic_id))
    if topic is None:
        return hall.gone(turn)
    total = await opinions.count_approved(turn.session, topic_id=topic.id)
    if total == 0:
        return hall.done(
            turn,
            turn.reply("topic.no_opinions", hall.view_button(turn, topic.id), title=topic.title),
        )
    pages = -(-total // PAGE)
    number = min(whole(page, low=0), pages - 1)
    shown = await opinions.approved(
        turn.session, topic_id=topic.id, limit=PAGE, offset=number * PAGE
    )
    lines = [
        turn.t("topic.opinions_title", title=topic.title, total=total, page=number + 1, pages=pages)
    ]
    lines += [f"· 「{hall.short(o.text, SHOWN_CHARS)}」" for o in shown]
    buttons = []
    if number + 1 < pages:
        buttons.append(turn.button("topic.more_button", f"topic:read:{topic.id}:{number + 1}"))
    buttons.append(hall.view_button(turn, topic.id))
    return hall.done(turn, Reply("\n".join(lines), tuple(buttons)))


async def start_proposal(turn: Turn) -> Outcome:
    """`Propose a topic`: asks what the resident would like the hall to discuss."""
    ask = turn.reply("topic.ask_proposal", hall.cancel_button(turn), limit=MAX_PROPOSAL)
    return Outcome.start(NAME, PROPOSAL, ask)


async def proposal_text(turn: Turn) -> Outcome:
    """The PROPOSAL step: checks the text and asks to confirm it."""
    if turn.msg.action is not None:
        return hall.goto(PROPOSAL, turn.reply("input.stale_button"))
    return propose(turn, turn.text)


def propose(turn: Turn, text: str) -> Outcome:
    """Check a proposal's text and ask the resident to confirm sending it to staff."""
    problem = _problem(turn, text, MAX_PROPOSAL)
    if problem is not None:
        return Outcome((problem,), NAME, PROPOSAL, None if turn.conversation.flow == NAME else {})
    turn.draft["text"] = text
    confirm = turn.reply(
        "topic.confirm_proposal",
        turn.button("topic.send_button", f"{NAME}:send"),
        turn.button("topic.edit_button", f"{NAME}:edit"),
        hall.cancel_button(turn),
        text=hall.short(text, 300),
    )
    draft = None if turn.conversation.flow == NAME else {"text": text}
    return Outcome((confirm,), NAME, PROPOSAL_CONFIRM, draft)


async def proposal_confirm(turn: Turn) -> Outcome:
    """The PROPOSAL_CONFIRM step: `send` files it for review; new text replaces it."""
    action = turn.msg.action
    if action == f"{NAME}:edit":
        return hall.goto(
            PROPOSAL, turn.reply("topic.ask_proposal", hall.cancel_button(turn), limit=MAX_PROPOSAL)
        )
    if action == f"{NAME}:send" or turn.typed("topic.send_button"):
        return await _file_proposal(turn, str(turn.draft.get("text", "")))
    if action is not None:
        return hall.goto(PROPOSAL_CONFIRM, turn.reply("input.stale_button"))
    return propose(turn, turn.text)


async def _file_proposal(turn: Turn, text: str) -> Outcome:
    proposal = await opinions.add_proposal(
        turn.session, resident_id=turn.resident.id, text=text, now=turn.now
    )
    t = turn.services.texts
    ref = f"P{proposal.id}"
    alert = Reply(
        t.get(STAFF_LANG, "topic_staff.proposal", ref=ref, text=text),
        (
            Button(t.get(STAFF_LANG, "topic_staff.approve_button"), f"staff:approve:{ref}"),
            Button(t.get(STAFF_LANG, "topic_staff.reject_button"), f"staff:reject:{ref}"),
        ),
    )
    await hall.alert_staff(turn.session, alert, key=f"review:{ref}", now=turn.now)
    return Outcome.end(turn.reply("topic.proposal_received", hall.list_button(turn), ref=ref))

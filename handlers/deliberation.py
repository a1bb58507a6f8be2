"""The residents' deliberation hall (居民议事厅): browse the open topics, read one, vote (one
vote each, confirmed, changeable until closing); every `topic:…` button comes here first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import hall, offers, opinions, statements, topic_close
from handlers.context import KEEP, Flow, Outcome, Turn
from handlers.hall import BUILDING, NAME, OFFER, OPINION, PROPOSAL, PROPOSAL_CONFIRM, STATEMENT
from handlers.ids import whole
from handlers.types import Button, Reply
from storage import topics

PAGE = 5
BODY_CHARS = 1500


async def enter(turn: Turn) -> Outcome:
    """Menu `居民议事厅`: the open topics, or an invitation to propose one."""
    return await show_list(turn, "0")


async def show_list(turn: Turn, page: str = "0") -> Outcome:
    """One page of open topics with days left and how many took part."""
    total = await topics.count_open(turn.session, now=turn.now)
    propose = turn.button("topic.propose_button", "topic:propose")
    back = turn.button("menu.back", "menu:open")
    if total == 0:
        return hall.done(turn, turn.reply("topic.none_open", propose, back))
    pages = -(-total // PAGE)
    number = min(whole(page, low=0), pages - 1)
    found = await topics.open_topics(turn.session, now=turn.now, limit=PAGE, offset=number * PAGE)
    counts = await topics.participant_counts(turn.session, [t.id for t in found])
    lines = [turn.t("topic.list_title", page=number + 1, pages=pages)]
    buttons: list[Button] = []
    for n, topic in enumerate(found, number * PAGE + 1):
        scope = hall.scope_label(turn.services, turn.locale, topic.scope)
        lines.append(
            turn.t(
                "topic.list_line",
                n=n,
                title=topic.title,
                scope=scope,
                left=hall.closes_text(turn, topic),
                count=counts.get(topic.id, 0),
            )
        )
        buttons.append(Button(f"{n}. {hall.short(topic.title)}", f"topic:view:{topic.id}"))
    if number > 0:
        buttons.append(turn.button("topic.previous_button", f"topic:list:{number - 1}"))
    if number + 1 < pages:
        buttons.append(turn.button("topic.next_button", f"topic:list:{number + 1}"))
    return hall.done(turn, Reply("\n".join(lines), (*buttons, propose, back)))


async def view(turn: Turn, topic_id: str) -> Outcome:
    """One topic: background, scope, closing, participants, the resident's own vote, and
    what they can do (vote, write or read opinions, vote on statements)."""
    topic = await hall.load(turn, whole(topic_id))
    if topic is None:
        return hall.gone(turn)
    if not hall.running(topic, turn.now):
        if topic.result is not None:
            text = topic_close.result_text(turn.services, turn.locale, topic)
            return hall.done(turn, Reply(text, (hall.list_button(turn),)))
        refused = await hall.gate(turn, topic, then="")
        return refused or hall.gone(turn)
    count = (await topics.participant_counts(turn.session, [topic.id])).get(topic.id, 0)
    body = hall.short(topic.body, BODY_CHARS)
    text = turn.t(
        "topic.card",
        title=topic.title,
        body=body,
        left=hall.closes_text(turn, topic),
        closes=hall.local(turn.services, topic.closes_at),
        count=count,
        scope=hall.scope_label(turn.services, turn.locale, topic.scope),
        rule=turn.t(f"topic.rule.{topic.rule}"),
    )
    vote = await topics.get_vote(turn.session, topic_id=topic.id, resident_id=turn.resident.id)
    if vote is not None and vote.option < len(topic.options):
        text += "\n" + turn.t("topic.your_vote", option=topic.options[vote.option])
    buttons = [Button(label, f"topic:pick:{topic.id}:{i}") for i, label in enumerate(topic.options)]
    if topic.mode == "statements":
        buttons.append(turn.button("topic.statements_button", f"topic:st:{topic.id}"))
        buttons.append(turn.button("topic.add_statement_button", f"topic:add:{topic.id}"))
    else:
        buttons.append(turn.button("topic.opine_button", f"topic:opine:{topic.id}"))
        buttons.append(turn.button("topic.read_button", f"topic:read:{topic.id}:0"))
    buttons.append(hall.list_button(turn))
    return hall.done(turn, Reply(text, tuple(buttons)))


async def pick(turn: Turn, topic_id: str, option: str) -> Outcome:
    """An option button: asks the resident to confirm their vote."""
    topic = await hall.load(turn, whole(topic_id))
    if topic is None or not whole(option, low=0) < len(topic.options):
        return hall.gone(turn)
    refused = await hall.gate(turn, topic, then=f"topic:pick:{topic.id}:{option}")
    if refused is not None:
        return refused
    confirm = turn.button("topic.confirm_vote_button", f"topic:cast:{topic.id}:{option}")
    return hall.done(
        turn,
        turn.reply(
            "topic.confirm_vote",
            confirm,
            hall.view_button(turn, topic.id),
            option=topic.options[whole(option, low=0)],
            title=topic.title,
        ),
    )


async def cast(turn: Turn, topic_id: str, option: str) -> Outcome:
    """`Confirm my vote`: records it (replacing an earlier one) and says so."""
    topic = await hall.load(turn, whole(topic_id))
    if topic is None or not whole(option, low=0) < len(topic.options):
        return hall.gone(turn)
    refused = await hall.gate(turn, topic, then=f"topic:cast:{topic.id}:{option}")
    if refused is not None:
        return refused
    before = await topics.cast_vote(
        turn.session,
        topic_id=topic.id,
        resident_id=turn.resident.id,
        option=whole(option, low=0),
        now=turn.now,
    )
    chosen = topic.options[whole(option, low=0)]
    closes = hall.local(turn.services, topic.closes_at)
    back = hall.view_button(turn, topic.id)
    if before is None or before == whole(option, low=0):
        return hall.done(turn, turn.reply("topic.voted", back, option=chosen, closes=closes))
    earlier = topic.options[before] if before < len(topic.options) else "-"
    return hall.done(
        turn, turn.reply("topic.vote_changed", back, before=earlier, option=chosen, closes=closes)
    )


Action = Callable[..., Awaitable[Outcome]]
# topic:<verb>:<arguments…> → the step it runs; every argument is a short id, never a label.
VERBS: dict[str, tuple[Action, int]] = {
    "list": (show_list, 1),
    "view": (view, 1),
    "pick": (pick, 2),
    "cast": (cast, 2),
    "opine": (opinions.start_opinion, 1),
    "read": (opinions.read, 2),
    "st": (statements.start, 1),
    "sv": (statements.vote, 2),
    "add": (opinions.start_statement, 1),
    "propose": (opinions.start_proposal, 0),
}


async def press(turn: Turn) -> Outcome:
    """Any `topic:…` button."""
    return await run(turn, turn.msg.action or "")


async def run(turn: Turn, action: str) -> Outcome:
    """Carry out a hall action; a malformed or unknown one gets a friendly answer."""
    if action == f"{NAME}:yes":
        return await offers.accept(turn)
    parts = action.split(":")
    found = VERBS.get(parts[1]) if len(parts) > 1 and parts[0] == "topic" else None
    arguments = parts[2:]
    if found is None or len(arguments) != found[1]:
        return hall.gone(turn)
    try:
        return await found[0](turn, *arguments)
    except ValueError:  # a number that is not one, or no row's (BadNumber): a forged button
        return hall.gone(turn)


async def building(turn: Turn) -> Outcome:
    """The BUILDING step: remembers the resident's building (and so their grid), then does
    what they were doing."""
    if turn.msg.action is not None:
        return hall.goto(BUILDING, turn.reply("input.stale_button"))
    text = turn.text
    grid, number = turn.services.grids.locate_text(text + "号楼" if text.isdigit() else text)
    if number is None:
        return hall.goto(BUILDING, turn.reply("topic.building_again", hall.cancel_button(turn)))
    turn.resident.building = number
    if grid is not None:
        turn.resident.grid = grid.id
    saved = turn.reply("topic.building_saved", number=number)
    outcome = await run(turn, str(turn.draft.get("then", "")))
    if outcome.flow == KEEP:
        return Outcome.end(saved, *outcome.replies)
    return Outcome((saved, *outcome.replies), outcome.flow, outcome.step, outcome.draft)


FLOW = Flow(
    NAME,
    {
        OPINION: opinions.write,
        STATEMENT: opinions.write,
        PROPOSAL: opinions.proposal_text,
        PROPOSAL_CONFIRM: opinions.proposal_confirm,
        OFFER: offers.offer,
        BUILDING: building,
    },
)

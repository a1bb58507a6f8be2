"""Statement voting (after Polis): a resident sees approved statements one at a time, those
with the fewest votes first, and answers 同意 / 不同意 / 跳过."""

from __future__ import annotations

from handlers import hall
from handlers.context import Outcome, Turn
from handlers.ids import whole
from storage import opinions
from storage.models import Opinion, Topic

VALUES = {"a": opinions.AGREE, "d": opinions.DISAGREE, "p": opinions.PASS}


async def start(turn: Turn, topic_id: str) -> Outcome:
    """`Vote on statements`: the first statement this resident has not answered."""
    topic = await hall.load(turn, whole(topic_id))
    if topic is None or topic.mode != "statements":
        return hall.gone(turn)
    refused = await hall.gate(turn, topic, then=f"topic:st:{topic.id}")
    if refused is not None:
        return refused
    return await _next(turn, topic)


async def vote(turn: Turn, opinion_id: str, choice: str) -> Outcome:
    """A 同意 / 不同意 / 跳过 button: records it and shows the next statement."""
    if choice not in VALUES:
        return hall.gone(turn)
    statement = await turn.session.get(Opinion, whole(opinion_id))
    if statement is None or statement.status != opinions.APPROVED:
        return hall.gone(turn)
    topic = await turn.session.get(Topic, statement.topic_id)
    if topic is None:
        return hall.gone(turn)
    refused = await hall.gate(turn, topic, then=f"topic:sv:{statement.id}:{choice}")
    if refused is not None:
        return refused
    await opinions.vote_statement(
        turn.session,
        opinion_id=statement.id,
        resident_id=turn.resident.id,
        value=VALUES[choice],
        now=turn.now,
    )
    return await _next(turn, topic)


async def _next(turn: Turn, topic: Topic) -> Outcome:
    add = turn.button("topic.add_statement_button", f"topic:add:{topic.id}")
    back = hall.view_button(turn, topic.id)
    found = await opinions.next_statement(
        turn.session, topic_id=topic.id, resident_id=turn.resident.id
    )
    if found is None:
        return hall.done(turn, turn.reply("topic.statements_done", add, back, title=topic.title))
    statement, answered, total = found
    card = turn.reply(
        "topic.statement_card",
        turn.button("topic.agree_button", f"topic:sv:{statement.id}:a"),
        turn.button("topic.disagree_button", f"topic:sv:{statement.id}:d"),
        turn.button("topic.pass_button", f"topic:sv:{statement.id}:p"),
        add,
        back,
        title=topic.title,
        number=answered + 1,
        total=total,
        text=statement.text,
    )
    return hall.done(turn, card)

"""The hall's door from free text: an opinion-like message about an open topic is offered to
that topic ("把这条作为对《…》的意见提交吗？"); otherwise the resident may browse the open
topics or propose theirs as a new one."""

from __future__ import annotations

from handlers import hall, opinions
from handlers.context import Outcome, Turn
from handlers.hall import NAME, OFFER
from knowledge.topic_match import TopicMatcher, TopicText, with_topic
from storage import topics

QUOTE_CHARS = 200


async def matcher(turn: Turn) -> tuple[TopicMatcher, dict[int, str]]:
    """A matcher over the topics open now, and their titles."""
    found = await topics.open_topics(turn.session, now=turn.now)
    texts = [TopicText(t.id, t.title, t.body) for t in found]
    return TopicMatcher(turn.services.faq.analyzer, texts), {t.id: t.title for t in found}


async def from_message(turn: Turn) -> Outcome:
    """The `deliberation` route: offer the message to the open topic it is about, else the
    list of open topics or a proposal."""
    text = turn.text
    match, titles = await matcher(turn)
    topic_id = None
    if turn.route is not None:
        turn.route = with_topic(turn.route, match)
        topic_id = turn.route.topic_id
    yes = turn.button("topic.offer_yes_button", f"{NAME}:yes")
    propose = turn.button("topic.offer_propose_button", f"{NAME}:propose")
    no = turn.button("topic.offer_no_button", f"{NAME}:no")
    quoted = hall.short(text, QUOTE_CHARS)
    if topic_id is not None:
        reply = turn.reply("topic.offer_opinion", yes, no, title=titles[topic_id], text=quoted)
        return Outcome.start(NAME, OFFER, reply, draft={"text": text, "topic": topic_id})
    if titles:
        browse = turn.button("topic.offer_browse_button", "topic:list:0")
        reply = turn.reply(
            "topic.offer_browse", browse, propose, no, count=len(titles), text=quoted
        )
    else:
        reply = turn.reply("topic.offer_proposal", propose, no, text=quoted)
    return Outcome.start(NAME, OFFER, reply, draft={"text": text})


async def offer(turn: Turn) -> Outcome:
    """The OFFER step: yes submits the message, propose makes it a proposal, no drops it;
    a new message is handled as new."""
    action = turn.msg.action
    if action == f"{NAME}:yes" or (action is None and turn.typed("topic.offer_yes_button")):
        return await accept(turn)
    if action == f"{NAME}:propose" or (action is None and turn.typed("topic.offer_propose_button")):
        return opinions.propose(turn, str(turn.draft.get("text", "")))
    if action == f"{NAME}:no" or (action is None and turn.typed("topic.offer_no_button")):
        return Outcome.end(turn.reply("topic.offer_declined", hall.list_button(turn)))
    if action is not None:
        return hall.goto(OFFER, turn.reply("input.stale_button"))
    from handlers import registry  # the registry imports this module: resolve at call time

    turn.conversation.flow = turn.conversation.step = None
    return await registry.dispatch(turn)


async def accept(turn: Turn) -> Outcome:
    """`Submit it`: the offered message becomes an opinion (or statement) on the topic."""
    if turn.conversation.flow != NAME or "topic" not in turn.draft:
        return hall.gone(turn)
    topic = await hall.load(turn, int(turn.draft["topic"]))
    if topic is None:
        return hall.gone(turn)
    refused = await hall.gate(turn, topic, then=f"{NAME}:yes")
    if refused is not None:
        return refused
    text = str(turn.draft.get("text", ""))
    return await opinions.submit(turn, topic, text, statement=topic.mode == "statements")

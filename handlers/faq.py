"""Service questions: answered from the knowledge base, or honestly not, with a person on offer."""

from __future__ import annotations

import re

from handlers import handoff
from handlers.context import Outcome, Turn
from handlers.types import Button, Reply
from knowledge.faq import FaqEntry
from knowledge.retrieval import Match
from storage import faq as faq_store

# Below this calibrated probability of being the right entry (knowledge/retrieval.py) the bot
# says it is not sure instead of answering. Chosen on the development set: about 92 % of
# service questions answered with the right entry, about 3 % with a wrong one.
ANSWER_CONFIDENCE = 0.35
RELATED_CONFIDENCE = 0.8  # other entries worth offering as "you may also ask"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def answer_locale(turn: Turn) -> str:
    """English questions get English answers; otherwise the resident's language."""
    text = turn.text
    if text and not _CJK.search(text) and re.search(r"[A-Za-z]{3}", text):
        return "en"
    return turn.locale


async def answer(turn: Turn) -> Outcome:
    """Answers from the best entry, or records the question and offers a person."""
    matches = turn.services.faq.search(turn.text, k=3)
    best = matches[0] if matches else None
    if best is None or best.confidence < ANSWER_CONFIDENCE:
        faq_store.record_unanswered(
            turn.session,
            text=turn.text[:1000],
            locale=turn.locale,
            best_faq_id=best.entry.id if best else None,
            confidence=best.confidence if best else 0.0,
            now=turn.now,
        )
        return handoff.offer_for_unanswered(turn)
    related = [m for m in matches[1:] if m.confidence >= RELATED_CONFIDENCE]
    return Outcome.stay(_answer_reply(turn, best.entry, answer_locale(turn), related))


def _answer_reply(turn: Turn, entry: FaqEntry, locale: str, related: list[Match]) -> Reply:
    texts = turn.services.texts
    parts = [entry.answer.get(locale)]
    office = turn.services.places.offices.get(entry.office or "")
    if office is not None:
        parts.append(
            texts.get(
                locale,
                "faq.office",
                name=office.text("name", locale),
                address=office.text("address", locale),
                phone=office.phone,
                hours=office.text("hours", locale),
            )
        )
    parts.append(texts.get(locale, "faq.helpful"))
    buttons = [
        Button(texts.get(locale, "faq.yes"), f"faq:up:{entry.id}"),
        Button(texts.get(locale, "faq.no"), f"faq:down:{entry.id}"),
    ]
    buttons += [Button(m.entry.question.get(locale), f"faq:show:{m.entry.id}") for m in related]
    return Reply("\n\n".join(parts), tuple(buttons))


async def press(turn: Turn) -> Outcome:
    """👍/👎 under an answer, or a related question."""
    parts = (turn.msg.action or "").split(":")
    verb, faq_id = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
    entry = turn.services.faq.entries.get(faq_id)
    if entry is None or verb not in ("up", "down", "show"):
        return Outcome.stay(turn.reply("input.stale_button"))
    if verb == "show":
        return Outcome.stay(_answer_reply(turn, entry, turn.locale, []))
    faq_store.record_feedback(
        turn.session, faq_id=entry.id, helpful=verb == "up", locale=turn.locale, now=turn.now
    )
    if verb == "up":
        return Outcome.stay(turn.reply("faq.thanks"))
    return Outcome.stay(turn.reply("faq.sorry", turn.button("menu.person", "handoff:start")))

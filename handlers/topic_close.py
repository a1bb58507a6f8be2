"""Closing topics: at closing time a sweep counts the votes against the topic's decision rule,
finds the statement groups, stores the result and tells every participant in plain words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import hall
from handlers.context import Services
from handlers.topic_rules import MAJORITY, decide
from knowledge.opinion_groups import analyse
from storage import opinions, topics
from storage.models import Topic

QUOTE_CHARS = 60


async def tally(session: AsyncSession, topic: Topic) -> dict[str, Any]:
    """The topic's figures now: votes per option, participants, turnout, the rule's verdict
    and, for statement voting, the broad agreement and the opinion groups."""
    counts = await topics.vote_counts(session, topic.id)
    taking_part = (await topics.participant_counts(session, [topic.id])).get(topic.id, 0)
    result = decide(
        topic.rule,
        topic.options,
        [counts.get(i, 0) for i in range(len(topic.options))],
        eligible=await topics.eligible_count(session, topic.scope),
        participants=taking_part,
    )
    result["opinions"] = await opinions.count_approved(session, topic_id=topic.id)
    if topic.mode == "statements":
        result["statements"] = await _statements(session, topic)
    return result


async def _statements(session: AsyncSession, topic: Topic) -> dict[str, Any]:
    statements, votes = await opinions.statement_votes(session, topic_id=topic.id)
    text = {s.id: s.text for s in statements}
    analysis = analyse([s.id for s in statements], votes)
    stats = {s.id: s for s in analysis.stats}
    return {
        "participants": analysis.participants,
        "consensus": [
            {"id": i, "text": text[i], "agree": round(stats[i].agree_share, 2)}
            for i in analysis.consensus
        ],
        "groups": [
            {
                "size": len(group.members),
                "agrees": [
                    {"id": i, "text": text[i], "here": a, "others": b} for i, a, b in group.agrees
                ],
                "disagrees": [
                    {"id": i, "text": text[i], "here": a, "others": b}
                    for i, a, b in group.disagrees
                ],
            }
            for group in analysis.groups
        ],
    }


async def close_due(session: AsyncSession, services: Services, *, now: datetime) -> int:
    """Close every open topic past its closing time, once (a second run finds none)."""
    due = await topics.due_to_close(session, now=now)
    for topic in due:
        await close_topic(session, services, topic, now=now)
    return len(due)


async def close_topic(
    session: AsyncSession, services: Services, topic: Topic, *, now: datetime
) -> int:
    """Store the result and queue it for every participant; returns how many were told."""
    topic.result = await tally(session, topic)
    topic.status = topics.CLOSED
    topic.closed_at = now
    told = 0
    for resident in await topics.participants(session, topic.id):
        message = hall.resident_message(
            services,
            resident,
            "topic.result_intro",
            text=result_text(services, resident.locale, topic),
        )
        told += await hall.tell(
            session, resident, message, key=f"topic:{topic.id}:result:{resident.id}", now=now
        )
    return told


async def respond(
    session: AsyncSession, services: Services, *, topic_id: int, text: str, now: datetime
) -> int:
    """Staff's official response or follow-up on a topic, told to every participant;
    returns how many were told. LookupError for an unknown topic."""
    topic = await session.get(Topic, topic_id)
    if topic is None:
        raise LookupError(topic_id)
    if not text.strip():
        raise ValueError("a response needs text")
    response = await topics.add_response(session, topic_id=topic.id, text=text.strip(), now=now)
    told = 0
    for resident in await topics.participants(session, topic.id):
        message = hall.resident_message(
            services, resident, "topic.response", title=topic.title, text=response.text
        )
        told += await hall.tell(
            session,
            resident,
            message,
            key=f"topic:{topic.id}:response:{response.id}:{resident.id}",
            now=now,
        )
    return told


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def result_text(services: Services, locale: str, topic: Topic) -> str:
    """The stored result in plain words, quoting real statements."""
    t = services.texts
    result = topic.result or {}
    lines = [
        t.get(
            locale,
            "topic.result_head",
            title=topic.title,
            closed=hall.local(services, topic.closes_at),
        ),
        t.get(
            locale,
            "topic.result_turnout_votes" if topic.options else "topic.result_turnout",
            participants=result.get("participants", 0),
            voters=result.get("voters", 0),
            eligible=result.get("eligible", 0),
            turnout=_percent(result.get("turnout", 0.0)),
        ),
    ]
    votes = result.get("votes") or {}
    if votes:
        shown = " · ".join(
            t.get(locale, "topic.result_count", option=k, count=v) for k, v in votes.items()
        )
        lines.append(t.get(locale, "topic.result_votes", votes=shown))
        lines.append(_verdict(services, locale, result))
    elif topic.mode != "statements":
        lines.append(t.get(locale, "topic.result_opinions", count=result.get("opinions", 0)))
    if "statements" in result:
        lines.extend(_groups_text(services, locale, result["statements"]))
    return "\n".join(lines)


def _verdict(services: Services, locale: str, result: dict[str, Any]) -> str:
    t, rule = services.texts, str(result.get("rule", MAJORITY))
    name = t.get(locale, f"topic.rule.{rule}")
    winner, share = result.get("winner"), _percent(result.get("share") or 0.0)
    if rule == MAJORITY:
        if winner:
            return t.get(locale, "topic.verdict_majority", rule=name, option=winner, share=share)
        return t.get(locale, "topic.verdict_no_majority", rule=name)
    if not result.get("quorum_met"):
        return t.get(
            locale,
            "topic.verdict_no_quorum",
            rule=name,
            voters=result.get("voters", 0),
            needed=result.get("quorum_needed", 0),
        )
    key = "topic.verdict_quorum_passed" if winner else "topic.verdict_quorum_failed"
    bar = t.get(locale, "topic.bar_major" if rule.endswith("major") else "topic.bar_half")
    return t.get(
        locale,
        key,
        rule=name,
        voters=result.get("voters", 0),
        option=winner or "-",
        share=share,
        bar=bar,
    )


def _groups_text(services: Services, locale: str, found: dict[str, Any]) -> list[str]:
    t = services.texts
    lines = []
    if found.get("consensus"):
        lines.append(t.get(locale, "topic.consensus_head"))
        for item in found["consensus"]:
            lines.append(
                t.get(
                    locale,
                    "topic.consensus_line",
                    text=hall.short(item["text"], QUOTE_CHARS),
                    share=_percent(item["agree"]),
                )
            )
    else:
        lines.append(t.get(locale, "topic.consensus_none"))
    groups = found.get("groups") or []
    if not groups:
        lines.append(t.get(locale, "topic.groups_none"))
        return lines
    lines.append(t.get(locale, "topic.groups_head", count=len(groups)))
    for number, group in enumerate(groups, 1):
        parts = [
            t.get(
                locale,
                "topic.group_agrees",
                text=hall.short(i["text"], QUOTE_CHARS),
                here=_percent(i["here"]),
                others=_percent(i["others"]),
            )
            for i in group["agrees"]
        ]
        parts += [
            t.get(
                locale,
                "topic.group_disagrees",
                text=hall.short(i["text"], QUOTE_CHARS),
                here=_percent(i["here"]),
                others=_percent(i["others"]),
            )
            for i in group["disagrees"]
        ]
        lines.append(
            t.get(
                locale,
                "topic.group_line",
                number=number,
                size=group["size"],
                parts=t.get(locale, "topic.group_join").join(parts) or "-",
            )
        )
    return lines

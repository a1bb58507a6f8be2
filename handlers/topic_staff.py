"""Staff running the hall: the review queue of opinions, statements (O12) and proposals (P3),
approving or rejecting them (the resident hears the outcome), and official responses. Used
by `linli topic moderate` and by the staff chat (/topics, /approve O12, /reject P3 reason,
/respond 5 text; buttons staff:approve:O12, staff:reject:O12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import hall, topic_close
from handlers.context import Services
from handlers.ids import row_id
from handlers.topic_spec import TopicSpec, create_topic_from
from handlers.types import Reply
from storage import audit, opinions
from storage.models import Resident, Staff, Topic

COMMANDS = frozenset({"topics", "approve", "reject", "respond"})
LANG = "zh"  # staff tools speak Chinese


@dataclass(frozen=True, slots=True)
class Decision:
    """What a review decided, for the staff member's confirmation."""

    ref: str
    approved: bool
    topic_id: int | None = None


class ReviewError(Exception):
    """A review that cannot be done; `key` names the staff message."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


async def queue(session: AsyncSession) -> list[tuple[str, str, str]]:
    """The review queue, oldest first: (reference, topic title or "", text)."""
    items: list[tuple[str, str, str]] = []
    for opinion in await opinions.pending(session):
        topic = await session.get(Topic, opinion.topic_id)
        items.append((f"O{opinion.id}", topic.title if topic else "", opinion.text))
    for proposal in await opinions.pending_proposals(session):
        items.append((f"P{proposal.id}", "", proposal.text))
    return items


def _parse(ref: str) -> tuple[str, int]:
    kind, number = ref[:1].upper(), row_id(ref[1:])
    if kind not in ("O", "P") or number is None:
        raise ReviewError("topic_staff.bad_ref")
    return kind, number


async def review(
    session: AsyncSession,
    services: Services,
    ref: str,
    *,
    approve: bool,
    now: datetime,
    reason: str | None = None,
    staff_id: int | None = None,
    spec: TopicSpec | None = None,
) -> Decision:
    """Approve or reject O<id> (an opinion or statement) or P<id> (a proposal; approving it
    with a topic definition opens that topic). The resident is told."""
    kind, number = _parse(ref)
    topic_id: int | None
    try:
        if kind == "O":
            opinion = await opinions.review(
                session, opinion_id=number, approve=approve, now=now, reason=reason
            )
            resident_id, topic_id, text = opinion.resident_id, opinion.topic_id, opinion.text
        else:
            opened = await create_topic_from(session, spec, now=now) if approve and spec else None
            topic_id = opened.id if opened else None
            proposal = await opinions.decide_proposal(
                session,
                proposal_id=number,
                accept=approve,
                now=now,
                reason=reason,
                topic_id=topic_id,
            )
            resident_id, text = proposal.resident_id, proposal.text
    except LookupError:
        raise ReviewError("topic_staff.not_found") from None
    except ValueError:
        raise ReviewError("topic_staff.already_reviewed") from None
    audit.record(
        session,
        actor_type="staff" if staff_id else "cli",
        actor_id=staff_id,
        action=f"topic.{'approve' if approve else 'reject'}",
        now=now,
        target_type="opinion" if kind == "O" else "proposal",
        target_id=number,
    )
    resident = await session.get(Resident, resident_id) if resident_id else None
    if resident is not None:
        await _tell(session, services, resident, kind, approve, text, topic_id, reason, now, ref)
    return Decision(ref.upper(), approve, topic_id)


async def _tell(
    session: AsyncSession,
    services: Services,
    resident: Resident,
    kind: str,
    approve: bool,
    text: str,
    topic_id: int | None,
    reason: str | None,
    now: datetime,
    ref: str,
) -> None:
    topic = await session.get(Topic, topic_id) if topic_id else None
    title = topic.title if topic else ""
    quoted = hall.short(text, 60)
    buttons: tuple[tuple[str, str], ...] = ()
    if kind == "O":
        key = "topic.opinion_approved" if approve else "topic.opinion_rejected"
    elif approve and topic is not None:
        key, buttons = "topic.proposal_opened", (("topic.view_button", f"topic:view:{topic.id}"),)
    else:
        key = "topic.proposal_accepted" if approve else "topic.proposal_rejected"
    no_reason = services.texts.get(resident.locale, "topic.no_reason")
    message = hall.resident_message(
        services, resident, key, *buttons, title=title, text=quoted, reason=reason or no_reason
    )
    await hall.tell(session, resident, message, key=f"review:{ref.upper()}:outcome", now=now)


async def answer(
    session: AsyncSession,
    services: Services,
    staff: Staff,
    name: str,
    target: str,
    rest: str,
    now: datetime,
) -> list[Reply]:
    """Carry out a staff-chat hall command and say what happened (in Chinese)."""
    t = services.texts
    try:
        if name == "topics":
            return [_queue_reply(services, await queue(session))]
        if name == "respond":
            topic_id = row_id(target)
            if topic_id is None:
                raise ReviewError("topic_staff.not_found")
            told = await topic_close.respond(
                session, services, topic_id=topic_id, text=rest, now=now
            )
            return [Reply(t.get(LANG, "topic_staff.responded", count=told))]
        decision = await review(
            session,
            services,
            target,
            approve=name == "approve",
            now=now,
            reason=rest or None,
            staff_id=staff.id,
        )
    except ReviewError as error:
        return [Reply(t.get(LANG, error.key))]
    except LookupError:
        return [Reply(t.get(LANG, "topic_staff.not_found"))]
    except ValueError:
        return [Reply(t.get(LANG, "staff.empty_text"))]
    key = "topic_staff.approved" if decision.approved else "topic_staff.rejected"
    return [Reply(t.get(LANG, key, ref=decision.ref))]


def _queue_reply(services: Services, items: list[tuple[str, str, str]]) -> Reply:
    t = services.texts
    if not items:
        return Reply(t.get(LANG, "topic_staff.queue_empty"))
    lines = [t.get(LANG, "topic_staff.queue_title")]
    lines += [
        f"{ref} {f'《{title}》' if title else ''}{hall.short(text, 80)}"
        for ref, title, text in items
    ]
    return Reply("\n".join(lines))

"""`linli topic`: staff create deliberation topics from YAML, show their counts and result,
review opinions, statements and proposals, and publish official responses."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from handlers import topic_close, topic_staff
from handlers.context import Services
from handlers.spec_problem import describe
from handlers.topic_spec import TopicError, TopicSpec, create_topic_from, read_spec
from knowledge.topic_match import TopicMatcher, TopicText
from storage import db, migrate, topics
from storage.clock import Clock
from storage.models import Topic

log = logging.getLogger(__name__)


def add_parser(commands: Any) -> None:
    """The `topic` sub-commands of `linli`."""
    topic = commands.add_parser("topic", help="the residents' deliberation hall (议事厅)")
    sub = topic.add_subparsers(dest="topic_command", required=True)
    add = sub.add_parser("add", help="create a topic from a YAML file; prints its id last")
    add.add_argument("file", type=Path)
    show = sub.add_parser("show", help="a topic with its votes, turnout and result")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    moderate = sub.add_parser("moderate", help="the review queue; approve or reject O<id>/P<id>")
    moderate.add_argument("decision", nargs="?", choices=("approve", "reject"))
    moderate.add_argument("ref", nargs="?", help="O12 (opinion or statement) or P3 (proposal)")
    moderate.add_argument("--reason", help="told to the resident")
    moderate.add_argument("--file", type=Path, help="approving a proposal: open this topic")
    respond = sub.add_parser("respond", help="publish an official response or follow-up")
    respond.add_argument("id", type=int)
    respond.add_argument("--text", required=True)


def _spec(path: Path, settings: Settings, now: datetime) -> TopicSpec:
    try:
        return read_spec(path.read_text("utf-8"), tz=settings.tz, now=now)
    except OSError as error:
        raise SystemExit(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise SystemExit(f"cannot read {path}: {error}") from None
    except TopicError as error:
        from bot.dashboard.core import load_texts  # the staff catalogue, only when needed

        raise SystemExit(f"{path}: {describe(load_texts(), 'en', error.problem)}") from None


async def run(settings: Settings, args: argparse.Namespace, clock: Clock) -> None:
    """Carry out one `linli topic` call."""
    from bot.app import build_services

    now = clock()
    spec = _spec(args.file, settings, now) if getattr(args, "file", None) else None
    engine = db.create_engine(settings.database_url)
    sessions = db.session_factory(engine)
    try:
        await migrate.upgrade(engine)
        if args.topic_command == "add":
            assert spec is not None
            async with sessions.begin() as session:
                topic = await create_topic_from(session, spec, now=now)
            local = topic.closes_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
            print(f"Topic created: {topic.title} (closes {local}, {topic.scope}, {topic.rule})")
            print(topic.id)
            return
        services = build_services(settings)
        async with sessions.begin() as session:
            if args.topic_command == "show":
                await _show(session, services, args.id, as_json=args.json, now=now)
            elif args.topic_command == "respond":
                told = await _respond(session, services, args.id, args.text, now)
                print(f"Response published; {told} participant(s) will hear it.")
            elif args.decision is None:
                _print_queue(await topic_staff.queue(session))
            else:
                print(await _review(session, services, args, spec, now))
    finally:
        await engine.dispose()


def status_of(topic: Topic, now: datetime) -> str:
    """upcoming, open, counting (past closing, result not yet stored) or closed."""
    if topic.status == topics.CLOSED:
        return "closed"
    if now < topic.opens_at:
        return "upcoming"
    return "open" if now < topic.closes_at else "counting"


async def _show(
    session: AsyncSession, services: Services, topic_id: int, *, as_json: bool, now: datetime
) -> None:
    topic = await session.get(Topic, topic_id)
    if topic is None:
        raise SystemExit(f"there is no topic {topic_id}")
    figures = topic.result or await topic_close.tally(session, topic)
    answers = [r.text for r in await topics.responses(session, topic.id)]
    tz = services.timezone
    shown = {
        "id": topic.id,
        "title": topic.title,
        "body": topic.body,
        "options": topic.options,
        "mode": topic.mode,
        "scope": topic.scope,
        "rule": topic.rule,
        "opens": topic.opens_at.astimezone(tz).isoformat(),
        "closes": topic.closes_at.astimezone(tz).isoformat(),
        "status": status_of(topic, now),
        "votes": figures["votes"],
        "participants": figures["participants"],
        "eligible": figures["eligible"],
        "turnout": figures["turnout"],
        "result": topic.result,
        "responses": answers,
    }
    if as_json:
        print(json.dumps(shown, ensure_ascii=False))
        return
    print(f"Topic {topic.id}: {topic.title} [{shown['status']}]")
    print(f"  scope {topic.scope} · rule {topic.rule} · mode {topic.mode}")
    print(f"  opens {shown['opens'][:16]} · closes {shown['closes'][:16]}")
    votes = " · ".join(f"{k} {v}" for k, v in figures["votes"].items()) or "(no options)"
    print(f"  votes: {votes}")
    print(f"  turnout {figures['participants']}/{figures['eligible']} ({figures['turnout']:.0%})")
    if topic.result is not None:
        print(topic_close.result_text(services, "zh", topic))
    for text in answers:
        print(f"  response: {text}")


async def _respond(
    session: AsyncSession, services: Services, topic_id: int, text: str, now: datetime
) -> int:
    try:
        return await topic_close.respond(session, services, topic_id=topic_id, text=text, now=now)
    except LookupError:
        raise SystemExit(f"there is no topic {topic_id}") from None
    except ValueError as error:
        raise SystemExit(str(error)) from None


def _print_queue(items: list[tuple[str, str, str]]) -> None:
    if not items:
        print("Nothing is waiting for review.")
    for ref, title, text in items:
        about = f" on “{title}”" if title else " (topic proposal)"
        print(f"{ref}{about}: {text}")


async def _review(
    session: AsyncSession,
    services: Services,
    args: argparse.Namespace,
    spec: TopicSpec | None,
    now: datetime,
) -> str:
    if not args.ref:
        raise SystemExit("say which one: O<id> or P<id>")
    if spec is not None and not args.ref.upper().startswith("P"):
        raise SystemExit("--file opens a topic for an approved proposal (P<id>) only")
    try:
        decision = await topic_staff.review(
            session, services, args.ref, approve=args.decision == "approve", now=now,
            reason=args.reason, spec=spec if args.decision == "approve" else None,
        )  # fmt: skip
    except topic_staff.ReviewError as error:
        raise SystemExit(services.texts.get("en", error.key)) from None
    verb = "approved" if decision.approved else "rejected"
    opened = f"; topic {decision.topic_id} is open" if decision.topic_id else ""
    return f"{decision.ref} {verb}{opened}; the resident will be told."


def open_topics_matcher(
    settings: Settings, services: Services, clock: Clock
) -> TopicMatcher | None:
    """A matcher over the topics open now (for `linli route`), or None when there is no
    database to read (routing must work without one; a missing SQLite file is not created)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None

    async def read() -> list[TopicText]:
        engine = db.create_engine(settings.database_url)
        try:
            async with db.session_factory(engine)() as session:
                found = await topics.open_topics(session, now=clock())
                return [TopicText(t.id, t.title, t.body) for t in found]
        finally:
            await engine.dispose()

    try:
        texts = asyncio.run(read())
    except Exception as error:  # an old schema or no server: route without topics
        log.warning("open topics not read, topic_id stays empty: %s", error)
        return None
    return TopicMatcher(services.faq.analyzer, texts)

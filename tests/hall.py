"""Helpers for deliberation-hall transcript tests: a clock, topics, residents who vote, the
closing sweep and what the outbox holds for someone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import Runtime
from handlers import topic_close
from handlers.engine import Engine
from storage import topics
from storage.models import Outbox
from tests.chat import ResidentChat, fetch_all

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
CLOSES = START + timedelta(days=14, hours=9)  # 2026-12-15 18:00


class Clock:
    """The engine's clock, moved by the test."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Hall:
    """Residents chatting with one engine whose clock the test controls."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.clock = Clock()
        self.engine = Engine(runtime.sessions, runtime.services, clock=self.clock)

    def resident(self, name: str, locale: str | None = None) -> ResidentChat:
        """A resident of this hall."""
        return ResidentChat(self.engine, user=name, locale=locale)

    async def topic(
        self,
        title: str = "是否在3号楼北侧加装电梯",
        *,
        body: str = "3号楼共18户，多位老人上下楼困难。加装电梯要占用北侧部分绿地，费用由业主分摊。",
        options: Sequence[str] = ("同意", "不同意"),
        scope: str = "all",
        rule: str = "majority",
        mode: str = "vote",
        opens: datetime = START,
        closes: datetime = CLOSES,
        statements: Sequence[str] = (),
    ) -> int:
        """Create a topic and return its id."""
        async with self.runtime.sessions.begin() as session:
            created = await topics.create_topic(
                session, title=title, body=body, options=options, mode=mode, scope=scope,
                rule=rule, opens_at=opens, closes_at=closes, now=START, statements=statements,
            )  # fmt: skip
            return created.id

    async def sweep(self, at: datetime) -> int:
        """Run the closing sweep at `at`; returns how many topics it closed."""
        async with self.runtime.sessions.begin() as session:
            return await topic_close.close_due(session, self.runtime.services, now=at)


async def vote(chat: ResidentChat, topic_id: int, option: int, *, building: str = "") -> str:
    """Vote the way a resident does: pick, (say the building if asked), confirm."""
    replies = await chat.press(f"topic:pick:{topic_id}:{option}")
    if building and any("几号楼" in r.text or "Which building" in r.text for r in replies):
        await chat.say(building)
    replies = await chat.press(f"topic:cast:{topic_id}:{option}")
    return "\n".join(r.text for r in replies)


async def outbox_texts(runtime: Runtime, recipient: str, channel: str = "console") -> list[str]:
    """The texts queued for someone, oldest first."""
    payloads = await fetch_all(
        runtime.sessions,
        select(Outbox.payload)
        .where(Outbox.recipient == recipient, Outbox.channel == channel)
        .order_by(Outbox.id),
    )
    return [str(p["text"]) for p in payloads]

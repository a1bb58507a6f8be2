"""The outbox and its sender: dedupe, priority, backoff, dead rows, lease re-claim."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox import DeliveryResult, Failed, RetryAfter, Sender, SenderPolicy, Sent, Unreachable
from storage import db, outbox, residents
from storage.models import Outbox, Resident
from storage.outbox import OutboxMessage

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeChannel:
    """A push channel that records what it delivered and answers as scripted."""

    channel: str = "fake"
    script: list[DeliveryResult] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)

    async def turn(self, message: OutboxMessage) -> float:
        return 0.0

    async def send(self, message: OutboxMessage) -> DeliveryResult:
        result = self.script.pop(0) if self.script else Sent()
        if isinstance(result, Sent):
            self.delivered.append(message.payload["text"])
        return result


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    yield db.session_factory(engine)
    await engine.dispose()


async def _queue(
    sessions: async_sessionmaker[AsyncSession],
    text: str,
    *,
    key: str | None = None,
    priority: int = outbox.PRIORITY_NORMAL,
    channel: str = "fake",
    recipient: str = "r1",
    resident_id: int | None = None,
) -> bool:
    async with sessions.begin() as session:
        return await outbox.enqueue(
            session,
            channel=channel,
            recipient=recipient,
            payload={"text": text, "buttons": []},
            dedupe_key=key or text,
            priority=priority,
            now=START,
            resident_id=resident_id,
        )


async def _row(sessions: async_sessionmaker[AsyncSession], key: str) -> Outbox:
    async with sessions() as session:
        return (await session.execute(select(Outbox).where(Outbox.dedupe_key == key))).scalar_one()


async def test_enqueueing_twice_with_one_key_queues_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await _queue(sessions, "工单已办结", key="status:T-1:resolved")
    assert not await _queue(sessions, "工单已办结", key="status:T-1:resolved")
    channel = FakeChannel()
    clock = Clock()
    sender = Sender(sessions, [channel], clock=clock)
    assert await sender.run_once() == 1
    assert await sender.run_once() == 0
    assert channel.delivered == ["工单已办结"]


async def test_urgent_messages_go_first(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _queue(sessions, "notice", priority=outbox.PRIORITY_BULK)
    await _queue(sessions, "status")
    await _queue(sessions, "crisis alert", priority=outbox.PRIORITY_URGENT)
    await _queue(sessions, "staff reply", priority=outbox.PRIORITY_HIGH)
    channel = FakeChannel()
    await Sender(sessions, [channel], clock=Clock()).run_once()
    assert channel.delivered == ["crisis alert", "staff reply", "status", "notice"]


async def test_failures_back_off_exponentially_then_the_row_dies(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _queue(sessions, "hello")
    clock = Clock()
    policy = SenderPolicy(max_attempts=3, first_backoff=timedelta(seconds=10))
    channel = FakeChannel(script=[Failed("timeout"), Failed("timeout"), Failed("timeout")])
    sender = Sender(sessions, [channel], policy=policy, clock=clock)

    assert await sender.run_once() == 1
    row = await _row(sessions, "hello")
    assert (row.state, row.attempts, row.not_before) == (
        "pending",
        1,
        START + timedelta(seconds=10),
    )
    assert await sender.run_once() == 0  # not due yet

    clock.advance(seconds=10)
    assert await sender.run_once() == 1
    row = await _row(sessions, "hello")
    assert row.not_before == clock.now + timedelta(seconds=20)

    clock.advance(seconds=20)
    assert await sender.run_once() == 1
    row = await _row(sessions, "hello")
    assert (row.state, row.attempts, row.last_error) == ("dead", 3, "timeout")
    clock.advance(hours=5)
    assert await sender.run_once() == 0
    assert channel.delivered == []


async def test_a_rate_limit_waits_without_using_an_attempt(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _queue(sessions, "hello")
    clock = Clock()
    channel = FakeChannel(script=[RetryAfter(7)])
    sender = Sender(sessions, [channel], clock=clock)
    await sender.run_once()
    row = await _row(sessions, "hello")
    assert (row.state, row.attempts, row.not_before) == ("pending", 0, START + timedelta(seconds=7))
    clock.advance(seconds=7)
    await sender.run_once()
    assert channel.delivered == ["hello"]


async def test_an_unreachable_resident_is_marked_and_not_retried(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        loaded = await residents.load_for_update(
            session, channel="fake", external_id="r1", locale="zh", now=START
        )
        resident_id = loaded.resident.id
    await _queue(sessions, "hello", resident_id=resident_id)
    clock = Clock()
    sender = Sender(sessions, [FakeChannel(script=[Unreachable("blocked")])], clock=clock)
    await sender.run_once()
    clock.advance(hours=1)
    assert await sender.run_once() == 0
    assert (await _row(sessions, "hello")).state == "unreachable"
    async with sessions() as session:
        assert (await session.get(Resident, resident_id)).reachable is False  # type: ignore[union-attr]


async def test_a_crashed_senders_rows_are_reclaimed_after_the_lease(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _queue(sessions, "hello")
    async with sessions.begin() as session:  # a sender claims, then dies before recording
        claimed = await outbox.claim_due(
            session, channels=["fake"], now=START, lease=LEASE, limit=10
        )
    assert [m.dedupe_key for m in claimed] == ["hello"]
    clock = Clock()
    channel = FakeChannel()
    survivor = Sender(sessions, [channel], clock=clock)
    assert await survivor.run_once() == 0  # still leased to the dead sender
    clock.advance(seconds=61)
    assert await survivor.run_once() == 1
    assert channel.delivered == ["hello"]
    row = await _row(sessions, "hello")
    assert (row.state, row.attempts) == ("sent", 2)


async def test_a_message_a_dead_sender_handed_over_is_not_sent_twice_unless_urgent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _queue(sessions, "notice", priority=outbox.PRIORITY_BULK)
    await _queue(sessions, "crisis alert", priority=outbox.PRIORITY_URGENT)
    await _queue(sessions, "status")
    async with sessions.begin() as session:  # a sender claims all three…
        claimed = await outbox.claim_due(
            session, channels=["fake"], now=START, lease=LEASE, limit=10
        )
    for message in claimed:  # …hands two to the channel, and dies before any answer
        if message.dedupe_key != "status":
            async with sessions.begin() as session:
                assert await outbox.hand(session, message, now=START)
    clock = Clock()
    clock.advance(seconds=61)
    channel = FakeChannel()
    assert await Sender(sessions, [channel], clock=clock).run_once() == 2
    # Never handed: safe to send. The alert may have arrived, but a second one is better than
    # none. The notice may have arrived too: it is left for staff to see, not sent again.
    assert channel.delivered == ["crisis alert", "status"]
    row = await _row(sessions, "notice")
    assert (row.state, row.last_error) == ("uncertain", outbox.IN_DOUBT_NOTE)


async def test_a_sender_that_lost_its_claim_does_not_send(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _queue(sessions, "hello")
    async with sessions.begin() as session:
        (slow,) = await outbox.claim_due(
            session, channels=["fake"], now=START, lease=LEASE, limit=1
        )
    later = START + LEASE + timedelta(seconds=1)
    async with sessions.begin() as session:  # its lease ran out; another sender took the row
        (fast,) = await outbox.claim_due(
            session, channels=["fake"], now=later, lease=LEASE, limit=1
        )
    async with sessions.begin() as session:
        assert not await outbox.hand(session, slow, now=later)
        assert await outbox.hand(session, fast, now=later)


async def test_a_slow_batch_gives_back_what_its_lease_no_longer_covers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for n in range(3):
        await _queue(sessions, f"m{n}")
    clock = Clock()
    policy = SenderPolicy(lease=timedelta(seconds=10), send_timeout=timedelta(seconds=4))

    @dataclass
    class Slow(FakeChannel):
        async def send(self, message: OutboxMessage) -> DeliveryResult:
            clock.advance(seconds=5)  # each answer takes five seconds
            return await super().send(message)

    channel = Slow()
    assert await Sender(sessions, [channel], policy=policy, clock=clock).run_once() == 3
    assert channel.delivered == ["m0", "m1"]  # at 10 s only 0 s of the lease would be left
    row = await _row(sessions, "m2")
    assert (row.state, row.attempts, row.handed_at) == ("pending", 0, None)


async def test_a_channel_that_never_answers_leaves_the_message_in_doubt(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _queue(sessions, "notice", priority=outbox.PRIORITY_BULK)
    await _queue(sessions, "staff reply", priority=outbox.PRIORITY_HIGH)

    @dataclass
    class Silent(FakeChannel):
        async def send(self, message: OutboxMessage) -> DeliveryResult:
            await asyncio.sleep(10)
            return Sent()

    policy = SenderPolicy(send_timeout=timedelta(seconds=0.05))
    clock = Clock()
    await Sender(sessions, [Silent()], policy=policy, clock=clock).run_once()
    reply, notice = await _row(sessions, "staff reply"), await _row(sessions, "notice")
    assert (notice.state, reply.state) == ("uncertain", "pending")
    assert reply.not_before == START + policy.first_backoff  # tried again, after a pause


async def test_parallel_senders_deliver_each_row_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for n in range(40):
        await _queue(sessions, f"m{n}")
    channels = [FakeChannel() for _ in range(4)]
    policy = SenderPolicy(batch=5)
    senders = [Sender(sessions, [c], policy=policy, clock=Clock()) for c in channels]

    async def drain(sender: Sender) -> None:
        handled = 1
        while handled:
            handled = await sender.run_once()

    await asyncio.gather(*(drain(s) for s in senders))
    delivered = [text for c in channels for text in c.delivered]
    assert sorted(delivered) == sorted(f"m{n}" for n in range(40))


async def test_rows_of_channels_without_a_sender_wait(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _queue(sessions, "alert", channel="staff", recipient="alerts")
    assert await Sender(sessions, [FakeChannel()], clock=Clock()).run_once() == 0
    assert (await _row(sessions, "alert")).state == "pending"


async def test_a_pull_channel_takes_its_residents_messages_once_in_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _queue(sessions, "first", channel="web", recipient="w-1")
    await _queue(sessions, "other resident", channel="web", recipient="w-2")
    await _queue(sessions, "second", channel="web", recipient="w-1")
    async with sessions.begin() as session:
        taken = await outbox.take_for_recipient(session, channel="web", recipient="w-1", now=START)
    assert [m.payload["text"] for m in taken] == ["first", "second"]
    async with sessions.begin() as session:
        assert (
            await outbox.take_for_recipient(session, channel="web", recipient="w-1", now=START)
            == []
        )
    assert (await _row(sessions, "other resident")).state == "pending"

"""The outbox sender: delivers queued messages through their channels, with retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import outbox, residents
from storage.outbox import OutboxMessage

log = logging.getLogger(__name__)

STAFF_CHANNEL = "staff"  # staff alerts are never held for the night


@dataclass(frozen=True, slots=True)
class Sent:
    """The channel accepted the message."""


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """The channel asked us to wait (rate limit); not counted as a failed attempt."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Unreachable:
    """The recipient cannot be reached (blocked the bot, deleted the account)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    """Delivery failed for a reason that may pass (network, server error)."""

    reason: str


@dataclass(frozen=True, slots=True)
class InDoubt:
    """The channel took the request but never answered (a timeout): it may have arrived."""

    reason: str


@dataclass(frozen=True, slots=True)
class Undeliverable:
    """This channel cannot deliver this message now (e.g. WeChat's 48-hour window has closed):
    no retry, the message stays visible to staff, and the resident stays reachable."""

    reason: str


DeliveryResult = Sent | RetryAfter | Unreachable | Failed | InDoubt | Undeliverable


class ChannelSender(Protocol):
    """What a push channel (Telegram, WeChat…) implements to deliver outbox messages."""

    channel: str

    async def turn(self, message: OutboxMessage) -> float:
        """Wait (briefly) for the message's turn within the channel's limits: 0 when it may
        go now, else the seconds it must wait — it goes back to the queue meanwhile."""
        ...

    async def send(self, message: OutboxMessage) -> DeliveryResult:
        """Deliver one message and say how it went."""
        ...


@dataclass(frozen=True, slots=True)
class QuietHours:
    """The night, in the community's time zone, when residents get only what cannot wait."""

    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, text: str, tz: ZoneInfo) -> QuietHours:
        """From "21:30-08:00"."""
        start, _, end = text.partition("-")
        return cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()), tz)

    def until(self, now: datetime) -> datetime | None:
        """When the quiet ends, if `now` is inside it; else None."""
        local = now.astimezone(self.tz)
        clock = local.time()
        inside = (
            self.start <= clock or clock < self.end
            if self.start > self.end
            else self.start <= clock < self.end
        )
        if not inside:
            return None
        morning = datetime.combine(local.date(), self.end, tzinfo=self.tz)
        return morning if morning > local else morning + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SenderPolicy:
    """How hard the sender tries, and when it holds back."""

    # A claim lasts `lease`; a message is handed over only while `send_timeout` of it is left,
    # so a live sender never sends a row its lease no longer covers. A dead sender's rows wait
    # out the lease (the stall after a crash).
    lease: timedelta = timedelta(seconds=15)
    send_timeout: timedelta = timedelta(seconds=6)
    batch: int = 20
    max_attempts: int = 8
    first_backoff: timedelta = timedelta(seconds=5)
    max_backoff: timedelta = timedelta(hours=1)
    idle_sleep: float = 1.0
    quiet: QuietHours | None = None
    # Messages to residents at this priority or below wait for the morning in quiet hours;
    # staff replies and crisis alerts do not.
    quiet_priority: int = outbox.PRIORITY_NORMAL
    # A message that may or may not have arrived (the sender died or the channel timed out) is
    # sent again from this priority up — a second staff reply or crisis alert is better than
    # none — and below it is marked `uncertain`, so 10,000 residents never get a notice twice.
    resend_in_doubt: int = outbox.PRIORITY_HIGH

    def backoff(self, attempts: int) -> timedelta:
        """Exponential wait after the `attempts`-th failure, capped."""
        return min(self.first_backoff * 2 ** max(attempts - 1, 0), self.max_backoff)


class Sender:
    """Claims due outbox rows and hands each to its channel; safe to run in several processes."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Iterable[ChannelSender],
        *,
        clock: Callable[[], datetime],
        policy: SenderPolicy | None = None,
    ) -> None:
        self._sessions = sessions
        self._channels = {channel.channel: channel for channel in channels}
        self.policy = policy or SenderPolicy()
        self._clock = clock

    async def run_once(self) -> int:
        """Deliver one batch of due messages; returns how many were handled."""
        if not self._channels:
            return 0
        policy = self.policy
        claimed_at = self._clock()
        async with self._sessions.begin() as session:
            claimed = await outbox.claim_due(
                session,
                channels=self._channels,
                now=claimed_at,
                lease=policy.lease,
                limit=policy.batch,
                resend_in_doubt=policy.resend_in_doubt,
            )
        last_hand = claimed_at + policy.lease - policy.send_timeout
        for position, message in enumerate(claimed):
            if self._clock() > last_hand:  # slow batch: give the rest back while it is ours
                await self._release(claimed[position:], "lease running out")
                break
            morning = self._held_until(message)
            if morning is not None:
                await self._release([message], "quiet hours", not_before=morning)
                continue
            # Wait for the channel's pace *before* handing over, so that the time between the
            # hand-over record and the request on the wire (a crash there loses the message)
            # is as short as it can be.
            wait = await self._channels[message.channel].turn(message)
            if wait > 0:
                later = self._clock() + timedelta(seconds=wait)
                await self._release([message], "channel rate limit", not_before=later)
                continue
            async with self._sessions.begin() as session:
                ours = await outbox.hand(session, message, now=self._clock())
            if ours:
                await self._deliver(message)
        return len(claimed)

    async def _release(
        self, messages: list[OutboxMessage], reason: str, *, not_before: datetime | None = None
    ) -> None:
        """Put claimed, never-handed messages back in the queue without using an attempt."""
        async with self._sessions.begin() as session:
            for message in messages:
                await outbox.retry_later(
                    session,
                    message_id=message.id,
                    not_before=not_before or self._clock(),
                    error=reason,
                    count_attempt=False,
                )

    def _held_until(self, message: OutboxMessage) -> datetime | None:
        quiet = self.policy.quiet
        if quiet is None or message.channel == STAFF_CHANNEL:
            return None
        if message.priority > self.policy.quiet_priority:
            return None
        return quiet.until(self._clock())

    async def run(self, stop: asyncio.Event) -> None:
        """Keep delivering until `stop` is set; sleep briefly when nothing is due."""
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("outbox sender pass failed; retrying")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.policy.idle_sleep)

    async def _deliver(self, message: OutboxMessage) -> None:
        try:
            async with asyncio.timeout(self.policy.send_timeout.total_seconds()):
                result = await self._channels[message.channel].send(message)
        except TimeoutError:
            result = InDoubt(f"no answer within {self.policy.send_timeout.total_seconds():g}s")
        except Exception as exc:
            log.warning("outbox %s: channel %s raised %r", message.id, message.channel, exc)
            result = Failed(type(exc).__name__)
        now = self._clock()
        async with self._sessions.begin() as session:
            await self._record(session, message, result, now)

    async def _record(
        self, session: AsyncSession, message: OutboxMessage, result: DeliveryResult, now: datetime
    ) -> None:
        match result:
            case Sent():
                await outbox.mark_sent(session, message_id=message.id, now=now)
            case RetryAfter(seconds):
                await outbox.retry_later(
                    session,
                    message_id=message.id,
                    not_before=now + timedelta(seconds=seconds),
                    error=f"retry after {seconds}s",
                    count_attempt=False,
                )
            case Unreachable(reason):
                await outbox.mark_unreachable(session, message_id=message.id, error=reason)
                if message.resident_id is not None:
                    await residents.mark_unreachable(session, resident_id=message.resident_id)
            case Undeliverable(reason):
                await outbox.mark_dead(session, message_id=message.id, error=reason)
            case InDoubt(reason) if message.priority < self.policy.resend_in_doubt:
                await outbox.mark_uncertain(session, message_id=message.id, error=reason)
            case Failed(reason) | InDoubt(reason) if message.attempts >= self.policy.max_attempts:
                log.error("outbox %s dead after %s attempts", message.id, message.attempts)
                await outbox.mark_dead(session, message_id=message.id, error=reason)
            case Failed(reason) | InDoubt(reason):
                await outbox.retry_later(
                    session,
                    message_id=message.id,
                    not_before=now + self.policy.backoff(message.attempts),
                    error=reason,
                )

"""The service's one clock: every business decision (deadlines, quiet hours, ticket years,
session expiry, scheduled sweeps) asks it for the time, so a test or a rehearsal can pin the
time without touching the machine's."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any


class Clock:
    """The real time: `clock()` is now in UTC (timezone-aware) for decisions and stored
    stamps; `clock.monotonic()` is seconds that never jump, for pacing and rate limits."""

    def __call__(self) -> datetime:
        """Now, timezone-aware in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that only move forward (intervals, not dates)."""
        return time.monotonic()

    def timestamp(self) -> float:
        """Now as Unix seconds (WeChat's signatures and message times)."""
        return self().timestamp()


class ManualClock(Clock):
    """A clock that starts at a chosen instant and is moved by hand: it runs with real time
    from there (`tick=True`) or stands still, and jumps with `advance` or `set`."""

    def __init__(self, start: datetime, *, tick: bool = True) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock's start needs a time zone")
        self._start = start.astimezone(UTC)
        self._tick = tick
        self._origin = time.monotonic()
        self._shift = timedelta()  # jumps of the date and time
        self._advanced = 0.0  # forward jumps, which intervals see too

    def _elapsed(self) -> float:
        return time.monotonic() - self._origin if self._tick else 0.0

    def __call__(self) -> datetime:
        """The chosen start, plus the time that ran since (when ticking) and any jumps."""
        return self._start + timedelta(seconds=self._elapsed()) + self._shift

    def monotonic(self) -> float:
        """Seconds since the clock was made, forward jumps included."""
        return self._elapsed() + self._advanced

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by `delta` (or by `timedelta(**parts)`); returns the new now."""
        step = delta if delta is not None else timedelta(**parts)
        if step < timedelta():
            raise ValueError("advance moves forward; use set() to go back")
        self._shift += step
        self._advanced += step.total_seconds()
        return self()

    def set(self, at: datetime) -> datetime:
        """Jump to `at` (either way); intervals measured by `monotonic` are not affected."""
        if at.tzinfo is None:
            raise ValueError("a time to set needs a time zone")
        self._shift += at.astimezone(UTC) - self()
        return self()


def stamp(context: Any) -> datetime:
    """The default of the stored `created_at`-like columns: now by the clock the session's
    engine carries (`storage.db.create_engine(clock=…)`), else the real time."""
    clock = context.execution_options.get("clock") if context is not None else None
    return (clock or SYSTEM)()


SYSTEM = Clock()

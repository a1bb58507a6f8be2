"""`linli broadcast`: queue a notice now or later, watch it go out, or stop it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from storage import broadcasts, db, migrate
from storage.clock import Clock
from storage.models import Broadcast

BAR = 30


async def run(settings: Settings, args: argparse.Namespace, clock: Clock) -> None:
    """Carry out one `linli broadcast` call."""
    engine = db.create_engine(settings.database_url)
    sessions = db.session_factory(engine)
    try:
        await migrate.upgrade(engine)
        if args.cancel is not None:
            async with sessions.begin() as session:
                try:
                    dropped = await broadcasts.cancel(session, args.cancel)
                except LookupError:
                    raise SystemExit(f"there is no notice {args.cancel}") from None
            print(f"Notice {args.cancel} cancelled; {dropped} message(s) will not be sent.")
            return
        number = (
            args.progress
            if args.progress is not None
            else await _create(sessions, settings, args, clock())
        )
        await _watch(sessions, number, follow=args.wait)
    finally:
        await engine.dispose()


async def _create(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    args: argparse.Namespace,
    now: datetime,
) -> int:
    if not args.text:
        raise SystemExit("a notice needs --text")
    send_at = now
    if args.at:
        try:
            send_at = datetime.fromisoformat(args.at).replace(tzinfo=settings.tz)
        except ValueError:
            raise SystemExit('--at must look like "2026-11-28 09:00"') from None
    async with sessions.begin() as session:
        try:
            notice = await broadcasts.create(
                session, text_=args.text, audience=args.audience, send_at=send_at, now=now
            )
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        if send_at <= now:
            await broadcasts.fan_out(session, notice, now=now)
        number = notice.id
    when = "now" if send_at <= now else send_at.strftime("%Y-%m-%d %H:%M")
    print(f"Notice {number} to {args.audience}, {when}.")
    return number


async def _watch(sessions: async_sessionmaker[AsyncSession], number: int, *, follow: bool) -> None:
    while True:
        async with sessions() as session:
            notice = await session.get(Broadcast, number)
            if notice is None:
                raise SystemExit(f"there is no notice {number}")
            counts = await broadcasts.progress(session, number)
        total = max(notice.recipients, sum(counts.values()))
        done = total - counts.get("pending", 0) - counts.get("sending", 0)
        filled = BAR * done // total if total else BAR
        line = (
            f"[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} "
            f"sent {counts.get('sent', 0)} · failed {counts.get('dead', 0)} "
            f"· unreachable {counts.get('unreachable', 0)} "
            f"· uncertain {counts.get('uncertain', 0)} · {notice.state}"
        )
        print("\r" + line, end="", file=sys.stdout, flush=True)
        if not follow or notice.state == broadcasts.CANCELLED or (total and done == total):
            print()
            return
        await asyncio.sleep(1.0)

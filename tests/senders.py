"""Outbox senders as real processes: `linli serve --role scheduler` against the fake Bot API,
and what the outbox holds — for the crash test and `benchmarks/broadcast.py`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import func, select

from storage import db
from storage.models import Outbox
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]


async def start_sender(
    url: str, fake: FakeTelegram, cwd: Path | str, **settings: str
) -> asyncio.subprocess.Process:
    """A sender process on this checkout's code, quiet hours off (results must not depend on
    the time of day), with any further `LINLI_*` settings (e.g. OUTBOX_LEASE_SECONDS="2").
    Its log goes to `sender.log` in `cwd` (a pipe nobody reads could fill up and stall it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(
        LINLI_DATABASE_URL=url,
        LINLI_TELEGRAM_TOKEN=fake.token,
        LINLI_TELEGRAM_API_BASE=fake.base_url,
        LINLI_QUIET_HOURS="off",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
        **{f"LINLI_{name.upper()}": value for name, value in settings.items()},
    )
    with (Path(cwd) / "sender.log").open("ab") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--role", "scheduler", env=env, cwd=cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip


async def outbox_states(url: str) -> dict[str, int]:
    """How many outbox rows are in each state."""
    engine = db.create_engine(url)
    async with db.session_factory(engine)() as session:
        rows = await session.execute(select(Outbox.state, func.count()).group_by(Outbox.state))
        states = {state: int(count) for state, count in rows.all()}
    await engine.dispose()
    return states

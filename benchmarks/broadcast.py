"""Broadcast delivery at Telegram's pace: one notice to N residents through the outbox and a
real `linli serve --role scheduler` process, against the local fake Bot API that enforces
the bot-wide flood limit (answering 429 with retry_after above it). Two runs: undisturbed,
and one where the sender is killed with SIGKILL halfway and started again. Prints JSON:
the achieved rate as a fraction of the limit, 429s received, duplicates, missing, and the
rows left `uncertain` (handed to Telegram when the sender died; not sent again).

    .venv/bin/python benchmarks/broadcast.py [--residents 10000] [--limit 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from storage import broadcasts, db, migrate  # noqa: E402
from storage.clock import SYSTEM  # noqa: E402
from storage.models import Resident  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.senders import outbox_states, start_sender  # noqa: E402

FIRST_CHAT = 10_000_000
NOTICE = "【通知】本周六上午9:00-12:00小区停水，请提前储水。"


async def _prepare(url: str, residents: int) -> None:
    """A migrated database with `residents` Telegram residents and the notice queued."""
    engine = db.create_engine(url)
    await migrate.upgrade(engine)
    now = SYSTEM()
    rows = [
        {"channel": "telegram", "external_id": str(FIRST_CHAT + n), "locale": "zh",
         "tags": [], "consents": {}, "reachable": True, "created_at": now, "last_seen_at": now}
        for n in range(residents)
    ]  # fmt: skip
    sessions = db.session_factory(engine)
    async with sessions.begin() as session:
        await session.execute(insert(Resident), rows)
        notice = await broadcasts.create(
            session, text_=NOTICE, audience="all", send_at=now, now=now
        )
        await broadcasts.fan_out(session, notice, now=now)
    await engine.dispose()


async def _wait(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def run(residents: int, limit: int, *, kill: bool) -> dict[str, Any]:
    """One notice to everyone; with `kill`, SIGKILL the sender halfway and start another."""
    fake = FakeTelegram(messages_per_second=limit)
    await fake.start()
    arrivals = fake.arrivals
    budget = residents / limit * 3 + 120
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/broadcast.db"
        await _prepare(url, residents)
        process = await start_sender(url, fake, folder)
        killed_after = None
        try:
            if kill:
                await _wait(lambda: len(arrivals) >= residents // 2, budget)
                process.send_signal(signal.SIGKILL)
                await process.wait()
                killed_after = len(arrivals)
                process = await start_sender(url, fake, folder)
            deadline = time.monotonic() + budget
            while time.monotonic() < deadline:  # until no row is waiting or on its way
                states = await outbox_states(url)
                if not {"pending", "sending"} & set(states):
                    break
                if process.returncode is not None:
                    raise SystemExit(f"the sender stopped on its own ({process.returncode})")
                await asyncio.sleep(0.5)
        finally:
            with contextlib.suppress(ProcessLookupError):  # it may have stopped on its own
                process.send_signal(signal.SIGTERM)
            await process.wait()
            await fake.stop()
    per_chat = Counter(m["chat_id"] for m in fake.sent())
    elapsed = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else float("nan")
    rate = (len(arrivals) - 1) / elapsed if len(arrivals) > 1 else 0.0
    return {
        "scenario": "killed halfway and restarted" if kill else "undisturbed",
        "killed_after": killed_after,
        "delivered": len(per_chat),
        "seconds": round(elapsed, 1),
        "messages_per_s": round(rate, 2),
        "fraction_of_limit": round(rate / limit, 3),
        "429s": fake.refused,
        "duplicates": sum(count - 1 for count in per_chat.values()),
        "missing": residents - len(per_chat),
        "outbox": states,
    }


async def main(residents: int, limit: int) -> dict[str, Any]:
    """Both runs, one after the other (each starts from an empty fake and a fresh database)."""
    runs = [await run(residents, limit, kill=False), await run(residents, limit, kill=True)]
    return {"residents": residents, "limit_per_s": limit, "runs": runs}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=30, help="the fake's messages per second")
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(main(arguments.residents, arguments.limit)), indent=2))

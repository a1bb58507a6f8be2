"""How long a resident in crisis waits for the reply, and how long `/healthz` takes, while
another process holds SQLite's write lock — against the same with no lock (the baseline).

    .venv/bin/python benchmarks/lock.py [--messages 20]

Prints one JSON object. The service's promise: the crisis reply within
LINLI_CRISIS_REPLY_SECONDS (0.4 s) whatever the lock, the health check unaffected."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bot.app import build_runtime
from bot.config import Settings
from handlers.types import Incoming
from storage import db

HOLD = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.readline()\n"
)


async def _measure(path: Path, messages: int, *, locked: bool) -> dict[str, float]:
    runtime = await build_runtime(
        Settings.from_mapping({"database_url": f"sqlite+aiosqlite:///{path}"})
    )
    holder = None
    if locked:
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLD, str(path),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert holder.stdout is not None and (await holder.stdout.readline()).strip() == b"locked"
    crisis, health = [], []
    try:
        for n in range(messages):
            text = "我不想活了，今晚就从楼上跳下去"
            msg = Incoming(channel="bench", user_id=f"r{n}", update_id=f"{locked}-{n}", text=text)
            started = time.perf_counter()
            handled = await runtime.engine.handle(msg)
            crisis.append(time.perf_counter() - started)
            assert "12356" in handled.replies[0].text
            started = time.perf_counter()
            assert await db.ping(runtime.database)
            health.append(time.perf_counter() - started)
    finally:
        if holder is not None:
            await holder.communicate(b"go\n")
        await runtime.engine.drain()
        await runtime.close()
    return {
        "crisis_reply_p50_ms": round(statistics.median(crisis) * 1000, 2),
        "crisis_reply_max_ms": round(max(crisis) * 1000, 2),
        "healthz_p50_ms": round(statistics.median(health) * 1000, 3),
        "healthz_max_ms": round(max(health) * 1000, 3),
    }


async def main(messages: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        free = await _measure(Path(folder) / "free.db", messages, locked=False)
        held = await _measure(Path(folder) / "held.db", messages, locked=True)
    return {
        "benchmark": "sqlite_lock",
        "messages": messages,
        "baseline_no_lock": free,
        "lock_held_by_another_process": held,
        "crisis_reply_max_ratio": round(
            held["crisis_reply_max_ms"] / max(free["crisis_reply_max_ms"], 0.001), 1
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20)
    print(json.dumps(asyncio.run(main(parser.parse_args().messages)), indent=2))

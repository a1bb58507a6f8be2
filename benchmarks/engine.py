"""Engine throughput and latency on SQLite (or any database URL): a mixed stream of
resident messages.

Prints JSON: the median of several rounds (the machines are noisy) and latency percentiles
over all rounds. Throughput counts time inside `Engine.handle`, one message at a time. The
baseline is a bare transaction doing the engine's minimum database work (claim the update
id, load the resident), measured in the same run on the same database, so
`ratio_to_baseline` stays comparable across noisy machines.

    .venv/bin/python benchmarks/engine.py [--messages 3000] [--residents 200] [--rounds 3]
        [--database-url postgresql+asyncpg://…]   (an existing, migrated database)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import make_url

from bot.app import build_services
from bot.config import Settings
from handlers.engine import Engine
from handlers.types import Incoming
from storage import db, migrate, residents, updates
from storage.clock import SYSTEM

STREAM = [
    ("text", "你好"),
    ("text", "谢谢"),
    ("text", "怎么办理居住证？"),
    ("text", "高龄津贴怎么申请"),
    ("text", "How do I register my dog?"),
    ("text", "楼上每天半夜装修，太吵了"),
    ("text", "小区门口的路灯坏了好几天了"),
    ("text", "垃圾站好几天没人清理"),
    ("action", "menu:open"),
    ("action", "status"),
    ("action", "menu:faq"),
    ("text", "/help"),
    ("text", "/cancel"),
    ("text", "最近老是失眠"),
    ("text", "我建议在小区多装几个健身器材"),
]


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(
    messages: int, resident_count: int, rounds: int, url: str | None = None, tag: str = ""
) -> dict[str, object]:
    """Time the engine on `url` (default: a new SQLite file) and print nothing; `tag` keeps
    the residents and update ids of one run apart from an earlier run's on the same database."""
    with tempfile.TemporaryDirectory() as folder:
        url = url or f"sqlite+aiosqlite:///{folder}/bench.db"
        database = db.create_engine(url)
        await migrate.upgrade(database)
        sessions = db.session_factory(database)
        engine = Engine(sessions, build_services(Settings.from_mapping({})), clock=SYSTEM)
        rng = random.Random(7)

        async def one(n: int) -> float:
            kind, value = rng.choice(STREAM)
            user = f"r{rng.randrange(resident_count)}"
            fields = {"text": value} if kind == "text" else {"action": value}
            incoming = Incoming(f"bench{tag}", user, f"u{n}", **fields)  # type: ignore[arg-type]
            started = time.perf_counter()
            await engine.handle(incoming)
            return time.perf_counter() - started

        for n in range(resident_count):  # warm up: every resident exists, caches are hot
            await one(-n - 1)
        latencies: list[float] = []
        round_rates: list[float] = []
        for round_number in range(rounds):
            round_latencies = [await one(round_number * messages + n) for n in range(messages)]
            round_rates.append(messages / sum(round_latencies))
            latencies.extend(round_latencies)

        async def baseline_tx(n: int) -> None:
            async with sessions.begin() as session:
                await updates.claim_update(session, channel=f"base{tag}", update_id=str(n))
                await residents.load_for_update(
                    session, channel=f"bench{tag}", external_id="r1", locale="zh", now=SYSTEM()
                )

        base_rates = []
        for round_number in range(rounds):
            base_started = time.perf_counter()
            for n in range(messages):
                await baseline_tx(round_number * messages + n)
            base_rates.append(messages / (time.perf_counter() - base_started))
        await database.dispose()

    per_second = statistics.median(round_rates)
    baseline = statistics.median(base_rates)
    return {
        "benchmark": "engine",
        "database": make_url(url).get_backend_name(),
        "messages": messages * rounds,
        "rounds": rounds,
        "residents": resident_count,
        "messages_per_second_by_round": [round(rate, 1) for rate in round_rates],
        "messages_per_second": round(per_second, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 3),
        "max_ms": round(max(latencies) * 1000, 3),
        "baseline_transactions_per_second": round(baseline, 1),
        "ratio_to_baseline": round(per_second / baseline, 3),
        "python": platform.python_version(),
    }


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="report the median round")
    parser.add_argument("--database-url", help="a migrated database (default: new SQLite)")
    args = parser.parse_args()
    result = asyncio.run(run(args.messages, args.residents, args.rounds, args.database_url))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

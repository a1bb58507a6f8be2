"""Linli at a district's size: the engine and the dashboard's ticket lists with 100,000
residents and 1,000,000 tickets in the database, against the same figures on an empty one.

Creates a database of its own (PostgreSQL: a new database next to the one in the URL;
SQLite: a temporary file), migrates it, times `benchmarks/engine.py`'s stream on it empty,
fills it in bulk, times the stream again, then times the dashboard's ticket queries
(`storage.ticket_search.search`: by state, grid, assignee, overdue, text; first and tenth
page) as the median of 5 runs. Drops what it created. Prints one JSON object.

    .venv/bin/python benchmarks/scale.py [--database-url postgresql+asyncpg://postgres@127.0.0.1/test]
        [--residents 100000] [--tickets 1000000] [--messages 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, make_url, text, true
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.engine import run as run_engine
from storage import db, migrate
from storage.clock import SYSTEM
from storage.models import Resident, Staff, Ticket
from storage.ticket_search import Filters, search

CHUNK = 10_000
GRIDS = [f"g-{n}" for n in range(20)]
# Years of tickets: nearly all closed, a few thousand open at any time (about 4 %).
STATUSES = ["closed", "new", "assigned", "in_progress", "resolved"]
STATUS_WEIGHTS = [96, 1, 0.5, 1.5, 1]
KINDS = ["complaint"] * 8 + ["consultation", "mediation"]
CATEGORIES = ["facilities", "sanitation", "property", "noise", "dispute", "safety", "other"]
WORDS = ["路灯不亮", "垃圾没人清", "楼上装修太吵", "下水道堵了", "电梯坏了", "停车位被占",
         "楼道堆放杂物", "小区门禁坏了", "外墙瓷砖脱落", "water leak", "broken bench"]  # fmt: skip


async def _fill(engine: AsyncEngine, residents: int, tickets: int) -> float:
    """Bulk-insert staff, residents and tickets (executemany in chunks); seconds taken."""
    rng = random.Random(11)
    started = time.perf_counter()
    now = SYSTEM()
    async with engine.begin() as connection:
        await connection.execute(insert(Staff.__table__), [
            {"username": f"s{n}", "display_name": f"s{n}", "role": "grid", "grid": GRIDS[n % 20],
             "active": True,
             "must_change_password": False, "created_at": now} for n in range(50)
        ])  # fmt: skip
    for first in range(0, residents, CHUNK):
        rows = [
            {"channel": "telegram", "external_id": str(10_000_000 + n), "locale": "zh",
             "grid": GRIDS[n % 20], "tags": [], "consents": {}, "reachable": True,
             "receive_notices": True, "receive_surveys": True, "created_at": now,
             "last_seen_at": now}
            for n in range(first, min(first + CHUNK, residents))
        ]  # fmt: skip
        async with engine.begin() as connection:
            await connection.execute(insert(Resident.__table__), rows)
    for first in range(0, tickets, CHUNK):
        rows = []
        for n in range(first, min(first + CHUNK, tickets)):
            created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
            rows.append({
                "number": f"T-{2024 + n % 2}-{n // 2 + 1:06d}", "kind": rng.choice(KINDS),
                "category": rng.choice(CATEGORIES), "status": status,
                "priority": 1 if n % 50 == 0 else 0, "resident_id": rng.randrange(residents) + 1,
                "grid": rng.choice(GRIDS), "summary": f"{rng.choice(WORDS)} {n}",
                "photos": [], "anonymous": False, "assignee_id": rng.randrange(50) + 1,
                "due_at": created + timedelta(days=7), "reopen_count": 0, "escalation": 0,
                "created_at": created, "updated_at": created,
                "closed_at": created + timedelta(days=3) if status == "closed" else None,
            })  # fmt: skip
        async with engine.begin() as connection:
            await connection.execute(insert(Ticket.__table__), rows)
    # Fresh statistics and visibility map, as autovacuum would have them in service.
    vacuum = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(vacuum))
    return time.perf_counter() - started


QUERIES: dict[str, tuple[Filters, int]] = {
    "state_new": (Filters(status="new"), 0),
    "state_new_page_10": (Filters(status="new"), 225),
    "state_closed": (Filters(status="closed"), 0),
    "open": (Filters(open_only=True), 0),
    "grid_open": (Filters(grid="g-7", open_only=True), 0),
    "assignee_open": (Filters(assignee_id=17, open_only=True), 0),
    "overdue": (Filters(overdue_at=SYSTEM()), 0),
    "overdue_page_10": (Filters(overdue_at=SYSTEM()), 225),
    "grid_and_category": (Filters(grid="g-3", category="noise"), 0),
    "text": (Filters(text="电梯坏了 1234"), 0),
    "text_common_word": (Filters(text="电梯"), 0),
    "number": (Filters(text="T-2025-012345"), 0),
}


async def _queries(engine: AsyncEngine) -> dict[str, float]:
    """Milliseconds per dashboard query (count + one page of 25), median of 5."""
    sessions = db.session_factory(engine)
    timings: dict[str, float] = {}
    for name, (filters, offset) in QUERIES.items():
        samples = []
        for attempt in range(6):
            started = time.perf_counter()
            async with sessions() as session:
                await search(session, allowed=true(), filters=filters, limit=25, offset=offset)
            if attempt:  # the first run warms the cache
                samples.append((time.perf_counter() - started) * 1000)
        timings[name] = round(statistics.median(samples), 1)
    return timings


async def _engine_figures(url: str, messages: int, rounds: int, tag: str) -> dict[str, Any]:
    result = await run_engine(messages, 200, rounds, url, tag)
    keys = ("messages_per_second", "p50_ms", "p99_ms", "baseline_transactions_per_second")
    return {key: result[key] for key in keys}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Create, measure, fill, measure, drop."""
    with tempfile.TemporaryDirectory() as folder:
        base = args.database_url
        name = f"linli_bench_{uuid.uuid4().hex[:8]}"
        if base and make_url(base).get_backend_name() == "postgresql":
            admin = db.create_engine(base, isolation_level="AUTOCOMMIT")
            async with admin.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(base).set(database=name).render_as_string(hide_password=False)
        else:
            admin, url = None, f"sqlite+aiosqlite:///{folder}/scale.db"
        try:
            engine = db.create_engine(url)
            await migrate.upgrade(engine)
            empty = await _engine_figures(url, args.messages, args.rounds, "-empty")
            fill_seconds = await _fill(engine, args.residents, args.tickets)
            full = await _engine_figures(url, args.messages, args.rounds, "-full")
            queries = await _queries(engine)
            await engine.dispose()
        finally:
            if admin is not None:
                async with admin.connect() as connection:
                    await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                await admin.dispose()
    return {
        "benchmark": "scale",
        "database": make_url(url).get_backend_name(),
        "residents": args.residents,
        "tickets": args.tickets,
        "fill_seconds": round(fill_seconds, 1),
        "engine_empty": empty,
        "engine_full": full,
        "throughput_ratio": round(full["messages_per_second"] / empty["messages_per_second"], 3),
        "p99_ratio": round(full["p99_ms"] / empty["p99_ms"], 3),
        # The same ratio measured against each run's bare-transaction baseline, which takes out
        # how busy the shared machine happened to be during each half.
        "normalised_throughput_ratio": round(
            (full["messages_per_second"] / full["baseline_transactions_per_second"])
            / (empty["messages_per_second"] / empty["baseline_transactions_per_second"]),
            3,
        ),
        "dashboard_query_ms": queries,
        "slowest_query_ms": max(queries.values()),
    }


def main() -> None:
    """Run the benchmark and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL server to create the database on")
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    print(json.dumps(asyncio.run(main_async(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()

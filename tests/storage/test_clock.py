"""One clock: nothing in the service reads the wall clock but `storage/clock.py`, and the
clock tests use behaves as a clock should."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import db, migrate
from storage.clock import Clock, ManualClock
from storage.models import AuditLog
from tests.clock import START

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "knowledge", "storage")
CLOCK_MODULE = ROOT / "storage" / "clock.py"
# Ways to read the machine's time. `time.perf_counter` stays allowed: it only measures how
# long something took, for metrics and logs.
WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "monotonic_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("time", "ctime"),
    ("time", "strftime"),
}


def _wall_clock_reads(path: Path) -> list[str]:
    """Each place in a module that reads the machine's time (called or passed on)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            reads = [(node.value.id, node.attr)]
        elif isinstance(node, ast.ImportFrom):
            reads = [(node.module or "", alias.name) for alias in node.names]
        else:
            continue
        found += [f"{path.name}:{node.lineno}: {'.'.join(r)}" for r in reads if r in WALL_CLOCK]
    return found


def test_no_production_module_reads_the_wall_clock_but_the_clock() -> None:
    modules = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(modules) > 100  # the scan really sees the code
    reads = [
        f"{path.parent.relative_to(ROOT)}/{hit}"
        for path in modules
        if path != CLOCK_MODULE
        for hit in _wall_clock_reads(path)
    ]
    assert reads == [], "read the time from the runtime's clock instead:\n" + "\n".join(reads)
    assert _wall_clock_reads(CLOCK_MODULE)  # and the clock itself does


def test_the_scan_catches_each_way_of_reading_the_time(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import time\nfrom datetime import date, datetime\nfrom time import sleep, time_ns\n"
        "a = datetime.now()\nb = time.time()\nc = date.today()\nd = time.monotonic\n"
        "e = time.perf_counter()\n",
        "utf-8",
    )
    assert sorted(r.split(": ")[1] for r in _wall_clock_reads(sample)) == [
        "date.today", "datetime.now", "time.monotonic", "time.time", "time.time_ns",
    ]  # fmt: skip


def test_a_manual_clock_stands_still_jumps_and_keeps_intervals_forward() -> None:
    clock = ManualClock(START, tick=False)
    assert clock() == START and clock().tzinfo is not None
    assert clock.monotonic() == 0.0
    assert clock.advance(minutes=90) == START + timedelta(minutes=90)
    assert clock.monotonic() == 5400.0
    assert clock.set(START - timedelta(days=1)) == START - timedelta(days=1)
    assert clock.monotonic() == 5400.0  # a jump back in date never runs intervals backwards
    assert clock.timestamp() == (START - timedelta(days=1)).timestamp()
    with pytest.raises(ValueError):
        clock.advance(seconds=-1)
    with pytest.raises(ValueError):
        ManualClock(datetime(2026, 1, 1))  # a naive start is refused


def test_a_ticking_clock_runs_on_from_its_start() -> None:
    clock = ManualClock(START)
    first = clock()
    assert START <= first < START + timedelta(minutes=1)
    assert clock() >= first and clock.monotonic() >= 0
    assert abs(Clock()() - datetime.now(UTC)) < timedelta(minutes=1)


async def test_rows_are_stamped_by_the_engines_clock(tmp_path: Path) -> None:
    clock = ManualClock(START, tick=False)
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", clock=clock)
    try:
        await migrate.upgrade(engine)
        sessions = db.session_factory(engine)
        async with sessions.begin() as session:
            session.add(AuditLog(actor_type="system", action="test"))
        async with sessions() as session:
            stamped = (await session.scalars(select(AuditLog.created_at))).one()
    finally:
        await engine.dispose()
    assert stamped == START

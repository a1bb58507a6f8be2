"""A broadcast survives its sender: a `linli serve --role scheduler` process killed with
SIGKILL in the middle of a notice, and a second one that finishes it. Every resident gets
the notice exactly once, including the one whose message was on the wire at the kill."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import broadcasts, db
from storage.clock import SYSTEM
from storage.models import Resident
from tests.fake_telegram import FakeTelegram
from tests.senders import outbox_states, start_sender

pytestmark = pytest.mark.slow
RESIDENTS = 60
KILL_AT = 10  # the sender dies waiting for Telegram's answer to this one, mid-batch


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram(messages_per_second=30, stall_after=KILL_AT - 1)
    await server.start()
    yield server
    server.release()
    await server.stop()


async def _queue_notice(url: str) -> None:
    engine = db.create_engine(url)
    sessions = db.session_factory(engine)
    now = SYSTEM()  # the sender processes run on the real time
    async with sessions.begin() as session:
        session.add_all(
            Resident(channel="telegram", external_id=str(5000 + n), locale="zh")
            for n in range(RESIDENTS)
        )
        await session.flush()
        notice = await broadcasts.create(
            session, text_="周六上午9点到12点停水", audience="all", send_at=now, now=now
        )
        await broadcasts.fan_out(session, notice, now=now)
    await engine.dispose()


async def test_a_second_sender_finishes_a_notice_exactly_once(
    fake: FakeTelegram, sqlite_url: str, tmp_path: Path
) -> None:
    url = sqlite_url
    await _queue_notice(url)

    first = await start_sender(url, fake, tmp_path, outbox_lease_seconds="2")
    await fake.wait_for(lambda: len(fake.sent()) >= KILL_AT, seconds=60)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    fake.release()
    assert len(fake.sent()) == KILL_AT

    second = await start_sender(url, fake, tmp_path, outbox_lease_seconds="2")
    try:
        await fake.wait_for(lambda: len({m["chat_id"] for m in fake.sent()}) >= RESIDENTS, 60)
        for _ in range(100):  # until the second sender has recorded its last answer
            states = await outbox_states(url)
            if not {"pending", "sending"} & set(states):
                break
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), timeout=60)
    assert second.returncode == 0, (tmp_path / "sender.log").read_text()

    per_resident = Counter(m["chat_id"] for m in fake.sent())
    assert len(per_resident) == RESIDENTS and set(per_resident.values()) == {1}
    assert all(m["text"] == "周六上午9点到12点停水" for m in fake.sent())
    # The message on the wire at the kill arrived; not knowing that, the second sender left
    # it alone and marked it for staff instead of sending it again.
    assert states == {"sent": RESIDENTS - 1, "uncertain": 1}

"""Four `linli serve --role web` workers on one PostgreSQL database take the same stream of
Telegram webhook updates — Telegram's redeliveries landing on other workers at the same
moment, two messages of one resident at once — and four `--role scheduler` senders share
one broadcast: one effect per update, each resident's conversation in order, every notice
delivered exactly once."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from storage import broadcasts, db
from storage.clock import SYSTEM
from storage.models import Outbox, ProcessedUpdate, Resident, Ticket
from tests.fake_telegram import FakeTelegram
from tests.workers import WEBHOOK_SECRET, Webhook, Worker, environment, start

pytestmark = pytest.mark.slow
WORKERS = 4
RESIDENTS = 12
NOTICE_RESIDENTS = 120
EVERYONE = NOTICE_RESIDENTS + RESIDENTS  # the notice goes to all, the chatting residents too
FIRST_USER = 7000
NEARBY = "附近最近已经有人反映了类似的问题"
NOTICE = "本周六上午9点到12点停水，请提前储水"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


async def _stop_all(workers: list[Worker]) -> list[int]:
    return list(await asyncio.gather(*(w.stop() for w in workers)))


def _last_buttons(fake: FakeTelegram, user: int) -> list[str]:
    for fields in reversed(fake.sent(user)):
        buttons = fake.buttons(fields)
        if buttons:
            return [data for _, data in buttons]
    return []


async def _resident(
    n: int, fake: FakeTelegram, hook: Webhook, workers: list[Worker]
) -> tuple[int, list[str]]:
    """One resident's conversation: two messages at once, then a complaint intake, each
    step's update also redelivered to another worker at the same time."""
    user = FIRST_USER + n
    # Two messages from the same resident at once, on two workers.
    await asyncio.gather(
        hook.post(workers[n % WORKERS], fake.text_update(user, "/start")),
        hook.post(workers[(n + 1) % WORKERS], fake.text_update(user, "你好")),
    )
    opening = len(fake.sent(user))
    steps: list[dict[str, Any]] = [fake.text_update(user, f"东门外第{n}根路灯不亮了，晚上很黑")]
    for step in range(8):
        if step > 0:
            buttons = _last_buttons(fake, user)
            if step == 1:
                action = buttons[0]  # confirm the category the bot suggests
                assert action.startswith("complaint:category:"), buttons
                steps.append(fake.press_update(user, action))
            elif step == 2:
                steps.append(fake.text_update(user, f"东门外第{n}根电线杆旁"))
            elif step in (3, 4):
                steps.append(fake.press_update(user, "complaint:skip"))  # no photo, no phone
            elif step == 5:
                steps.append(fake.press_update(user, "complaint:privacy:named"))
            elif "complaint:separate" in buttons:
                steps.append(fake.press_update(user, "complaint:separate"))
            elif "complaint:submit" in buttons:
                steps.append(fake.press_update(user, "complaint:submit"))
            else:
                break
        update = steps[-1]
        first = workers[(n + step) % WORKERS]
        if step % 2 == 0:  # Telegram redelivers to another worker while the first is busy
            await asyncio.gather(
                hook.post(first, update), hook.post(workers[(n + step + 1) % WORKERS], update)
            )
        else:
            await hook.post(first, update)
    return opening, fake.texts(user)


async def test_four_workers_one_effect_per_update_steps_in_order_one_notice_each(
    fake: FakeTelegram, postgres_url: str, tmp_path: Path
) -> None:
    # `--role all`: each worker takes webhook updates and runs an outbox sender.
    env = environment(postgres_url, fake, LINLI_OUTBOX_LEASE_SECONDS="5")
    workers = list(await asyncio.gather(*(start("all", env, tmp_path) for _ in range(WORKERS))))
    try:
        async with aiohttp.ClientSession(trust_env=False) as http:
            hook = Webhook(http)
            results = await asyncio.gather(
                *(_resident(n, fake, hook, workers) for n in range(RESIDENTS))
            )
        transcripts = {FIRST_USER + n: fake.texts(FIRST_USER + n) for n in range(RESIDENTS)}
        # Then a notice to many residents, shared by the four senders, which run into
        # Telegram's flood limit together.
        fake.messages_per_second = 30
        await _queue_notice(postgres_url)
        await fake.wait_for(lambda: len(_notices(fake)) >= EVERYONE, seconds=120)
        states = await _outbox_settled(postgres_url)
    finally:
        codes = await _stop_all(workers)
    assert codes == [0] * WORKERS, [w.log.read_text()[-2000:] for w in workers]
    assert set(hook.statuses) == {200}
    # The workers' logs: one JSON object per line, with neither what residents wrote nor
    # the bot's token or webhook secret.
    for worker in workers:
        text = worker.log.read_text("utf-8")
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        assert any(line["message"] == "update handled" for line in lines)
        for secret in ("路灯", "电线杆", "停水", fake.token, WEBHOOK_SECRET):
            assert secret not in text, secret

    # Both messages sent at once were answered, then every resident saw the same intake
    # transcript, step by step (numbers and places aside): nothing twice, nothing skipped.
    bodies = []
    for n, (opening, texts) in enumerate(results):
        assert opening >= 2, texts
        assert transcripts[FIRST_USER + n] == texts  # nothing arrived late, via the outbox
        # Whether the "someone nearby reported this too" offer comes depends on which of the
        # others filed first; the resident chose to file separately either way.
        body = "\n---\n".join(t for t in texts[opening:] if not t.startswith(NEARBY))
        body = re.sub(r"T-\d{4}-\d{6}", "T-…", body).replace(f"第{n}根", "第…根")
        bodies.append(body)
    variants = Counter(bodies)
    assert len(variants) == 1, "\n=====\n".join(variants)
    assert "T-…" in bodies[0] and "抱歉" not in bodies[0]

    engine = db.create_engine(postgres_url)
    try:
        async with db.session_factory(engine)() as session:
            processed = await session.scalar(
                select(func.count()).select_from(ProcessedUpdate).where(
                    ProcessedUpdate.channel == "telegram"
                )
            )  # fmt: skip
            tickets = (await session.execute(select(Ticket, Resident.external_id).join(
                Resident, Ticket.resident_id == Resident.id))).all()  # fmt: skip
    finally:
        await engine.dispose()
    assert processed == len(hook.update_ids)  # every update, redeliveries once
    assert len(tickets) == RESIDENTS
    by_resident = {external: ticket for ticket, external in tickets}
    assert set(by_resident) == {str(FIRST_USER + n) for n in range(RESIDENTS)}
    for external, ticket in by_resident.items():
        n = int(external) - FIRST_USER
        assert f"第{n}根电线杆" in str(ticket.location), ticket.location

    # The notice: every resident exactly once, every row recorded as sent.
    assert states.get("sent", 0) >= EVERYONE and not {"pending", "sending"} & set(states)
    per_chat = Counter(fields["chat_id"] for fields in _notices(fake))
    assert len(per_chat) == EVERYONE and set(per_chat.values()) == {1}
    assert fake.refused > 0  # the flood limit was met, and obeyed without a duplicate


def _notices(fake: FakeTelegram) -> list[dict[str, Any]]:
    return [fields for fields in fake.sent() if fields["text"] == NOTICE]


async def _outbox_settled(url: str) -> dict[str, int]:
    """Outbox rows by state, once no sender holds a Telegram row any more."""
    engine = db.create_engine(url)
    try:
        for _ in range(300):
            async with db.session_factory(engine)() as session:
                states = dict(
                    (await session.execute(select(Outbox.state, func.count()).where(
                        Outbox.channel == "telegram").group_by(Outbox.state))).all()
                )  # fmt: skip
            if not {"pending", "sending"} & set(states):
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    return {str(k): int(v) for k, v in states.items()}


async def _queue_notice(url: str) -> None:
    engine = db.create_engine(url)
    sessions = db.session_factory(engine)
    now = SYSTEM()  # the sender processes run on the real time
    async with sessions.begin() as session:
        session.add_all(
            Resident(channel="telegram", external_id=str(90_000 + n), locale="zh")
            for n in range(NOTICE_RESIDENTS)
        )
        await session.flush()
        notice = await broadcasts.create(
            session, text_=NOTICE, audience="all", send_at=now, now=now
        )
        await broadcasts.fan_out(session, notice, now=now)
    await engine.dispose()

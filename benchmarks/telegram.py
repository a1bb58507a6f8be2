"""Telegram throughput: N resident updates through the real adapter (PTB application →
engine on SQLite → sendMessage) against the local fake Bot API server, compared in the same
run with a bare python-telegram-bot echo bot on the same fake server (and with the same echo
bot on Linli's aiohttp transport, to show the pipeline's own cost). The fake server runs in
a process of its own (the real Bot API is on another machine and takes none of our CPU).
Three rounds, each feeding the bots in alternating slices of 50 (after a warm-up of 200 each);
the median ratio is reported.

    .venv/bin/python benchmarks/telegram.py [--updates 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the `telegram` package: keep its own folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))

from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, TypeHandler  # noqa: E402

from bot.app import build_runtime, start_telegram  # noqa: E402
from bot.channels.telegram_http import AiohttpRequest  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage import db, migrate  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402

MESSAGES = [
    "你好",
    "怎么办理居住证？",
    "/help",
    "低保怎么申请",
    "谢谢",
    "How do I register my dog?",
]


def _updates(fake: FakeTelegram, count: int) -> list[dict[str, Any]]:
    # A number on each message keeps every text distinct, as real traffic is (no cache hits).
    return [
        fake.text_update(5000 + n % 50, f"{MESSAGES[n % len(MESSAGES)]} {n}") for n in range(count)
    ]


ROUNDS = 3  # the median round is reported
SLICE = 50  # updates per turn of each bot within a round
WARM_UP = 200  # updates per bot before the measured rounds (steady state is measured)
CONCURRENCY = 8  # as PTB's concurrent_updates in the service


async def _drive(app: Any, updates: list[dict[str, Any]]) -> float:
    """Feed updates the way PTB does with concurrent updates (up to 8 in flight); seconds."""
    parsed = [Update.de_json(u, app.bot) for u in updates]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(update: Update) -> None:
        async with gate:
            await app.process_update(update)

    started = time.perf_counter()
    await asyncio.gather(*(one(update) for update in parsed))
    return time.perf_counter() - started


async def _round(apps: dict[str, Any], fake: FakeTelegram, count: int) -> dict[str, float]:
    """Updates per second of each app over `count` updates, fed in alternating slices so
    that every app meets the same machine: a shared machine's speed drifts within seconds,
    and whole rounds one after the other measured the drift as much as the bots."""
    seconds = dict.fromkeys(apps, 0.0)
    for _ in range(count // SLICE):
        for name, app in apps.items():
            seconds[name] += await _drive(app, _updates(fake, SLICE))
    return {name: (count // SLICE) * SLICE / spent for name, spent in seconds.items()}


async def linli_app(fake: FakeTelegram, folder: str) -> tuple[Any, Any]:
    """Our adapter and engine on a fresh SQLite database, ready for updates."""
    url = f"sqlite+aiosqlite:///{folder}/bench.db"
    engine = db.create_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    settings = Settings.from_mapping(
        {"database_url": url, "secret_key": "k", "telegram_token": fake.token,
         "telegram_api_base": fake.base_url, "webhook_url": "https://bench.invalid"}
    )  # fmt: skip
    runtime = await build_runtime(settings, upgrade=False)
    channel = start_telegram(runtime)
    assert channel is not None
    await channel.app.initialize()
    return channel.app, runtime


async def echo_app(fake: FakeTelegram, request: Any = None) -> Any:
    """A bare PTB bot that echoes each text back (with PTB's own HTTP transport, or the one
    given)."""

    async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message and update.effective_chat:
            await context.bot.send_message(
                update.effective_chat.id, update.effective_message.text or ""
            )

    builder = (
        Application.builder().token(fake.token).base_url(fake.base_url).updater(None)
        .concurrent_updates(CONCURRENCY)
    )  # fmt: skip
    app = (builder.request(request) if request is not None else builder).build()
    app.add_handler(TypeHandler(Update, reply))
    await app.initialize()
    return app


def _serve_fake(port: Any, ready: Any) -> None:
    """The fake Bot API in a process of its own, as the real one is on another machine."""

    async def run() -> None:
        fake = FakeTelegram()
        await fake.start()
        port.value = fake.port
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(run())


async def main(count: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    port, ready = context.Value("i", 0), context.Event()
    server = context.Process(target=_serve_fake, args=(port, ready), daemon=True)
    server.start()
    try:
        await asyncio.to_thread(ready.wait, 60)
        fake = FakeTelegram(port=port.value)  # only builds updates; the server is the other one
        with tempfile.TemporaryDirectory() as folder:
            ours_app, runtime = await linli_app(fake, folder)
            apps = {
                "linli": ours_app,
                "echo": await echo_app(fake),
                "echo_aiohttp": await echo_app(fake, AiohttpRequest()),
            }
            await _round(apps, fake, WARM_UP)  # caches, connections, the interpreter's own
            rounds = [await _round(apps, fake, count) for _ in range(ROUNDS)]
            for app in apps.values():
                await app.shutdown()
            await runtime.close()
    finally:
        server.terminate()
        server.join()

    def median(name: str) -> float:
        return statistics.median(r[name] for r in rounds)

    ratios = [r["linli"] / r["echo"] for r in rounds]
    same_transport = [r["linli"] / r["echo_aiohttp"] for r in rounds]
    return {
        "benchmark": "telegram",
        "updates": count,
        "linli_updates_per_second": round(median("linli"), 1),
        "echo_bot_updates_per_second": round(median("echo"), 1),
        "ratio_to_echo": round(statistics.median(ratios), 3),
        "ratios_by_round": [round(r, 3) for r in ratios],
        # The echo bot on Linli's own HTTP transport (aiohttp): what the pipeline costs
        # beyond PTB itself once both talk to the Bot API the same way.
        "echo_bot_aiohttp_updates_per_second": round(median("echo_aiohttp"), 1),
        "ratio_to_echo_same_transport": round(statistics.median(same_transport), 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=400)
    print(json.dumps(asyncio.run(main(parser.parse_args().updates)), indent=2))

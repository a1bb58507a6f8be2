"""Telegram throughput: N resident updates through the real adapter (PTB application →
engine on SQLite → sendMessage) against the local fake Bot API server, compared in the same
run with a bare python-telegram-bot echo bot on the same fake server.

    .venv/bin/python benchmarks/telegram.py [--updates 600]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


CONCURRENCY = 8  # as PTB's concurrent_updates in the service


async def _drive(app: Any, updates: list[dict[str, Any]]) -> float:
    """Feed updates the way PTB does with concurrent updates: up to 8 in flight."""
    parsed = [Update.de_json(u, app.bot) for u in updates]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(update: Update) -> None:
        async with gate:
            await app.process_update(update)

    started = time.perf_counter()
    await asyncio.gather(*(one(update) for update in parsed))
    return len(parsed) / (time.perf_counter() - started)


async def linli(fake: FakeTelegram, count: int, folder: str) -> float:
    """Updates per second through our adapter and engine."""
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
    await _drive(channel.app, _updates(fake, 50))  # warm up
    rate = await _drive(channel.app, _updates(fake, count))
    await channel.app.shutdown()
    await runtime.close()
    return rate


async def echo(fake: FakeTelegram, count: int) -> float:
    """Updates per second of a bare PTB bot that echoes each text back."""

    async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_message and update.effective_chat:
            await context.bot.send_message(
                update.effective_chat.id, update.effective_message.text or ""
            )

    app = (
        Application.builder().token(fake.token).base_url(fake.base_url).updater(None)
        .concurrent_updates(CONCURRENCY).build()
    )  # fmt: skip
    app.add_handler(TypeHandler(Update, reply))
    await app.initialize()
    await _drive(app, _updates(fake, 50))
    rate = await _drive(app, _updates(fake, count))
    await app.shutdown()
    return rate


async def main(count: int) -> dict[str, Any]:
    fake = FakeTelegram()
    await fake.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            ours = await linli(fake, count, folder)
        baseline = await echo(fake, count)
    finally:
        await fake.stop()
    return {
        "benchmark": "telegram",
        "updates": count,
        "linli_updates_per_second": round(ours, 1),
        "echo_bot_updates_per_second": round(baseline, 1),
        "ratio_to_echo": round(ours / baseline, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=600)
    print(json.dumps(asyncio.run(main(parser.parse_args().updates)), indent=2))

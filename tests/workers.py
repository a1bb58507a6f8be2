"""`linli serve` worker processes for multi-process tests: started on free loopback ports
against a fake Telegram in webhook mode, fed updates as Telegram would POST them."""

from __future__ import annotations

import asyncio
import hmac
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.fake_telegram import FakeTelegram

WEBHOOK_SECRET = "multi-worker-secret"
WEBHOOK_PATH = "/telegram/" + hmac.new(WEBHOOK_SECRET.encode(), b"path", "sha256").hexdigest()[:32]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(database_url: str, fake: FakeTelegram | None, **extra: str) -> dict[str, str]:
    """The environment of a worker: the host's, minus its LINLI_* settings, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(
        LINLI_DATABASE_URL=database_url,
        LINLI_QUIET_HOURS="off",  # the tests must not depend on the time of day
        LINLI_LOG_FORMAT="json",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    if fake is not None:
        env.update(
            LINLI_TELEGRAM_TOKEN=fake.token,
            LINLI_TELEGRAM_API_BASE=fake.base_url,
            LINLI_WEBHOOK_URL="https://linli.example.org",
            LINLI_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
    env.update(extra)
    return env


@dataclass
class Worker:
    """One `linli serve` process."""

    process: asyncio.subprocess.Process
    port: int
    role: str
    log: Path

    @property
    def url(self) -> str:
        """Where its web app listens."""
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> int:
        """SIGTERM and wait; the exit status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout=60)


async def start(
    role: str, env: dict[str, str], cwd: Path, *, port: int | None = None, wait: bool = True
) -> Worker:
    """Start `linli serve --role ROLE`; with a web role, wait until /healthz answers."""
    port = port or free_port()
    log = cwd / f"worker-{role}-{port}-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--role", role,
            env={**env, "LINLI_HTTP_PORT": str(port)}, cwd=cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    worker = Worker(process, port, role, log)
    if wait and role != "scheduler":
        await healthy(worker)
    return worker


async def healthy(worker: Worker, seconds: float = 90.0) -> None:
    """Wait for the worker's health check to say the database answers."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(trust_env=False) as http:
        while time.monotonic() < deadline:
            if worker.process.returncode is not None:
                raise AssertionError(f"worker exited: {worker.log.read_text()[-3000:]}")
            try:
                async with http.get(worker.url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"worker never became healthy: {worker.log.read_text()[-3000:]}")


@dataclass
class Webhook:
    """Posts updates to workers as Telegram does; counts the answers."""

    http: aiohttp.ClientSession
    statuses: list[int] = field(default_factory=list)
    update_ids: set[int] = field(default_factory=set)

    async def post(self, worker: Worker, update: dict[str, Any]) -> int:
        """Deliver one update to one worker; its HTTP status (0: the connection broke)."""
        self.update_ids.add(int(update["update_id"]))
        try:
            async with self.http.post(
                worker.url + WEBHOOK_PATH, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET}
            ) as response:
                await response.read()
                status = response.status
        except aiohttp.ClientError:
            status = 0
        self.statuses.append(status)
        return status

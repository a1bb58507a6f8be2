"""1,000 residents on the web chat at once, against one `linli serve --role web` process on
loopback: error rate, latency percentiles, throughput, and the worker's memory (RSS) before
and after. The load is bounded: a fixed number of residents, each sending a fixed
conversation one message after another (with the per-client rate limit on: each resident
comes from an address of its own, as nginx's X-Real-IP would say).

    .venv/bin/python benchmarks/webchat.py [--residents 1000] [--database-url URL]

Without `--database-url` the worker uses a new SQLite file; a PostgreSQL URL must name a
migrated database (the worker migrates it anyway on start). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
CONVERSATION = ["你好", "怎么办理居住证？", "楼上每天半夜装修，太吵了", "/cancel", "谢谢"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def _resident(
    http: aiohttp.ClientSession, url: str, n: int, latencies: list[float], errors: list[str]
) -> None:
    cookie: str | None = None
    address = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
    for number, text in enumerate(CONVERSATION):
        headers = {"X-Real-IP": address}
        if cookie:
            headers["Cookie"] = f"linli_resident={cookie}"
        started = time.perf_counter()
        try:
            async with http.post(
                url, json={"text": text, "id": f"{n}-{number}"}, headers=headers
            ) as response:
                body: dict[str, Any] = await response.json()
                if response.status != 200 or not body.get("replies"):
                    errors.append(f"{response.status}")
                morsel = response.cookies.get("linli_resident")
                if cookie is None and morsel is not None:
                    cookie = morsel.value
        except (aiohttp.ClientError, TimeoutError) as exc:
            errors.append(type(exc).__name__)
            continue
        latencies.append(time.perf_counter() - started)


async def run(residents: int, database_url: str | None) -> dict[str, Any]:
    """Start the worker, load it, measure, stop it."""
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{folder}/webchat.db"
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
        env.update(
            LINLI_DATABASE_URL=url,
            LINLI_HTTP_PORT=str(port),
            LINLI_LOG_LEVEL="WARNING",
            LINLI_QUIET_HOURS="off",
            NO_PROXY="127.0.0.1,localhost",
        )
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--role", "web", env=env, cwd=folder,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        connector = aiohttp.TCPConnector(limit=residents)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=timeout,
            trust_env=False,
        ) as http:  # fmt: skip
            for _ in range(600):
                try:
                    async with http.get(base + "/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
            idle_rss = _rss_mib(worker.pid)
            latencies: list[float] = []
            errors: list[str] = []
            started = time.perf_counter()
            await asyncio.gather(
                *(_resident(http, base + "/api/chat", n, latencies, errors)
                  for n in range(residents))
            )  # fmt: skip
            elapsed = time.perf_counter() - started
            loaded_rss = _rss_mib(worker.pid)
        worker.terminate()
        await worker.wait()
    ordered = sorted(latencies)
    sent = residents * len(CONVERSATION)
    return {
        "benchmark": "webchat",
        "database": url.split(":", 1)[0],
        "residents": residents,
        "messages": sent,
        "errors": len(errors),
        "error_rate": round(len(errors) / sent, 4),
        "error_kinds": sorted(set(errors)),
        "seconds": round(elapsed, 1),
        "messages_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[int(0.9 * len(ordered))] * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "rss_idle_mib": idle_rss,
        "rss_after_load_mib": loaded_rss,
        "python": platform.python_version(),
    }


def main() -> None:
    """Run the load and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--database-url", help="a PostgreSQL database (default: new SQLite)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.residents, args.database_url)), indent=2))


if __name__ == "__main__":
    main()

"""The whole web app served on a free loopback port from a thread of its own, for clients
that are not asyncio (schemathesis drives `requests`)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web

from bot.app import Runtime, build_runtime, create_web_app
from bot.config import Settings
from handlers.context import Services


@contextlib.contextmanager
def serving(
    config: Settings,
    services: Services,
    seed: Callable[[Runtime], Awaitable[Any]] | None = None,
) -> Iterator[tuple[str, Any]]:
    """The app's base URL and what `seed(runtime)` returned (run before serving)."""
    loop = asyncio.new_event_loop()
    ready: dict[str, Any] = {}
    started = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        runtime = await build_runtime(config, upgrade=False, services=services)
        ready["seeded"] = await seed(runtime) if seed is not None else None
        runner = web.AppRunner(create_web_app(runtime), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready["url"] = f"http://127.0.0.1:{port}"
        started.set()
        await stop.wait()
        await runner.cleanup()
        await runtime.close()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    try:
        assert started.wait(60), "the web app did not start"
        yield ready["url"], ready["seeded"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()

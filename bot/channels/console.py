"""The console channel: `linli chat`, the same engine and database in a terminal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from handlers.engine import Engine
from handlers.types import Button, Incoming, Reply
from storage import outbox as outbox_store

CHANNEL = "console"
POLL_SECONDS = 1.0


class ConsoleChat:
    """Reads a resident's lines, prints the bot's replies and any outbox messages for them."""

    def __init__(
        self,
        engine: Engine,
        sessions: Any,
        *,
        clock: Callable[[], datetime],
        user: str,
        locale: str | None,
        json_mode: bool,
        out: TextIO,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._clock = clock
        self._user = user
        self._locale = locale
        self._json = json_mode
        self._out = out
        self._buttons: tuple[Button, ...] = ()

    async def run(self, lines: TextIO) -> None:
        """Chat until end of input; outbox messages are printed as they arrive."""
        stop = asyncio.Event()
        poller = asyncio.create_task(self._poll_outbox(stop))
        try:
            if not self._json:
                await self._send(
                    Incoming(CHANNEL, self._user, _uid(), action="hello", locale=self._locale)
                )
            while True:
                if not self._json:
                    self._write("> ", end="")
                line = await asyncio.to_thread(lines.readline)
                if not line:
                    break
                incoming = self._parse(line.rstrip("\n"))
                if incoming is not None:
                    await self._send(incoming)
        finally:
            stop.set()
            await poller
            await self._deliver_outbox()  # whatever arrived during the last turn

    def _parse(self, line: str) -> Incoming | None:
        if self._json:
            return self._parse_json(line)
        text = line.strip()
        pressed = self._pressed(text)
        if pressed is not None:
            return Incoming(CHANNEL, self._user, _uid(), action=pressed.action, locale=self._locale)
        return Incoming(CHANNEL, self._user, _uid(), text=text, locale=self._locale)

    def _parse_json(self, line: str) -> Incoming | None:
        if not line.strip():
            return None
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            self._emit({"error": "invalid JSON line"})
            return None
        if not isinstance(data, dict) or not (
            isinstance(data.get("text"), str) or isinstance(data.get("action"), str)
        ):
            self._emit({"error": 'expected {"text": ...} or {"action": ...}'})
            return None
        return Incoming(
            CHANNEL,
            self._user,
            str(data.get("id") or _uid()),
            text=data.get("text") if isinstance(data.get("text"), str) else None,
            action=data.get("action") if isinstance(data.get("action"), str) else None,
            locale=self._locale,
        )

    def _pressed(self, text: str) -> Button | None:
        if text.isdigit() and 1 <= int(text) <= len(self._buttons):
            return self._buttons[int(text) - 1]
        return next((b for b in self._buttons if b.label == text), None)

    async def _send(self, incoming: Incoming) -> None:
        handled = await self._engine.handle(incoming)
        for reply in handled.replies:
            self._show(reply)

    def _show(self, reply: Reply) -> None:
        if self._json:
            self._emit({**reply.as_dict(), "to": reply.to})
            return
        if reply.to is not None:
            self._write(f"[message for you] {reply.text}")
        else:
            self._write(reply.text)
        if reply.buttons:
            self._buttons = reply.buttons
            for number, button in enumerate(reply.buttons, 1):
                self._write(f"  [{number}] {button.label}")
        self._write("")

    async def _poll_outbox(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._deliver_outbox()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)

    async def _deliver_outbox(self) -> None:
        async with self._sessions.begin() as session:
            taken = await outbox_store.take_for_recipient(
                session, channel=CHANNEL, recipient=self._user, now=self._clock()
            )
        for message in taken:
            self._show(Reply.from_dict(message.payload, to=self._user))

    def _emit(self, data: dict[str, Any]) -> None:
        self._write(json.dumps(data, ensure_ascii=False))

    def _write(self, text: str, end: str = "\n") -> None:
        self._out.write(text + end)
        self._out.flush()


def _uid() -> str:
    return uuid.uuid4().hex

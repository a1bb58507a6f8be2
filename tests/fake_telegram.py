"""A local fake of the Telegram Bot API (aiohttp on 127.0.0.1) that records every call.

It speaks what python-telegram-bot sends: `POST /bot<token>/<method>` with form fields whose
strings arrive raw and whose objects (reply_markup) arrive as JSON strings."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT = {
    "id": 4242,
    "is_bot": True,
    "first_name": "Linli",
    "username": "linli_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Failure:
    """A scripted error for the next call of a method (optionally to one chat)."""

    status: int
    description: str
    retry_after: int | None = None
    chat_id: str | None = None
    times: int = 1


@dataclass
class FakeTelegram:
    """The fake server; `calls` lists (method, fields) in order. With `messages_per_second`
    it enforces Telegram's bot-wide flood limit like the real one: a sendMessage beyond that
    many within the last second is refused with 429 and `retry_after` (and not recorded as
    sent; `refused` counts them)."""

    token: str = "123456:TEST-TOKEN"
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    messages_per_second: int | None = None
    refused: int = 0
    arrivals: list[float] = field(default_factory=list)  # monotonic time of each sendMessage
    # From this many sendMessage calls on, each is recorded but not answered until `release`:
    # a sender caught waiting for Telegram's answer (e.g. to be killed there).
    stall_after: int | None = None
    _recent: deque[float] = field(default_factory=deque)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _runner: web.AppRunner | None = None
    port: int = 0
    # Files getFile hands out, by file_id, downloadable at /file/bot<token>/<file_path>.
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """What LINLI_TELEGRAM_API_BASE should be."""
        return f"http://127.0.0.1:{self.port}/bot"

    def release(self) -> None:
        """Answer the stalled calls and stop stalling."""
        self.stall_after = None
        self._released.set()

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/photos/{file_id}", self._file)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._arrived = asyncio.Event()

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests use -------------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an update_id is added when missing)."""
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        self._arrived.set()
        return update

    def text_update(
        self,
        user: int,
        text: str,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        language: str = "zh-hans",
    ) -> dict[str, Any]:
        """An update carrying a text message from a user."""
        return {"update_id": next(self._update_ids), "message": self._message(
            user, chat_type, chat_id, language, text=text)}  # fmt: skip

    def message_update(self, user: int, **content: Any) -> dict[str, Any]:
        """An update carrying a message with any content (photo, location, sticker…)."""
        return {"update_id": next(self._update_ids),
                "message": self._message(user, "private", None, "zh-hans", **content)}  # fmt: skip

    def press_update(
        self, user: int, data: str, *, message_id: int = 1, chat_id: int | None = None
    ) -> dict[str, Any]:
        """An update for a pressed inline button (in the user's private chat by default)."""
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": f"cb{next(self._ids)}",
                "from": self._user(user, "zh-hans"),
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": message_id, "date": int(time.time()),
                    "chat": {"id": chat_id or user,
                             "type": "private" if chat_id is None else "supergroup"},
                    "from": BOT, "text": "…",
                },
            },
        }  # fmt: skip

    def sent(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """sendMessage calls (to one chat), in order."""
        wanted = None if chat_id is None else str(chat_id)
        return [
            fields for method, fields in self.calls
            if method == "sendMessage" and wanted in (None, fields.get("chat_id"))
        ]  # fmt: skip

    def texts(self, chat_id: int | str | None = None) -> list[str]:
        """The texts sent (to one chat)."""
        return [fields["text"] for fields in self.sent(chat_id)]

    def buttons(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        """(label, callback_data) of a sent message's inline keyboard."""
        markup = json.loads(fields.get("reply_markup") or "{}")
        return [
            (b["text"], b["callback_data"])
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    def fail(self, method: str, failure: Failure) -> None:
        """Make the next call(s) of a method fail as scripted."""
        self.failures.setdefault(method, []).append(failure)

    def called(self, method: str) -> list[dict[str, Any]]:
        """Every call of one method."""
        return [fields for name, fields in self.calls if name == method]

    async def wait_for(self, condition: Any, seconds: float = 10.0) -> None:
        """Wait until `condition()` is true (the bot works asynchronously)."""
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {[m for m, _ in self.calls]}")
            await asyncio.sleep(0.02)

    # -- the wire ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            unauthorized = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return web.json_response(unauthorized, status=401)
        method = request.match_info["method"]
        fields = {k: str(v) for k, v in (await request.post()).items()}
        if method == "sendMessage" and self._flooded():
            self.refused += 1
            body = {"ok": False, "error_code": 429, "parameters": {"retry_after": 1},
                    "description": "Too Many Requests: retry after 1"}  # fmt: skip
            return web.json_response(body, status=429)
        self.calls.append((method, fields))
        if method == "sendMessage":
            self.arrivals.append(time.monotonic())
        stalled = self.stall_after is not None and len(self.sent()) > self.stall_after
        if method == "sendMessage" and stalled:
            await self._released.wait()
        failure = self._failure(method, fields)
        if failure is not None:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._get_updates(fields)})
        return web.json_response({"ok": True, "result": self._result(method, fields)})

    def _flooded(self) -> bool:
        if self.messages_per_second is None:
            return False
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.messages_per_second:
            return True
        self._recent.append(now)
        return False

    def _failure(self, method: str, fields: dict[str, Any]) -> Failure | None:
        for failure in self.failures.get(method, []):
            if failure.times > 0 and (
                failure.chat_id is None or failure.chat_id == fields.get("chat_id")
            ):
                failure.times -= 1
                return failure
        return None

    async def _get_updates(self, fields: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(fields.get("offset") or 0)
        timeout = float(fields.get("timeout") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=min(timeout, 1.0))
        return [u for u in self._updates if u["update_id"] >= offset]

    def _result(self, method: str, fields: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT
        if method in ("sendMessage", "editMessageReplyMarkup", "editMessageText"):
            return {
                "message_id": next(self._ids), "date": int(time.time()),
                "chat": {"id": int(fields.get("chat_id", 0)), "type": "private"},
                "from": BOT, "text": fields.get("text", "…"),
            }  # fmt: skip
        if method == "getFile":
            return {
                "file_id": fields.get("file_id"),
                "file_unique_id": "u",
                "file_path": f"photos/{fields.get('file_id')}",
            }
        return True

    async def _file(self, request: web.Request) -> web.Response:
        self.calls.append(("download", {"file_id": request.match_info["file_id"]}))
        data = self.files.get(request.match_info["file_id"])
        if request.match_info["token"] != self.token or data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def _user(self, user: int, language: str) -> dict[str, Any]:
        return {"id": user, "is_bot": False, "first_name": f"R{user}", "language_code": language}

    def _message(self, user: int, chat_type: str, chat_id: int | None, language: str,
                 **content: Any) -> dict[str, Any]:  # fmt: skip
        chat = {"id": chat_id or user, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "3号楼业主群"
        return {"message_id": next(self._ids), "date": int(time.time()), "chat": chat,
                "from": self._user(user, language), **content}  # fmt: skip

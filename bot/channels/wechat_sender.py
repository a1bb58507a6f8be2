"""The outbox sender for WeChat residents: customer-service messages (客服消息), buttons as
menu messages (msgmenu) whose ids map to actions through the database, and WeChat's errcodes
turned into the outbox's outcomes."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat_api import EXPIRED_TOKEN, Answer, WeChatApi, WeChatError
from bot.channels.wechat_message import CHANNEL, MAX_TEXT_BYTES, clean, split
from bot.outbox import DeliveryResult, Failed, InDoubt, RetryAfter, Sent, Undeliverable, Unreachable
from handlers.types import Button, Reply
from storage import state
from storage.outbox import OutboxMessage

log = logging.getLogger(__name__)

MENU_KEY = "wechat.menu."  # app_state key prefix: a menu-message button id → its action
OUTSIDE_WINDOW = 45015  # the resident last wrote over 48 hours ago
OVER_QUOTA = 45047  # too many customer-service messages since the resident last wrote
API_QUOTA = 45009  # the account's daily API quota is used up
GONE = frozenset({40003, 43004, 43019})  # no such openid, unfollowed, blocked
OVER_QUOTA_PAUSE = 600.0  # seconds a resident's messages wait after 45047
API_QUOTA_PAUSE = 900.0


def menu_id(action: str, salt: int = 0) -> str:
    """A short, stable, numeric id for a button action (derived, so every worker agrees)."""
    digest = hashlib.sha256(f"{salt}:{action}".encode()).digest()
    return str(10**11 + int.from_bytes(digest[:8], "big") % (9 * 10**11))


async def menu_action(session: AsyncSession, menu_id: str) -> str | None:
    """The action of a pressed menu-message button; None for an id never sent."""
    if not menu_id.isdigit():
        return None
    return await state.get(session, MENU_KEY + menu_id)


def payloads(openid: str, reply: Reply, ids: list[str]) -> list[dict[str, Any]]:
    """One reply as customer-service messages: text pieces within WeChat's limit, the last
    one carrying the buttons as a menu message."""
    pieces = split(clean(reply.text or "…"))
    if not reply.buttons:
        return [_text(openid, piece) for piece in pieces]
    items = [{"id": i, "content": clean(b.label)} for b, i in zip(reply.buttons, ids, strict=True)]
    reserve = len(json.dumps(items, ensure_ascii=False).encode())
    pieces += split(pieces.pop(), max(MAX_TEXT_BYTES - reserve, MAX_TEXT_BYTES // 4))
    *before, head = pieces
    menu = {"head_content": head, "list": items, "tail_content": ""}
    return [*(_text(openid, p) for p in before), {"touser": openid, "msgtype": "msgmenu",
                                                   "msgmenu": menu}]  # fmt: skip


def _text(openid: str, text: str) -> dict[str, Any]:
    return {"touser": openid, "msgtype": "text", "text": {"content": text}}


class WeChatSender:
    """Delivers outbox messages to WeChat residents (recipient = their openid)."""

    channel = CHANNEL

    def __init__(
        self,
        api: WeChatApi,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], float],
    ) -> None:
        self.api = api
        self._sessions = sessions
        self._clock = clock
        self._ids: dict[str, str] = {}  # action → menu id, immutable once stored
        self._paused: dict[str, float] = {}  # openid → until (after 45047)
        self._quota_until = 0.0  # the whole account (after 45009)
        self._progress: dict[int, int] = {}  # outbox id → pieces already accepted

    async def turn(self, message: OutboxMessage) -> float:
        """0 to send now; else how long this resident (45047) or the account (45009) waits."""
        until = max(self._paused.get(message.recipient, 0.0), self._quota_until)
        return max(0.0, until - self._clock())

    async def send(self, message: OutboxMessage) -> DeliveryResult:
        """Deliver one message piece by piece; after a retryable failure a later attempt
        (in this process) goes on from the piece that failed instead of repeating the rest."""
        reply = Reply.from_dict(message.payload)
        try:
            ids = [await self._menu_id(button) for button in reply.buttons]
            pieces = payloads(message.recipient, reply, ids)
            start = self._progress.pop(message.id, 0)
            for number, payload in enumerate(pieces[start:], start):
                answer = await self.api.send(payload)
                if not answer.ok:
                    result = self._outcome(message, answer)
                    if isinstance(result, Failed | RetryAfter):
                        self._progress[message.id] = number
                    return result
        except TimeoutError:
            return InDoubt("WeChat did not answer in time")
        except WeChatError as exc:  # no access_token (bad AppSecret, IP not whitelisted…)
            return Failed(f"access_token: {exc.errcode}")
        except aiohttp.ClientError as exc:  # never log the exception: its URL has the token
            return Failed(type(exc).__name__)
        return Sent()

    def _outcome(self, message: OutboxMessage, answer: Answer) -> DeliveryResult:
        reason = f"WeChat {answer.errcode}: {answer.errmsg}"
        if answer.errcode == OUTSIDE_WINDOW:
            return Undeliverable(f"{reason} (the resident last wrote over 48 hours ago)")
        if answer.errcode in GONE:
            return Unreachable(reason)
        if answer.errcode == OVER_QUOTA:
            self._paused[message.recipient] = self._clock() + OVER_QUOTA_PAUSE
            return Failed(reason)
        if answer.errcode == API_QUOTA:
            self._quota_until = self._clock() + API_QUOTA_PAUSE
            return RetryAfter(API_QUOTA_PAUSE)
        if answer.errcode in EXPIRED_TOKEN:
            log.warning("WeChat refused a freshly renewed access_token (%s)", answer.errcode)
        return Failed(reason)

    async def _menu_id(self, button: Button) -> str:
        """The button's id, stored with its action so a press minutes (or days) later, on any
        worker, still finds it; a hash collision with another action takes the next salt."""
        known = self._ids.get(button.action)
        if known is not None:
            return known
        for salt in range(8):
            candidate = menu_id(button.action, salt)
            async with self._sessions.begin() as session:
                stored = await state.get_or_create(
                    session, MENU_KEY + candidate, lambda: button.action
                )
            if stored == button.action:
                self._ids[button.action] = candidate
                return candidate
        raise WeChatError(-1, "no free menu id")  # 8 collisions in 10^12: not in this universe

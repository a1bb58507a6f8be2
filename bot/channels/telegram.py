"""The Telegram channel (python-telegram-bot 22): residents and staff on Telegram, by long
polling or by a webhook served from our own aiohttp app, and the outbox senders that reach
Telegram chats."""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, MessageLimit
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.telegram_http import AiohttpRequest
from bot.outbox import DeliveryResult, Failed, InDoubt, Sent, Unreachable
from bot.outbox import RetryAfter as Retry
from handlers import staff_chat
from handlers.i18n import pick_locale
from handlers.types import Button, Incoming, Location, Reply
from storage import db, outbox, residents, updates
from storage.models import Staff
from storage.outbox import OutboxMessage

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UNSUPPORTED = ("sticker", "voice", "video", "video_note", "audio", "document", "animation",
               "contact", "poll", "dice")  # fmt: skip
CONCURRENT_UPDATES = 8
SHORT_LABEL = 4  # buttons with labels this short share a row (ratings 1–5)


class _Redelivered(Exception):
    """This staff update was handled before: roll back this attempt."""


class TelegramChannel:
    """The PTB application wired to the engine."""

    def __init__(self, runtime: Runtime) -> None:
        os.environ.setdefault("PTB_TIMEDELTA", "true")  # durations as timedelta, no warnings
        settings = runtime.settings
        assert settings.telegram_token is not None
        self.runtime = runtime
        self.webhook = bool(settings.webhook_url)
        base = settings.telegram_api_base
        builder = (
            Application.builder()
            .token(settings.telegram_token.get_secret_value())
            .base_url(base)
            .base_file_url(base.replace("/bot", "/file/bot"))
            .concurrent_updates(CONCURRENT_UPDATES)
            # Bot API calls through aiohttp rather than PTB's httpx: a fifth of the CPU.
            .request(AiohttpRequest())
            .get_updates_request(AiohttpRequest(connection_pool_size=1))
        )
        if self.webhook:
            builder = builder.updater(None)
        self.app = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        self.secret = secret or secrets.token_urlsafe(32)
        # An unguessable path derived from the secret, so the token never appears in a URL.
        self.path = (
            "/telegram/" + hmac.new(self.secret.encode(), b"path", "sha256").hexdigest()[:32]
        )

    @property
    def bot_username(self) -> str:
        """The bot's @name, known after start."""
        return self.app.bot.username or ""

    async def start(self) -> None:
        """Connect (getMe), then poll or register the webhook."""
        await self.app.initialize()
        await self.app.start()
        if self.webhook:
            url = (self.runtime.settings.webhook_url or "").rstrip("/") + self.path
            await self.app.bot.set_webhook(
                url, secret_token=self.secret, allowed_updates=ALLOWED_UPDATES
            )
        else:
            assert self.app.updater is not None
            await self.app.updater.start_polling(
                allowed_updates=ALLOWED_UPDATES, timeout=20, poll_interval=0.0
            )

    async def stop(self) -> None:
        """Stop polling and release the connection."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    def routes(self, app: web.Application) -> None:
        """Add the webhook route to our aiohttp application."""
        app.router.add_post(self.path, self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        """A webhook delivery: the secret is checked in constant time before anything else."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=403)
        try:
            data = await request.json()
            # Telegram sends an object with an integer update_id; anything else ([], null, a
            # string) is not an update, and PTB would fail on it with an AttributeError.
            if not isinstance(data, dict) or type(data.get("update_id")) is not int:
                return web.Response(status=400)
            update = Update.de_json(data, self.app.bot)
        # ValueError: not JSON, or an integer of thousands of digits; RecursionError: nested
        # thousands deep; the rest: PTB refusing fields of the wrong type or range.
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
            return web.Response(status=400)
        await self.app.process_update(update)
        return web.Response(text="ok")

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await _acknowledge(update)
        chat = update.effective_chat
        if chat is None or update.effective_user is None:
            return
        if chat.type != ChatType.PRIVATE:
            # Staff commands work in a private chat or in the configured staff chat only.
            staff_replies = None
            if chat.id == self.runtime.settings.staff_chat_id:
                staff_replies = await self._staff_answer(update)
            for reply in staff_replies or []:
                await send(self.app.bot, chat.id, reply)
            if staff_replies is None:
                await self._in_group(update)
            return
        replies = await self._staff_answer(update)
        if replies is None:
            incoming = to_incoming(update)
            if incoming is None:
                return
            replies = list((await self.runtime.engine.handle(incoming)).replies)
        await self._answer(update, chat.id, replies)

    async def _answer(self, update: Update, chat_id: int, replies: list[Reply]) -> None:
        """Send the replies; a blocked bot marks the resident unreachable, any other failure
        leaves the unsent replies in the outbox to be retried — nothing is dropped."""
        for number, reply in enumerate(replies):
            result = await deliver(self.app.bot, chat_id, reply)
            if isinstance(result, Sent):
                continue
            async with self.runtime.sessions.begin() as session:
                resident = await residents.find(session, channel=CHANNEL, external_id=str(chat_id))
                if isinstance(result, Unreachable):
                    if resident is not None:
                        await residents.mark_unreachable(session, resident_id=resident.id)
                    return
                for later, rest in enumerate(replies[number:], number):
                    await outbox.enqueue(
                        session,
                        channel=CHANNEL,
                        recipient=str(chat_id),
                        resident_id=resident.id if resident else None,
                        payload=rest.as_dict(),
                        dedupe_key=f"reply:{update.update_id}:{later}",
                        priority=outbox.PRIORITY_HIGH,
                        now=self.runtime.clock(),
                    )
            return

    async def _staff_answer(self, update: Update) -> list[Reply] | None:
        """Staff commands and buttons, for staff recognised by their numeric Telegram id.
        Like a resident's, a staff update takes effect once: a redelivery finds it recorded,
        rolls back and says nothing (the resident gets one reply, the ticket one event)."""
        command = staff_chat.command_of(update_text(update), update_action(update))
        if command is None:
            return None
        user_id = update.effective_user.id if update.effective_user else 0
        try:
            async with db.unit_of_work(self.runtime.sessions) as session:
                member = (
                    await session.execute(
                        select(Staff).where(Staff.telegram_id == user_id, Staff.active.is_(True))
                    )
                ).scalar_one_or_none()
                if member is None:
                    return None  # a resident typing a staff command gets the resident answer
                replies = await staff_chat.answer(
                    session, self.runtime.services, member, command, now=self.runtime.clock()
                )
                stored = [reply.as_dict() for reply in replies]
                if not await updates.record_update(
                    session, channel=CHANNEL, update_id=str(update.update_id), replies=stored
                ):
                    raise _Redelivered
                return replies
        except _Redelivered:
            log.info("staff update %s delivered again: already handled", update.update_id)
            return []

    async def _in_group(self, update: Update) -> None:
        """In a building's group the bot answers only commands and mentions, and moves
        anything personal to a private chat."""
        message = update.effective_message
        if message is None or not message.text:
            return
        mentioned = f"@{self.bot_username}".lower() in message.text.lower()
        if not (message.text.startswith("/") or mentioned):
            return
        texts = self.runtime.services.texts
        locale = pick_locale(update.effective_user.language_code if update.effective_user else None)
        text = texts.get(locale, "telegram.group", bot=self.bot_username)
        await send(self.app.bot, message.chat_id, Reply(text))


def update_text(update: Update) -> str:
    """The text (or caption) of the update's message."""
    message = update.message
    return (message.text or message.caption or "") if message else ""


def update_action(update: Update) -> str | None:
    """The callback data of a pressed button."""
    return update.callback_query.data if update.callback_query else None


def to_incoming(update: Update) -> Incoming | None:
    """The engine's view of a private-chat update."""
    user = update.effective_user
    if user is None:
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "user_id": str(user.id),
        "update_id": str(update.update_id),
        "locale": user.language_code,
        "display_name": user.full_name,
    }
    if update.callback_query is not None:
        return Incoming(**base, action=update.callback_query.data or "")
    if update.edited_message is not None:
        return Incoming(**base, unsupported="edited")
    message = update.message
    if message is None:
        return None
    if message.location is not None:
        where = Location(message.location.latitude, message.location.longitude)
        return Incoming(**base, location=where)
    if message.photo:
        return Incoming(**base, photo=message.photo[-1].file_id, text=message.caption)
    kind = next((k for k in UNSUPPORTED if getattr(message, k, None)), None)
    if kind is not None:
        return Incoming(**base, unsupported=kind)
    return Incoming(**base, text=message.text or "")


async def _acknowledge(update: Update) -> None:
    """Always answer the button press, and take the keyboard off the message pressed."""
    query = update.callback_query
    assert query is not None
    try:
        await query.answer()
        if isinstance(query.message, Message):
            await query.edit_message_reply_markup(reply_markup=None)
    except (BadRequest, Forbidden) as exc:  # a very old message, or gone
        log.debug("could not clear a keyboard: %s", exc)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Inline buttons: long labels one per row, short ones (ratings) side by side."""
    return _markup(reply.buttons) if reply.buttons else None


@functools.lru_cache(maxsize=1024)
def _markup(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup:
    # Most replies carry one of a few keyboards (the menu, yes/no, ratings); PTB's objects
    # are frozen, so one built keyboard serves every message that has it.
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        key = InlineKeyboardButton(button.label, callback_data=button.action)
        if (
            rows
            and len(button.label) <= SHORT_LABEL
            and all(len(k.text) <= SHORT_LABEL for k in rows[-1])
        ):
            rows[-1].append(key)
        else:
            rows.append([key])
    return InlineKeyboardMarkup(rows)


def split(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Texts over Telegram's limit in pieces, cut at line ends where possible."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces


async def send(bot: Any, chat_id: int | str, reply: Reply, pacer: Pacer | None = None) -> None:
    """Send one reply as plain text (never a parse mode), the keyboard on its last piece;
    with a pacer, each piece after the first (which had its turn) waits for one."""
    pieces = split(reply.text or "…")
    for number, piece in enumerate(pieces, 1):
        if pacer is not None and number > 1:
            await pacer.slot(chat_id)
        markup = keyboard(reply) if number == len(pieces) else None
        await bot.send_message(chat_id=chat_id, text=piece, reply_markup=markup)


class Pacer:
    """Telegram's limits for one bot: about 30 messages a second in all, one a second to a
    private chat, twenty a minute to a group, and a pause of the whole bot after a 429. Per
    process; the outbox claims keep several processes from sending the same message, not from
    sharing these budgets (a second process meets 429s and obeys them)."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        per_bot: float = 1 / 29,  # just under 30/s, so timing jitter never makes 31 in a second
        per_chat: float = 1.0,
        per_group: float = 3.0,
    ) -> None:
        self._clock = clock
        self._gaps = (per_bot, per_chat, per_group)
        self._next_any = 0.0
        self._paused_until = 0.0
        self._next_chat: dict[str, float] = {}

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing goes out for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 when not paused)."""
        return max(0.0, self._paused_until - self._clock())

    def chat_wait(self, chat_id: int | str) -> float:
        """Seconds before this chat may get another message (0 when it may now)."""
        return max(0.0, self._next_chat.get(str(chat_id), 0.0) - self._clock())

    async def turn(self, chat_id: int | str) -> float:
        """Take this chat's turn (0), or say how long the bot or the chat must still wait."""
        wait = max(self.paused_for(), self.chat_wait(chat_id))
        if wait == 0:
            await self.slot(chat_id)
        return wait

    async def slot(self, chat_id: int | str) -> None:
        """Wait for the bot-wide pace, then book the send for this chat. Slots follow each
        other on a fixed grid, so a late wake-up does not push every later send back."""
        per_bot, per_chat, per_group = self._gaps
        now = self._clock()
        start = max(now, self._next_any)
        if start > now:
            await asyncio.sleep(start - now)
        self._next_any = start + per_bot
        gap = per_group if str(chat_id).startswith("-") else per_chat
        self._next_chat[str(chat_id)] = start + gap


class TelegramSender:
    """Delivers outbox messages to Telegram residents (recipient = their chat id)."""

    channel = CHANNEL

    def __init__(self, bot: Any, pacer: Pacer) -> None:
        self.bot = bot
        self.pacer = pacer

    async def turn(self, message: OutboxMessage) -> float:
        """Wait for the message's turn within Telegram's limits (see `Pacer.turn`)."""
        return await self.pacer.turn(message.recipient)

    async def send(self, message: OutboxMessage) -> DeliveryResult:
        """One delivery, with Telegram's answers mapped to the outbox's outcomes."""
        reply = Reply.from_dict(message.payload)
        return await deliver(self.bot, message.recipient, reply, self.pacer)


class StaffChatSender:
    """Delivers staff alerts: to the staff chat, or to one staff member's private chat."""

    channel = "staff"

    def __init__(self, bot: Any, runtime: Runtime, pacer: Pacer) -> None:
        self.bot = bot
        self.runtime = runtime
        self.pacer = pacer

    async def turn(self, message: OutboxMessage) -> float:
        """Wait for the turn of the chat the alert goes to (see `Pacer.turn`)."""
        chat_id = await self._chat(message)
        return 0.0 if chat_id is None else await self.pacer.turn(chat_id)

    async def send(self, message: OutboxMessage) -> DeliveryResult:
        """Deliver the alert to its chat; without one configured it cannot go anywhere."""
        chat_id = await self._chat(message)
        if chat_id is None:
            return Failed("no staff chat configured")
        return await deliver(self.bot, chat_id, Reply.from_dict(message.payload), self.pacer)

    async def _chat(self, message: OutboxMessage) -> int | None:
        """`staff:<id>` goes to that person when they use Telegram; the rest to the staff chat."""
        if message.recipient.startswith("staff:") and message.recipient[6:].isdigit():
            async with self.runtime.sessions() as session:
                member = await session.get(Staff, int(message.recipient[6:]))
            if member is not None and member.telegram_id:
                return member.telegram_id
        return self.runtime.settings.staff_chat_id


async def deliver(
    bot: Any, chat_id: int | str, reply: Reply, pacer: Pacer | None = None
) -> DeliveryResult:
    """Send and translate Telegram's answer: 429 waits (and pauses the pacer's whole bot),
    403 means unreachable, a timeout leaves it in doubt (the message may have arrived)."""
    try:
        await send(bot, chat_id, reply, pacer)
    except RetryAfter as exc:
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        if pacer is not None:
            pacer.pause(seconds)
        return Retry(seconds)
    except Forbidden as exc:
        return Unreachable(str(exc)[:200])
    except TimedOut:
        return InDoubt("Telegram did not answer in time")
    except TelegramError as exc:
        return Failed(type(exc).__name__)
    return Sent()

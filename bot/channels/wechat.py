"""The WeChat Official Account channel (微信公众号): residents write to the community's 公众号,
WeChat pushes each message to `/wechat`, and the bot answers within WeChat's five seconds —
as a passive reply when it can, else through the outbox's customer-service messages."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from bot.channels import wechat_message as wx
from bot.channels.wechat_api import WeChatApi
from bot.channels.wechat_crypto import CryptoError, MessageCrypto, signature, signature_ok
from bot.channels.wechat_sender import menu_action
from handlers.engine import Handled
from handlers.i18n import pick_locale
from handlers.types import Incoming, Reply
from storage import outbox, residents

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)

PATH = "/wechat"
CHANNEL = wx.CHANNEL
# WeChat waits five seconds, then retries; the rest of the budget covers the network.
REPLY_WITHIN = 4.0
# A plain-mode signature covers the time and nonce, not the body: refusing old timestamps
# keeps a signature that leaked (say, from an access log) from being replayed for long.
MAX_SKEW = 600.0
T = TypeVar("T")
SUCCESS = "success"  # "received; nothing to answer now" (WeChat shows no error to the resident)


class BadSignature(Exception):
    """A request WeChat did not sign (403, nothing processed)."""


class WeChatChannel:
    """The `/wechat` endpoint: URL verification, then every message and event the 公众号 gets."""

    path = PATH

    def __init__(
        self,
        runtime: Runtime,
        api: WeChatApi | None = None,
        *,
        reply_within: float = REPLY_WITHIN,
    ) -> None:
        settings = runtime.settings
        assert settings.wechat_token is not None and settings.wechat_appid is not None
        self.runtime = runtime
        self.api = api
        self.reply_within = reply_within
        self._clock = runtime.clock.timestamp  # WeChat's timestamps are Unix seconds
        self._token = settings.wechat_token.get_secret_value()
        aes = settings.wechat_aes_key
        self._crypto = MessageCrypto(aes.get_secret_value(), settings.wechat_appid) if aes else None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def safe_mode(self) -> bool:
        """Whether messages arrive (and replies leave) encrypted."""
        return self._crypto is not None

    def routes(self, app: web.Application) -> None:
        """Add `GET /wechat` (server verification) and `POST /wechat` (messages)."""
        app.router.add_get(PATH, self.verify)
        app.router.add_post(PATH, self.receive)

    async def verify(self, request: web.Request) -> web.Response:
        """WeChat's server check: echo `echostr` when the signature matches, else 403."""
        if not self._signed(request.query):
            return web.Response(status=403)
        return web.Response(text=request.query.get("echostr", ""))

    async def receive(self, request: web.Request) -> web.Response:
        """One pushed message or event; the answer goes out within WeChat's five seconds."""
        query = request.query
        if not self._signed(query):
            return web.Response(status=403)
        try:
            fields = wx.parse_xml(await request.read())
            if self._crypto is not None:
                fields = self._open(query, fields, self._crypto)
            inbound = wx.read(fields)
        except BadSignature:
            return web.Response(status=403)
        except (wx.MessageError, CryptoError) as exc:
            log.info("WeChat message refused: %s", exc)
            return web.Response(status=400)
        text = await self._answer(inbound)
        if text is None:
            return web.Response(text=SUCCESS)
        xml = wx.reply_xml(to=inbound.openid, account=inbound.account, text=text, now=self._clock())
        if self._crypto is not None:
            xml = self._seal(xml, self._crypto, query.get("nonce", ""))
        return web.Response(text=xml, content_type="application/xml")

    def _signed(self, query: Mapping[str, str]) -> bool:
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        given = query.get("signature", "")
        if not (timestamp.isdigit() and nonce and given):
            return False
        fresh = abs(self._clock() - int(timestamp)) <= MAX_SKEW
        return signature_ok(given, self._token, timestamp, nonce) and fresh

    def _open(
        self, query: Mapping[str, str], fields: dict[str, str], crypto: MessageCrypto
    ) -> dict[str, str]:
        """Safe mode: check `msg_signature` over the ciphertext, then decrypt and parse."""
        encrypted = fields.get("Encrypt", "")
        if query.get("encrypt_type") != "aes" or not encrypted:
            raise wx.MessageError("safe mode is on, but the message is not encrypted")
        parts = (self._token, query.get("timestamp", ""), query.get("nonce", ""), encrypted)
        if not signature_ok(query.get("msg_signature", ""), *parts):
            raise BadSignature
        return wx.parse_xml(crypto.decrypt(encrypted))

    def _seal(self, xml: str, crypto: MessageCrypto, nonce: str) -> str:
        encrypted = crypto.encrypt(xml)
        timestamp = str(int(self._clock()))
        nonce = nonce or secrets.token_hex(8)
        sign = signature(self._token, timestamp, nonce, encrypted)
        return wx.encrypted_xml(
            encrypted=encrypted, signature=sign, timestamp=timestamp, nonce=nonce
        )

    async def _answer(self, inbound: wx.Inbound) -> str | None:
        """Run the engine; the text of a passive reply, or None (`success`: nothing to say,
        or the replies go through the outbox)."""
        incoming = inbound.incoming
        if incoming is None:
            return None
        if inbound.menu_id is not None:
            async with self.runtime.sessions() as session:
                action = await menu_action(session, inbound.menu_id)
            if action is None:
                return await self._stale_button(inbound.openid)
            incoming = dataclasses.replace(incoming, action=action)
        handled = await self._run(incoming)
        if handled is None or handled.duplicate or not handled.replies:
            return None
        only = handled.replies[0]
        if (
            len(handled.replies) == 1
            and not only.buttons
            and only.text.strip()
            and wx.fits_passive(only.text)
        ):
            return only.text
        await self._enqueue(incoming, handled.replies)
        return None

    async def _run(self, incoming: Incoming) -> Handled | None:
        """The engine's answer if it is ready in time; else None, and the engine goes on (it
        is never cancelled) and its replies go to the outbox when it is done."""
        task = self._track(asyncio.create_task(self.runtime.engine.handle(incoming)))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.reply_within)
        except asyncio.CancelledError:  # WeChat hung up: the engine still finishes
            self._track(asyncio.create_task(self._later(task, incoming)))
            raise
        if task in done:
            return task.result()
        self._track(asyncio.create_task(self._later(task, incoming)))
        return None

    async def _later(self, task: asyncio.Task[Handled], incoming: Incoming) -> None:
        try:
            handled = await task
            if not handled.duplicate and handled.replies:
                await self._enqueue(incoming, handled.replies)
        except Exception:
            log.exception("WeChat update %s: queueing the late replies failed", incoming.update_id)

    def _track(self, task: asyncio.Task[T]) -> asyncio.Task[T]:
        """Keep a reference to work that outlives the request, so it is neither collected
        nor forgotten at shutdown."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _enqueue(self, incoming: Incoming, replies: tuple[Reply, ...]) -> None:
        """The replies, in order, as outbox rows for the customer-service API."""
        async with self.runtime.sessions.begin() as session:
            resident = await residents.find(session, channel=CHANNEL, external_id=incoming.user_id)
            for number, reply in enumerate(replies):
                await outbox.enqueue(
                    session,
                    channel=CHANNEL,
                    recipient=incoming.user_id,
                    resident_id=resident.id if resident else None,
                    payload=reply.as_dict(),
                    dedupe_key=f"wechat:reply:{incoming.update_id}:{number}",
                    priority=outbox.PRIORITY_HIGH,  # an answer: never held for the night
                    now=self.runtime.clock(),
                )

    async def _stale_button(self, openid: str) -> str:
        """A press of a button whose id this service never gave out (or has forgotten)."""
        async with self.runtime.sessions() as session:
            resident = await residents.find(session, channel=CHANNEL, external_id=openid)
        locale = resident.locale if resident is not None else pick_locale(None)
        return self.runtime.services.texts.get(locale, "input.stale_button")

    async def stop(self) -> None:
        """Let engine turns in flight finish and queue their replies, then close the API."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), 30)
        if self.api is not None:
            await self.api.close()

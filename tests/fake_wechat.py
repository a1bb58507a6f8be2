"""The WeChat side of the wire, faked: the API server (aiohttp on 127.0.0.1: access_token,
customer-service messages, custom menu; it records every call and answers any scripted
errcode) and a resident's phone pushing signed — in safe mode encrypted — XML to `/wechat`.

Signatures and encryption are built here from WeChat's specification, independently of
`bot.channels.wechat_crypto`, so the tests check the channel against the spec, not itself."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

APPID = "wx1234567890abcdef"
SECRET = "test-app-secret"
TOKEN = "linli-wechat-token"
ACCOUNT = "gh_0123456789ab"  # the 公众号's own id (ToUserName of pushes)
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43 characters

Client = TestClient[Any, Any]


@dataclass
class FakeWeChat:
    """The fake API server. `calls` lists (path, body-or-query) in order; `fail(path, code…)`
    makes the next calls to that path answer those errcodes."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    scripted: dict[str, list[int]] = field(default_factory=dict)
    valid_tokens: set[str] = field(default_factory=set)
    token_delay: float = 0.0
    media: dict[str, bytes] = field(default_factory=dict)  # MediaId → a resident's photo
    port: int = 0
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        """What LINLI_WECHAT_API_BASE should be."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        app.router.add_post("/cgi-bin/menu/create", self._menu)
        app.router.add_get("/cgi-bin/media/get", self._media)
        app.router.add_route("*", "/{tail:.*}", self._anything_else)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests use -------------------------------------------------------------------

    def fail(self, path: str, *errcodes: int) -> None:
        """Answer the next calls to `path` ("send", "menu", "token") with these errcodes."""
        self.scripted.setdefault(path, []).extend(errcodes)

    def expire_tokens(self) -> None:
        """Every token handed out so far stops working (WeChat answers 40001)."""
        self.valid_tokens.clear()

    def called(self, path: str) -> list[dict[str, Any]]:
        """The calls to one path ("/cgi-bin/token", "/leak"…)."""
        return [body for called, body in self.calls if called == path]

    def delivered(self, openid: str | None = None) -> list[dict[str, Any]]:
        """Customer-service messages WeChat accepted (to one resident), in order."""
        return [
            body for path, body in self.calls
            if path == "send-ok" and openid in (None, body.get("touser"))
        ]  # fmt: skip

    @staticmethod
    def seen(message: dict[str, Any]) -> str:
        """What a resident sees of one message: its text, and a menu message's buttons."""
        if message["msgtype"] == "text":
            return str(message["text"]["content"])
        menu = message["msgmenu"]
        return "\n".join([menu["head_content"], *(f"[{i['content']}]" for i in menu["list"])])

    async def wait_for(self, condition: Callable[[], bool], seconds: float = 5.0) -> None:
        """Wait until `condition()` holds."""
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[p for p, _ in self.calls]}")
            await asyncio.sleep(0.02)

    # -- the wire ---------------------------------------------------------------------------

    def _scripted(self, path: str) -> int | None:
        queue = self.scripted.get(path)
        return queue.pop(0) if queue else None

    async def _token(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.calls.append(("/cgi-bin/token", query))
        await asyncio.sleep(self.token_delay)
        code = self._scripted("token")
        if code is not None:
            return web.json_response({"errcode": code, "errmsg": "scripted"})
        if query.get("appid") != APPID or query.get("secret") != SECRET:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        token = f"TOKEN-{next(self._serial)}"
        self.valid_tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def _call(self, request: web.Request, path: str) -> tuple[dict[str, Any], int]:
        raw = await request.read()
        body = json.loads(raw.decode("utf-8"))
        self.calls.append((request.path, {**body, "access_token": request.query["access_token"]}))
        if request.query.get("access_token") not in self.valid_tokens:
            return body, 40001
        return body, self._scripted(path) or 0

    async def _send(self, request: web.Request) -> web.Response:
        body, code = await self._call(request, "send")
        if code == 0:
            self.calls.append(("send-ok", body))
        return web.json_response({"errcode": code, "errmsg": "ok" if code == 0 else "scripted"})

    async def _menu(self, request: web.Request) -> web.Response:
        body, code = await self._call(request, "menu")
        if code == 0:
            self.calls.append(("menu-ok", body))
        return web.json_response({"errcode": code, "errmsg": "ok" if code == 0 else "scripted"})

    async def _media(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.calls.append(("/cgi-bin/media/get", query))
        if query.get("access_token") not in self.valid_tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if query.get("media_id") not in self.media:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        return web.Response(body=self.media[query["media_id"]], content_type="image/jpeg")

    async def _anything_else(self, request: web.Request) -> web.Response:
        self.calls.append((request.path, dict(request.query)))
        return web.Response(text="SECRET-FROM-THE-NETWORK")


def sign(*parts: str) -> str:
    """WeChat's signature, from the spec: SHA-1 of the sorted parts joined."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def encrypt(xml: str, *, aes_key: str = AES_KEY, appid: str = APPID) -> str:
    """Safe-mode encryption from the spec: AES-256-CBC, IV = key[:16], PKCS#7 to 32 bytes,
    over 16 random bytes + length (big-endian) + message + app id."""
    key = base64.b64decode(aes_key + "=")
    body = xml.encode()
    plain = os.urandom(16) + len(body).to_bytes(4, "big") + body + appid.encode()
    padder = padding.PKCS7(256).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def decrypt(encrypted: str, *, aes_key: str = AES_KEY) -> tuple[str, str]:
    """(message, app id) of a safe-mode ciphertext."""
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    unpadder = padding.PKCS7(256).unpadder()
    plain = (unpadder.update(padded) + unpadder.finalize())[16:]
    length = int.from_bytes(plain[:4], "big")
    return plain[4 : 4 + length].decode(), plain[4 + length :].decode()


@dataclass
class Answer:
    """WeChat's view of our answer to one push."""

    status: int
    body: str
    fields: dict[str, str]  # of the passive reply (decrypted in safe mode); {} for `success`


@dataclass
class Phone:
    """A resident's WeChat pushing to `/wechat` as WeChat would: signed, encrypted in safe
    mode, with WeChat's MsgId and CreateTime. `deliver` runs one outbox pass."""

    client: Client
    fake: FakeWeChat
    deliver: Callable[[], Awaitable[object]]
    openid: str = "oResident_0001"
    safe: bool = False
    token: str = TOKEN
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7_300_000_000))
    _clock: itertools.count[int] = field(default_factory=lambda: itertools.count(int(time.time())))

    def xml(self, kind: str, **fields: str) -> tuple[str, str]:
        """A message of MsgType `kind` and its MsgId ("" for events, which have none)."""
        msg_id = "" if kind == "event" else str(next(self._ids))
        extra = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
        xml = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{self.openid}]]></FromUserName>"
            f"<CreateTime>{next(self._clock)}</CreateTime>"
            f"<MsgType><![CDATA[{kind}]]></MsgType>{extra}"
            + (f"<MsgId>{msg_id}</MsgId>" if msg_id else "")
            + "</xml>"
        )
        return xml, msg_id

    async def post(self, xml: str, *, signature: str | None = None) -> Answer:
        """Push one XML body (encrypted first in safe mode) and read the answer."""
        timestamp, nonce = str(int(time.time())), "n" + os.urandom(4).hex()
        query = {"timestamp": timestamp, "nonce": nonce, "openid": self.openid,
                 "signature": signature or sign(self.token, timestamp, nonce)}  # fmt: skip
        body = xml
        if self.safe:
            sealed = encrypt(xml)
            query |= {"encrypt_type": "aes", "msg_signature": sign(self.token, timestamp, nonce,
                                                                  sealed)}  # fmt: skip
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
            )
        response = await self.client.post("/wechat", params=query, data=body.encode())
        text = await response.text()
        fields: dict[str, str] = {}
        if response.status == 200 and text != "success":
            fields = self._read_reply(text)
        return Answer(response.status, text, fields)

    def _read_reply(self, text: str) -> dict[str, str]:
        fields = {child.tag: child.text or "" for child in ElementTree.fromstring(text)}
        if not self.safe:
            return fields
        assert fields["MsgSignature"] == sign(
            self.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]
        ), "the encrypted reply's msg_signature does not match"
        inner, appid = decrypt(fields["Encrypt"])
        assert appid == APPID
        return {child.tag: child.text or "" for child in ElementTree.fromstring(inner)}

    async def send(self, kind: str, **fields: str) -> list[str]:
        """Push a message and return what the resident then sees: the passive reply, or the
        messages the outbox delivers in one pass."""
        xml, _ = self.xml(kind, **fields)
        return await self.see(await self.post(xml))

    async def see(self, answer: Answer) -> list[str]:
        """What the resident sees after one answer (delivering the outbox when it says
        `success`)."""
        assert answer.status == 200, answer
        if answer.fields:
            assert answer.fields["ToUserName"] == self.openid
            assert answer.fields["FromUserName"] == ACCOUNT
            return [answer.fields["Content"]]
        before = len(self.fake.delivered(self.openid))
        await self.deliver()
        return [self.fake.seen(m) for m in self.fake.delivered(self.openid)[before:]]

    async def say(self, text: str) -> list[str]:
        """Type a text message."""
        return await self.send("text", Content=text)

    def menu_id(self, label: str) -> str:
        """The id of the newest menu-message button with this label."""
        for message in reversed(self.fake.delivered(self.openid)):
            if message["msgtype"] == "msgmenu":
                for item in message["msgmenu"]["list"]:
                    if item["content"] == label:
                        return str(item["id"])
        raise AssertionError(f"no button {label!r} was sent")

    async def press(self, label: str) -> list[str]:
        """Tap a menu-message button: WeChat sends its label as text, with its id."""
        return await self.send("text", Content=label, bizmsgmenuid=self.menu_id(label))

"""WeChat's server API for the 公众号: the access_token, kept in the database and renewed by
one worker at a time (a new token invalidates the old one), and the calls the channel makes."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import state
from storage.clock import Clock

if TYPE_CHECKING:
    from bot.config import Settings

TOKEN_KEY = "wechat.access_token"  # {"token": …, "expires_at": epoch seconds}
LEASE_KEY = "wechat.token_refresh"  # "<holder> <until>": who is renewing, and until when
EXPIRED_TOKEN = frozenset({40001, 40014, 42001})  # invalid or expired access_token
SEND_PATH = "/cgi-bin/message/custom/send"
MENU_PATH = "/cgi-bin/menu/create"
MEDIA_PATH = "/cgi-bin/media/get"  # temporary media (a resident's photo), kept by WeChat 3 days
MAX_MEDIA_BYTES = 10 * 1024 * 1024  # WeChat's limit for an image


class WeChatError(Exception):
    """WeChat refused a call (`errcode`), or no access_token could be had."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass(frozen=True, slots=True)
class Answer:
    """WeChat's answer to a call: errcode 0 means it was done."""

    errcode: int
    errmsg: str

    @property
    def ok(self) -> bool:
        """Whether WeChat accepted the call."""
        return self.errcode == 0


class TokenKeeper:
    """The access_token every worker uses, cached in `app_state`. Renewing takes a lease row
    by compare-and-set, so one worker fetches while the others wait for its result."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        *,
        clock: Callable[[], float],
        margin: float = 300.0,
        lease: float = 30.0,
        wait: float = 20.0,
        poll: float = 0.1,
    ) -> None:
        self._sessions = sessions
        self._fetch = fetch
        self._clock = clock
        self._margin, self._lease, self._wait, self._poll = margin, lease, wait, poll
        self._cached: tuple[str, float] | None = None

    async def get(self) -> str:
        """A token that is good for at least `margin` seconds more."""
        if self._cached is not None and self._fresh(self._cached):
            return self._cached[0]
        stored = await self._read()
        if stored is not None and self._fresh(stored):
            self._cached = stored
            return stored[0]
        return await self.renew(stale=stored[0] if stored else None)

    async def renew(self, *, stale: str | None) -> str:
        """A token other than `stale` (WeChat said it expired): another worker's fresh one if
        it has renewed meanwhile, else one this worker fetches under the lease."""
        me = uuid.uuid4().hex
        deadline = self._clock() + self._wait
        while True:
            stored = await self._read()
            if stored is not None and stored[0] != stale and self._fresh(stored):
                self._cached = stored
                return stored[0]
            if await self._take_lease(me):
                try:
                    return await self._fetch_and_store(stale)
                finally:
                    await self._release_lease(me)
            if self._clock() > deadline:
                raise WeChatError(-1, "no access_token: another worker holds the refresh lease")
            await asyncio.sleep(self._poll)

    def _fresh(self, stored: tuple[str, float]) -> bool:
        return stored[1] - self._margin > self._clock()

    async def _fetch_and_store(self, stale: str | None) -> str:
        stored = await self._read()  # renewed by another worker between our read and lease
        if stored is not None and stored[0] != stale and self._fresh(stored):
            self._cached = stored
            return stored[0]
        token, expires_in = await self._fetch()
        fresh = (token, self._clock() + expires_in)
        value = json.dumps({"token": token, "expires_at": fresh[1]})
        async with self._sessions.begin() as session:
            current = await state.get(session, TOKEN_KEY)
            await state.swap(session, TOKEN_KEY, expected=current, value=value)
        self._cached = fresh
        return token

    async def _read(self) -> tuple[str, float] | None:
        async with self._sessions() as session:
            raw = await state.get(session, TOKEN_KEY)
        if raw is None:
            return None
        data = json.loads(raw)
        return str(data["token"]), float(data["expires_at"])

    async def _take_lease(self, me: str) -> bool:
        async with self._sessions.begin() as session:
            current = await state.get(session, LEASE_KEY)
            if current is not None and float(current.split()[1]) > self._clock():
                return False
            value = f"{me} {self._clock() + self._lease}"
            return await state.swap(session, LEASE_KEY, expected=current, value=value)

    async def _release_lease(self, me: str) -> None:
        async with self._sessions.begin() as session:
            current = await state.get(session, LEASE_KEY)
            if current is not None and current.split()[0] == me:
                await state.swap(session, LEASE_KEY, expected=current, value="free 0")


class WeChatApi:
    """The WeChat calls Linli makes: customer-service messages and the custom menu. An expired
    token (40001/42001) is renewed once and the call repeated. URLs carry the token and the
    AppSecret, so neither they nor the exceptions that quote them are ever logged."""

    def __init__(
        self,
        *,
        base: str,
        appid: str,
        secret: SecretStr,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], float],
        timeout: float = 5.0,
    ) -> None:
        self._base = base.rstrip("/")
        self._appid = appid
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None
        self.tokens = TokenKeeper(sessions, self._fetch_token, clock=clock)

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
        return self._http

    async def close(self) -> None:
        """Release the HTTP connections."""
        if self._http is not None:
            await self._http.close()

    async def _fetch_token(self) -> tuple[str, float]:
        params = {
            "grant_type": "client_credential",
            "appid": self._appid,
            "secret": self._secret.get_secret_value(),
        }
        async with self._client().get(self._base + "/cgi-bin/token", params=params) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = None
        if not isinstance(data, dict) or not data.get("access_token"):
            errcode = int(data.get("errcode", -1)) if isinstance(data, dict) else -1
            errmsg = str(data.get("errmsg", "")) if isinstance(data, dict) else ""
            raise WeChatError(errcode, errmsg[:200])
        return str(data["access_token"]), float(data.get("expires_in", 7200))

    async def call(self, path: str, payload: dict[str, Any]) -> Answer:
        """POST `payload` to an API path with the current token; renew it once if expired."""
        token = await self.tokens.get()
        answer = await self._post(path, token, payload)
        if answer.errcode in EXPIRED_TOKEN:
            token = await self.tokens.renew(stale=token)
            answer = await self._post(path, token, payload)
        return answer

    async def send(self, payload: dict[str, Any]) -> Answer:
        """One customer-service message (客服消息) to a resident."""
        return await self.call(SEND_PATH, payload)

    async def create_menu(self, menu: dict[str, Any]) -> Answer:
        """Publish the 公众号's custom menu (自定义菜单)."""
        return await self.call(MENU_PATH, menu)

    async def media(self, media_id: str) -> bytes | Answer:
        """A resident's photo by its MediaId: the bytes, or WeChat's error (token renewed once
        if expired). Too large an answer is an error, never read whole."""
        token = await self.tokens.get()
        got = await self._get_media(media_id, token)
        if isinstance(got, Answer) and got.errcode in EXPIRED_TOKEN:
            got = await self._get_media(media_id, await self.tokens.renew(stale=token))
        return got

    async def _get_media(self, media_id: str, token: str) -> bytes | Answer:
        params = {"access_token": token, "media_id": media_id}
        async with self._client().get(self._base + MEDIA_PATH, params=params) as response:
            if response.content_type.startswith("image/"):
                data = await response.content.read(MAX_MEDIA_BYTES + 1)
                return data if len(data) <= MAX_MEDIA_BYTES else Answer(-1, "too large")
            try:
                error = await response.json(content_type=None)
            except ValueError:
                error = None
        if not isinstance(error, dict):
            return Answer(-1, f"HTTP {response.status}, not an image")
        return Answer(int(error.get("errcode", -1)), str(error.get("errmsg", ""))[:200])

    async def _post(self, path: str, token: str, payload: dict[str, Any]) -> Answer:
        # Chinese unescaped: WeChat shows \\u escapes in menus literally.
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        async with self._client().post(
            self._base + path, params={"access_token": token}, data=body, headers=headers
        ) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:  # an HTML error page from a proxy, say
                data = None
        if not isinstance(data, dict):
            return Answer(-1, f"HTTP {response.status}, not a JSON object")
        return Answer(int(data.get("errcode", 0)), str(data.get("errmsg", ""))[:200])


def from_settings(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> WeChatApi:
    """The API client for the configured 公众号 (needs the app id and AppSecret); token
    expiry is in Unix seconds, shared by every worker through the database."""
    assert settings.wechat_appid is not None and settings.wechat_secret is not None
    return WeChatApi(
        base=settings.wechat_api_base,
        appid=settings.wechat_appid,
        secret=settings.wechat_secret,
        sessions=sessions,
        clock=clock.timestamp,
    )

"""python-telegram-bot's requests to the Bot API, made with aiohttp.

PTB's default transport is httpx, pure Python from the socket up: about 0.9 ms of CPU per
Bot API call here, more than the rest of a bare bot's update. aiohttp, which already serves
our web app, parses HTTP in C and takes about a fifth of that (benchmarks/README.md). PTB
documents `BaseRequest` as the place to plug in another HTTP library; this is that class.

Behaviour kept from PTB's own transport: its four timeouts, one connection pool per request
object, proxies from the environment (HTTPS_PROXY, NO_PROXY), file uploads as multipart, and
transport failures raised as `TimedOut` or `NetworkError`.
"""

from __future__ import annotations

import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# PTB's defaults for its own transport.
DEFAULT_TIMEOUTS = {"read": 5.0, "write": 5.0, "connect": 5.0, "pool": 1.0}
MEDIA_WRITE_TIMEOUT = 20.0
# The type of PTB's "not passed" marker (it may carry another instance of that type).
_DEFAULT = type(BaseRequest.DEFAULT_NONE)


class AiohttpRequest(BaseRequest):
    """A PTB request backend on one aiohttp client session, opened by `initialize`."""

    __slots__ = ("_pool_size", "_proxies", "_session", "_timeouts")

    def __init__(
        self,
        connection_pool_size: int = 256,
        *,
        read_timeout: float | None = DEFAULT_TIMEOUTS["read"],
        write_timeout: float | None = DEFAULT_TIMEOUTS["write"],
        connect_timeout: float | None = DEFAULT_TIMEOUTS["connect"],
        pool_timeout: float | None = DEFAULT_TIMEOUTS["pool"],
    ) -> None:
        self._pool_size = connection_pool_size
        self._timeouts = {
            "read": read_timeout,
            "write": write_timeout,
            "connect": connect_timeout,
            "pool": pool_timeout,
        }
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds it to a long poll's own timeout)."""
        return self._timeouts["read"]

    async def initialize(self) -> None:
        """Open the client session (it must be made inside the running event loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP request; returns the status and the body (PTB reads Telegram's answer)."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized")
        files = request_data is not None and request_data.contains_files
        write_default = MEDIA_WRITE_TIMEOUT if files else self._timeouts["write"]
        read = self._given(read_timeout, self._timeouts["read"])
        write = self._given(write_timeout, write_default)
        connect = self._given(connect_timeout, self._timeouts["connect"])
        pool = self._given(pool_timeout, self._timeouts["pool"])
        timeout = aiohttp.ClientTimeout(
            # aiohttp has no write timeout of its own: the whole exchange is bounded by the
            # sum of the phases instead (unbounded if any phase is).
            total=_sum(pool, connect, write, read),
            connect=_sum(pool, connect),
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout, proxy=self._proxy(url)
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _proxy(self, url: str) -> str | None:
        """The proxy the environment names for this URL's origin, looked up once per origin.
        (aiohttp's own `trust_env` looks it up, and for a .netrc file, in a thread on every
        request: more than the request itself costs.)"""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        if origin not in self._proxies:
            proxy = urllib.request.getproxies().get(parts.scheme)
            if proxy and urllib.request.proxy_bypass(parts.hostname or ""):
                proxy = None
            self._proxies[origin] = proxy
        return self._proxies[origin]

    @staticmethod
    def _given(value: Any, default: float | None) -> float | None:
        """A timeout passed to the call, or this object's default when none was."""
        return default if isinstance(value, _DEFAULT) else value


def _sum(*seconds: float | None) -> float | None:
    return None if any(s is None for s in seconds) else sum(s for s in seconds if s is not None)


def _body(request_data: RequestData | None) -> Any:
    """Form fields as PTB encodes them (strings raw, the rest JSON); with files, multipart."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        return fields or None
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form

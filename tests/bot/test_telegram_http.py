"""PTB's Bot API requests over aiohttp (bot/channels/telegram_http.py): what a Telegram
server receives, uploads, timeouts, failures and proxies — against small local servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot.channels.telegram_http import AiohttpRequest

TOKEN = "123:abc"
MESSAGE = {
    "message_id": 1,
    "date": 0,
    "chat": {"id": 5, "type": "private"},
    "text": "ok",
}


class Recorder:
    """A stand-in Bot API that keeps what each request carried."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields: dict[str, Any] = {}
        for name, value in form.items():
            if isinstance(value, web.FileField):
                fields[name] = (value.filename, value.content_type, value.file.read())
            else:
                fields[name] = value
        self.requests.append(
            {
                "url": str(request.url),
                "method": request.path.rsplit("/", 1)[-1],
                "content_type": request.content_type,
                "fields": fields,
            }
        )
        await asyncio.sleep(self.delay)
        return web.json_response({"ok": True, "result": MESSAGE})


Serve = Callable[[Recorder], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start a recorder on 127.0.0.1 and give the Bot API base URL that reaches it."""
    servers: list[TestServer] = []

    async def start(recorder: Recorder) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", recorder.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}/bot"

    yield start
    for server in servers:
        await server.close()


async def _bot(base_url: str, request: AiohttpRequest | None = None) -> Bot:
    """A bot on an opened aiohttp request (no getMe: the recorder answers every call with a
    message)."""
    request = request or AiohttpRequest()
    await request.initialize()
    return Bot(TOKEN, base_url=base_url, request=request)


async def _shutdown(bot: Bot) -> None:
    await bot.request.shutdown()


async def test_a_message_goes_out_as_ptb_encodes_it(serve: Serve) -> None:
    recorder = Recorder()
    bot = await _bot(await serve(recorder))
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("投诉", callback_data="menu:report")]])
    sent = await bot.send_message(5, "您好 & welcome", reply_markup=markup)
    await _shutdown(bot)

    assert sent.text == "ok"  # Telegram's answer reaches PTB
    (call,) = recorder.requests
    assert call["method"] == "sendMessage"
    assert call["content_type"] == "application/x-www-form-urlencoded"
    fields = call["fields"]
    assert fields["chat_id"] == "5"
    assert fields["text"] == "您好 & welcome"  # strings raw, not JSON-quoted
    assert json.loads(fields["reply_markup"]) == {
        "inline_keyboard": [[{"text": "投诉", "callback_data": "menu:report"}]]
    }


async def test_a_file_is_uploaded_as_multipart(serve: Serve) -> None:
    recorder = Recorder()
    bot = await _bot(await serve(recorder))
    await bot.send_document(5, document=b"%PDF-1.4 report", filename="report.pdf", caption="月报")
    await _shutdown(bot)

    (call,) = recorder.requests
    assert call["content_type"] == "multipart/form-data"
    assert call["fields"]["caption"] == "月报"
    name, content_type, content = next(
        value for value in call["fields"].values() if isinstance(value, tuple)
    )
    assert (name, content) == ("report.pdf", b"%PDF-1.4 report")
    assert content_type == "application/pdf"


async def test_a_slow_answer_is_a_timeout(serve: Serve) -> None:
    bot = await _bot(await serve(Recorder(delay=2.0)), AiohttpRequest(read_timeout=0.2))
    with pytest.raises(TimedOut):
        await bot.send_message(5, "hello")
    # A call's own timeout wins over the default.
    sent = await bot.send_message(5, "hello", read_timeout=5)
    await _shutdown(bot)
    assert sent.message_id == 1


async def test_an_unreachable_server_is_a_network_error(unused_tcp_port: int) -> None:
    bot = await _bot(f"http://127.0.0.1:{unused_tcp_port}/bot")
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(5, "hello")
    await _shutdown(bot)
    assert not isinstance(caught.value, TimedOut)


async def test_requests_need_an_initialized_session(serve: Serve) -> None:
    request = AiohttpRequest()
    base = await serve(Recorder())
    bot = Bot(TOKEN, base_url=base, request=request)
    with pytest.raises(NetworkError, match="not initialized"):
        await bot.send_message(5, "hello")
    await request.initialize()
    await request.shutdown()
    await request.initialize()  # PTB restarts an application by initializing again
    assert (await bot.send_message(5, "again")).message_id == 1
    await request.shutdown()


async def test_the_proxy_named_by_the_environment_is_used(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram, proxy = Recorder(), Recorder()
    base = await serve(telegram)
    proxy_url = (await serve(proxy)).removesuffix("/bot")
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("http_proxy", proxy_url)
    bot = await _bot(base)
    await bot.send_message(5, "through the proxy")
    await _shutdown(bot)

    assert telegram.requests == []
    (call,) = proxy.requests
    assert call["fields"]["text"] == "through the proxy"


async def test_no_proxy_bypasses_it(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    telegram, proxy = Recorder(), Recorder()
    base = await serve(telegram)
    proxy_url = (await serve(proxy)).removesuffix("/bot")
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("http_proxy", proxy_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    bot = await _bot(base)
    await bot.send_message(5, "direct")
    await _shutdown(bot)

    assert proxy.requests == []
    assert [call["fields"]["text"] for call in telegram.requests] == ["direct"]

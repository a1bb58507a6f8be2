"""Photos residents sent with a ticket, fetched through their channel for the dashboard: the
Telegram Bot API's getFile and download, and WeChat's media download, happen here, on the
server, so no bot token or access token ever reaches a URL or a page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from telegram import Bot

    from bot.channels.wechat_api import WeChatApi

MAX_BYTES = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class PhotoUnavailable(Exception):
    """The channel could not give the photo (gone, too big, or the channel is down)."""


class PhotoSource(Protocol):
    """A channel that can hand over a photo a resident sent, by the id it stored."""

    channel: str

    async def fetch(self, file_id: str) -> bytes:
        """The photo's bytes (PhotoUnavailable when it cannot)."""
        ...


class TelegramPhotos:
    """Photos from Telegram, through the running bot."""

    channel = "telegram"

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def fetch(self, file_id: str) -> bytes:
        """getFile, then download through the bot (errors never carry the file URL)."""
        from telegram.error import TelegramError

        try:
            file = await self._bot.get_file(file_id)
            if file.file_size is not None and file.file_size > MAX_BYTES:
                raise PhotoUnavailable("too large")
            data = bytes(await file.download_as_bytearray())
        except (TelegramError, OSError) as exc:
            raise PhotoUnavailable(type(exc).__name__) from None
        if len(data) > MAX_BYTES:
            raise PhotoUnavailable("too large")
        return data


class WeChatPhotos:
    """Photos from WeChat (temporary media, by MediaId), through the API with the shared
    access token; WeChat keeps them three days, after which they are unavailable."""

    channel = "wechat"

    def __init__(self, api: WeChatApi) -> None:
        self._api = api

    async def fetch(self, file_id: str) -> bytes:
        """The photo's bytes; WeChat's errors become PhotoUnavailable (never with the URL)."""
        import aiohttp

        try:
            got = await self._api.media(file_id)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PhotoUnavailable(type(exc).__name__) from None
        if isinstance(got, bytes):
            return got
        raise PhotoUnavailable(f"errcode {got.errcode}")


def content_type(data: bytes) -> str | None:
    """The image type by its first bytes; None for anything that is not a known image."""
    for signature, kind in SIGNATURES:
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None

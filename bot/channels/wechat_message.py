"""WeChat's XML messages: reading what a resident sent (safely: no DTD, no entities) and
writing the passive reply, plus fitting the bot's text to WeChat's limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from handlers.types import MAX_ACTION_BYTES, Incoming, Location

CHANNEL = "wechat"
MAX_TEXT_BYTES = 2048  # a text message's content, passive or customer-service, in UTF-8
# Content WeChat sends that the bot cannot take: it answers with what it can take.
UNSUPPORTED = ("voice", "video", "shortvideo", "link", "file", "music", "miniprogrampage")
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class MessageError(ValueError):
    """A body that is not a WeChat message this endpoint accepts (it gets a 400)."""


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from WeChat: who sent it, to which account, and what the engine gets.

    `incoming` is None for events the bot ignores; `menu_id` is set when the resident pressed
    a button of a menu message (its action is looked up before the engine runs)."""

    openid: str
    account: str
    incoming: Incoming | None
    menu_id: str | None = None


def parse_xml(body: bytes | str) -> dict[str, str]:
    """The child elements of a WeChat <xml> message; a DTD or entity is refused unread."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException) as exc:
        raise MessageError(f"refused XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise MessageError("not a WeChat message")
    return {child.tag: (child.text or "").strip() for child in root if len(child) == 0}


def read(fields: dict[str, str]) -> Inbound:
    """The engine's view of a message: text, a button or menu click, a location, a photo by
    MediaId, `subscribe` as /start, and anything else as content the bot cannot take."""
    openid, account = fields.get("FromUserName", ""), fields.get("ToUserName", "")
    kind, created = fields.get("MsgType", ""), fields.get("CreateTime", "")
    if not _OPENID.match(openid) or not account or not kind or not created.isdigit():
        raise MessageError("missing sender, account, type or time")
    msg_id = fields.get("MsgId", "")
    # Messages carry a MsgId; events do not, and WeChat's retries of one share sender + time.
    update_id = msg_id if msg_id.isdigit() else f"{openid}:{created}"
    base: dict[str, Any] = {"channel": CHANNEL, "user_id": openid, "update_id": update_id}
    if kind == "event":
        return Inbound(openid, account, _event(fields, base))
    if kind == "text":
        menu_id = fields.get("bizmsgmenuid") or None
        if menu_id is not None:  # a menu-message button: its label came back as the text
            return Inbound(openid, account, Incoming(**base), menu_id=menu_id[:32])
        return Inbound(openid, account, Incoming(**base, text=fields.get("Content", "")))
    if kind == "image" and fields.get("MediaId"):
        return Inbound(openid, account, Incoming(**base, photo=fields["MediaId"][:256]))
    if kind == "location":
        return Inbound(openid, account, Incoming(**base, location=_location(fields)))
    unsupported = kind if kind in UNSUPPORTED else "other"
    return Inbound(openid, account, Incoming(**base, unsupported=unsupported))


def _event(fields: dict[str, str], base: dict[str, Any]) -> Incoming | None:
    event = fields.get("Event", "").lower()
    if event == "subscribe":  # following the account is the first contact: welcome + privacy
        return Incoming(**base, text="/start")
    key = fields.get("EventKey", "")
    if event == "click" and key and len(key.encode()) <= MAX_ACTION_BYTES:
        return Incoming(**base, action=key)
    return None  # unsubscribe, link menus, reported locations, scans: nothing to answer


def _location(fields: dict[str, str]) -> Location:
    try:
        latitude = float(fields.get("Location_X", ""))
        longitude = float(fields.get("Location_Y", ""))
    except ValueError as exc:
        raise MessageError("a location without coordinates") from exc
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise MessageError("a location off the map")
    return Location(latitude, longitude, fields.get("Label", "")[:300] or None)


def clean(text: str) -> str:
    """Bot text made safe for WeChat: no characters XML cannot carry, and no "<", since
    WeChat turns <a href> in a text message into a link (resident text is never markup)."""
    return _NOT_XML.sub("", text).replace("<", "＜")


def split(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Text in pieces of at most `limit` UTF-8 bytes, cut at line ends where possible."""
    pieces: list[str] = []
    while len(text.encode()) > limit:
        head = text.encode()[:limit].decode(errors="ignore")  # whole characters only
        cut = head.rfind("\n")
        cut = cut if cut > len(head) // 2 else len(head)
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces


def fits_passive(text: str) -> bool:
    """Whether one text fits one passive reply."""
    return len(clean(text).encode()) <= MAX_TEXT_BYTES


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def reply_xml(*, to: str, account: str, text: str, now: float) -> str:
    """A passive text reply (被动回复) to the resident who wrote, stamped `now` (Unix seconds)."""
    created = int(now)
    return (
        f"<xml><ToUserName>{_cdata(to)}</ToUserName>"
        f"<FromUserName>{_cdata(account)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(clean(text))}</Content></xml>"
    )


def encrypted_xml(*, encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
    """The envelope of an encrypted (safe-mode) passive reply."""
    return (
        f"<xml><Encrypt>{_cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{_cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>"
    )

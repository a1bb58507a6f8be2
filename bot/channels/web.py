"""The web chat channel: the resident chat page, its JSON API and the health check."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from bot.client_address import client_address, is_secure
from bot.ratelimit import RateLimiter
from handlers.i18n import pick_locale
from handlers.types import MAX_ACTION_BYTES, Incoming, Reply
from storage import db
from storage import outbox as outbox_store
from storage.models import Resident

if TYPE_CHECKING:
    from bot.app import Runtime

CHANNEL = "web"
COOKIE = "linli_resident"
COOKIE_MAX_AGE = 365 * 24 * 3600
MAX_BODY_BYTES = 256 * 1024  # a 20,000-character message, JSON-escaped, still fits
MAX_ID_CHARS = 64
STATIC = Path(__file__).with_name("web_static")
RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime")
SIGNER: web.AppKey[URLSafeSerializer] = web.AppKey("signer")
LIMITER: web.AppKey[RateLimiter] = web.AppKey("web_chat_limiter")

CSP = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Adds the security headers of safety.md §5 to every response."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


def setup(app: web.Application, runtime: Runtime) -> None:
    """Register the chat page, the chat API and the health check on `app`."""
    app[RUNTIME] = runtime
    app[SIGNER] = URLSafeSerializer(runtime.secret_key, salt="linli.web.resident")
    settings = runtime.settings
    app[LIMITER] = RateLimiter(
        settings.web_rate_per_minute, settings.web_rate_burst, clock=runtime.clock.monotonic
    )
    app.router.add_get("/", page)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.router.add_post("/api/chat", chat)
    app.router.add_get("/api/chat/inbox", inbox)
    app.router.add_get("/healthz", healthz)


async def page(request: web.Request) -> web.StreamResponse:
    """The chat page."""
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def chat(request: web.Request) -> web.Response:
    """One resident message or button press in, the bot's replies out. The rate limit never
    stands between a resident and the crisis path: a message the crisis screen flags is
    answered whatever the limit says."""
    runtime = request.app[RUNTIME]
    locale = pick_locale(request.headers.get("Accept-Language"))
    if request.content_type != "application/json":
        return _error(runtime, locale, "web.need_json", status=415)
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return _error(runtime, locale, "web.too_large", status=413)
    # ValueError: broken JSON or text (JSONDecodeError, UnicodeDecodeError) and integers of
    # thousands of digits; RecursionError: arrays or objects nested thousands deep.
    except (ValueError, RecursionError):
        return _error(runtime, locale, "web.bad_json", status=400)
    incoming = _incoming(body, _resident_id(request) or _new_resident_id(), locale)
    if incoming is None:
        return _error(runtime, locale, "web.bad_request", status=400)
    wait = request.app[LIMITER].wait(_client(request))
    if wait and not (incoming.text and runtime.services.crisis.screen(incoming.text).flagged):
        response = _error(runtime, locale, "web.too_many", status=429, seconds=wait)
        response.headers["Retry-After"] = str(wait)
        return response
    handled = await runtime.engine.handle(incoming)
    # The page sends a message again, with its id, only when no answer came back: give it the
    # answer the first attempt got.
    replies = handled.earlier if handled.duplicate else handled.replies
    response = web.json_response(
        {"replies": [r.as_dict() for r in replies], "locale": handled.locale}, dumps=_dumps
    )
    _remember(request, response, incoming.user_id)
    return response


def _incoming(body: Any, resident_id: str, locale: str) -> Incoming | None:
    """The update in a chat request's body: an object whose `text` and `action` are strings
    when given (an action at most MAX_ACTION_BYTES); None for any other shape."""
    if not isinstance(body, dict):
        return None
    text, action, update_id = body.get("text"), body.get("action"), body.get("id")
    if text is not None and not isinstance(text, str):
        return None
    if action is not None and (
        not isinstance(action, str)
        # surrogatepass: a lone surrogate (JSON "\ud800") is counted, not a crash; the engine
        # drops it before storing
        or len(action.encode("utf-8", "surrogatepass")) > MAX_ACTION_BYTES
    ):
        return None
    if text is None and action is None:
        text = ""
    if not isinstance(update_id, str) or not 0 < len(update_id) <= MAX_ID_CHARS:
        update_id = uuid.uuid4().hex
    return Incoming(
        channel=CHANNEL,
        user_id=resident_id,
        update_id=update_id,
        text=text,
        action=action,
        locale=locale,
    )


async def inbox(request: web.Request) -> web.Response:
    """Messages staff (or the service) sent this resident since the page last asked."""
    runtime = request.app[RUNTIME]
    resident_id = _resident_id(request)
    locale = pick_locale(request.headers.get("Accept-Language"))
    messages: list[dict[str, Any]] = []
    if resident_id is not None:
        async with runtime.sessions.begin() as session:
            taken = await outbox_store.take_for_recipient(
                session, channel=CHANNEL, recipient=resident_id, now=runtime.clock()
            )
            messages = [Reply.from_dict(m.payload).as_dict() for m in taken]
            stored = await session.scalar(
                select(Resident.locale).where(
                    Resident.channel == CHANNEL, Resident.external_id == resident_id
                )
            )
            locale = stored or locale
    return web.json_response({"messages": messages, "locale": locale}, dumps=_dumps)


async def healthz(request: web.Request) -> web.Response:
    """Reports whether the database answers (for load balancers and monitoring)."""
    ok = await db.ping(request.app[RUNTIME].database)
    return web.json_response(
        {"status": "ok" if ok else "degraded", "database": ok}, status=200 if ok else 503
    )


def _error(
    runtime: Runtime, locale: str, key: str, *, status: int, **values: object
) -> web.Response:
    message = runtime.services.texts.get(locale, key, **values)
    return web.json_response({"error": message, "locale": locale}, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _resident_id(request: web.Request) -> str | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        value = request.app[SIGNER].loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def _client(request: web.Request) -> str:
    """Whom the rate limit counts: the resident's signed cookie, else their address (behind
    the reverse proxy, the X-Real-IP it sets; only a loopback peer is trusted to set it)."""
    resident = _resident_id(request)
    if resident is not None:
        return "r:" + resident
    return "a:" + client_address(request)


def _new_resident_id() -> str:
    return "w-" + secrets.token_urlsafe(16)


def _remember(request: web.Request, response: web.Response, resident_id: str) -> None:
    if _resident_id(request) == resident_id:
        return
    response.set_cookie(
        COOKIE,
        request.app[SIGNER].dumps(resident_id),
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Strict",
        secure=is_secure(request),
        path="/",
    )

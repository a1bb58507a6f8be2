"""What every REST API handler shares: bearer-token authentication inside the request's one
transaction, JSON errors with proper status codes, bounded bodies and query parameters."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.access import TicketNotFound
from handlers.i18n import pick_locale
from handlers.ids import BadNumber, row_id, whole
from handlers.lifecycle import TicketActionError
from storage import api_tokens
from storage.models import Staff

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_OFFSET = 1_000_000
MIN_YEAR, MAX_YEAR = 2000, 2999  # dates outside cannot be ours (and overflow near 1 and 9999)
BEARER = re.compile(r"^Bearer +(\S+)$", re.IGNORECASE)
RUNTIME: web.AppKey[Runtime] = web.AppKey("api_runtime")

# Domain errors whose catalogue key says the request itself is incomplete (422) rather than
# impossible in the ticket's state (409).
UNPROCESSABLE = frozenset({"staff.reason_needed", "staff.empty_text", "staff.assignee_cannot_see"})


class ApiError(Exception):
    """A request the API refuses, with its status code and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated API call: its transaction, the staff member, the service and now."""

    request: web.Request
    session: AsyncSession
    staff: Staff
    runtime: Runtime
    now: datetime
    locale: str


Endpoint = Callable[[Call], Awaitable[web.Response]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, message: str, **headers: str) -> web.Response:
    """The JSON error body every failure has: {"error": message}."""
    return web.json_response({"error": message}, status=status, headers=headers, dumps=dumps)


def dumps(value: Any) -> str:
    """JSON with Chinese kept readable."""
    return json.dumps(value, ensure_ascii=False)


def ok(value: Any, *, status: int = 200) -> web.Response:
    """A JSON success response."""
    return web.json_response(value, status=status, dumps=dumps)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error under /api/v1 — unknown path, wrong method, a crash — as JSON."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        return error(exc.status, exc.reason, **headers)
    except Exception:
        log.exception("API request failed: %s %s", request.method, request.path)
        return error(500, "internal error")


def endpoint(handler: Endpoint) -> Handler:
    """Wrap a handler: authenticate the bearer token and run it in one transaction, turning
    domain errors into JSON answers (the audit of a refused read is kept)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        runtime = request.app[RUNTIME]
        secret = _bearer(request)
        locale = pick_locale(request.headers.get("Accept-Language"))
        texts = runtime.services.texts
        now = runtime.clock()
        async with runtime.sessions.begin() as session:
            found = await api_tokens.authenticate(session, secret, now=now) if secret else None
            if found is None:
                return error(401, "a valid API token is needed", **{"WWW-Authenticate": "Bearer"})
            call = Call(request, session, found[1], runtime, now, locale)
            try:
                return await handler(call)
            except TicketNotFound:
                return error(404, "no such ticket")
            except TicketActionError as exc:
                status = 422 if exc.key in UNPROCESSABLE else 409
                return error(status, texts.get(locale, exc.key))

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


def require_role(call: Call, roles: frozenset[str]) -> None:
    """403 unless the token's staff member has one of `roles` — the dashboard's rule for the
    same pages, so a token never reads more than its owner could on the dashboard."""
    if call.staff.role not in roles:
        raise ApiError(403, f"the {call.staff.role} role may not read this")


def _bearer(request: web.Request) -> str | None:
    found = BEARER.match(request.headers.get("Authorization", "").strip())
    return found[1] if found else None


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (413 when too large, 415 when not JSON, 400 when broken)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, f"the body may have at most {MAX_BODY_BYTES} bytes")
    if request.content_type != "application/json":
        raise ApiError(415, "send a JSON body (Content-Type: application/json)")
    try:
        raw = await request.content.read(MAX_BODY_BYTES + 1)
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, f"the body may have at most {MAX_BODY_BYTES} bytes") from None
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"the body may have at most {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def text_field(body: dict[str, Any], name: str, *, required: bool, max_chars: int) -> str:
    """A string field of a JSON body, bounded in length."""
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    if len(value) > max_chars:
        raise ApiError(400, f"{name} may have at most {max_chars} characters")
    if "\x00" in value or (not value.isascii() and not _encodable(value)):
        raise ApiError(400, f"{name} must be text (no NUL characters or lone surrogates)")
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def path_id(request: web.Request, name: str) -> int:
    """A numeric id from the path (404 when no row can have it)."""
    found = row_id(request.match_info[name])
    if found is None:
        raise ApiError(404, f"no such {name.removesuffix('_id')}")
    return found


def page(request: web.Request) -> tuple[int, int]:
    """limit (1..200, default 50) and offset (0..1,000,000) from the query."""
    limit = int_param(request, "limit", low=1, high=MAX_LIMIT) or DEFAULT_LIMIT
    offset = int_param(request, "offset", low=0, high=MAX_OFFSET) or 0
    return limit, offset


def int_param(request: web.Request, name: str, *, low: int, high: int) -> int | None:
    """An optional integer query parameter within bounds (400 otherwise)."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return whole(raw, low=low, high=high)
    except BadNumber:
        raise ApiError(400, f"{name} must be an integer from {low} to {high}") from None


def choice_param(request: web.Request, name: str, choices: tuple[str, ...]) -> str | None:
    """An optional query parameter that must be one of `choices`."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if raw not in choices:
        raise ApiError(400, f"{name} must be one of {', '.join(choices)}")
    return raw


def str_param(request: web.Request, name: str, *, max_chars: int = 64) -> str | None:
    """An optional short text query parameter."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if not raw or len(raw) > max_chars or not raw.isprintable():
        raise ApiError(400, f"{name} must be 1 to {max_chars} printable characters")
    return raw


def bool_param(request: web.Request, name: str) -> bool | None:
    """An optional true/false query parameter."""
    raw = choice_param(request, name, ("true", "false"))
    return None if raw is None else raw == "true"


def date_param(request: web.Request, name: str) -> date | None:
    """An optional YYYY-MM-DD query parameter."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise ApiError(400, f"{name} must be a date YYYY-MM-DD")
    try:
        found = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a date YYYY-MM-DD") from None
    if not MIN_YEAR <= found.year <= MAX_YEAR:
        raise ApiError(400, f"{name} must be in the years {MIN_YEAR} to {MAX_YEAR}")
    return found


def iso(when: datetime | None) -> str | None:
    """A UTC timestamp as ISO 8601 with offset (None stays None)."""
    return when.isoformat() if when is not None else None

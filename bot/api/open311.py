"""An Open311 GeoReport v2 style export of complaint tickets, so city platforms can take our
data: services are the complaint categories; requests carry no phone numbers or names, and an
anonymous ticket's request carries neither its text nor its address."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.api.base import MAX_YEAR, MIN_YEAR, ApiError, Call, endpoint, ok, page, str_param
from handlers.access import visible_to
from handlers.redact import redact
from storage.models import Resident, Ticket
from storage.tickets import COMPLAINT_KINDS, OPEN_STATUSES

DEFAULT_DAYS = 90  # GeoReport v2: without start_date, the last 90 days
MAX_DAYS = 366
ANONYMOUS_PRECISION = 3  # about 100 m: where, not whose door
_W3C = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$")


def open311_status(status: str) -> str:
    """open while staff still work on it, closed once resolved, closed, rejected or merged."""
    return "open" if status in OPEN_STATUSES else "closed"


@endpoint
async def services(call: Call) -> web.Response:
    """GeoReport v2 service list: one service per complaint category."""
    locale = call.locale
    return ok(
        [
            {
                "service_code": category.id,
                "service_name": category.label(locale),
                "description": category.description(locale),
                "metadata": False,
                "type": "realtime",
                "keywords": "",
                "group": category.ticket_kind,
            }
            for category in call.runtime.services.categories.values()
        ]
    )


@endpoint
async def requests(call: Call) -> web.Response:
    """GeoReport v2 service requests: complaint tickets the token may see, newest first."""
    request, tz = call.request, call.runtime.services.timezone
    start, end = _window(call)
    statuses = _statuses(request)
    code = str_param(request, "service_code")
    limit, offset = page(request)
    query = (
        select(Ticket, Resident.display_name)
        .outerjoin(Resident, Resident.id == Ticket.resident_id)
        .where(visible_to(call.staff), Ticket.kind.in_(COMPLAINT_KINDS))
        .where(Ticket.created_at >= start, Ticket.created_at < end)
    )
    if statuses == {"open"}:
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif statuses == {"closed"}:
        query = query.where(Ticket.status.not_in(OPEN_STATUSES))
    if code is not None:
        query = query.where(Ticket.category == code)
    result = await call.session.execute(
        query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit).offset(offset)
    )
    return ok([_request_json(call, ticket, name, tz) for ticket, name in result.all()])


def _request_json(call: Call, ticket: Ticket, name: str | None, tz: Any) -> dict[str, Any]:
    services = call.runtime.services
    category = services.categories.get(ticket.category or "")
    service_name = category.label(call.locale) if category else ticket.category
    grid = services.grids.get(ticket.grid)
    location = ticket.location or {}
    lat, lon = _number(location.get("lat")), _number(location.get("lon"))
    address = location.get("address") if isinstance(location.get("address"), str) else None
    if ticket.anonymous:
        description = service_name or ""
        address = None
        if lat is not None and lon is not None:
            lat, lon = round(lat, ANONYMOUS_PRECISION), round(lon, ANONYMOUS_PRECISION)
    else:
        description = redact(ticket.summary, names=[name] if name else [])
        address = redact(address, names=[name] if name else []) if address else None
    return {
        "service_request_id": ticket.number,
        "status": open311_status(ticket.status),
        "status_notes": ticket.status,
        "service_name": service_name,
        "service_code": ticket.category,
        "description": description,
        "agency_responsible": grid.label(call.locale) if grid else ticket.grid,
        "service_notice": None,
        "requested_datetime": _w3c(ticket.created_at, tz),
        "updated_datetime": _w3c(ticket.updated_at, tz),
        "expected_datetime": _w3c(ticket.due_at, tz),
        "address": address,
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": None,
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _w3c(when: datetime | None, tz: Any) -> str | None:
    return when.astimezone(tz).isoformat(timespec="seconds") if when is not None else None


def _window(call: Call) -> tuple[datetime, datetime]:
    tz = call.runtime.services.timezone
    end = _datetime(call.request, "end_date", tz, end_of_day=True) or call.now
    start = _datetime(call.request, "start_date", tz, end_of_day=False)
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS)
    if end < start or end - start > timedelta(days=MAX_DAYS):
        raise ApiError(400, f"end_date must follow start_date, at most {MAX_DAYS} days later")
    return start, end


def _datetime(request: web.Request, name: str, tz: Any, *, end_of_day: bool) -> datetime | None:
    """A W3C date or date-time; a bare date is a local day (the end date includes its day)."""
    raw = request.query.get(name)
    if raw is None:
        return None
    text = raw.strip().replace("z", "Z")
    if not _W3C.match(text):
        raise ApiError(400, f"{name} must be a W3C date-time such as 2026-11-01T00:00:00+08:00")
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            if not MIN_YEAR <= day.year <= MAX_YEAR:
                raise ApiError(400, f"{name} must be in the years {MIN_YEAR} to {MAX_YEAR}")
            if end_of_day:
                day += timedelta(days=1)
            return datetime.combine(day, time(0), tzinfo=tz)
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name} is not a valid date-time") from None
    if not MIN_YEAR <= when.year <= MAX_YEAR:
        raise ApiError(400, f"{name} must be in the years {MIN_YEAR} to {MAX_YEAR}")
    when = when if when.tzinfo is not None else when.replace(tzinfo=tz)
    return when.astimezone(UTC)


def _statuses(request: web.Request) -> set[str]:
    raw = request.query.get("status")
    if raw is None:
        return {"open", "closed"}
    wanted = {part.strip() for part in raw.split(",")}
    if not wanted or not wanted <= {"open", "closed"}:
        raise ApiError(400, "status must be open, closed or open,closed")
    return wanted


def routes(router: web.UrlDispatcher) -> None:
    """Register the Open311 routes (relative to /api/v1)."""
    router.add_get("/open311/services.json", services, allow_head=False)
    router.add_get("/open311/requests.json", requests, allow_head=False)

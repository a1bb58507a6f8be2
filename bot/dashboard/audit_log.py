"""The audit log for admins: who viewed or changed what, filtered by actor, action, target and
date (local days), newest first."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from aiohttp import web

from bot.dashboard.core import ADMIN, RUNTIME, Signed, int_or_none, page, render
from storage import audit
from storage import staff as staff_store

PAGE_SIZE = 50


def _day(value: str | None, tz: object) -> datetime | None:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return datetime.combine(day, time(0, 0), tzinfo=tz)  # type: ignore[arg-type]


@page(roles=ADMIN)
async def audit_log(request: web.Request, signed: Signed) -> web.StreamResponse:
    """One page of audit entries matching the filters."""
    query = request.query
    tz = request.app[RUNTIME].services.timezone
    number = max(1, int_or_none(query.get("page")) or 1)
    until = _day(query.get("to"), tz)
    async with request.app[RUNTIME].sessions() as session:
        people = await staff_store.list_staff(session)
        actor = next((p.id for p in people if p.username == query.get("actor")), None)
        unknown_actor = bool(query.get("actor")) and actor is None
        entries, total = ([], 0) if unknown_actor else await audit.search(
            session, actor_id=actor, action=(query.get("action") or "").strip() or None,
            target_type=(query.get("target_type") or "").strip() or None,
            target_id=int_or_none(query.get("target_id")),
            since=_day(query.get("from"), tz),
            until=until + timedelta(days=1) if until else None,
            limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE,
        )  # fmt: skip
    keep = {k: v for k, v in query.items() if k != "page" and v}
    return render(
        request, signed, "audit.html", entries=entries, total=total, page=number,
        pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE), query=keep,
        names={p.id: p.username for p in people},
    )  # fmt: skip

"""The audit log for admins: who viewed or changed what, filtered by actor, action, target and
date (local days), newest first."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo

from aiohttp import web

from bot.dashboard.core import ADMIN, RUNTIME, Signed, day, number, page, page_number, render
from storage import audit
from storage import staff as staff_store

PAGE_SIZE = 50


def _midnight(value: str | None, tz: tzinfo, *, after: bool = False) -> datetime | None:
    """The local midnight starting (or, `after`, ending) the day `value`; None when absent."""
    found = day(value)
    if found is None:
        return None
    return datetime.combine(found, time(0, 0), tzinfo=tz) + timedelta(days=1 if after else 0)


@page(roles=ADMIN)
async def audit_log(request: web.Request, signed: Signed) -> web.StreamResponse:
    """One page of audit entries matching the filters."""
    query = request.query
    tz = request.app[RUNTIME].services.timezone
    shown = page_number(request)
    since, until = _midnight(query.get("from"), tz), _midnight(query.get("to"), tz, after=True)
    target_id = number(query.get("target_id"))
    async with request.app[RUNTIME].sessions() as session:
        people = await staff_store.list_staff(session)
        actor = next((p.id for p in people if p.username == query.get("actor")), None)
        unknown_actor = bool(query.get("actor")) and actor is None
        entries, total = ([], 0) if unknown_actor else await audit.search(
            session, actor_id=actor, action=(query.get("action") or "").strip() or None,
            target_type=(query.get("target_type") or "").strip() or None,
            target_id=target_id, since=since, until=until,
            limit=PAGE_SIZE, offset=(shown - 1) * PAGE_SIZE,
        )  # fmt: skip
    keep = {k: v for k, v in query.items() if k != "page" and v}
    return render(
        request, signed, "audit.html", entries=entries, total=total, page=shown,
        pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE), query=keep,
        names={p.id: p.username for p in people},
    )  # fmt: skip

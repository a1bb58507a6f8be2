"""REST API for statistics: one period's ticket figures (total, by category, by grid),
deliberation turnout, survey response rates and care totals — grid workers get their grid."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.api.base import ApiError, Call, date_param, endpoint, iso, ok, str_param
from handlers import stats

MAX_DAYS = 366


def row_json(row: stats.TicketRow) -> dict[str, Any]:
    """One slice of the ticket figures, every metric by name."""
    shown: dict[str, Any] = {"key": row.key or None}
    shown.update({metric: row.value(metric) for metric in stats.METRICS})
    shown["survey_response"] = row.figures.survey_response
    return shown


def statistics_json(found: stats.Statistics) -> dict[str, Any]:
    """Every figure of a period as JSON."""
    return {
        "period": {
            "label": found.period.label,
            "start": iso(found.period.start),
            "end": iso(found.period.end),
        },
        "grid": found.grid,
        "tickets": {
            "total": row_json(found.tickets.total),
            "by_category": [row_json(r) for r in found.tickets.by_category],
            "by_grid": [row_json(r) for r in found.tickets.by_grid],
        },
        "topics": {
            "count": len(found.topics.topics),
            "participants": found.topics.participants,
            "average_turnout": found.topics.average_turnout,
            "items": [
                {
                    "id": t.id,
                    "title": t.title,
                    "status": t.status,
                    "opens_at": iso(t.opens_at),
                    "closes_at": iso(t.closes_at),
                    "participants": t.participants,
                    "eligible": t.eligible,
                    "turnout": t.turnout,
                }
                for t in found.topics.topics
            ],
        },
        "surveys": {
            "invited": found.surveys.invited,
            "completed": found.surveys.completed,
            "response_rate": found.surveys.rate,
            "items": [
                {
                    "id": s.id,
                    "title": s.title,
                    "state": s.state,
                    "sent_at": iso(s.sent_at),
                    "invited": s.invited,
                    "completed": s.completed,
                    "response_rate": s.rate,
                }
                for s in found.surveys.surveys
            ],
        },
        "care": {
            "checkins_active": found.care.checkins_active,
            "checkin_tickets": found.care.checkin_tickets,
            "checkin_help": found.care.checkin_help,
            "counselling_referrals": found.care.counselling_referrals,
            "crisis_alerts": found.care.crisis_alerts,
        },
    }


@endpoint
async def statistics(call: Call) -> web.Response:
    """The figures of a month (`month=YYYY-MM`) or of days (`start_date`..`end_date`);
    the current month by default."""
    tz = call.runtime.services.timezone
    request = call.request
    period = _period(call, tz)
    grid = str_param(request, "grid")
    if call.staff.role == "grid":
        if grid is not None and grid != call.staff.grid:
            raise ApiError(403, "grid workers see their own grid's figures only")
        grid = call.staff.grid
    found = await stats.statistics(call.session, call.runtime.services.calendar, period, grid=grid)
    return ok(statistics_json(found))


def _period(call: Call, tz: Any) -> stats.Period:
    request = call.request
    month = request.query.get("month")
    first, last = date_param(request, "start_date"), date_param(request, "end_date")
    if month is not None:
        if first is not None or last is not None:
            raise ApiError(400, "give either month or start_date and end_date")
        try:
            return stats.parse_month(month, tz)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
    if first is None and last is None:
        local = call.now.astimezone(tz)
        return stats.month(local.year, local.month, tz)
    if first is None or last is None:
        raise ApiError(400, "give both start_date and end_date")
    if last < first or (last - first).days >= MAX_DAYS:
        raise ApiError(400, f"end_date must be on or after start_date, at most {MAX_DAYS} days")
    return stats.days(first, last, tz)


def routes(router: web.UrlDispatcher) -> None:
    """Register the statistics route (relative to /api/v1)."""
    router.add_get("/stats", statistics, allow_head=False)

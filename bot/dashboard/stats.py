"""The statistics page: a month's ticket figures (handlers.kpi definitions, via handlers.stats)
in total, by category and by grid, the trend of the months before, as server-rendered SVG charts
(bot.charts) and tables; deliberation turnout, survey response rates, and counselling and
crisis counts as totals only."""

from __future__ import annotations

from aiohttp import web

from bot import charts
from bot.dashboard.core import OFFICE, RUNTIME, Signed, page, render
from handlers import stats

TREND_MONTHS = 6


@page(roles=OFFICE)
async def statistics(request: web.Request, signed: Signed) -> web.StreamResponse:
    """One month's figures (this month unless `?month=YYYY-MM`), optionally for one grid."""
    runtime = request.app[RUNTIME]
    services, tz = runtime.services, runtime.services.timezone
    local = signed.now.astimezone(tz)
    chosen = request.query.get("month") or f"{local:%Y-%m}"
    try:
        period = stats.parse_month(chosen, tz)
    except ValueError:
        period = stats.month(local.year, local.month, tz)
    grid = request.query.get("grid") or None
    if grid is not None and services.grids.get(grid) is None:
        grid = None
    months = [*stats.previous_months(period, TREND_MONTHS - 1, tz), period]
    async with runtime.sessions() as session:
        figures = await stats.statistics(session, services.calendar, period, grid=grid)
        trend = await stats.trend(session, services.calendar, months, grid=grid)
    lang = signed.locale
    shown = {
        "volume": charts.volume_trend_chart(services, lang, trend),
        "rates": charts.rates_trend_chart(services, lang, trend),
    }
    if figures.tickets.by_category:
        shown["category"] = charts.breakdown_chart(
            services, lang, figures.tickets.by_category, by="category"
        )
    if figures.tickets.by_grid and grid is None:
        shown["grid"] = charts.breakdown_chart(services, lang, figures.tickets.by_grid, by="grid")
    return render(
        request, signed, "stats.html", figures=figures, trend=trend, charts=shown,
        month=period.label, grid=grid, grids=list(services.grids), metrics=stats.METRICS,
        rates=stats.RATES, percent=stats.percent,
        category_name=lambda key: stats.category_label(services, lang, key),
        grid_name=lambda key: stats.grid_label(services, lang, key),
    )  # fmt: skip


async def chart_css(request: web.Request) -> web.StreamResponse:
    """The stylesheet of the inline SVG charts (served as a file: the CSP allows no inline
    style)."""
    return web.Response(text=charts.stylesheet(), content_type="text/css")

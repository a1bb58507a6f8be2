"""The staff dashboard at /staff: server-rendered pages (aiohttp-jinja2, autoescaped), one
stylesheet, no scripts, in Chinese or English. Routes are listed here in one table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.dashboard import (
    admin,
    audit_log,
    auth,
    hall,
    intake,
    knowledge,
    notices,
    stats,
    ticket_actions,
    tickets,
    today,
)
from bot.dashboard.core import (
    PHOTOS,
    RUNTIME,
    TEMPLATES,
    TEXTS,
    Handler,
    load_texts,
    redirect,
    url,
)

if TYPE_CHECKING:
    from bot.app import Runtime
    from bot.dashboard.photos import PhotoSource

STATIC = Path(__file__).with_name("static")
DASHBOARD: web.AppKey[web.Application] = web.AppKey("dashboard", web.Application)
TICKET = r"/tickets/{ticket_id:\d+}"
STAFF = r"/admin/staff/{staff_id:\d+}"

ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/login", auth.login_page),
    ("POST", "/login", auth.login),
    ("POST", "/logout", auth.logout),
    ("GET", "/password", auth.password_page),
    ("POST", "/password", auth.change_password),
    ("POST", "/locale", auth.set_locale),
    ("GET", "/", today.today),
    ("GET", "/tickets", tickets.ticket_list),
    ("GET", "/tickets/new", intake.new_ticket_page),
    ("POST", "/tickets/new", intake.file_ticket),
    ("GET", TICKET, tickets.ticket_page),
    ("GET", TICKET + r"/photos/{index:\d+}", tickets.photo),
    ("POST", TICKET + "/reveal", ticket_actions.reveal),
    ("POST", TICKET + "/{action:[a-z]+}", ticket_actions.act),
    ("GET", "/hall", hall.hall),
    ("POST", "/hall/review", hall.review),
    ("GET", "/hall/new", hall.new_topic_page),
    ("POST", "/hall/new", hall.create_topic),
    ("GET", r"/hall/{topic_id:\d+}", hall.topic_page),
    ("POST", r"/hall/{topic_id:\d+}/respond", hall.respond),
    ("GET", "/surveys", notices.survey_list),
    ("POST", "/surveys", notices.create_survey),
    ("GET", r"/surveys/{survey_id:\d+}", notices.survey_page),
    ("GET", "/notices", notices.notice_list),
    ("POST", "/notices", notices.create_notice),
    ("POST", r"/notices/{notice_id:\d+}/cancel", notices.cancel_notice),
    ("GET", "/knowledge", knowledge.knowledge),
    ("POST", "/knowledge/questions", knowledge.questions_handled),
    ("POST", "/knowledge/feedback", knowledge.feedback_handled),
    ("GET", "/stats", stats.statistics),
    ("GET", "/charts.css", stats.chart_css),
    ("GET", "/audit", audit_log.audit_log),
    ("GET", "/admin/staff", admin.staff_list),
    ("POST", "/admin/staff", admin.create_staff),
    ("GET", STAFF, admin.staff_page),
    ("POST", STAFF, admin.update_staff),
    ("POST", STAFF + "/reset", admin.reset_password),
    ("POST", STAFF + "/active", admin.set_active),
)


@web.middleware
async def no_store(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Staff pages are never kept by browsers or proxies (the stylesheet may be)."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["Cache-Control"] = "no-store"
        raise
    if not request.path.startswith("/staff/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


async def _to_dashboard(request: web.Request) -> web.StreamResponse:
    return redirect(url("/"))


def setup(
    app: web.Application,
    runtime: Runtime,
    *,
    photos: Sequence[PhotoSource] = (),
) -> web.Application:
    """Mount the dashboard on `app` at /staff and return it; its pages tell time by the
    runtime's clock."""
    dashboard = web.Application(middlewares=[no_store])
    dashboard[RUNTIME] = runtime
    dashboard[TEXTS] = load_texts()
    dashboard[PHOTOS] = {source.channel: source for source in photos}
    aiohttp_jinja2.setup(
        dashboard,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    for method, path, handler in ROUTES:
        dashboard.router.add_route(method, path, handler)
    dashboard.router.add_static("/static/", STATIC, append_version=False)
    app.router.add_get("/staff", _to_dashboard)  # before the sub-app, which would 404 it
    app.add_subapp("/staff", dashboard)
    app[DASHBOARD] = dashboard
    return dashboard

"""What every dashboard page shares: the signed-in staff member, the session check (idle and
absolute expiry), CSRF, role gates, checked ids and page numbers, the staff catalogue and
rendering."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from handlers.i18n import CATALOGUE_DIR, DEFAULT_LOCALE, LOCALES, Texts
from handlers.ids import MAX_ID, BadNumber, whole
from knowledge.grids import Grid
from storage import staff_sessions
from storage.models import Staff

if TYPE_CHECKING:
    from bot.app import Runtime
    from bot.dashboard.photos import PhotoSource

COOKIE = "linli_staff"
LOGIN_COOKIE = "linli_staff_login"  # the CSRF token of the login form, before any session
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
STAFF_CATALOGUE = CATALOGUE_DIR / "dashboard"
TEMPLATES = Path(__file__).with_name("templates")
EVERYONE = frozenset({"admin", "staff", "counselor", "grid"})
OFFICE = frozenset({"admin", "staff"})  # hall, surveys, notices, knowledge, statistics
ADMIN = frozenset({"admin"})
MAX_PAGE = 10_000  # of any list: further pages cannot exist (and would overflow an offset)
MIN_YEAR, MAX_YEAR = 2000, 2999  # dates outside cannot be ours (and overflow near 1 and 9999)
REFUSED = {400: "common.bad_request", 404: "common.not_found"}


RUNTIME: web.AppKey[Runtime] = web.AppKey("dashboard_runtime")
TEXTS: web.AppKey[Texts] = web.AppKey("dashboard_texts", Texts)
PHOTOS: web.AppKey[dict[str, PhotoSource]] = web.AppKey("dashboard_photos")  # by channel


class Refused(Exception):
    """A URL, query or form value no page can answer: 400 when it is malformed, 404 when it
    names nothing that can exist (an id beyond the database's range, a page beyond any list)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True, slots=True)
class Signed:
    """The staff member behind a request, and their session's CSRF token and language."""

    staff: Staff
    session_id: str
    csrf: str
    locale: str
    now: datetime


Page = Callable[[web.Request, Signed], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def session_id_of(token: str) -> str:
    """The stored id of a session cookie value (a hash: the table holds no usable cookie)."""
    return hashlib.sha256(token.encode()).hexdigest()


def url(path: str = "") -> str:
    """A dashboard URL."""
    return "/staff" + (path or "/")


def translator(request: web.Request, locale: str) -> Callable[..., str]:
    """`t(key, **values)` in the staff member's language."""
    texts = request.app[TEXTS]
    return lambda key, **values: texts.get(locale, key, **values)


async def authenticate(request: web.Request) -> Signed | None:
    """The live session of this request, touched; None when absent, revoked or expired."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    now = request.app[RUNTIME].clock()
    session_id = session_id_of(token)
    async with request.app[RUNTIME].sessions.begin() as session:
        found = await staff_sessions.find(session, session_id=session_id)
        if found is None:
            return None
        row, staff = found
        expired = now - row.last_seen_at > IDLE or now - row.created_at > LIFETIME
        if expired or not staff.active:
            await staff_sessions.revoke(session, session_id=session_id, now=now)
            return None
        row.last_seen_at = now
        return Signed(staff, session_id, row.csrf_token, row.locale, now)


async def form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form (read once, cached by aiohttp)."""
    return await request.post()


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(a.encode(), b.encode())


def page(
    *, roles: frozenset[str] = EVERYONE, password_change: bool = False
) -> Callable[[Page], Handler]:
    """Wrap a page for signed-in staff with one of `roles`: anyone else goes to the login,
    a first password must be changed first, and every POST must carry the CSRF token."""

    def wrap(handler: Page) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            signed = await authenticate(request)
            if signed is None:
                if request.method == "POST":
                    raise web.HTTPForbidden(text=_text(request, DEFAULT_LOCALE, "auth.expired"))
                raise web.HTTPSeeOther(url("/login"))
            if request.method == "POST":
                posted = (await form(request)).get("csrf_token", "")
                if not isinstance(posted, str) or not same(posted, signed.csrf):
                    return error(request, signed, "auth.bad_csrf", status=403)
            if signed.staff.must_change_password and not password_change:
                raise web.HTTPSeeOther(url("/password"))
            if signed.staff.role not in roles:
                return error(request, signed, "auth.forbidden", status=403)
            try:
                await _storable(request)
                return await handler(request, signed)
            except Refused as refused:
                return error(request, signed, REFUSED[refused.status], status=refused.status)

        run.__doc__ = handler.__doc__
        return run

    return wrap


def _text(request: web.Request, locale: str, key: str) -> str:
    return request.app[TEXTS].get(locale, key)


def render(
    request: web.Request,
    signed: Signed | None,
    template: str,
    *,
    status: int = 200,
    locale: str | None = None,
    **context: Any,
) -> web.Response:
    """A page from `templates/`, autoescaped, in the staff member's language."""
    lang = locale or (signed.locale if signed else DEFAULT_LOCALE)
    runtime = request.app[RUNTIME]
    services = runtime.services
    tz = services.timezone

    def when(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        return moment.astimezone(tz).strftime(pattern) if moment else "-"

    texts = request.app[TEXTS]

    def message(key: str | None) -> str:
        """A problem's text from either catalogue; anything else (a tampered query) is generic."""
        if key and texts.has(key):
            return texts.get(lang, key)
        if key and services.texts.has(key):
            return services.texts.get(lang, key)
        return texts.get(lang, "common.error")

    context.update(
        t=translator(request, lang),
        message=message,
        label=lambda key, fallback: texts.get(lang, key) if texts.has(key) else fallback,
        rt=lambda key, **v: services.texts.get(lang, key, **v),
        lang=lang,
        locales=LOCALES,
        signed=signed,
        me=signed.staff if signed else None,
        csrf=signed.csrf if signed else context.get("csrf", ""),
        when=when,
        category_label=lambda c: (
            services.categories[c].label(lang) if c in services.categories else (c or "-")
        ),
        grid_label=lambda g: _grid_label(services.grids.get(g), g, lang),
        path=request.path,
    )
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    return response


def _grid_label(grid: Grid | None, grid_id: str | None, locale: str) -> str:
    return grid.label(locale) if grid is not None else (grid_id or "-")


def error(request: web.Request, signed: Signed | None, key: str, *, status: int) -> web.Response:
    """A plain page saying what went wrong (forbidden, not found, expired form)."""
    return render(request, signed, "message.html", status=status, message_key=key)


def redirect(location: str) -> web.Response:
    """A 303 to another dashboard page (after a POST, so a reload does not repeat it). Only
    a path of this site in printable ASCII without blanks: anything else — another site
    (`//x`, `/\\x`), a CR or LF that would split the header — goes to the start page."""
    safe = (
        location.startswith("/staff")
        and location.isascii()
        and location.isprintable()
        and " " not in location
        and "//" not in location
        and "\\" not in location
    )
    return web.Response(status=303, headers={"Location": location if safe else url("/")})


def number(value: Any, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """A whole-number path, query or form value from `low` to `high` (by default a row id);
    None when absent or blank. Refused(400) when it is not a number, Refused(404) when it is
    outside the range: no row or page can have it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise Refused(400)  # an uploaded file where a number belongs
    try:
        return whole(value, low=low, high=high)
    except BadNumber as exc:
        raise Refused(400 if exc.malformed else 404) from None


def path_id(request: web.Request, name: str) -> int:
    """The id in the URL (404 when no row can have it)."""
    found = number(request.match_info[name])
    if found is None:
        raise Refused(404)
    return found


def page_number(request: web.Request) -> int:
    """The `?page=` of a list: 1 by default, 400 when malformed, 404 beyond MAX_PAGE."""
    return number(request.query.get("page"), high=MAX_PAGE) or 1


def form_number(value: Any, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """A form value as a whole number from `low` to `high` (by default a row id: an assignee,
    a Telegram id), or None — for forms whose own message says what is wrong."""
    try:
        return number(value, low=low, high=high)
    except Refused:
        return None


def day(value: str | None) -> date | None:
    """A YYYY-MM-DD query value; None when absent or blank, 400 when it is no date of ours."""
    if not value or not value.strip():
        return None
    try:
        found = date.fromisoformat(value.strip())
    except ValueError:
        raise Refused(400) from None
    if not MIN_YEAR <= found.year <= MAX_YEAR:
        raise Refused(400)
    return found


async def _storable(request: web.Request) -> None:
    """Refuse (400) a query or form value no database can store or search for: a NUL
    character (PostgreSQL refuses it) — only a hostile or broken client sends one."""
    values = [*request.query.values(), *request.query.keys()]
    if request.method == "POST":
        values += [v for v in (await form(request)).values() if isinstance(v, str)]
    if any("\x00" in value for value in values):
        raise Refused(400)


def load_texts() -> Texts:
    """The staff catalogue (zh and en with the same keys)."""
    return Texts.load(STAFF_CATALOGUE)

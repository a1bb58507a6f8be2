"""Admins manage staff accounts (create, role, grid, Telegram id, disable, reset password) and
read the audit log. A new or reset account gets a one-time password, shown once, to change at
the first login; disabling or resetting ends the account's sessions at once."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot import passwords
from bot.dashboard.core import (
    ADMIN,
    RUNTIME,
    Signed,
    error,
    form,
    form_number,
    page,
    path_id,
    redirect,
    render,
    url,
)
from storage import audit, staff_sessions
from storage import staff as staff_store
from storage.models import Staff

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
MAX_TELEGRAM_ID = 2**63 - 1  # a user's id is positive and fits the BIGINT column


def _checked(request: web.Request, values: dict[str, str]) -> tuple[dict[str, Any], str | None]:
    """The account fields from a form, or the catalogue key of what is wrong."""
    role, grid = values.get("role", ""), values.get("grid") or None
    telegram = values.get("telegram_id", "")
    if role not in staff_store.ROLES:
        return {}, "admin.bad_role"
    if role == "grid" and request.app[RUNTIME].services.grids.get(grid) is None:
        return {}, "admin.grid_needed"
    if grid is not None and request.app[RUNTIME].services.grids.get(grid) is None:
        return {}, "admin.grid_needed"
    telegram_id = form_number(telegram, high=MAX_TELEGRAM_ID)
    if telegram and telegram_id is None:
        return {}, "admin.bad_telegram"
    fields = {
        "role": role,
        "grid": grid,
        "telegram_id": telegram_id,
        "display_name": values.get("display_name", "")[:128] or None,
    }
    return fields, None


async def _list(request: web.Request, signed: Signed, **context: Any) -> web.Response:
    async with request.app[RUNTIME].sessions() as session:
        people = await staff_store.list_staff(session)
    context.setdefault("values", {"role": "staff"})
    return render(
        request, signed, "staff_list.html", people=people, roles=staff_store.ROLES,
        grids=list(request.app[RUNTIME].services.grids),
        status=400 if context.get("problem") else 200, **context,
    )  # fmt: skip


@page(roles=ADMIN)
async def staff_list(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Every staff account, and the form for a new one."""
    return await _list(request, signed, problem=None)


def _audit(session: Any, signed: Signed, action: str, staff_id: int, **detail: Any) -> None:
    audit.record(
        session, actor_type="staff", actor_id=signed.staff.id, action=action, now=signed.now,
        target_type="staff", target_id=staff_id, detail=detail,
    )  # fmt: skip


@page(roles=ADMIN)
async def create_staff(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Add an account with a one-time password, shown on the next page only."""
    values = {k: v.strip() for k, v in (await form(request)).items() if isinstance(v, str)}
    fields, problem = _checked(request, values)
    username = values.get("username", "")
    if problem is None and not USERNAME.match(username):
        problem = "admin.bad_username"
    if problem is not None:
        return await _list(request, signed, problem=problem, values=values)
    password = passwords.one_time_password()
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    try:
        async with request.app[RUNTIME].sessions.begin() as session:
            created = await staff_store.create_staff(
                session, username=username, password_hash=hashed, must_change_password=True,
                now=signed.now, **fields,
            )  # fmt: skip
            _audit(session, signed, "staff.create", created.id, role=created.role)
    except IntegrityError:
        return await _list(request, signed, problem="admin.duplicate", values=values)
    return render(request, signed, "one_time.html", username=username, password=password)


@page(roles=ADMIN)
async def staff_page(request: web.Request, signed: Signed) -> web.StreamResponse:
    """One account: its role, grid and Telegram id, and the buttons to reset or disable it."""
    async with request.app[RUNTIME].sessions() as session:
        person = await session.get(Staff, path_id(request, "staff_id"))
    if person is None:
        return error(request, signed, "admin.not_found", status=404)
    return render(
        request, signed, "staff_edit.html", person=person, roles=staff_store.ROLES,
        grids=list(request.app[RUNTIME].services.grids), problem=request.query.get("problem"),
    )  # fmt: skip


@page(roles=ADMIN)
async def update_staff(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Change an account's role, grid, Telegram id or display name."""
    staff_id = path_id(request, "staff_id")
    values = {k: v.strip() for k, v in (await form(request)).items() if isinstance(v, str)}
    fields, problem = _checked(request, values)
    if problem is not None:
        return redirect(url(f"/admin/staff/{staff_id}") + f"?problem={problem}")
    try:
        async with request.app[RUNTIME].sessions.begin() as session:
            person = await session.get(Staff, staff_id)
            if person is None:
                return error(request, signed, "admin.not_found", status=404)
            if person.id == signed.staff.id and fields["role"] != "admin":
                return redirect(url(f"/admin/staff/{staff_id}") + "?problem=admin.not_yourself")
            person.role, person.grid = fields["role"], fields["grid"]
            person.telegram_id = fields["telegram_id"]
            person.display_name = fields["display_name"] or person.username
            _audit(session, signed, "staff.update", person.id, role=person.role)
    except IntegrityError:
        return redirect(url(f"/admin/staff/{staff_id}") + "?problem=admin.duplicate")
    return redirect(url(f"/admin/staff/{staff_id}"))


@page(roles=ADMIN)
async def reset_password(request: web.Request, signed: Signed) -> web.StreamResponse:
    """A new one-time password for an account; its sessions end."""
    staff_id = path_id(request, "staff_id")
    password = passwords.one_time_password()
    hashed = await asyncio.to_thread(passwords.hash_password, password)
    async with request.app[RUNTIME].sessions.begin() as session:
        person = await session.get(Staff, staff_id)
        if person is None:
            return error(request, signed, "admin.not_found", status=404)
        person.password_hash, person.must_change_password = hashed, True
        await staff_sessions.revoke_all(session, staff_id=person.id, now=signed.now)
        _audit(session, signed, "staff.reset_password", person.id)
        username = person.username
    return render(request, signed, "one_time.html", username=username, password=password)


@page(roles=ADMIN)
async def set_active(request: web.Request, signed: Signed) -> web.StreamResponse:
    """Disable an account (its sessions end at once) or enable it again."""
    staff_id = path_id(request, "staff_id")
    active = (await form(request)).get("active") == "1"
    if staff_id == signed.staff.id:
        return redirect(url(f"/admin/staff/{staff_id}") + "?problem=admin.not_yourself")
    async with request.app[RUNTIME].sessions.begin() as session:
        person = await session.get(Staff, staff_id)
        if person is None:
            return error(request, signed, "admin.not_found", status=404)
        person.active = active
        if not active:
            await staff_sessions.revoke_all(session, staff_id=person.id, now=signed.now)
        _audit(session, signed, "staff.enable" if active else "staff.disable", person.id)
    return redirect(url(f"/admin/staff/{staff_id}"))

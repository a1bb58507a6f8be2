"""Who among staff may read which ticket — the one place every staff path asks.

Psych and crisis tickets are for counsellors and admins only, and every read of one is in
the audit log; grid workers see their own grid (safety.md §4.6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import Staff, Ticket

SENSITIVE_KINDS = frozenset({"crisis", "counseling"})
SENSITIVE_ROLES = frozenset({"counselor", "admin"})


class TicketNotFound(LookupError):
    """No such ticket for this staff member (missing and forbidden look the same)."""


def can_read(staff: Staff, ticket: Ticket) -> bool:
    """True when `staff` may see `ticket`."""
    if not staff.active:
        return False
    if ticket.kind in SENSITIVE_KINDS:
        return staff.role in SENSITIVE_ROLES
    if staff.role in ("admin", "staff"):
        return True
    if staff.role == "grid":
        return staff.grid is not None and ticket.grid == staff.grid
    return False


def visible_to(staff: Staff) -> Any:
    """The same rule as a SQL condition, for every ticket list and search."""
    if not staff.active:
        return false()
    sensitive = Ticket.kind.in_(SENSITIVE_KINDS)
    if staff.role == "admin":
        return true()
    if staff.role == "counselor":
        return sensitive
    if staff.role == "staff":
        return ~sensitive
    if staff.role == "grid" and staff.grid is not None:
        return and_(~sensitive, Ticket.grid == staff.grid)
    return false()


async def read_ticket(
    session: AsyncSession, *, staff: Staff, ticket_id: int, now: datetime
) -> Ticket:
    """A ticket for a staff member to look at; sensitive reads and refusals are audited."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    allowed = can_read(staff, ticket)
    if ticket.kind in SENSITIVE_KINDS or not allowed:
        audit.record(
            session,
            actor_type="staff",
            actor_id=staff.id,
            action="ticket.read" if allowed else "ticket.read_denied",
            now=now,
            target_type="ticket",
            target_id=ticket.id,
            detail={"kind": ticket.kind},
        )
    if not allowed:
        raise TicketNotFound(ticket_id)
    return ticket

"""The database tables: residents, staff, conversations, tickets, the outbox and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC and always returns aware UTC datetimes, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


JSONData = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations stay portable."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONData,
    }


class Resident(Base):
    """A person who writes to the bot on one channel."""

    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(128))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    grid: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(JSONData, default=list)
    consents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    welcomed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    """Where a resident is in a multi-step flow; kept in the database so restarts lose nothing."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), unique=True
    )
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Staff(Base):
    """A community worker who uses the dashboard or the staff chat."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    grid: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedUpdate(Base):
    """An update already handled; the key of the engine's exactly-one-effect guarantee."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TicketCounter(Base):
    """The last ticket number handed out in a year (T-YYYY-NNNNNN)."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    """A case staff must act on: a complaint, a request for a person, a crisis, a check-in."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    grid: Mapped[str | None] = mapped_column(String(64))
    building: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    photos: Mapped[list[str]] = mapped_column(JSONData, default=list)
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    due_at: Mapped[datetime | None]
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    # The resident's verdict after `resolved`: asked → solved | unsolved | unknown (no answer).
    survey: Mapped[str | None] = mapped_column(String(16))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalation: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )  # 0, 1 = 催办 (urged), 2 = 督办 (supervised)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class TicketSupporter(Base):
    """A resident who joined someone else's ticket ("+1 我也遇到了") and hears its news."""

    __tablename__ = "ticket_supporters"
    __table_args__ = (UniqueConstraint("ticket_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketEvent(Base):
    """One entry in a ticket's timeline: a change of state, a message, an internal note."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text, default="")
    visible_to_resident: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Outbox(Base):
    """A message the bot sends on its own initiative, delivered exactly once per dedupe key."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "channel", "priority", "not_before"),
        Index("ix_outbox_recipient", "channel", "recipient", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(128))
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column()
    priority: Mapped[int] = mapped_column(Integer, default=0)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    # Set, in its own commit, just before the row is handed to its channel: a claimed row
    # whose sender died is safe to send again only if it was never handed over.
    handed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AuditLog(Base):
    """Who viewed or changed what, for accountability (never message content)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AppState(Base):
    """Small pieces of instance-wide state shared by every worker (e.g. a generated secret)."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class UnansweredQuestion(Base):
    """A service question the knowledge base could not answer, kept for staff to improve it
    (no resident link: staff need the question, not who asked)."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8))
    best_faq_id: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    handled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class FaqFeedback(Base):
    """A resident's 👍/👎 on an FAQ answer."""

    __tablename__ = "faq_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    faq_id: Mapped[str] = mapped_column(String(64), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Broadcast(Base):
    """A notice (通知) staff send to an audience: everyone, a grid or a tag."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(80))  # all | grid:<id> | tag:<tag>
    send_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")  # → queued | cancelled
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckIn(Base):
    """A senior's daily check-in (独居老人关爱): asked at a local time each day."""

    __tablename__ = "checkins"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    at: Mapped[str] = mapped_column(String(5), default="09:00")  # local HH:MM
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    asked_on: Mapped[str | None] = mapped_column(String(10))  # local dates, YYYY-MM-DD
    answered_on: Mapped[str | None] = mapped_column(String(10))
    reminded_on: Mapped[str | None] = mapped_column(String(10))
    escalated_on: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

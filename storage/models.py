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
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.clock import stamp

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


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
    building: Mapped[int | None] = mapped_column(Integer)  # building number, for topics' scope
    tags: Mapped[list[str]] = mapped_column(JSONData, default=list)
    consents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the resident chose to receive in /settings (the daily check-in lives in CheckIn).
    receive_notices: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    receive_surveys: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    welcomed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    last_seen_at: Mapped[datetime] = mapped_column(default=stamp)


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
    updated_at: Mapped[datetime] = mapped_column(default=stamp)
    # Risk markers of the last hour's messages, [[unix seconds, 0–1], …]: vague messages
    # that each stay under the crisis screen's line can cross it together.
    risk: Mapped[list[Any] | None] = mapped_column(JSONData, default=None)


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
    created_at: Mapped[datetime] = mapped_column(default=stamp)


class ProcessedUpdate(Base):
    """An update already handled; the key of the engine's exactly-one-effect guarantee."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=stamp, index=True)
    # What the resident was answered, so that a redelivery (the first answer was lost with a
    # dying worker or connection) gets the same answer; cleared after an hour.
    replies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONData)


class TicketCounter(Base):
    """The last ticket number handed out in a year (T-YYYY-NNNNNN)."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    """A case staff must act on: a complaint, a request for a person, a crisis, a check-in."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_due", "status", "due_at"),
        # The dashboard's lists by grid and by assignee (migration 0011, which also adds the
        # PostgreSQL-only trigram indexes for text search that the models do not describe).
        Index("ix_tickets_grid_status", "grid", "status"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
        Index("ix_tickets_grid_category", "grid", "category"),
    )

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
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    updated_at: Mapped[datetime] = mapped_column(default=stamp)
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
    created_at: Mapped[datetime] = mapped_column(default=stamp)


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
    created_at: Mapped[datetime] = mapped_column(default=stamp)


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
    not_before: Mapped[datetime] = mapped_column(default=stamp)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    # Set, in its own commit, just before the row is handed to its channel: a claimed row
    # whose sender died is safe to send again only if it was never handed over.
    handed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=stamp)
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
    created_at: Mapped[datetime] = mapped_column(default=stamp, index=True)


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
    created_at: Mapped[datetime] = mapped_column(default=stamp, index=True)


class FaqFeedback(Base):
    """A resident's 👍/👎 on an FAQ answer."""

    __tablename__ = "faq_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    faq_id: Mapped[str] = mapped_column(String(64), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    # Staff reviewed it on the dashboard's knowledge page.
    handled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


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
    created_at: Mapped[datetime] = mapped_column(default=stamp)


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
    created_at: Mapped[datetime] = mapped_column(default=stamp)


class Topic(Base):
    """A question put to the residents' deliberation hall (居民议事厅): vote on options, give
    opinions, or vote on each other's statements; closed by a sweep that stores the result."""

    __tablename__ = "topics"
    __table_args__ = (Index("ix_topics_status_closes", "status", "closes_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[list[str]] = mapped_column(JSONData, default=list)
    mode: Mapped[str] = mapped_column(String(16), default="vote")  # vote | statements
    scope: Mapped[str] = mapped_column(String(80), default="all")  # all | grid:<id> | building:<n>
    rule: Mapped[str] = mapped_column(String(32), default="majority")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open → closed
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    closed_at: Mapped[datetime | None]


class TopicProposal(Base):
    """A resident's proposal for a new topic, waiting for staff review."""

    __tablename__ = "topic_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # → accepted | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    decided_at: Mapped[datetime | None]


class Opinion(Base):
    """An opinion on a topic (a statement, in statement mode); others see it once approved."""

    __tablename__ = "opinions"
    __table_args__ = (Index("ix_opinions_topic_status", "topic_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    # None for the statements staff seed a topic with.
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # → approved | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    reviewed_at: Mapped[datetime | None]


class Vote(Base):
    """A resident's vote on a topic: one per resident, changeable until the topic closes."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("topic_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    option: Mapped[int] = mapped_column(Integer)  # index into Topic.options
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    updated_at: Mapped[datetime] = mapped_column(default=stamp)


class StatementVote(Base):
    """A resident's agree (1) / disagree (-1) / pass (0) on one statement."""

    __tablename__ = "statement_votes"
    __table_args__ = (UniqueConstraint("opinion_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opinion_id: Mapped[int] = mapped_column(ForeignKey("opinions.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=stamp)


class TopicResponse(Base):
    """Staff's official response to a topic or a follow-up action, told to its participants."""

    __tablename__ = "topic_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=stamp)


class Survey(Base):
    """A questionnaire (问卷) sent to an audience at a time, answered one question at a time."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    intro: Mapped[str] = mapped_column(Text, default="")
    intro_en: Mapped[str | None] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    audience: Mapped[str] = mapped_column(String(80))  # all | grid:<id> | tag:<tag>
    send_at: Mapped[datetime] = mapped_column(index=True)
    closes_at: Mapped[datetime | None]
    remind_after_days: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="scheduled")  # → open → closed
    invited: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=stamp)


class SurveyQuestion(Base):
    """One question of a survey: single or multiple choice, a 1–5 rating or free text."""

    __tablename__ = "survey_questions"
    __table_args__ = (UniqueConstraint("survey_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # single | multiple | rating | text
    text: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSONData, default=list)
    options_en: Mapped[list[str] | None] = mapped_column(JSONData)
    optional: Mapped[bool] = mapped_column(Boolean, default=False)


class SurveyInvitation(Base):
    """Who was invited and whether they finished. Kept apart from the answers, which carry no
    resident for an anonymous survey; `progress` holds unfinished answers and is emptied when
    the resident completes the survey or it closes."""

    __tablename__ = "survey_invitations"
    __table_args__ = (UniqueConstraint("survey_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    invited_at: Mapped[datetime] = mapped_column(default=stamp)
    reminded_at: Mapped[datetime | None]
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSONData)


class SurveyResponse(Base):
    """One completed survey. Its id is random, and for an anonymous survey it has neither a
    resident nor a time, so it cannot be matched to an invitation."""

    __tablename__ = "survey_responses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None]


class SurveyAnswer(Base):
    """The answer to one question in one response (no row for a skipped question)."""

    __tablename__ = "survey_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[str] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    choices: Mapped[list[int] | None] = mapped_column(JSONData)  # option positions
    rating: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)


class StaffSession(Base):
    """A signed-in dashboard session, kept on the server so logout and disabling end it; the
    id is a hash of the cookie value, so a copy of the table opens no session."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    last_seen_at: Mapped[datetime] = mapped_column(default=stamp)
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """One try at the dashboard login (never the password), for throttling and review."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username", "username", "created_at"),
        Index("ix_login_attempts_address", "address", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # ok | failed | throttled
    created_at: Mapped[datetime] = mapped_column(default=stamp)


class ApiToken(Base):
    """A REST API token of one staff member, acting with their role; only a hash of the token
    is kept, so a copy of the table opens nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))  # the token's first characters, to tell it
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, hex
    created_at: Mapped[datetime] = mapped_column(default=stamp)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

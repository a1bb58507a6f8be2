"""Statistics staff file and watch: ticket figures per period, category and grid (on the
definitions of `handlers.kpi`), deliberation turnout, survey response rates, and check-in,
counselling and crisis counts as totals only.

The dashboard's Statistics page, the REST API and `linli report` all read these; labels for
people come from the text catalogue (`stats.*`), in Chinese or English."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import topic_close
from handlers.context import Services
from handlers.kpi import Figures, figures_of
from knowledge.workdays import WorkCalendar
from storage.models import CheckIn, Survey, SurveyResponse, Ticket, Topic
from storage.tickets import COMPLAINT_KINDS

# The ticket metrics in the order staff read them; rates are shares (0..1) or None.
COUNTS = ("received", "closed")
RATES = ("claimed_on_time", "resolved_on_time", "solved", "satisfied", "reopened")
METRICS = COUNTS + RATES
NONE_KEY = "-"  # the row of tickets without a category or grid
MONTH = re.compile(r"^(2\d{3})-(0[1-9]|1[0-2])$")  # the years 2000 to 2999
MAX_TREND_MONTHS = 24


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open stretch of time [start, end) in UTC, with the label staff know it by."""

    start: datetime
    end: datetime
    label: str


def month(year: int, number: int, tz: ZoneInfo) -> Period:
    """The calendar month `year`-`number` in the community's time zone."""
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return Period(_local_midnight(first, tz), _local_midnight(following, tz), f"{first:%Y-%m}")


def parse_month(text: str, tz: ZoneInfo) -> Period:
    """A month written YYYY-MM (ValueError for anything else)."""
    found = MONTH.match(text.strip())
    if found is None:
        raise ValueError(f"a month is written YYYY-MM, not {text!r}")
    return month(int(found[1]), int(found[2]), tz)


def previous_months(period: Period, count: int, tz: ZoneInfo) -> list[Period]:
    """The `count` months before the month `period` starts in, oldest first."""
    local = period.start.astimezone(tz)
    year, number = local.year, local.month
    found: list[Period] = []
    for _ in range(max(0, min(count, MAX_TREND_MONTHS))):
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
        found.append(month(year, number, tz))
    return found[::-1]


def days(first: date, last: date, tz: ZoneInfo) -> Period:
    """The local days `first` to `last`, both included (ValueError when last < first)."""
    if last < first:
        raise ValueError("the period ends before it starts")
    end = last + timedelta(days=1)
    return Period(_local_midnight(first, tz), _local_midnight(end, tz), f"{first}..{last}")


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


@dataclass(frozen=True, slots=True)
class TicketRow:
    """The figures of one slice (everything, a category or a grid) of a period."""

    key: str  # "" for everything, else a category or grid id, NONE_KEY for none
    closed: int  # tickets closed (办结) in the period, whenever they were received
    figures: Figures

    def value(self, metric: str) -> int | float | None:
        """One metric of METRICS by name."""
        if metric == "closed":
            return self.closed
        value: int | float | None = getattr(self.figures, metric)
        return value


@dataclass(frozen=True, slots=True)
class TicketStats:
    """A period's complaint figures: the total, by category and by grid."""

    total: TicketRow
    by_category: tuple[TicketRow, ...]
    by_grid: tuple[TicketRow, ...]


@dataclass(frozen=True, slots=True)
class TopicRow:
    """One deliberation topic that was open during the period, with its turnout."""

    id: int
    title: str
    status: str  # open | closed
    opens_at: datetime
    closes_at: datetime
    participants: int
    eligible: int
    turnout: float | None


@dataclass(frozen=True, slots=True)
class TopicStats:
    """The deliberation hall in a period: its topics and the residents who took part."""

    topics: tuple[TopicRow, ...]
    participants: int  # taking part in several topics counts once per topic
    average_turnout: float | None


@dataclass(frozen=True, slots=True)
class SurveyRow:
    """One survey sent in the period and how many invited residents completed it."""

    id: int
    title: str
    sent_at: datetime
    state: str
    invited: int
    completed: int
    rate: float | None


@dataclass(frozen=True, slots=True)
class SurveyStats:
    """The surveys sent in a period and their overall response rate."""

    surveys: tuple[SurveyRow, ...]
    invited: int
    completed: int
    rate: float | None


@dataclass(frozen=True, slots=True)
class CareTotals:
    """Care work as totals only — never by person or grid (safety.md §4.6)."""

    checkins_active: int  # seniors signed up for the daily check-in now
    checkin_tickets: int  # check-in tickets filed in the period (no answer or asked for help)
    checkin_help: int  # of which the senior pressed "需要帮助"
    counselling_referrals: int  # counselling-room bookings filed in the period
    crisis_alerts: int  # urgent crisis tickets filed in the period


@dataclass(frozen=True, slots=True)
class Statistics:
    """Everything the Statistics page and the monthly report show for one period."""

    period: Period
    grid: str | None  # the grid the ticket figures are limited to, or None for all
    tickets: TicketStats
    topics: TopicStats
    surveys: SurveyStats
    care: CareTotals


def share(part: int, whole: int) -> float | None:
    """part ÷ whole rounded to four places, None when there is nothing to count."""
    return round(part / whole, 4) if whole else None


async def ticket_stats(
    session: AsyncSession, calendar: WorkCalendar, period: Period, *, grid: str | None = None
) -> TicketStats:
    """Complaint figures of tickets received in the period (closed: closed in the period),
    in total, per category and per grid; `grid` limits everything to one grid."""
    received_in = (Ticket.created_at >= period.start) & (Ticket.created_at < period.end)
    closed_in = (
        (Ticket.status == "closed")
        & (Ticket.closed_at >= period.start)
        & (Ticket.closed_at < period.end)
    )
    query = select(Ticket).where(Ticket.kind.in_(COMPLAINT_KINDS), or_(received_in, closed_in))
    if grid is not None:
        query = query.where(Ticket.grid == grid)
    found = list((await session.execute(query.order_by(Ticket.id))).scalars().all())
    received = [t for t in found if period.start <= t.created_at < period.end]
    closed = [t for t in found if t.status == "closed" and t.closed_at is not None
              and period.start <= t.closed_at < period.end]  # fmt: skip

    def rows(key_of: str) -> tuple[TicketRow, ...]:
        keys = sorted({getattr(t, key_of) or NONE_KEY for t in [*received, *closed]})
        return tuple(
            TicketRow(
                key,
                sum(1 for t in closed if (getattr(t, key_of) or NONE_KEY) == key),
                figures_of(
                    [t for t in received if (getattr(t, key_of) or NONE_KEY) == key],
                    calendar,
                    end=period.end,
                ),
            )
            for key in keys
        )

    total = TicketRow("", len(closed), figures_of(received, calendar, end=period.end))
    return TicketStats(total, rows("category"), rows("grid"))


async def trend(
    session: AsyncSession,
    calendar: WorkCalendar,
    periods: list[Period],
    *,
    grid: str | None = None,
) -> list[tuple[Period, TicketRow]]:
    """The total ticket figures of each period, in the order given."""
    return [
        (period, (await ticket_stats(session, calendar, period, grid=grid)).total)
        for period in periods
    ]


async def topic_stats(session: AsyncSession, period: Period) -> TopicStats:
    """Topics open at some time in the period, with participants and turnout as the topic's
    rule counts them (a closed topic's stored result, else the count now)."""
    result = await session.execute(
        select(Topic)
        .where(Topic.opens_at < period.end, Topic.closes_at > period.start)
        .order_by(Topic.opens_at, Topic.id)
    )
    rows = []
    for topic in result.scalars().all():
        figures = topic.result or await topic_close.tally(session, topic)
        rows.append(
            TopicRow(
                topic.id, topic.title, topic.status, topic.opens_at, topic.closes_at,
                int(figures["participants"]), int(figures["eligible"]),
                float(figures["turnout"]) if figures["eligible"] else None,
            )
        )  # fmt: skip
    turnouts = [r.turnout for r in rows if r.turnout is not None]
    average = round(sum(turnouts) / len(turnouts), 4) if turnouts else None
    return TopicStats(tuple(rows), sum(r.participants for r in rows), average)


async def survey_stats(session: AsyncSession, period: Period) -> SurveyStats:
    """Surveys whose invitations went out in the period, with their response rates."""
    result = await session.execute(
        select(Survey)
        .where(Survey.sent_at >= period.start, Survey.sent_at < period.end)
        .order_by(Survey.sent_at, Survey.id)
    )
    found = list(result.scalars().all())
    completed = await _completed(session, [s.id for s in found])
    rows = tuple(
        SurveyRow(
            s.id, s.title, s.sent_at, s.state, s.invited, completed.get(s.id, 0),
            share(completed.get(s.id, 0), s.invited),
        )
        for s in found
        if s.sent_at is not None
    )  # fmt: skip
    invited, done = sum(r.invited for r in rows), sum(r.completed for r in rows)
    return SurveyStats(rows, invited, done, share(done, invited))


async def _completed(session: AsyncSession, survey_ids: list[int]) -> dict[int, int]:
    if not survey_ids:
        return {}
    rows = await session.execute(
        select(SurveyResponse.survey_id, func.count())
        .where(SurveyResponse.survey_id.in_(survey_ids))
        .group_by(SurveyResponse.survey_id)
    )
    return {int(survey_id): int(count) for survey_id, count in rows.all()}


async def care_totals(session: AsyncSession, period: Period) -> CareTotals:
    """Check-in, counselling and crisis totals of the period."""
    filed = (Ticket.created_at >= period.start) & (Ticket.created_at < period.end)
    rows = await session.execute(
        select(Ticket.kind, Ticket.priority, func.count())
        .where(filed, Ticket.kind.in_(("checkin", "counseling", "crisis")))
        .group_by(Ticket.kind, Ticket.priority)
    )
    counts: dict[tuple[str, bool], int] = {}
    for kind, priority, n in rows.all():
        key = (str(kind), priority > 0)  # a check-in ticket with priority is a call for help
        counts[key] = counts.get(key, 0) + int(n)

    def total(kind: str) -> int:
        return counts.get((kind, False), 0) + counts.get((kind, True), 0)

    active = await session.scalar(
        select(func.count()).select_from(CheckIn).where(CheckIn.active.is_(True))
    )
    return CareTotals(
        checkins_active=int(active or 0),
        checkin_tickets=total("checkin"),
        checkin_help=counts.get(("checkin", True), 0),
        counselling_referrals=total("counseling"),
        crisis_alerts=total("crisis"),
    )


async def statistics(
    session: AsyncSession, calendar: WorkCalendar, period: Period, *, grid: str | None = None
) -> Statistics:
    """Every figure of one period; `grid` limits the ticket figures to one grid."""
    return Statistics(
        period=period,
        grid=grid,
        tickets=await ticket_stats(session, calendar, period, grid=grid),
        topics=await topic_stats(session, period),
        surveys=await survey_stats(session, period),
        care=await care_totals(session, period),
    )


def metric_label(services: Services, locale: str, metric: str) -> str:
    """A metric's name as staff know it (按时签收率, "On-time claim rate", …)."""
    return services.texts.get(locale, f"stats.{metric}")


def category_label(services: Services, locale: str, key: str) -> str:
    """A category id as staff read it; unknown ids are shown as they are."""
    if key == NONE_KEY:
        return services.texts.get(locale, "stats.none")
    category = services.categories.get(key)
    return category.label(locale) if category is not None else key


def grid_label(services: Services, locale: str, key: str) -> str:
    """A grid id as staff read it; unknown ids are shown as they are."""
    if key == NONE_KEY:
        return services.texts.get(locale, "stats.none")
    grid = services.grids.get(key)
    return grid.label(locale) if grid is not None else key


def percent(value: float | None) -> str:
    """A rate as a percentage with one decimal (87.5%), or — when there was nothing to count."""
    return "—" if value is None else f"{value * 100:.1f}%"

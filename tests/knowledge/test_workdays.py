"""The working-day calendar: holidays and 调休 from the library, deadlines, overrides, fallback."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from knowledge.faq import KnowledgeError
from knowledge.workdays import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    """A moment in Shanghai time."""
    return datetime(y, m, d, hour, tzinfo=SH)


def due(y: int, m: int, d: int) -> datetime:
    """The end of a local day, as deadlines are given."""
    return datetime(y, m, d, 23, 59, 59, tzinfo=SH)


@pytest.fixture
def cal() -> WorkCalendar:
    """The packaged calendar."""
    return WorkCalendar.load()


def test_plain_week(cal: WorkCalendar) -> None:
    """Friday + 1 working day is Monday night; filed on a weekend, counting starts Monday."""
    assert cal.add_working_days(at(2026, 11, 27), 1) == due(2026, 11, 30)
    assert cal.add_working_days(at(2026, 11, 28), 1) == due(2026, 11, 30)
    assert cal.add_working_days(at(2026, 11, 29, 23), 1) == due(2026, 11, 30)
    assert cal.add_working_days(at(2026, 11, 30, 0), 1) == due(2026, 12, 1)
    assert cal.add_working_days(at(2026, 11, 27), 5) == due(2026, 12, 4)
    assert cal.add_working_days(at(2026, 11, 27), 0) == due(2026, 11, 27)
    assert cal.add_working_days(at(2026, 11, 28), 0) == due(2026, 11, 30)


def test_deadline_uses_the_calendar_time_zone(cal: WorkCalendar) -> None:
    """20:00 UTC on Friday is already Saturday in Shanghai; the result is in local time."""
    filed = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)  # Fri 04:00 in Shanghai
    assert cal.add_working_days(filed, 1) == due(2026, 11, 30)
    result = cal.add_working_days(datetime(2026, 11, 27, 20, 0, tzinfo=UTC), 1)
    assert result == due(2026, 11, 30)
    assert result.tzinfo == SH
    assert result.utcoffset() == timedelta(hours=8)


def test_naive_datetimes_are_refused(cal: WorkCalendar) -> None:
    """A naive datetime would silently mean the server's zone."""
    with pytest.raises(ValueError):
        cal.add_working_days(datetime(2026, 11, 27, 10), 1)
    with pytest.raises(ValueError):
        cal.working_days_between(datetime(2026, 11, 27, 10), at(2026, 12, 1))
    with pytest.raises(ValueError):
        cal.add_working_days(at(2026, 11, 27), -1)


def test_spring_festival_2027(cal: WorkCalendar) -> None:
    """2027-02-05 … 2027-02-10 are off per the library; deadlines jump over them."""
    for day in range(5, 11):
        assert not cal.is_working_day(date(2027, 2, day)), day
    assert cal.is_working_day(date(2027, 2, 4))
    assert cal.is_working_day(date(2027, 2, 11))
    assert cal.add_working_days(at(2027, 2, 4), 1) == due(2027, 2, 11)
    assert cal.add_working_days(at(2027, 2, 4), 5) == due(2027, 2, 17)
    assert cal.add_working_days(at(2027, 2, 7), 1) == due(2027, 2, 11)


def test_2026_make_up_saturdays(cal: WorkCalendar) -> None:
    """2026-02-14 and 2026-02-28 are 调休 Saturdays: working days in spite of the weekend."""
    assert cal.is_working_day(date(2026, 2, 14))
    assert cal.is_working_day(date(2026, 2, 28))
    assert not cal.is_working_day(date(2026, 2, 21))  # an ordinary Saturday
    assert cal.add_working_days(at(2026, 2, 13), 1) == due(2026, 2, 14)
    # 15 Sun, 16–20 Spring Festival, 21–22 weekend, 23 off (substituted), 24 Tue.
    assert cal.add_working_days(at(2026, 2, 13), 2) == due(2026, 2, 24)
    assert cal.add_working_days(at(2026, 2, 27), 1) == due(2026, 2, 28)


def test_national_day_2026(cal: WorkCalendar) -> None:
    """1–7 October 2026 are off; Sunday 20 Sep and Saturday 10 Oct are make-up workdays."""
    for day in range(1, 8):
        assert not cal.is_working_day(date(2026, 10, day)), day
    assert cal.is_working_day(date(2026, 9, 20))
    assert cal.is_working_day(date(2026, 10, 10))
    assert cal.add_working_days(at(2026, 9, 30), 1) == due(2026, 10, 8)
    assert cal.add_working_days(at(2026, 9, 30), 3) == due(2026, 10, 10)
    assert cal.add_working_days(at(2026, 9, 30), 4) == due(2026, 10, 12)
    assert cal.add_working_days(at(2026, 9, 19), 1) == due(2026, 9, 20)


def test_deployment_file_adds_and_corrects_days(tmp_path: Path) -> None:
    """A deployment's calendar.yaml adds a holiday (a range too) and a workday, and wins."""
    (tmp_path / "calendar.yaml").write_text(
        "holidays:\n"
        "  - 2026-12-01            # a local day off\n"
        "  - '2026-12-03..2026-12-04'\n"
        "  - 2026-10-10            # the library says make-up workday\n"
        "workdays:\n"
        "  - 2026-11-29            # a Sunday\n"
        "  - '2026-10-08'\n",
        "utf-8",
    )
    cal = WorkCalendar.load(tmp_path)
    assert not cal.is_working_day(date(2026, 12, 1))
    assert not cal.is_working_day(date(2026, 12, 3))
    assert not cal.is_working_day(date(2026, 12, 4))
    assert not cal.is_working_day(date(2026, 10, 10))
    assert cal.is_working_day(date(2026, 11, 29))
    assert cal.is_working_day(date(2026, 10, 8))
    assert cal.add_working_days(at(2026, 11, 27), 1) == due(2026, 11, 29)
    assert cal.add_working_days(at(2026, 11, 29), 2) == due(2026, 12, 2)
    assert cal.add_working_days(at(2026, 12, 2), 1) == due(2026, 12, 7)
    # The packaged calendar is untouched by another deployment's file.
    assert not WorkCalendar.load().is_working_day(date(2026, 11, 29))
    assert WorkCalendar.load(tmp_path / "missing").is_working_day(date(2026, 12, 1))


@pytest.mark.parametrize(
    "text",
    [
        "holidays: [2026-12-01]\nworkdays: [2026-12-01]\n",
        "holidays: [not-a-date]\n",
        "holidays: ['2026-12-05..2026-12-01']\n",
        "holidays: 2026-12-01\n",
        "holiday: [2026-12-01]\n",
        "- 2026-12-01\n",
    ],
)
def test_bad_calendar_file_is_reported(tmp_path: Path, text: str) -> None:
    """A malformed file names itself instead of silently shifting deadlines."""
    (tmp_path / "calendar.yaml").write_text(text, "utf-8")
    with pytest.raises(KnowledgeError, match=r"calendar\.yaml"):
        WorkCalendar.load(tmp_path)


def test_far_year_falls_back_to_weekends(
    cal: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    """A year the library lists nothing for: Mon–Fri work, one warning per year, no crash."""
    caplog.set_level(logging.WARNING, logger="knowledge.workdays")
    assert not cal.is_working_day(date(2101, 1, 1))  # Saturday
    assert cal.is_working_day(date(2101, 1, 3))  # Monday
    assert cal.is_working_day(date(2101, 10, 3))  # would be National Day
    assert cal.add_working_days(at(2101, 1, 7), 1) == due(2101, 1, 10)  # Fri → Mon
    assert cal.working_days_between(at(2101, 1, 3), at(2101, 2, 1)) == 20
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2101" in warnings[0].getMessage()
    cal.is_working_day(date(2102, 6, 1))
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_far_year_with_deployment_days_is_quiet(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A deployment that lists a far year's holidays gets them and no warning."""
    (tmp_path / "calendar.yaml").write_text("holidays: ['2101-10-01..2101-10-07']\n", "utf-8")
    cal = WorkCalendar.load(tmp_path)
    caplog.set_level(logging.WARNING, logger="knowledge.workdays")
    assert not cal.is_working_day(date(2101, 10, 3))
    assert cal.is_working_day(date(2101, 10, 10))
    assert not caplog.records


def test_years_the_library_computes_are_not_a_fallback(
    cal: WorkCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    """The library lists statutory holidays up to 2100 (no 调休): used as they are, quietly."""
    caplog.set_level(logging.WARNING, logger="knowledge.workdays")
    assert not cal.is_working_day(date(2099, 10, 1))
    assert not cal.is_working_day(date(2028, 1, 26))
    assert not caplog.records


def test_working_days_between(cal: WorkCalendar) -> None:
    """Whole working days elapsed after the start's day, for overdue and escalation."""
    filed = at(2026, 11, 27)  # Friday
    assert cal.working_days_between(filed, at(2026, 11, 27, 18)) == 0
    assert cal.working_days_between(filed, at(2026, 11, 30, 18)) == 0  # Monday not over
    assert cal.working_days_between(filed, at(2026, 12, 1, 0)) == 1
    assert cal.working_days_between(filed, at(2026, 12, 2, 9)) == 2
    assert cal.working_days_between(filed, at(2026, 11, 20)) == 0  # end before start
    # Across the 2026 Spring Festival: only 14 Feb (Saturday) and 24 Feb count.
    assert cal.working_days_between(at(2026, 2, 13), at(2026, 2, 25)) == 2
    # Across National Day 2026: Sun 20 Sep, 21–24 Sep (25th is Mid-Autumn), 28–30 Sep, 8–10 Oct.
    assert cal.working_days_between(at(2026, 9, 18), at(2026, 10, 11)) == 1 + 4 + 3 + 3


@pytest.mark.parametrize("days", [0, 1, 2, 3, 5, 10])
@pytest.mark.parametrize(
    "filed",
    [at(2026, 2, 13), at(2026, 9, 30), at(2026, 11, 28), at(2027, 2, 4), at(2026, 12, 31, 23)],
)
def test_deadline_passes_after_exactly_n_working_days(
    cal: WorkCalendar, filed: datetime, days: int
) -> None:
    """A second after the deadline, `days` whole working days have elapsed (0 → 0 or 1 due)."""
    deadline = cal.add_working_days(filed, days)
    assert cal.is_working_day(deadline.date())
    elapsed = cal.working_days_between(filed, deadline + timedelta(seconds=1))
    if days:
        assert elapsed == days
        assert cal.working_days_between(filed, deadline) == days - 1
    else:
        assert elapsed <= 1

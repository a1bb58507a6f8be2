"""China's working days (holidays, 调休) for ticket deadlines: `holidays` + calendar.yaml."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from knowledge.data import load_yaml
from knowledge.faq import KnowledgeError

log = logging.getLogger(__name__)

FILENAME = "calendar.yaml"
PACKAGED = Path(__file__).with_name(FILENAME)
DEFAULT_TIMEZONE = "Asia/Shanghai"
END_OF_DAY = time(23, 59, 59)
_RANGE = ".."


@dataclass(frozen=True, slots=True)
class _Year:
    """One year's days off and make-up workdays as the library knows them."""

    holidays: frozenset[date]
    workdays: frozenset[date]


class WorkCalendar:
    """Which days are working days in China, and deadlines counted in working days."""

    def __init__(
        self,
        tz: ZoneInfo | None = None,
        *,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
    ) -> None:
        """A calendar in `tz` (default Asia/Shanghai) with extra `holidays` and `workdays`."""
        self.tz = tz if tz is not None else ZoneInfo(DEFAULT_TIMEZONE)
        self.extra_holidays = frozenset(holidays)
        self.extra_workdays = frozenset(workdays)
        both = self.extra_holidays & self.extra_workdays
        if both:
            raise ValueError(f"dates both holiday and workday: {_dates(both)}")
        self._years: dict[int, _Year] = {}

    @classmethod
    def load(cls, knowledge_dir: Path | None = None, *, tz: ZoneInfo | None = None) -> WorkCalendar:
        """The packaged calendar.yaml, then a deployment's calendar.yaml in `knowledge_dir`."""
        holidays: set[date] = set()
        workdays: set[date] = set()
        paths = [PACKAGED]
        if knowledge_dir is not None and (knowledge_dir / FILENAME).is_file():
            paths.append(knowledge_dir / FILENAME)
        for path in paths:
            off, on = parse_calendar(load_yaml(path), path)
            holidays = (holidays - on) | off
            workdays = (workdays - off) | on
        return cls(tz, holidays=holidays, workdays=workdays)

    def is_working_day(self, day: date) -> bool:
        """Mon–Fri and not a public holiday, or a 调休 make-up workday."""
        if isinstance(day, datetime):
            raise TypeError("is_working_day takes a date; convert a datetime with .date()")
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        year = self._year(day.year)
        if day in year.workdays:
            return True
        if day in year.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """End (23:59:59 local) of the `days`-th working day after `start`'s day (0: that day)."""
        # With 0 days: the end of the day of `start` when it is a working day, else of the next.
        if days < 0:
            raise ValueError("days must not be negative")
        day = self._local_date(start)
        if days == 0:
            while not self.is_working_day(day):
                day += timedelta(days=1)
        while days > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return datetime.combine(day, END_OF_DAY, tzinfo=self.tz)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days elapsed: those after `start`'s local day that ended by `end`."""
        # 0 when `end` is not later; working_days_between(s, add_working_days(s, n) + 1 s) == n.
        first = self._local_date(start) + timedelta(days=1)
        # A day has ended once `end` reaches the next midnight: count the days before end's day.
        last = self._local_date(end) - timedelta(days=1)
        count = 0
        day = first
        while day <= last:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def _local_date(self, moment: datetime) -> date:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("an aware datetime is needed (with tzinfo)")
        return moment.astimezone(self.tz).date()

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = self._build_year(year)
        return cached

    def _build_year(self, year: int) -> _Year:
        import holidays as holidays_lib  # imported on first use: about 0.1 s

        china = holidays_lib.China(years=year)
        off = frozenset(d for d in china if d.year == year)
        on = frozenset(d for d in china.weekend_workdays if d.year == year)
        if not off and not any(d.year == year for d in self.extra_holidays):
            log.warning(
                "no holiday data for %d: counting Mon–Fri as working days; add the official "
                "days to %s in LINLI_KNOWLEDGE_DIR",
                year,
                FILENAME,
            )
        return _Year(holidays=off, workdays=on)


def parse_calendar(data: Any, path: Path) -> tuple[frozenset[date], frozenset[date]]:
    """The (holidays, workdays) a calendar.yaml document lists; KnowledgeError when malformed."""
    if data is None:
        return frozenset(), frozenset()
    if not isinstance(data, dict):
        raise KnowledgeError(path, None, "expected a mapping with `holidays` and `workdays`")
    unknown = set(data) - {"holidays", "workdays"}
    if unknown:
        raise KnowledgeError(path, None, f"unknown keys {sorted(map(str, unknown))}")
    try:
        off = _date_list(data.get("holidays"))
    except ValueError as error:
        raise KnowledgeError(path, "holidays", str(error)) from None
    try:
        on = _date_list(data.get("workdays"))
    except ValueError as error:
        raise KnowledgeError(path, "workdays", str(error)) from None
    both = off & on
    if both:
        raise KnowledgeError(path, None, f"dates both holiday and workday: {_dates(both)}")
    return off, on


def _date_list(items: Any) -> frozenset[date]:
    if items is None:
        return frozenset()
    if not isinstance(items, list):
        raise ValueError("expected a list of dates")
    days: set[date] = set()
    for item in items:
        days.update(_date_item(item))
    return frozenset(days)


def _date_item(item: Any) -> list[date]:
    if isinstance(item, datetime):
        raise ValueError(f"{item} is a time, expected a date")
    if isinstance(item, date):
        return [item]
    if isinstance(item, str):
        try:
            if _RANGE in item:
                first_text, last_text = item.split(_RANGE)
                first = date.fromisoformat(first_text.strip())
                last = date.fromisoformat(last_text.strip())
                if last < first:
                    raise ValueError("range ends before it starts")
                return [first + timedelta(days=i) for i in range((last - first).days + 1)]
            return [date.fromisoformat(item.strip())]
        except ValueError as error:
            raise ValueError(f"bad date {item!r} ({error})") from None
    raise ValueError(f"bad date {item!r}")


def _dates(days: Iterable[date]) -> str:
    return ", ".join(d.isoformat() for d in sorted(days))

"""The monthly report a community files (月度统计报告): the month's ticket figures by category
and grid, the trend against earlier months, deliberation turnout, survey response rates and
care totals — as Markdown, or as an XLSX workbook with native charts (formula injection
escaped). `download()` is what the dashboard's download button calls."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.spreadsheet import safe_cell
from handlers import stats
from handlers.context import Services

FORMATS = ("md", "xlsx")
CONTENT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TREND_MONTHS = 6
PERCENT = "0.0%"


@dataclass(frozen=True, slots=True)
class Report:
    """The figures of a month and the months before it."""

    month: stats.Statistics
    trend: list[tuple[stats.Period, stats.TicketRow]]  # oldest first, ending with the month
    generated_at: datetime


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A report ready to send: its bytes, a file name and the content type."""

    content: bytes
    filename: str
    content_type: str


async def build(
    session: AsyncSession,
    services: Services,
    period: stats.Period,
    *,
    months: int = TREND_MONTHS,
    grid: str | None = None,
    now: datetime,
) -> Report:
    """Gather the month's figures and the trend over the `months` before it."""
    found = await stats.statistics(session, services.calendar, period, grid=grid)
    earlier = stats.previous_months(period, months, services.timezone)
    trend = await stats.trend(session, services.calendar, earlier, grid=grid)
    trend.append((period, found.tickets.total))
    return Report(found, trend, now)


async def download(
    sessions: async_sessionmaker[AsyncSession],
    services: Services,
    month: str,
    *,
    fmt: str = "md",
    locale: str = "zh",
    grid: str | None = None,
    now: datetime,
) -> ReportFile:
    """The report of `month` (YYYY-MM) as a file (ValueError for a bad month or format)."""
    if fmt not in FORMATS:
        raise ValueError(f"the format is one of {', '.join(FORMATS)}")
    period = stats.parse_month(month, services.timezone)
    async with sessions() as session:
        report = await build(session, services, period, grid=grid, now=now)
    if fmt == "md":
        content = markdown(report, services, locale).encode("utf-8")
    else:
        content = workbook(report, services, locale)
    suffix = f"-{grid}" if grid else ""
    return ReportFile(content, f"linli-report-{period.label}{suffix}.{fmt}", CONTENT_TYPES[fmt])


def _t(services: Services, locale: str, key: str, **values: object) -> str:
    return services.texts.get(locale, f"stats.{key}", **values)


def _header(services: Services, locale: str, first: str) -> list[str]:
    return [first] + [stats.metric_label(services, locale, m) for m in stats.METRICS]


def _row_cells(row: stats.TicketRow) -> list[int | float | None]:
    return [row.value(metric) for metric in stats.METRICS]


def _local(services: Services, when: datetime) -> str:
    return when.astimezone(services.timezone).strftime("%Y-%m-%d %H:%M")


# --- Markdown -------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|~"})


def md_text(text: object) -> str:
    """Text shown literally in Markdown: one line, markup and table bars escaped."""
    flat = " ".join(str(text).split())
    return flat.translate(_MD_SPECIAL)


def _md_value(metric: str, value: int | float | None) -> str:
    if metric in stats.COUNTS:
        return str(value if value is not None else 0)
    return stats.percent(value if isinstance(value, float | int) else None)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _md_ticket_rows(
    services: Services, locale: str, rows: Sequence[stats.TicketRow], label: Any
) -> list[list[str]]:
    return [
        [md_text(label(services, locale, row.key))]
        + [_md_value(m, row.value(m)) for m in stats.METRICS]
        for row in rows
    ]


def markdown(report: Report, services: Services, locale: str = "zh") -> str:
    """The report as Markdown."""
    found = report.month
    t = lambda key, **values: _t(services, locale, key, **values)  # noqa: E731
    lines = [f"# {md_text(t('title', month=found.period.label))}", ""]
    if found.grid is not None:
        grid = stats.grid_label(services, locale, found.grid)
        lines += [md_text(t("scope_grid", grid=grid)), ""]
    lines += [md_text(t("generated", time=_local(services, report.generated_at))), ""]

    lines += [f"## {t('tickets')}", ""]
    total = found.tickets.total
    lines += _md_table(
        [t("metric"), found.period.label],
        [[stats.metric_label(services, locale, m), _md_value(m, total.value(m))]
         for m in stats.METRICS],
    )  # fmt: skip
    lines += ["", f"### {t('by_category')}", ""]
    lines += _md_table(
        _header(services, locale, t("category")),
        _md_ticket_rows(services, locale, found.tickets.by_category, stats.category_label),
    )
    lines += ["", f"### {t('by_grid')}", ""]
    lines += _md_table(
        _header(services, locale, t("grid")),
        _md_ticket_rows(services, locale, found.tickets.by_grid, stats.grid_label),
    )
    lines += ["", f"### {t('trend', count=len(report.trend))}", ""]
    lines += _md_table(
        _header(services, locale, t("month")),
        [[period.label] + [_md_value(m, row.value(m)) for m in stats.METRICS]
         for period, row in report.trend],
    )  # fmt: skip
    lines += ["", md_text(t("notes")), ""]

    lines += [f"## {t('deliberation')}", ""]
    topics = found.topics
    if topics.topics:
        lines += [
            md_text(
                t("topics_summary", count=len(topics.topics), participants=topics.participants,
                  turnout=stats.percent(topics.average_turnout))
            ),
            "",
        ]  # fmt: skip
        lines += _md_table(
            [t("topic"), t("status"), t("participants"), t("eligible"), t("turnout")],
            [[md_text(r.title), t(f"status_{r.status}"), str(r.participants), str(r.eligible),
              stats.percent(r.turnout)] for r in topics.topics],
        )  # fmt: skip
    else:
        lines.append(t("no_topics"))
    lines += ["", f"## {t('surveys')}", ""]
    surveys = found.surveys
    if surveys.surveys:
        rows = [[md_text(r.title), _local(services, r.sent_at), str(r.invited), str(r.completed),
                 stats.percent(r.rate)] for r in surveys.surveys]  # fmt: skip
        rows.append([t("total"), "", str(surveys.invited), str(surveys.completed),
                     stats.percent(surveys.rate)])  # fmt: skip
        lines += _md_table(
            [t("survey"), t("sent"), t("invited"), t("completed"), t("response_rate")], rows
        )
    else:
        lines.append(t("no_surveys"))
    lines += ["", f"## {t('care')}", ""]
    lines += _md_table([t("metric"), t("value")], [[t(k), str(v)] for k, v in _care(found)])
    return "\n".join(lines) + "\n"


def _care(found: stats.Statistics) -> list[tuple[str, int]]:
    care = found.care
    return [
        ("checkins_active", care.checkins_active),
        ("checkin_tickets", care.checkin_tickets),
        ("checkin_help", care.checkin_help),
        ("counselling_referrals", care.counselling_referrals),
        ("crisis_alerts", care.crisis_alerts),
    ]


# --- XLSX -----------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """A value for a cell: numbers stay numbers, None stays empty, text is formula-escaped."""
    if value is None:
        return None
    cell = safe_cell(value)
    return ILLEGAL_CHARACTERS_RE.sub("", cell) if isinstance(cell, str) else cell


def _append(sheet: Worksheet, values: Sequence[Any], *, rates_from: int | None = None) -> None:
    sheet.append([_cell(v) for v in values])
    for column, cell in enumerate(sheet[sheet.max_row], start=1):
        if isinstance(cell.value, str):
            cell.data_type = "s"  # never "f" (formula), whatever the text looks like
        elif rates_from is not None and column >= rates_from:
            cell.number_format = PERCENT


def _ticket_sheet(
    book: Workbook, title: str, header: list[str], rows: Sequence[tuple[str, stats.TicketRow]]
) -> Worksheet:
    sheet = book.create_sheet(title)
    _append(sheet, header)
    first_rate = 2 + len(stats.COUNTS)
    for label, row in rows:
        _append(sheet, [label, *_row_cells(row)], rates_from=first_rate)
    sheet.column_dimensions["A"].width = 22
    return sheet


def workbook(report: Report, services: Services, locale: str = "zh") -> bytes:
    """The report as an XLSX workbook with native bar and line charts."""
    found = report.month
    t = lambda key, **values: _t(services, locale, key, **values)  # noqa: E731
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = t("sheet_summary")
    _append(summary, [t("title", month=found.period.label)])
    if found.grid is not None:
        _append(summary, [t("scope_grid", grid=stats.grid_label(services, locale, found.grid))])
    _append(summary, [t("generated", time=_local(services, report.generated_at))])
    _append(summary, [t("metric"), found.period.label])
    for metric in stats.METRICS:
        label = stats.metric_label(services, locale, metric)
        rates_from = 2 if metric in stats.RATES else None
        _append(summary, [label, found.tickets.total.value(metric)], rates_from=rates_from)
    topics, surveys = found.topics, found.surveys
    _append(summary, [t("deliberation"), len(topics.topics)])
    _append(summary, [t("participants"), topics.participants])
    _append(summary, [t("turnout"), topics.average_turnout], rates_from=2)
    _append(summary, [t("surveys"), len(surveys.surveys)])
    _append(summary, [t("invited"), surveys.invited])
    _append(summary, [t("completed"), surveys.completed])
    _append(summary, [t("response_rate"), surveys.rate], rates_from=2)
    _append(summary, [t("care")])
    for key, value in _care(found):
        _append(summary, [t(key), value])
    _append(summary, [t("notes")])
    summary.column_dimensions["A"].width = 40

    categories = _ticket_sheet(
        book, t("sheet_categories"), _header(services, locale, t("category")),
        [(stats.category_label(services, locale, r.key), r) for r in found.tickets.by_category],
    )  # fmt: skip
    _counts_chart(categories, t("volume_chart"), len(found.tickets.by_category), "L2")
    grids = _ticket_sheet(
        book, t("sheet_grids"), _header(services, locale, t("grid")),
        [(stats.grid_label(services, locale, r.key), r) for r in found.tickets.by_grid],
    )  # fmt: skip
    _counts_chart(grids, t("volume_chart"), len(found.tickets.by_grid), "L2")
    trend = _ticket_sheet(
        book, t("sheet_trend"), _header(services, locale, t("month")),
        [(period.label, row) for period, row in report.trend],
    )  # fmt: skip
    _counts_chart(trend, t("volume_chart"), len(report.trend), "L2")
    _rates_chart(trend, t("rates_chart"), len(report.trend), "L20")

    sheet = book.create_sheet(t("sheet_topics"))
    _append(sheet, [t("topic"), t("status"), t("participants"), t("eligible"), t("turnout")])
    for r in topics.topics:
        _append(sheet, [r.title, t(f"status_{r.status}"), r.participants, r.eligible, r.turnout],
                rates_from=5)  # fmt: skip
    sheet = book.create_sheet(t("sheet_surveys"))
    _append(sheet, [t("survey"), t("sent"), t("invited"), t("completed"), t("response_rate")])
    for s in surveys.surveys:
        _append(sheet, [s.title, _local(services, s.sent_at), s.invited, s.completed, s.rate],
                rates_from=5)  # fmt: skip
    _append(sheet, [t("total"), None, surveys.invited, surveys.completed, surveys.rate],
            rates_from=5)  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _counts_chart(sheet: Worksheet, title: str, rows: int, anchor: str) -> None:
    """Received and closed as clustered bars, read from the sheet's own cells."""
    if rows == 0:
        return
    chart = BarChart()
    chart.type = "col"
    chart.title = title
    data = Reference(sheet, min_col=2, max_col=1 + len(stats.COUNTS), min_row=1, max_row=rows + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows + 1))
    chart.width, chart.height = 18, 8
    sheet.add_chart(chart, anchor)


def _rates_chart(sheet: Worksheet, title: str, rows: int, anchor: str) -> None:
    """The five rates as lines over the months."""
    if rows == 0:
        return
    chart = LineChart()
    chart.title = title
    first = 2 + len(stats.COUNTS)
    data = Reference(
        sheet, min_col=first, max_col=first + len(stats.RATES) - 1, min_row=1, max_row=rows + 1
    )
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows + 1))
    chart.y_axis.number_format = PERCENT
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.width, chart.height = 18, 8
    sheet.add_chart(chart, anchor)

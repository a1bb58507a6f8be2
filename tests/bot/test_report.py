"""The monthly report on a hand-made November whose right figures are worked out here, in
Markdown, in the XLSX cells, and through `linli report`."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Runtime, build_runtime
from bot.config import Settings
from bot.report import download, markdown
from handlers import stats
from handlers.context import Services
from storage import tickets
from storage.models import CheckIn, Resident, Survey, SurveyResponse, Topic

TZ = ZoneInfo("Asia/Shanghai")
TOPIC_TITLE = '=HYPERLINK("http://x")|停车 <b>'


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=TZ)


async def _ticket(session: AsyncSession, created: datetime, **fields: object) -> None:
    ticket = await tickets.create_ticket(
        session, kind=str(fields.pop("kind", "complaint")), resident_id=None, summary="x",
        now=created, year=2026, category=fields.pop("category", None),  # type: ignore[arg-type]
        grid=fields.pop("grid", None), due_at=fields.pop("due_at", None),  # type: ignore[arg-type]
        priority=int(fields.pop("priority", 0)),  # type: ignore[call-overload]
    )  # fmt: skip
    for name, value in fields.items():
        setattr(ticket, name, value)


async def _november(session: AsyncSession) -> None:
    """Five complaints received in November 2026, one received in October and closed in
    November, care tickets, a closed topic and two surveys."""
    # T1 Mon 2 Nov: claimed Tue 3 (on time), due Fri 6, resolved Thu 5, solved, rated 5, closed.
    await _ticket(
        session, at(11, 2), category="facilities", grid="hx-1", assigned_at=at(11, 3, 9),
        due_at=at(11, 6, 23), resolved_at=at(11, 5), survey="solved", satisfaction=5,
        status="closed", closed_at=at(11, 6),
    )  # fmt: skip
    # T2 Fri 6 Nov: claimed Tue 10 (late: Mon 9 was the working day), due Fri 13, resolved
    # Mon 16 (late), returned once (发回重办), then solved, rated 3, closed Tue 17.
    await _ticket(
        session, at(11, 6), category="facilities", grid="hx-2", assigned_at=at(11, 10),
        due_at=at(11, 13, 23), resolved_at=at(11, 16), reopen_count=1, survey="solved",
        satisfaction=3, status="closed", closed_at=at(11, 17),
    )  # fmt: skip
    # T3 Wed 11 Nov: never claimed, due Wed 18: overdue at the end of the month.
    await _ticket(session, at(11, 11), category="sanitation", grid="hx-1", due_at=at(11, 18, 23))
    # T4 Mon 23 Nov: claimed the same day, resolved on time, no answer from the resident.
    await _ticket(
        session, at(11, 23), category="sanitation", grid="hx-1", assigned_at=at(11, 23, 15),
        due_at=at(11, 27, 23), resolved_at=at(11, 25), survey="unknown", status="resolved",
    )  # fmt: skip
    # T5 Mon 30 Nov: no grid, not claimed, due in December (not yet due).
    await _ticket(session, at(11, 30), category="noise", due_at=at(12, 4, 23))
    # T6 received Tue 20 Oct, claimed and resolved on time, rated 4, closed Tue 3 Nov.
    await _ticket(
        session, at(10, 20), category="facilities", grid="hx-1", assigned_at=at(10, 20, 11),
        due_at=at(10, 27, 23), resolved_at=at(10, 26), survey="solved", satisfaction=4,
        status="closed", closed_at=at(11, 3),
    )  # fmt: skip
    # Care work (totals only) and a consultation that is not a complaint.
    await _ticket(session, at(11, 5), kind="crisis", priority=2)
    await _ticket(session, at(11, 8), kind="counseling")
    await _ticket(session, at(11, 9), kind="counseling")
    await _ticket(session, at(11, 9), kind="checkin", priority=1)
    await _ticket(session, at(11, 10), kind="checkin")
    await _ticket(session, at(11, 12), kind="consultation", category="facilities", grid="hx-1")
    await _ticket(session, at(12, 1), kind="crisis")  # December: not counted
    senior = Resident(channel="console", external_id="senior", locale="zh")
    session.add(senior)
    await session.flush()
    session.add(CheckIn(resident_id=senior.id, at="09:00", active=True, created_at=at(11, 1)))
    session.add(
        Topic(
            title=TOPIC_TITLE, body="", options=["好", "不好"], mode="vote", scope="all",
            rule="majority", status="closed", opens_at=at(11, 10), closes_at=at(11, 20),
            result={"participants": 3, "eligible": 10, "turnout": 0.3, "votes": {}},
            created_at=at(11, 9), closed_at=at(11, 20),
        )
    )  # fmt: skip
    session.add(
        Topic(
            title="October", body="", options=[], mode="vote", scope="all", rule="majority",
            status="closed", opens_at=at(10, 1), closes_at=at(10, 10),
            result={"participants": 1, "eligible": 1, "turnout": 1.0}, created_at=at(10, 1),
        )
    )  # fmt: skip
    for title, sent, invited, answered in (("满意度调查", 15, 4, 3), ("停车问卷", 20, 6, 0)):
        survey = Survey(
            title=title, audience="all", send_at=at(11, sent), sent_at=at(11, sent),
            state="open", invited=invited, created_at=at(11, 1),
        )  # fmt: skip
        session.add(survey)
        await session.flush()
        for number in range(answered):
            session.add(SurveyResponse(id=f"{title}-{number}", survey_id=survey.id))


# Worked out by hand from the tickets above (rates are shares of tickets received in November).
TOTAL = {
    "received": 5,  # T1–T5
    "closed": 3,  # T1, T2 and October's T6
    "claimed_on_time": 0.4,  # T1, T4 of 5
    "resolved_on_time": 0.5,  # due or resolved: T1, T2, T3, T4; on time: T1, T4
    "solved": 0.6667,  # resolved at least once: T1, T2, T4; solved: T1, T2
    "satisfied": 0.5,  # rated 5 and 3
    "reopened": 0.3333,  # T2 of T1, T2, T4
}
CATEGORIES = {
    "facilities": (2, 3, 0.5, 0.5, 1.0, 0.5, 0.5),
    "noise": (1, 0, 0.0, None, None, None, None),
    "sanitation": (2, 0, 0.5, 0.5, 0.0, None, 0.0),
}
GRIDS = {
    "-": (1, 0, 0.0, None, None, None, None),
    "hx-1": (3, 2, 0.6667, 0.6667, 0.5, 1.0, 0.0),
    "hx-2": (1, 1, 0.0, 0.0, 1.0, 0.0, 1.0),
}
OCTOBER = (1, 0, 1.0, 1.0, 1.0, 1.0, 0.0)


@pytest.fixture
async def november(runtime: Runtime) -> Runtime:
    async with runtime.sessions.begin() as session:
        await _november(session)
    return runtime


@pytest.fixture
async def november_everywhere(database_url: str, services: Services) -> AsyncIterator[Runtime]:
    """The same November on SQLite and, when configured, PostgreSQL."""
    config = Settings.from_mapping({"database_url": database_url, "secret_key": "k"})
    runtime = await build_runtime(config, upgrade=False, services=services)
    async with runtime.sessions.begin() as session:
        await _november(session)
    yield runtime
    await runtime.close()


async def test_the_figures_of_november(november_everywhere: Runtime) -> None:
    november = november_everywhere
    services = november.services
    period = stats.parse_month("2026-11", TZ)
    async with november.sessions() as session:
        found = await stats.statistics(session, services.calendar, period)
        hx1 = await stats.ticket_stats(session, services.calendar, period, grid="hx-1")
    assert {m: found.tickets.total.value(m) for m in stats.METRICS} == TOTAL
    assert {r.key: tuple(r.value(m) for m in stats.METRICS)
            for r in found.tickets.by_category} == CATEGORIES  # fmt: skip
    assert {r.key: tuple(r.value(m) for m in stats.METRICS)
            for r in found.tickets.by_grid} == GRIDS  # fmt: skip
    assert tuple(hx1.total.value(m) for m in stats.METRICS) == GRIDS["hx-1"]
    assert [r.key for r in hx1.by_grid] == ["hx-1"]
    assert [t.title for t in found.topics.topics] == [TOPIC_TITLE]
    assert found.topics.participants == 3 and found.topics.average_turnout == 0.3
    assert [(s.invited, s.completed, s.rate) for s in found.surveys.surveys] == [
        (4, 3, 0.75),
        (6, 0, 0.0),
    ]
    assert found.surveys.rate == 0.3
    care = found.care
    assert (care.checkins_active, care.checkin_tickets, care.checkin_help) == (1, 2, 1)
    assert (care.counselling_referrals, care.crisis_alerts) == (2, 1)


def _md_row(label: str, values: tuple[int | float | None, ...]) -> str:
    shown = [str(v) if i < 2 else stats.percent(v) for i, v in enumerate(values)]
    return "| " + " | ".join([label, *shown]) + " |"


async def test_the_markdown_report(november: Runtime) -> None:
    made = await download(november.sessions, november.services, "2026-11", now=november.clock())
    assert made.filename == "linli-report-2026-11.md"
    assert made.content_type.startswith("text/markdown")
    text = made.content.decode("utf-8")
    assert text.startswith("# 社区月度统计报告（2026-11）\n")
    for line in (
        "| 受理数 | 5 |", "| 办结数 | 3 |", "| 按时签收率 | 40.0% |", "| 按期办结率 | 50.0% |",
        "| 解决率 | 66.7% |", "| 满意率 | 50.0% |", "| 发回重办率 | 33.3% |",
        _md_row("道路设施", CATEGORIES["facilities"]),
        _md_row("噪音扰民", CATEGORIES["noise"]),
        _md_row("环境卫生", CATEGORIES["sanitation"]),
        _md_row("未分类", GRIDS["-"]),
        _md_row("和谐社区第一网格", GRIDS["hx-1"]),
        _md_row("和谐社区第二网格", GRIDS["hx-2"]),
        _md_row("2026-10", OCTOBER),
        _md_row("2026-05", (0, 0, None, None, None, None, None)),
        "| 满意度调查 | 2026-11-15 10:00 | 4 | 3 | 75.0% |",
        "| 合计 |  | 10 | 3 | 30.0% |",
        "| 危机预警 | 1 |", "| 心理咨询转介 | 2 |", "| 每日问候转为事项（未应答或求助） | 2 |",
        "| 其中老人主动求助 | 1 |", "| 独居老人每日问候在册人数 | 1 |",
    ):  # fmt: skip
        assert line in text.splitlines(), line
    # The topic title is shown literally: its table bar and tag cannot break the table.
    assert '| =HYPERLINK("http://x")\\|停车 \\<b\\> | 已结束 | 3 | 10 | 30.0% |' in text
    assert "### 近 7 个月趋势" in text and text.count("| 2026-0") == 5


async def test_the_english_markdown_report(november: Runtime) -> None:
    async with november.sessions() as session:
        from bot.report import build

        report = await build(
            session, november.services, stats.parse_month("2026-11", TZ), now=november.clock()
        )
    text = markdown(report, november.services, "en")
    assert "# Community monthly report (2026-11)" in text
    assert "| On-time claim rate | 40.0% |" in text and "| Crisis alerts | 1 |" in text


async def test_the_xlsx_report_has_the_figures_and_native_charts(november: Runtime) -> None:
    made = await download(
        november.sessions, november.services, "2026-11", now=november.clock(), fmt="xlsx"
    )
    assert made.filename == "linli-report-2026-11.xlsx"
    book = load_workbook(io.BytesIO(made.content))
    summary = book["概览"]
    values = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if len(row) > 1}
    labels = ("受理数", "办结数", "按时签收率", "按期办结率", "解决率", "满意率", "发回重办率")
    assert [values[label] for label in labels] == list(TOTAL.values())
    assert values["危机预警"] == 1 and values["回收率"] == 0.3 and values["参与率"] == 0.3
    categories = [tuple(r) for r in book["按类别"].iter_rows(min_row=2, values_only=True)]
    assert categories == [
        ("道路设施", *CATEGORIES["facilities"]),
        ("噪音扰民", *CATEGORIES["noise"]),
        ("环境卫生", *CATEGORIES["sanitation"]),
    ]
    grids = {r[0]: tuple(r[1:]) for r in book["按网格"].iter_rows(min_row=2, values_only=True)}
    assert grids["和谐社区第一网格"] == GRIDS["hx-1"]
    trend = list(book["趋势"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in trend] == [f"2026-{m:02d}" for m in range(5, 12)]
    assert tuple(trend[-2][1:]) == OCTOBER and tuple(trend[-1][1:3]) == (5, 3)
    assert book["按类别"]["D2"].number_format == "0.0%"
    assert len(book["趋势"]._charts) == 2 and len(book["按类别"]._charts) == 1
    # Formula injection: the topic title is text with a leading apostrophe, never a formula.
    topic = book["居民议事"]["A2"]
    assert topic.data_type == "s" and topic.value == "'" + TOPIC_TITLE


async def test_a_grid_report_and_bad_requests(november: Runtime) -> None:
    made = await download(
        november.sessions, november.services, "2026-11", now=november.clock(), grid="hx-2"
    )
    text = made.content.decode("utf-8")
    assert made.filename == "linli-report-2026-11-hx-2.md"
    assert "诉求统计范围：和谐社区第二网格" in text and "| 受理数 | 1 |" in text
    with pytest.raises(ValueError):
        await download(november.sessions, november.services, "2026-13", now=november.clock())
    with pytest.raises(ValueError):
        await download(
            november.sessions, november.services, "2026-11", now=november.clock(), fmt="pdf"
        )


@pytest.mark.slow
def test_linli_report_on_the_command_line(tmp_path: Path, sqlite_url: str) -> None:
    env = {"LINLI_DATABASE_URL": sqlite_url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = [sys.executable, "-m", "bot", "report", "--month", "2026-11"]
    shown = subprocess.run([*run, "--lang", "en"], env=env, capture_output=True, text=True,
                           check=True, cwd=tmp_path)  # fmt: skip
    assert "# Community monthly report (2026-11)" in shown.stdout
    assert "| Received | 0 |" in shown.stdout
    out = tmp_path / "r.xlsx"
    subprocess.run([*run, "--format", "xlsx", "--out", str(out)], env=env, check=True,
                   capture_output=True, cwd=tmp_path)  # fmt: skip
    assert load_workbook(out)["概览"]["A1"].value == "社区月度统计报告（2026-11）"
    failed = subprocess.run([*run[:-1], "2026-1"], env=env, capture_output=True, text=True,
                            cwd=tmp_path)  # fmt: skip
    assert failed.returncode != 0 and "YYYY-MM" in failed.stderr

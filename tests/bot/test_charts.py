"""Server-rendered SVG charts: well-formed, escaped, script- and style-free, with their
stylesheet apart (the dashboard's CSP allows no inline style)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot import charts
from handlers import stats
from handlers.context import Services
from handlers.kpi import Figures

HOSTILE = "<script>alert(1)</script>&\"'\x07"


def _no_active_content(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML
    tags = {node.tag.split("}")[-1] for node in root.iter()}
    assert not tags & {"script", "style", "foreignObject", "a"}
    assert all("style" not in n.attrib and not any(k.startswith("on") for k in n.attrib)
               for n in root.iter())  # fmt: skip
    assert "<script" not in svg and "javascript:" not in svg and "<!--" not in svg
    assert "linli-chart" in root.get("class", "")
    return root


def test_labels_are_escaped_and_nothing_runs() -> None:
    svg = charts.bar_chart(
        HOSTILE, [HOSTILE, "二月"], [charts.Series(HOSTILE, [1, None]), charts.Series("b", [2, 3])]
    )
    root = _no_active_content(svg)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    texts = " ".join(node.text or "" for node in root.iter())
    assert "<script>alert(1)</script>" in texts  # shown as text, never as markup
    assert root.get("aria-label", "").startswith("<script>")


def test_percent_line_chart_and_the_stylesheet() -> None:
    svg = charts.line_chart("满意率", ["2026-10", "2026-11"],
                            [charts.Series("满意率", [0.5, 0.875])], percent=True)  # fmt: skip
    _no_active_content(svg)
    assert "87.5%" in svg and "100.0%" in svg
    css = charts.stylesheet()
    assert "svg.linli-chart .color-7" in css and "#chart-" not in css and "<" not in css
    standalone = charts.standalone(svg)
    assert standalone.startswith("<?xml") and "<style>" in standalone
    ET.fromstring(standalone.split("\n", 1)[1])


def test_bad_series_are_refused() -> None:
    with pytest.raises(ValueError):
        charts.bar_chart("t", ["a"], [charts.Series("s", [1, 2])])
    with pytest.raises(ValueError):
        charts.bar_chart("t", ["a"], [charts.Series(str(i), [i]) for i in range(9)])


def test_ready_made_charts_of_the_statistics(services: Services) -> None:
    tz = services.timezone
    figures = Figures(4, 0.5, 0.5, 0.6667, 0.5, 0.6667, 0.3333)
    row = stats.TicketRow("facilities", 3, figures)
    months = [*stats.previous_months(stats.parse_month("2026-11", tz), 2, tz),
              stats.parse_month("2026-11", tz)]  # fmt: skip
    assert [p.label for p in months] == ["2026-09", "2026-10", "2026-11"]
    trend = [(period, row) for period in months]
    for svg in (
        charts.rates_trend_chart(services, "zh", trend),
        charts.volume_trend_chart(services, "en", trend),
        charts.breakdown_chart(services, "zh", [row], by="category"),
    ):
        _no_active_content(svg)
    assert "按时签收率" in charts.rates_trend_chart(services, "zh", trend)
    assert "道路设施" in charts.breakdown_chart(services, "zh", [row], by="category")


def test_periods(services: Services) -> None:
    tz = services.timezone
    december = stats.parse_month("2026-12", tz)
    assert december.start.isoformat() == "2026-12-01T00:00:00+08:00"
    assert december.end.isoformat() == "2027-01-01T00:00:00+08:00"
    january = stats.parse_month("2027-01", tz)
    assert [p.label for p in stats.previous_months(january, 2, tz)] == ["2026-11", "2026-12"]
    for bad in ("2026-13", "2026-1", "1999-12", "x"):
        with pytest.raises(ValueError):
            stats.parse_month(bad, tz)
    assert stats.percent(None) == "—" and stats.percent(0.66667) == "66.7%"

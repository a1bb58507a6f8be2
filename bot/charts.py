"""Charts for staff as SVG rendered on the server (pygal), safe to put inside a page.

Every label is XML-escaped by the serializer; the SVG has no script, no comments, no inline
`style` attributes and no `<style>` element, so it works under the dashboard's strict CSP
(`default-src 'self'`). Its look comes from `stylesheet()`, which the page serves as a file;
`standalone()` bundles the two for a download or an `<img>`.

    svg = charts.line_chart("近 6 个月", ["2026-06", …], [charts.Series("满意率", [0.9, …])],
                            percent=True)
"""

from __future__ import annotations

import functools
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import pygal
from pygal.style import Style

from handlers import stats
from handlers.context import Services

# pygal appends a legacy import hook (for its `pygal.maps` plugins, unused here) that has no
# `find_spec`, so every later import of a module not yet loaded raises an ImportWarning.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
CSS_CLASS = "linli-chart"
MAX_SERIES = 8
MAX_LABEL_CHARS = 40
WIDTH, HEIGHT = 720, 360
_ID = re.compile(r"#chart-[0-9a-f-]{36}")

_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#333333",
    foreground_strong="#111111",
    foreground_subtle="#777777",
    font_family='"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif',
    colors=("#1f6feb", "#2da44e", "#d29922", "#cf222e", "#8250df", "#1b7c83", "#bf3989",
            "#6e7781"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Series:
    """One named line or set of bars; None is a gap (nothing to count)."""

    name: str
    values: Sequence[float | int | None]


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    percent: bool = False,
    horizontal: bool = False,
) -> str:
    """Bars per label, one colour per series; `percent` shows shares (0..1) as 0–100 %."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    return _render(kind, title, labels, series, percent=percent)


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], *, percent: bool = False
) -> str:
    """A line per series over the labels (months, days); `percent` as for `bar_chart`."""
    return _render(pygal.Line, title, labels, series, percent=percent)


@functools.cache
def stylesheet() -> str:
    """The CSS every chart of this module needs, scoped to `svg.linli-chart`."""
    probe = pygal.Line(**_config("", percent=False))
    probe.x_labels = ["a", "b"]
    for number in range(MAX_SERIES):
        probe.add(str(number), [number, number + 1])
    root = ET.fromstring(probe.render(is_unicode=True))
    css = "".join(node.text or "" for node in root.iter(f"{{{SVG_NS}}}style"))
    return _ID.sub(f"svg.{CSS_CLASS}", css).strip() + "\n"


def standalone(svg: str) -> str:
    """A chart as a self-contained SVG file (its stylesheet inside), for a download."""
    _register_namespaces()
    root = ET.fromstring(svg)
    style = ET.Element(f"{{{SVG_NS}}}style")
    style.text = stylesheet()
    root.insert(0, style)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def rates_trend_chart(
    services: Services, locale: str, trend: Sequence[tuple[stats.Period, stats.TicketRow]]
) -> str:
    """The five rates month by month (the trend of the monthly report)."""
    return line_chart(
        services.texts.get(locale, "stats.rates_chart"),
        [period.label for period, _ in trend],
        [
            Series(stats.metric_label(services, locale, metric),
                   [row.value(metric) for _, row in trend])
            for metric in stats.RATES
        ],
        percent=True,
    )  # fmt: skip


def volume_trend_chart(
    services: Services, locale: str, trend: Sequence[tuple[stats.Period, stats.TicketRow]]
) -> str:
    """Tickets received and closed month by month."""
    return bar_chart(
        services.texts.get(locale, "stats.volume_chart"),
        [period.label for period, _ in trend],
        [
            Series(stats.metric_label(services, locale, metric),
                   [row.value(metric) for _, row in trend])
            for metric in stats.COUNTS
        ],
    )  # fmt: skip


def breakdown_chart(
    services: Services, locale: str, rows: Sequence[stats.TicketRow], *, by: str
) -> str:
    """Received and closed per category (`by="category"`) or grid (`by="grid"`)."""
    label = stats.category_label if by == "category" else stats.grid_label
    return bar_chart(
        services.texts.get(locale, f"stats.by_{by}"),
        [label(services, locale, row.key) for row in rows],
        [
            Series(stats.metric_label(services, locale, metric),
                   [row.value(metric) for row in rows])
            for metric in stats.COUNTS
        ],
        horizontal=True,
    )  # fmt: skip


def _config(title: str, *, percent: bool) -> dict[str, object]:
    config: dict[str, object] = {
        "title": title,
        "style": _STYLE,
        "width": WIDTH,
        "height": HEIGHT,
        "js": (),
        "disable_xml_declaration": True,
        "explicit_size": False,
        "legend_at_bottom": True,
        "truncate_legend": MAX_LABEL_CHARS,
        "truncate_label": MAX_LABEL_CHARS,
        "print_values": False,
        "show_y_guides": True,
        "include_x_axis": True,
        "no_data_text": "—",
    }
    if percent:
        config["range"] = (0, 1)
        config["value_formatter"] = stats.percent
        config["y_labels"] = [0, 0.25, 0.5, 0.75, 1]
        config["formatter"] = stats.percent
    return config


def _render(
    kind: type[pygal.graph.graph.Graph],
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    percent: bool,
) -> str:
    if len(series) > MAX_SERIES:
        raise ValueError(f"a chart shows at most {MAX_SERIES} series")
    chart = kind(**_config(_text(title), percent=percent))
    chart.x_labels = [_text(label) for label in labels]
    if percent:
        chart.y_label_formatter = stats.percent
    for one in series:
        if len(one.values) != len(labels):
            raise ValueError(f"series {one.name!r}: {len(one.values)} values, {len(labels)} labels")
        chart.add(_text(one.name), [None if v is None else float(v) for v in one.values])
    return _clean(chart.render(is_unicode=True))


def _text(value: str) -> str:
    """Printable text only (control characters would make the XML invalid)."""
    return "".join(c if c.isprintable() else " " for c in str(value))


def _register_namespaces() -> None:
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)


def _clean(svg: str) -> str:
    """pygal's SVG without script, style element, inline styles or per-chart ids."""
    _register_namespaces()
    root = ET.fromstring(svg)  # comments are dropped by the parser
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{SVG_NS}}}script", f"{{{SVG_NS}}}style"):
                parent.remove(child)
    for node in root.iter():
        inline = node.attrib.pop("style", None)
        if inline is not None and "opacity: 0" in inline:
            node.set("opacity", "0")
        for name in ("onclick", "onload", "onmouseover"):
            node.attrib.pop(name, None)
    root.attrib.pop("id", None)
    root.set("class", f"{CSS_CLASS} {root.get('class', '')}".strip())
    root.set("role", "img")
    title = root.find(f".//{{{SVG_NS}}}text[@class='title plot_title']")
    if title is not None and title.text:
        root.set("aria-label", title.text)
    return ET.tostring(root, encoding="unicode")

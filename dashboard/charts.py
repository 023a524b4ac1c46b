"""ECharts options built on the server: small pure functions returning plain dicts.

Each page passes the option to ``{% chart %}`` together with the table rows the user can switch
to (``templates/_chart.html``); ``static/js/charts.js`` only renders it.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

GOOD, BAD, NEUTRAL, ACCENT = "#2e7d32", "#c62828", "#90a4ae", "#1565c0"
_GRID = {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True}
# Room on the value axis for the labels at the ends of the bars: ``containLabel`` keeps the
# axis labels inside the chart, not the series' labels, so without it a label at the end of
# the longest bar ("38.2") is cut off on a phone.
_LABEL_ROOM = "25%"


def _value_axis_with_label_room(values: Sequence[float | None], **extra) -> dict:
    """A value axis that leaves room for the bar labels outside the longest bars, on the side
    where the bars reach (right for positive values, left for negative ones)."""
    present = [v for v in values if v is not None]
    low = _LABEL_ROOM if present and min(present) < 0 else 0
    high = _LABEL_ROOM if present and max(present) > 0 else 0
    return {"type": "value", "boundaryGap": [low, high], **extra}


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _legend(names: Sequence[str]) -> dict:
    return {"data": [str(n) for n in names], "top": 0, "type": "scroll"}


def trend_line(*, quarters: Sequence[str], values: Sequence[float | None], name: str) -> dict:
    """The store's value over the last quarters (gaps where a quarter has no value)."""
    return {
        "animation": False,
        "grid": _GRID,
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": list(quarters)},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [{"type": "line", "name": str(name), "connectNulls": False,
                    "data": [_round(v) for v in values], "label": {"show": True},
                    "itemStyle": {"color": ACCENT}}],
    }


def components_bar(*, labels: Sequence[str], values: Sequence[float]) -> dict:
    """The value split into survey points, scenario points and (negative) deductions."""
    data = [{"value": _round(v), "itemStyle": {"color": BAD if (v or 0) < 0 else ACCENT},
             "label": {"position": "left" if (v or 0) < 0 else "right"}}
            for v in values]
    return {
        "animation": False,
        "grid": _GRID,
        "tooltip": {"trigger": "axis"},
        "xAxis": _value_axis_with_label_room(values),
        "yAxis": {"type": "category", "data": [str(x) for x in labels], "inverse": True},
        "series": [{"type": "bar", "data": data, "label": {"show": True, "position": "right"}}],
    }


def indicator_bars(*, labels: Sequence[str], store: Sequence[float | None],
                   region: Sequence[float | None], store_name: str, region_name: str) -> dict:
    """The indicators of the store beside the region's average (horizontal bars read on phones)."""
    return {
        "animation": False,
        "grid": {**_GRID, "top": 40},
        "legend": _legend([store_name, region_name]),
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "value", "min": 0, "max": 100},
        "yAxis": {"type": "category", "data": [str(x) for x in labels], "inverse": True},
        "series": [
            {"type": "bar", "name": str(store_name), "data": [_round(v) for v in store],
             "itemStyle": {"color": ACCENT}},
            {"type": "bar", "name": str(region_name), "data": [_round(v) for v in region],
             "itemStyle": {"color": NEUTRAL}},
        ],
    }


def gap_bars(*, labels: Sequence[str], gaps: Sequence[float | None]) -> dict:
    """Perception minus expectation per indicator: green above 0, red below."""
    data = [{"value": _round(g), "itemStyle": {"color": GOOD if (g or 0) >= 0 else BAD},
             "label": {"position": "left" if (g or 0) < 0 else "right"}}
            for g in gaps]
    return {
        "animation": False,
        "grid": _GRID,
        "tooltip": {"trigger": "axis"},
        "xAxis": _value_axis_with_label_room(gaps),
        "yAxis": {"type": "category", "data": [str(x) for x in labels], "inverse": True},
        "series": [{"type": "bar", "data": data, "label": {"show": True}}],
    }


def histogram_bar(*, buckets: Sequence[tuple[str, int]], name: str) -> dict:
    return {
        "animation": False,
        "grid": _GRID,
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": [label for label, _count in buckets]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "bar", "name": str(name), "barCategoryGap": "5%",
                    "data": [count for _label, count in buckets],
                    "itemStyle": {"color": ACCENT}}],
    }


def pareto_chart(*, labels: Sequence[str], counts: Sequence[int],
                 cumulative: Sequence[float], count_name: str, cumulative_name: str) -> dict:
    """Bars of the categories, largest first, with the cumulative share as a line (0–100%)."""
    return {
        "animation": False,
        "grid": {**_GRID, "top": 40},
        "legend": _legend([count_name, cumulative_name]),
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": [str(x) for x in labels],
                  "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": [{"type": "value", "minInterval": 1},
                  {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}}],
        "series": [
            {"type": "bar", "name": str(count_name), "data": list(counts),
             "itemStyle": {"color": ACCENT}},
            {"type": "line", "name": str(cumulative_name), "yAxisIndex": 1,
             "data": [_round(c) for c in cumulative], "itemStyle": {"color": BAD}},
        ],
    }


def grouped_bars(*, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
                 horizontal: bool = True, max_value: float | None = None) -> dict:
    """Several named series side by side per label (iceberg, rates by region, weakest items)."""
    palette = [BAD, NEUTRAL, ACCENT, GOOD]
    value_axis: dict = {"type": "value"}
    if max_value is not None:
        value_axis = {**value_axis, "min": 0, "max": max_value}
    category_axis = {"type": "category", "data": [str(x) for x in labels]}
    if horizontal:
        category_axis["inverse"] = True
    return {
        "animation": False,
        "grid": {**_GRID, "top": 40},
        "legend": _legend([name for name, _values in series]),
        "tooltip": {"trigger": "axis"},
        "xAxis": value_axis if horizontal else category_axis,
        "yAxis": category_axis if horizontal else value_axis,
        "series": [{"type": "bar", "name": str(name), "data": [_round(v) for v in values],
                    "itemStyle": {"color": palette[i % len(palette)]}}
                   for i, (name, values) in enumerate(series)],
    }



# The strings of templates/_chart.html (the chart/table switch every chart block shows), kept in
# this app's catalogue so the switch reads in Chinese too.
CHART_BLOCK_STRINGS = (gettext_lazy("Chart"), gettext_lazy("Table"), gettext_lazy("View"),
                       gettext_lazy("No data yet."))


def store_page_charts(data) -> dict:
    """The store page's charts and their tables, from ``selectors.StorePageData``."""
    component_names = {"survey": _("Sample survey points"),
                       "scenario": _("Scenario survey points"),
                       "deductions": _("Complaint deductions")}
    components = [(str(component_names[key]), value) for key, value in data.components]
    store_name, region_name = _("This store"), _("Region average")
    rows, gaps = data.indicator_rows, data.gap_rows
    return {
        "trend_spec": trend_line(quarters=[q for q, _v in data.trend],
                                 values=[v for _q, v in data.trend],
                                 name=_("Satisfaction value")),
        "trend_headers": [_("Quarter"), _("Value")],
        "trend_rows": [(q, _round(v)) for q, v in data.trend],
        "components_spec": components_bar(labels=[label for label, _v in components],
                                          values=[v for _l, v in components]),
        "components_headers": [_("Component"), _("Points")],
        "components_rows": [(label, round(v, 2)) for label, v in components],
        "indicator_spec": indicator_bars(labels=[r[0] for r in rows],
                                         store=[r[1] for r in rows],
                                         region=[r[2] for r in rows],
                                         store_name=store_name, region_name=region_name),
        "indicator_headers": [_("Indicator"), store_name, region_name],
        "indicator_rows": [(r[0], _round(r[1]), _round(r[2])) for r in rows],
        "gap_spec": gap_bars(labels=[r["label"] for r in gaps], gaps=[r["gap"] for r in gaps]),
        "gap_headers": [_("Indicator"), _("Perception"), _("Expectation"), _("Gap P − E")],
        "gap_table": [(r["label"], _round(r["p"]), _round(r["e"]), _round(r["gap"]))
                      for r in gaps],
    }


def rate_trend(*, quarters: Sequence[str], own: Sequence[float | None],
               median: Sequence[float | None], own_name: str, median_name: str,
               percent: bool) -> dict:
    """A rate over the quarters (a gap where there is no POS data) beside the chain's median
    (dashed): loyalty and retention in %, complaints per 1,000 receipts."""
    axis: dict = {"type": "value", "min": 0}
    if percent:
        axis = {**axis, "max": 100, "axisLabel": {"formatter": "{value}%"}}
    digits = 1 if percent else 2
    return {
        "animation": False,
        "grid": {**_GRID, "top": 40},
        "legend": _legend([own_name, median_name]),
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": list(quarters)},
        "yAxis": axis,
        "series": [
            {"type": "line", "name": str(own_name), "connectNulls": False,
             "data": [_round(v, digits) for v in own], "label": {"show": True},
             "itemStyle": {"color": ACCENT}},
            {"type": "line", "name": str(median_name), "connectNulls": False,
             "data": [_round(v, digits) for v in median],
             "lineStyle": {"type": "dashed"}, "itemStyle": {"color": NEUTRAL}},
        ],
    }


def loyalty_charts(loyalty, *, own_name: str) -> list[dict]:
    """The three trend charts of a page's loyalty section (``dashboard.loyalty.Loyalty``), each
    with its table: quarter, this store's (or region's) figure, the chain's median. A quarter
    without POS data is a gap in the line and says so in the table, never 0."""
    no_data = _("No POS data")
    median_name = _("Chain median")
    quarters = [str(row.quarter) for row in loyalty.rows]
    charts = []
    for chart_id, title, name, percent in (
            ("loyalty", _("Loyalty %"), "loyalty", True),
            ("retention", _("Retention %"), "retention", True),
            ("complaint-rate", _("Complaints per 1,000 receipts"), "complaints_per_1000",
             False)):
        scale = 100 if percent else 1
        own = [getattr(row.figures, name) if row.has_data else None for row in loyalty.rows]
        median = [getattr(row.chain, name) for row in loyalty.rows]
        own = [None if v is None else v * scale for v in own]
        median = [None if v is None else v * scale for v in median]
        digits = 1 if percent else 2
        charts.append({
            "id": chart_id, "title": title,
            "spec": rate_trend(quarters=quarters, own=own, median=median, own_name=own_name,
                               median_name=median_name, percent=percent),
            "headers": [_("Quarter"), own_name, median_name],
            "rows": [(q, _round(v, digits) if row.has_data else no_data, _round(m, digits))
                     for q, v, m, row in zip(quarters, own, median, loyalty.rows,
                                             strict=True)]})
    return charts


#: Above this many points the pulse scatter drops the store names from its data (a few hundred
#: kilobytes for 15,000 stores otherwise) and ECharts draws them in its large mode.
NAMED_POINTS_MAX = 2000


def pulse_scatter(*, points: list[tuple[str, float, float]],
                  regions: list[tuple[str, float, float]],
                  x_name: str, y_name: str, store_name: str, region_name: str) -> dict:
    """Stores (and regions, larger) as points: staff pulse on x, customer value on y, 0–100."""
    named = len(points) <= NAMED_POINTS_MAX
    store_data = ([{"name": label, "value": [round(x, 1), round(y, 1)]} for label, x, y in points]
                  if named else [[round(x, 1), round(y, 1)] for _label, x, y in points])
    axis = {"type": "value", "min": 0, "max": 100, "nameLocation": "middle", "nameGap": 28}
    return {
        "animation": False,
        "grid": {"left": 8, "right": 16, "top": 40, "bottom": 36, "containLabel": True},
        "legend": {"data": [store_name, region_name], "top": 0},
        "tooltip": {"trigger": "item", "formatter": "{b}: {c}" if named else "{c}"},
        "xAxis": {**axis, "name": x_name},
        "yAxis": {**axis, "name": y_name, "nameGap": 36},
        "series": [
            {"type": "scatter", "name": store_name, "data": store_data, "symbolSize": 8,
             "large": not named, "itemStyle": {"color": ACCENT, "opacity": 0.7}},
            {"type": "scatter", "name": region_name, "symbolSize": 16, "symbol": "diamond",
             "data": [{"name": label, "value": [round(x, 1), round(y, 1)]}
                      for label, x, y in regions], "itemStyle": {"color": BAD}},
        ],
    }

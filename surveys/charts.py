"""The importance–performance chart of the driver analysis: an ECharts option built on the
server (pure: plain dicts from ``surveys.drivers.Drivers``) and the table the user can switch
to, for ``{% chart %}`` (``templates/_chart.html``; ``static/js/charts.js`` renders it)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from surveys.drivers import Drivers, IndicatorDriver, quadrant_labels
from surveys.models import KanoClass

FIX, OTHER, BAND, SPLIT = "#c62828", "#1565c0", "#90a4ae", "#607d8b"


def _fmt(value: float | None, digits: int) -> str | None:
    return None if value is None else f"{value:.{digits}f}"


def _with_interval(value: float | None, low: float | None, high: float | None,
                   digits: int) -> str | None:
    if value is None:
        return None
    if low is None or high is None:
        return _fmt(value, digits)
    return f"{value:.{digits}f} ({low:.{digits}f} – {high:.{digits}f})"


def importance_performance_spec(result: Drivers) -> dict:
    """Performance (0–100) across, importance (regression weight) up; each indicator a point
    named by it, red when it is to be fixed first, with a vertical line for the 95% interval of
    its weight; dashed lines at the mean importance and the mean performance split the four
    quadrants."""
    points = [i for i in result.indicators
              if i.importance is not None and i.performance is not None]
    bands = [{"type": "line", "silent": True, "showSymbol": False, "tooltip": {"show": False},
              "lineStyle": {"color": BAND, "width": 2}, "z": 1,
              "data": [[round(i.performance, 1), round(i.importance_low, 3)],
                       [round(i.performance, 1), round(i.importance_high, 3)]]}
             for i in points if i.importance_low is not None and i.importance_high is not None]
    split = []
    if result.mean_performance is not None:
        split.append({"xAxis": round(result.mean_performance, 1)})
    if result.mean_importance is not None:
        split.append({"yAxis": round(result.mean_importance, 3)})
    scatter = {
        "type": "scatter", "name": _("Indicator"), "symbolSize": 14, "z": 3,
        "label": {"show": True, "formatter": "{b}", "position": "right", "fontSize": 11},
        "data": [{"name": i.name, "value": [round(i.performance, 1), round(i.importance, 3)],
                  "itemStyle": {"color": FIX if i.fix_first else OTHER}} for i in points],
        "markLine": {"silent": True, "symbol": "none", "label": {"show": False},
                     "lineStyle": {"type": "dashed", "color": SPLIT}, "data": split},
    }
    return {
        "animation": False,
        "grid": {"left": 8, "right": 24, "top": 36, "bottom": 28, "containLabel": True},
        "tooltip": {"trigger": "item"},
        "xAxis": {"type": "value", "scale": True, "name": _("Performance (0–100)"),
                  "nameLocation": "middle", "nameGap": 24},
        "yAxis": {"type": "value", "scale": True, "name": _("Importance (weight)")},
        "series": [*bands, scatter],
    }


def driver_table(result: Drivers) -> tuple[list[str], list[list]]:
    """The chart's table: indicator, Kano class, importance and correlation with their 95%
    intervals, performance, quadrant, n."""
    kano = dict(KanoClass.choices)
    quadrants = quadrant_labels()
    headers = [_("Indicator"), _("Kano class"), _("Importance (95% CI)"),
               _("Correlation (95% CI)"), _("Performance"), _("Quadrant"), "n"]
    rows = [[_label(i), str(kano.get(i.kano_class, i.kano_class)),
             _with_interval(i.importance, i.importance_low, i.importance_high, 2),
             _with_interval(i.correlation, i.correlation_low, i.correlation_high, 2),
             _fmt(i.performance, 0), quadrants.get(i.quadrant) if i.quadrant else None, i.n]
            for i in result.indicators]
    return headers, rows


def _label(item: IndicatorDriver) -> str:
    return f"{item.name} ⚑" if item.fix_first else item.name


def drivers_chart(result: Drivers) -> dict:
    """What the template hands to ``{% chart %}``: spec, headers, rows."""
    headers, rows = driver_table(result)
    return {"spec": importance_performance_spec(result), "headers": headers, "rows": rows}

"""``{% chart id title spec headers rows %}``: an ECharts chart beside its table."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("_chart.html")
def chart(chart_id: str, title: str, spec: dict, headers: list, rows: list) -> dict:
    return {"chart_id": chart_id, "chart_title": title, "spec": spec,
            "spec_id": f"spec-{chart_id}", "headers": headers, "rows": rows}

"""``{% pulse_nav group %}``: the pulse's links in a menu of the top bar (templates/base.html).

An inclusion tag rather than a context processor: it asks ``pulse.rules`` only on the pages
that draw the menu, and the pulse's flags stay in this app."""

from __future__ import annotations

from django import template

from pulse import rules

register = template.Library()


@register.inclusion_tag("pulse/_nav.html", takes_context=True)
def pulse_nav(context: template.Context, group: str) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        return {"group": group}
    return {"group": group, **rules.flags(user)}

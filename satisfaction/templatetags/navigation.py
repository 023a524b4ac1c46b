"""``{% navgroup key label icon %}…{% endnavgroup %}``: one menu of the top bar (base.html).

The body includes each app's ``_nav.html`` with ``group=key``; every app keeps its own links
there (one ``<li><a …></a></li>`` per link, each behind that app's ``can_*`` flag). The tag
renders the body first and then decides, so a role sees only the groups that have a link for it:

* no link: nothing (no empty menu);
* one link: that link on the bar itself, with the group's icon (one click, no menu holding a
  single entry);
* more: a ``<details>`` menu whose ``<summary>`` names the group (app.js closes the other menus
  when one opens, and on Escape or a click outside; on phones they all open as one list).
"""

from __future__ import annotations

import re

from django import template
from django.conf import settings
from django.template.base import FilterExpression, NodeList
from django.template.context import Context
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from satisfaction.templatetags.icons import icon

register = template.Library()

_ITEM = re.compile(r"<li[\s>]")
_LINK = re.compile(r"<a\b[^>]*>")


class NavGroupNode(template.Node):
    def __init__(self, nodelist: NodeList, key: FilterExpression, label: FilterExpression,
                 icon_name: FilterExpression) -> None:
        self.nodelist = nodelist
        self.key = key
        self.label = label
        self.icon_name = icon_name

    def render(self, context: Context) -> SafeString:
        # The body is rendered template output (autoescaped), so it stays safe once wrapped.
        body = self.nodelist.render(context).strip()
        items = len(_ITEM.findall(body))
        key = str(self.key.resolve(context))
        if items == 0:
            return mark_safe("")
        if items == 1:
            body = body.replace(
                "<li>", format_html('<li class="nav-single" data-nav-group="{}">', key), 1)
            return mark_safe(_LINK.sub(  # noqa: S308 - rendered, escaped template output
                lambda link: link.group(0) + icon(str(self.icon_name.resolve(context))), body,
                count=1))
        return format_html(
            '<li class="nav-group" data-nav-group="{}"><details class="nav-menu" data-nav-menu>'
            '<summary>{}<span class="nav-label">{}</span>{}</summary>'
            '<ul class="nav-menu-list">{}</ul></details></li>',
            key, icon(str(self.icon_name.resolve(context))), self.label.resolve(context),
            icon("chevron-down", css_class="nav-caret"),
            mark_safe(body))  # noqa: S308 - rendered, escaped template output


@register.tag("navgroup")
def navgroup(parser: template.base.Parser, token: template.base.Token) -> NavGroupNode:
    bits = token.split_contents()
    if len(bits) != 4:
        raise template.TemplateSyntaxError(f"{bits[0]} takes a key, a label and an icon name")
    nodelist = parser.parse(("endnavgroup",))
    parser.delete_first_token()
    key, label, icon_name = (parser.compile_filter(bit) for bit in bits[1:])
    return NavGroupNode(nodelist, key, label, icon_name)


@register.simple_tag
def public_brand(store: object = None) -> str:
    """The name a customer knows us by, for the public pages' brand and <title>: the chain's
    (``settings.CHAIN_NAME``), else the store's, else "Customer service"; never the internal
    product name. (The customer's letter asks the same: complaints.services.reports.)"""
    return settings.CHAIN_NAME or getattr(store, "name", "") or gettext("Customer service")

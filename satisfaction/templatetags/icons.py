"""``{% icon "bell" %}``: one of the vendored Lucide icons (templates/icons/) as inline SVG.

Inline, so an icon needs neither an emoji font (an intranet PC often has none) nor a request;
drawn in ``currentColor`` and sized by the ``.icon`` class (no style attribute: the
Content-Security-Policy allows none). An icon is decoration next to visible text, so it is
hidden from assistive technology (``aria-hidden``) and never takes the keyboard focus
(``focusable="false"``, for old Edge). Where an icon stands alone, give the link or button an
``aria-label`` or visually hidden text (``.visually-hidden``); ``label=`` instead makes the SVG
itself an image with that name.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ICON_DIR = Path(settings.BASE_DIR) / "templates" / "icons"
_NAME = re.compile(r"^[a-z0-9-]+$")
_BODY = re.compile(r"<svg\b[^>]*>(?P<body>.*)</svg>", re.S)


@cache
def icon_body(name: str) -> str:
    """The drawing inside the icon file's <svg> element (the files are vendored, trusted)."""
    if not _NAME.match(name):
        raise template.TemplateSyntaxError(f"Unknown icon {name!r}")
    path = ICON_DIR / f"{name}.svg"
    if not path.is_file():
        raise template.TemplateSyntaxError(f"Unknown icon {name!r} (no {path.name} in {ICON_DIR})")
    match = _BODY.search(path.read_text(encoding="utf-8"))
    if match is None:
        raise template.TemplateSyntaxError(f"{path.name} holds no <svg> element")
    return " ".join(match.group("body").split())


@register.simple_tag
def icon(name: str, label: str = "", css_class: str = "") -> SafeString:
    classes = f"icon icon-{name} {css_class}".strip()
    if label:
        accessible = format_html('role="img" aria-label="{}"', label)
    else:
        accessible = mark_safe('aria-hidden="true"')
    return format_html(
        '<svg class="{}" xmlns="http://www.w3.org/2000/svg" width="24" height="24" '
        'viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
        'stroke-linecap="round" stroke-linejoin="round" focusable="false" {}>{}</svg>',
        classes, accessible, mark_safe(icon_body(name)))  # noqa: S308 - vendored SVG files

"""The store page's body, rendered once and kept until what it shows changes: the morning
after publishing, a store manager's reloads cost a few indexed reads, not the page.

**What** is cached: the HTML of the store page's body (``dashboard/_store_body.html``,
everything between the top bar and the scripts), in the default cache (Redis in production),
for ``STORE_BODY_SECONDS``. The top bar (the reader's menus and unread count) is rendered for
each request.

**Key**: everything the body is a function of, so an entry is never invalidated, only no
longer read:

- ``selectors.store_page_stamp``: a digest, computed by the database in one query, of every
  row the body shows or computes from. Whatever writes one of those rows (a complaint
  service, a visit review, an action, a rollup or publication, the admin, an import) changes
  it; no service has to remember to tell the page;
- the reader's view of the store (``BodyVariant``): whether they plan its actions, see the
  visits' photos, which staff values they see, and whether the region's page links;
- the language, the quarter, today's date (overdue actions, the running quarter) and, while
  the store has open complaints, the minute (their SLA clocks);
- the loyalty figures shown (their own cache, which the loyalty beat task refreshes).

The body's forms carry the reader's own CSRF token: the body is cached with a placeholder that
each response replaces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from dashboard import loyalty, selectors
from satisfaction.models import Store
from satisfaction.quarters import Quarter

STORE_BODY_SECONDS = 60 * 60 * 24
CSRF_PLACEHOLDER = "__store-page-csrf-token__"


@dataclass(frozen=True)
class BodyVariant:
    """What of the body depends on who reads it (each from the rule that owns it)."""

    can_manage: bool  # dashboard.rules.can_manage_actions
    with_photos: bool  # mystery_shopper.rules.can_see_store_evidence
    staff_scope: str  # scoring.rules: "none", "all" or "own:<employee id>"
    region_link: bool  # dashboard.region_views.region_of_store_link


def store_body_key(*, store: Store, quarter: Quarter, variant: BodyVariant) -> str:
    """The cache key of the body as ``variant`` reads it now (module docstring)."""
    stamp = selectors.store_page_stamp(store=store, quarter=quarter)
    now = timezone.localtime()
    clock = now.strftime("%Y-%m-%dT%H:%M") if stamp.clocks_running else now.date().isoformat()
    figures = loyalty.store_loyalty(store=store, quarter=quarter)
    parts = (stamp.digest, repr(variant), get_language(), str(quarter), clock, repr(figures))
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"dashboard:store-body:{store.pk}:{digest}"


def store_body(*, request: HttpRequest, store: Store, quarter: Quarter, variant: BodyVariant,
               render: Callable[[str], str]) -> SafeString:
    """The body from the cache, else ``render(csrf_placeholder)`` kept there; with the
    reader's CSRF token in its forms."""
    key = store_body_key(store=store, quarter=quarter, variant=variant)
    body = cache.get(key)
    if body is None:
        body = render(CSRF_PLACEHOLDER)
        cache.set(key, body, STORE_BODY_SECONDS)
    if CSRF_PLACEHOLDER in body:
        body = body.replace(CSRF_PLACEHOLDER, get_token(request))
    return mark_safe(body)  # noqa: S308 - the template's own autoescaped output

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

**The frame** (the layout around the body: the top bar with its menus, the bell's unread count,
the language switch and the account menu, the page's title and scripts) is kept too, per
reader, for ``STORE_FRAME_SECONDS`` (five minutes, as the menus' own fragment in
``base.html``), with a placeholder for the body and one for the CSRF token. Its key
(``store_frame_key``) holds what the frame shows: the reader (id, names, role, staff and
superuser flags), every plain value the context processors give the templates (each app's
rights for the menus, the unread count, the language), the page's path and query, the store,
and the static files' manifest (a release with new CSS or JS names is a new key). So a right
granted or taken, a new notification or another language is a new key at once; a release that
changes only the layout's template shows within five minutes, as the menus do. It is not kept
when a message waits to be shown once (after a form), or when the query is anything but the
quarter as the page's own links write it. A context processor that gives the layout an object
rather than a plain value must add what it shows to the key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.messages import get_messages
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template import engines
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from dashboard import loyalty, selectors
from satisfaction.models import Store
from satisfaction.quarters import Quarter

STORE_BODY_SECONDS = 60 * 60 * 24
STORE_FRAME_SECONDS = 5 * 60
CSRF_PLACEHOLDER = "__store-page-csrf-token__"
BODY_PLACEHOLDER = "__store-page-body__"


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


def store_frame_key(*, request: HttpRequest, store: Store, quarter: Quarter) -> str | None:
    """The cache key of the frame as this reader sees it now (module docstring), or None when it
    is rendered for this response only: a message waits, or the query is other than none or
    the quarter as the page writes it (so a query string cannot fill the cache)."""
    if (request.GET.urlencode() not in ("", f"quarter={quarter}")
            or len(get_messages(request))):
        return None
    user = request.user
    shown = {"user": (user.pk, user.username, user.get_full_name(), user.role,
                      user.is_staff, user.is_superuser),
             "path": request.get_full_path(), "store": store.code,
             "static": getattr(staticfiles_storage, "manifest_hash", "")}
    for processor in engines["django"].engine.template_context_processors:
        # The CSRF token is the frame's placeholder (and masked afresh for each response).
        shown |= {name: value for name, value in processor(request).items()
                  if name != "csrf_token"
                  and (value is None or isinstance(value, bool | int | float | str))}
    digest = hashlib.sha256(repr(sorted(shown.items())).encode()).hexdigest()
    return f"dashboard:store-frame:{user.pk}:{digest}"


def store_page(*, request: HttpRequest, store: Store, quarter: Quarter, variant: BodyVariant,
               render_body: Callable[[str], str], render_frame: Callable[[str, str], str]) -> str:
    """The whole page: the body (``render_body(csrf_placeholder)``) and the frame
    (``render_frame(body_placeholder, csrf_placeholder)``) from the cache in one round trip,
    whichever is missing rendered and kept; the body put in the frame and the reader's CSRF
    token in its forms."""
    body_key = store_body_key(store=store, quarter=quarter, variant=variant)
    frame_key = store_frame_key(request=request, store=store, quarter=quarter)
    found = cache.get_many([body_key, frame_key] if frame_key else [body_key])
    body = found.get(body_key)
    if body is None:
        body = render_body(CSRF_PLACEHOLDER)
        cache.set(body_key, body, STORE_BODY_SECONDS)
    frame = found.get(frame_key) if frame_key else None
    if frame is None:
        frame = render_frame(mark_safe(BODY_PLACEHOLDER), CSRF_PLACEHOLDER)  # noqa: S308 - a constant
        if frame_key:
            cache.set(frame_key, frame, STORE_FRAME_SECONDS)
    # The templates' own autoescaped output, the reader's token (placed by {% csrf_token %}).
    return frame.replace(BODY_PLACEHOLDER, body, 1).replace(CSRF_PLACEHOLDER, get_token(request))

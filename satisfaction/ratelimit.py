"""Fixed-window rate limits on the shared cache (Redis in production).

Used by the public, no-login pages (survey submissions, complaint filing, ticket status) so a
client cannot flood them or brute-force ticket numbers.
"""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The connection's address. Behind a proxy, configure it to pass the real one here."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def rate_hit(*, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit on ``key``; True while it stays within ``limit`` hits per window."""
    cache.add(key, 0, timeout=window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # the window expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        count = 1
    return count <= limit

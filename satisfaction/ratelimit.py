"""Who the client is, and fixed-window rate limits on the shared cache (Redis in production).

``client_ip`` is the one answer to "which address is this request from": the public pages'
limits below, django-axes (``AXES_CLIENT_IP_CALLABLE``) and the logs (``ClientIPLogFilter``)
all use it. It believes ``X-Forwarded-For`` only as far as the ``TRUSTED_PROXY_COUNT`` proxies
of our own wrote it.

The public, no-login pages (survey submissions, complaint filing, ticket status) are limited by
the rules below, so a client cannot flood them or brute-force a ticket's phone digits, and one
client's mistakes or abuse do not lock out customers on other connections:

==========================  ===================  ==============================================
rule                        counted per          what is counted, limit
==========================  ===================  ==============================================
``TICKET_LOOKUPS``          client               every status check, 10 / 15 min
``TICKET_LOOKUP_FAILURES``  client and ticket    wrong phone digits, 5 / 15 min
``COMPLAINT_FILINGS``       store and client     complaints filed, 5 / hour
``SURVEY_SUBMISSIONS``      store and client     answers accepted,
                                                 ``SURVEY_PUBLIC_SUBMISSIONS_PER_HOUR`` / hour
==========================  ===================  ==============================================

Keys are hashed: the cache holds no address or ticket number in clear. When the shared cache
cannot be reached the limits degrade instead of failing the page: each process counts in its
own memory (``LOCAL_CACHE``; N processes allow up to N times a limit) and logs one warning a
minute (``CacheDownWarning``). Every call tries the shared cache again first. The POS throttle
(``pos.auth``) degrades the same way with the same pieces.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
T = TypeVar("T")

# --- The client's address -------------------------------------------------------------------


def _parse_ip(value: str) -> str | None:
    """The normalised address in ``value`` (an IPv4-mapped IPv6 address as IPv4; a port, as
    some proxies add it, dropped), or None when it is not an address."""
    value = value.strip().strip('"')
    candidates = [value]
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        candidates.append(value[1:value.index("]")])
    elif value.count(":") == 1:  # 203.0.113.7:443
        candidates.append(value.split(":", 1)[0])
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        mapped = getattr(address, "ipv4_mapped", None)
        return str(mapped or address)
    return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, or None when it cannot be told.

    With ``TRUSTED_PROXY_COUNT = 0`` (the default) it is the connection's own address
    (``REMOTE_ADDR``) and ``X-Forwarded-For`` is ignored: anyone can send that header. With N
    proxies of our own in front, each appends the address it got the connection from, so the
    client is the Nth entry from the right; entries further left were written by the client and
    are never believed. A request that carries fewer entries did not come through the proxies
    (a health check, a misconfigured hop) and is answered with its connection's address.
    """
    remote = _parse_ip(request.META.get("REMOTE_ADDR") or "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                 if part.strip()]
    if len(forwarded) < count:
        return remote
    return _parse_ip(forwarded[-count]) or remote


class ClientIPLogFilter(logging.Filter):
    """Adds ``client_ip`` to every record: the client's address on records that carry the
    request (Django's ``django.request`` and ``django.security.*`` loggers), ``-`` on others, so
    a formatter can always name it. (Imported while logging is configured, before the apps are
    ready: this module must not import models.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        address = None
        if isinstance(getattr(request, "META", None), dict):
            address = client_ip(request)
        record.client_ip = address or "-"
        return True


# --- When the shared cache is down -----------------------------------------------------------

#: What an unreachable shared cache raises: redis-py's errors (refused, reset, timeout; the
#: cache's socket timeouts are set in settings so they come fast), socket errors of others.
CACHE_DOWN_ERRORS = (RedisError, OSError)


class CacheDownWarning:
    """Logs "the cache is down" at most once per ``interval`` seconds per process, saying how
    many calls fell back in between, so an outage does not log a line per request."""

    def __init__(self, *, logger: logging.Logger, what: str, interval: float = 60.0) -> None:
        self.logger = logger
        self.what = what
        self.interval = interval
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._suppressed = 0

    def __call__(self, exc: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next_at:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._next_at = now + self.interval
        self.logger.warning("%s: the cache is unreachable (%s: %s); counting per process in "
                            "memory instead (%d more calls since the last warning)",
                            self.what, type(exc).__name__, exc, suppressed)


#: Each process's own counts per key while the shared cache is unreachable.
LOCAL_CACHE = LocMemCache("ratelimit-fallback", {"MAX_ENTRIES": 10_000})
warn_cache_down = CacheDownWarning(logger=logger, what="Public page limits")


def _on_cache(call: Callable[[BaseCache], T]) -> T:
    """``call`` on the shared cache, or on this process's ``LOCAL_CACHE`` when it is down."""
    try:
        return call(cache)
    except CACHE_DOWN_ERRORS as exc:
        warn_cache_down(exc)
        return call(LOCAL_CACHE)


# --- Fixed-window limits --------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """At most ``limit`` counted events per ``window_seconds`` for each key. ``limit_setting``
    names a setting that holds the limit instead (read on every use, so tests can change it)."""

    scope: str
    limit: int = 0
    window_seconds: int = 3600
    limit_setting: str = ""

    @property
    def max_count(self) -> int:
        return getattr(settings, self.limit_setting) if self.limit_setting else self.limit

    def key(self, *parts: object) -> str:
        raw = "|".join("" if part is None else str(part) for part in parts)
        return f"ratelimit:{self.scope}:{hashlib.sha256(raw.encode()).hexdigest()[:40]}"


TICKET_LOOKUPS = Rule("ticket-lookup", limit=10, window_seconds=15 * 60)
TICKET_LOOKUP_FAILURES = Rule("ticket-lookup-failure", limit=5, window_seconds=15 * 60)
COMPLAINT_FILINGS = Rule("complaint-filing", limit=5, window_seconds=3600)
SURVEY_SUBMISSIONS = Rule("survey-submission", limit_setting="SURVEY_PUBLIC_SUBMISSIONS_PER_HOUR",
                          window_seconds=3600)


class RateLimitedError(Exception):
    """A rule's window is full for this key."""

    def __init__(self, rule: Rule) -> None:
        super().__init__(f"rate limit {rule.scope} reached")
        self.rule = rule


def _incr(key: str, window_seconds: int) -> int:
    """Count one event in the key's window (opened by the first one) and return the count."""
    def count(store: BaseCache) -> int:
        store.add(key, 0, timeout=window_seconds)
        try:
            return store.incr(key)
        except ValueError:  # the window expired between add and incr
            store.set(key, 1, timeout=window_seconds)
            return 1
    return _on_cache(count)


def _give_back(key: str) -> None:
    """Uncount one event; nothing when its window has ended meanwhile."""
    def uncount(store: BaseCache) -> None:
        with suppress(ValueError):
            store.decr(key)
    _on_cache(uncount)


def hit(rule: Rule, *parts: object) -> bool:
    """Count one event for ``parts``; True while the window stays within the rule's limit."""
    return _incr(rule.key(*parts), rule.window_seconds) <= rule.max_count


def exceeded(rule: Rule, *parts: object) -> bool:
    """True when ``parts`` have used up the rule's window (counts nothing)."""
    key = rule.key(*parts)
    return (_on_cache(lambda store: store.get(key)) or 0) >= rule.max_count


@contextmanager
def counted_if_accepted(rule: Rule, *parts: object) -> Iterator[None]:
    """Count one event for ``parts`` only if the block completes.

    Raises ``RateLimitedError`` before the block runs when the window is full. The slot is taken
    atomically first (so concurrent requests cannot all squeeze through) and given back when the
    block raises: a customer whose answer was refused for a mistake keeps their quota.
    """
    key = rule.key(*parts)
    if _incr(key, rule.window_seconds) > rule.max_count:
        _give_back(key)
        raise RateLimitedError(rule)
    try:
        yield
    except BaseException:
        _give_back(key)
        raise

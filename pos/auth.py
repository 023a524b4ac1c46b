"""Who may call the POS API, how often, and which stores a call may touch.

Other apps' views open themselves to POS / call-centre systems by adding
``PosApiKeyAuthentication`` to ``authentication_classes`` and ``IsAuthenticated | HasPosApiKey``
to ``permission_classes`` (plus ``PosKeyThrottle``), then scoping their queryset with
``api_store_ids(request)`` / ``pos_scope_to_stores(queryset, request)``; all from this module.

``PosApiKeyScheme`` documents the key in the OpenAPI schema (security scheme ``PosApiKey``);
drf-spectacular finds it because it is defined on import of this module, and matches it by the
dotted path in ``target_class``, which must name the authentication class's home here.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_api_key.permissions import KeyParser

from pos.models import PosApiKey
from pos.selectors import pos_api_key_usable
from satisfaction.models import Store
from satisfaction.ratelimit import CACHE_DOWN_ERRORS, LOCAL_CACHE, CacheDownWarning
from satisfaction.scoping import sees_all_stores, visible_stores

logger = logging.getLogger(__name__)


class PosApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Api-Key <prefix>.<secret>`` (or ``X-Api-Key: ...``).

    On success ``request.user`` is anonymous (a key is not a person: page scoping by user finds
    no stores) and ``request.auth`` is the :class:`PosApiKey`; its stores are read with
    ``pos_client_store_ids(request)``.
    """

    keyword = "Api-Key"
    parser = KeyParser()

    def authenticate(self, request: Request) -> tuple[AnonymousUser, PosApiKey] | None:
        raw = self.parser.get_from_authorization(request) or request.META.get("HTTP_X_API_KEY")
        if not raw:
            return None
        raw = raw.strip()
        # What ``PosApiKey.objects.get_from_key`` does, in one plain query (no queryset to
        # compile on every request): the row is read on every request, so a revoke or a change
        # of stores counts from the key's next request on.
        api_key = pos_api_key_usable(prefix=raw.partition(".")[0])
        if api_key is None or not api_key.is_valid(raw):
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        return AnonymousUser(), api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class HasPosApiKey(BasePermission):
    """The request was authenticated with a valid POS API key."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, PosApiKey)


warn_cache_down = CacheDownWarning(logger=logger, what="POS throttle")


class PosKeyThrottle(SimpleRateThrottle):
    """Per-key rate (``POS_THROTTLE_RATE``, or the key's own ``throttle_rate``); 429 with
    ``Retry-After`` when exceeded. Requests without a key are not throttled here.

    The request history lives in the shared cache. On Redis it is a sorted set of the accepted
    requests' times per key, kept by one atomic round trip per request (drop the times older
    than the period, add this one, count; a refused request is taken out again): DRF's sliding
    window exactly, without reading and writing the whole history per request, and without
    losing the requests of concurrent workers. Other caches (the per-process memory below,
    the tests' caches) keep DRF's own list. When the cache cannot be reached the
    throttle degrades instead of failing the request: each process limits each key in its own
    memory (``satisfaction.ratelimit.LOCAL_CACHE``, the public pages' fallback too, under keys
    of its own; N processes allow up to N times the rate) and logs one warning a minute
    (``warn_cache_down``). Each request tries the shared cache again first.
    """

    scope = "pos_key"

    def get_rate(self) -> str:
        return settings.POS_THROTTLE_RATE

    def allow_request(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, PosApiKey):
            return True
        rate = api_key.throttle_rate or settings.POS_THROTTLE_RATE
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(rate)
        try:
            shared = caches["default"]  # the cache itself (``django.core.cache.cache`` proxies)
            if isinstance(shared, RedisCache):
                return self._allow_on_redis(shared, self.get_cache_key(request, view))
            return super().allow_request(request, view)
        except CACHE_DOWN_ERRORS as exc:
            warn_cache_down(exc)
            self.cache = LOCAL_CACHE  # this request's throttle instance only
            return super().allow_request(request, view)

    def _allow_on_redis(self, redis_cache: RedisCache, name: str) -> bool:
        """DRF's sliding window on a Redis sorted set: one MULTI/EXEC round trip."""
        key = redis_cache.make_and_validate_key(f"{name}:window")
        client = redis_cache._cache.get_client(key, write=True)  # noqa: SLF001 (redis-py client)
        now = time.time()
        member = f"{now:.6f}:{secrets.token_hex(4)}"
        pipe = client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now - self.duration)
        pipe.zadd(key, {member: now})
        pipe.zcard(key)
        pipe.expire(key, math.ceil(self.duration) + 1)
        count = pipe.execute()[2]
        if count <= self.num_requests:
            return True
        # Refused: not counted (as with DRF). The request after the (count - limit) oldest
        # accepted ones have left the window may pass.
        pipe = client.pipeline(transaction=True)
        pipe.zrem(key, member)
        pipe.zrange(key, count - 1 - self.num_requests, count - 1 - self.num_requests,
                    withscores=True)
        oldest = pipe.execute()[1]
        self._retry_after = (oldest[0][1] + self.duration - now) if oldest else 1.0
        return False

    def wait(self) -> float | None:
        retry_after = getattr(self, "_retry_after", None)
        if retry_after is not None:
            return max(1.0, retry_after)
        return super().wait()

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        api_key = request.auth
        if not isinstance(api_key, PosApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": api_key.prefix}


POS_AUTH = [PosApiKeyAuthentication]
POS_AUTH_OR_SESSION = [PosApiKeyAuthentication, SessionAuthentication]


# --- store scoping ---------------------------------------------------------------------------

def pos_client_store_ids(request: Request) -> QuerySet | None:
    """Ids of the stores the request's API key acts for, as a subquery for
    ``filter(store__in=...)``; ``None`` for an all-stores key (every store).

    Raises ``PermissionDenied`` when the request carries no POS key.
    """
    api_key = request.auth
    if not isinstance(api_key, PosApiKey):
        raise exceptions.PermissionDenied
    if api_key.all_stores:
        return None
    return Store.objects.filter(pos_api_keys=api_key).values("pk")


def api_store_ids(request: Request) -> QuerySet | None:
    """Stores the caller may read, as a subquery: the key's stores, or the logged-in user's
    visible stores; ``None`` means every store."""
    if isinstance(request.auth, PosApiKey):
        return pos_client_store_ids(request)
    if sees_all_stores(request.user):
        return None
    return visible_stores(request.user).values("pk")


def pos_scope_to_stores(queryset: QuerySet, request: Request,
                        store_field: str = "store") -> QuerySet:
    """Restrict a queryset to the stores the key (or the user) may read."""
    store_ids = api_store_ids(request)
    if store_ids is None:
        return queryset
    return queryset.filter(**{f"{store_field}__in": store_ids})


# --- OpenAPI ---------------------------------------------------------------------------------

class PosApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "pos.auth.PosApiKeyAuthentication"
    name = "PosApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <prefix>.<secret>` as HQ issued it (the header "
                               "`X-Api-Key: <prefix>.<secret>` works too)."}

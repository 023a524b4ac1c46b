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
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
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
        try:
            api_key = PosApiKey.objects.get_from_key(raw.strip())
        except PosApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key.")) from None
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

    The request history lives in the shared cache (Redis). When the cache cannot be reached the
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
            return super().allow_request(request, view)
        except CACHE_DOWN_ERRORS as exc:
            warn_cache_down(exc)
            self.cache = LOCAL_CACHE  # this request's throttle instance only
            return super().allow_request(request, view)

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

"""The POS API's documented responses, examples and parameters, shared by the views'
``extend_schema`` decorators in ``pos.api`` (the shapes themselves are in ``pos.serializers``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from satisfaction.api_schema import ErrorSerializer, quarter_parameter

# --- examples: one receipt in, as stored -----------------------------------------------------

EXAMPLE_IN = {"store": "S0001", "receipt_number": "R20261124-000123",
              "occurred_at": "2026-11-24T18:05:00+08:00", "amount": "36.50", "item_count": 3,
              "member_id": "M88001234", "cashier": "E00002"}
EXAMPLE_OUT = {"id": 1201, "store": "S0001", "receipt_number": "R20261124-000123",
               "occurred_at": "2026-11-24T18:05:00+08:00", "amount": "36.50", "item_count": 3,
               "has_member": True, "cashier": "E00002",
               "received_at": "2026-11-24T18:05:01.204000+08:00",
               "invitation": {"url": "http://127.0.0.1:8000/s/k3Xq9Z",
                              "qr_payload": "http://127.0.0.1:8000/s/k3Xq9Z",
                              "expires_at": "2026-12-01T18:05:01+08:00"}}

# --- error responses (body: ErrorSerializer) -------------------------------------------------
# 401 is the core's: ``satisfaction.api_schema.ApiAutoSchema`` adds it to every keyed view.

ERROR_400 = OpenApiResponse(ErrorSerializer, description=gettext_lazy("Invalid fields."),
                            examples=[OpenApiExample("invalid", response_only=True, value={
                                "code": "invalid",
                                "detail": "The request has invalid fields; nothing was stored.",
                                "fields": {"amount": ["At most 2 decimal places."]}})])
ERROR_403 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "The key may not post for that store."), examples=[OpenApiExample(
        "forbidden_store", response_only=True, value={
            "code": "forbidden_store",
            "detail": "The API key is not allowed to post for these stores.",
            "fields": {"store": ["This API key may not post for store S0011."]}})])
ERROR_404 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "Not found, or not one of the key's stores."))
ERROR_429 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "Too many requests for this key; retry after the Retry-After header's seconds."),
    examples=[OpenApiExample("throttled", response_only=True, value={
        "code": "throttled", "detail": "Request was throttled. Expected available in 12 seconds.",
        "fields": {}})])

ERROR_503 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "The database stayed busy with other receipts; nothing was stored. Send the same request "
    "again after the Retry-After header's seconds."), examples=[OpenApiExample(
        "busy", response_only=True, value={
            "code": "busy", "detail": "The database is busy with other receipts; nothing was "
            "stored. Send them again in a moment.", "fields": {}})])

# --- parameters ------------------------------------------------------------------------------

QUARTER_PARAM = quarter_parameter(gettext_lazy(
    "Quarter such as 2026Q4 (default: the current quarter)."))

"""The API's OpenAPI conventions, shared by every app's ``api.py``.

- ``ErrorSerializer`` is the one error body (component ``Error``): what
  ``satisfaction.api_errors.exception_handler`` returns for every 4xx;
- ``ERROR_400`` … ``ERROR_429`` are the documented error responses, for ``extend_schema``;
- ``ApiAutoSchema`` (``DEFAULT_SCHEMA_CLASS``) adds to every operation the error responses it
  can return and an operation does not declare itself, so no app lists them by hand:

  ======  ===============================================================================
  400     every operation (invalid fields or query values, NUL bytes, malformed JSON)
  401     views whose authentication answers with a challenge (POS API keys)
  403     every operation (not allowed; for a session, also "not logged in" and CSRF)
  404     operations with a path parameter, paginated lists, and writes
  409     writes (stale version, wrong state, already done)
  413     writes with a body (larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``)
  415     writes with a body (a media type the operation does not read)
  429     throttled views (POS API keys)
  ======  ===============================================================================
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

from satisfaction.quarters import (
    DATE_PATTERN,
    QUARTER_PATTERN,
    InvalidQuarterError,
    parse_request_quarter,
)


class ErrorSerializer(serializers.Serializer):
    """``{"code", "detail", "fields"}``: every error of the API."""

    code = serializers.CharField(help_text=gettext_lazy(
        "Stable reason: invalid, parse_error, too_large, unsupported_media_type, "
        "not_authenticated, authentication_failed, permission_denied, forbidden_store, "
        "not_found, conflict, throttled, or a service's own reason (for example "
        "quarter_locked, batch_too_large)."))
    detail = serializers.CharField(help_text=gettext_lazy("Human-readable message."))
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=gettext_lazy(
            "Messages per field; a nested field is named by its path, such as "
            "items[3].amount or sections[0].items[1].code. Empty when no field is to blame."))


def _example(name: str, code: str, detail: str, fields: dict | None = None) -> OpenApiExample:
    return OpenApiExample(name, response_only=True,
                          value={"code": code, "detail": detail, "fields": fields or {}})


ERROR_400 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "Invalid fields or query values: the body or the query names each one."),
    examples=[_example("invalid", "invalid", "The request has invalid fields.",
                       {"quarter": ["Not a quarter such as 2026Q4."]})])
ERROR_401 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "No key, or an invalid, revoked or expired key."),
    examples=[_example("not_authenticated", "not_authenticated",
                       "Authentication credentials were not provided.")])
ERROR_403 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "Not logged in (session), or not allowed to do this."),
    examples=[_example("permission_denied", "permission_denied",
                       "You do not have permission to perform this action.")])
ERROR_404 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "Not found, or outside the stores the caller may see."),
    examples=[_example("not_found", "not_found", "Not found.")])
ERROR_409 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "Conflicts with the stored state: a stale version, a locked quarter, already done."),
    examples=[_example("conflict", "conflict",
                       "Someone else changed this in the meantime; see their change, then "
                       "try again.")])
ERROR_413 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "The request body is too large."),
    examples=[_example("too_large", "too_large", "The request body is too large.")])
ERROR_415 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "The body is not of a media type the operation reads (JSON unless stated)."),
    examples=[_example("unsupported_media_type", "unsupported_media_type",
                       'Unsupported media type "text/plain" in request.')])
ERROR_429 = OpenApiResponse(ErrorSerializer, description=gettext_lazy(
    "Too many requests; retry after the Retry-After header's seconds."),
    examples=[_example("throttled", "throttled",
                       "Request was throttled. Expected available in 12 seconds.")])

ERROR_RESPONSES = {"400": ERROR_400, "401": ERROR_401, "403": ERROR_403, "404": ERROR_404,
                   "409": ERROR_409, "413": ERROR_413, "415": ERROR_415, "429": ERROR_429}


# What DRF's CharField takes: no NUL character (ProhibitNullCharactersValidator) and, unless
# blank is allowed, something besides the whitespace it trims (str.strip()'s whitespace).
_WHITESPACE = ("\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029"
               "\\u202f\\u205f\\u3000")
NO_NUL_PATTERN = "^[^\\x00]*$"
NOT_BLANK_PATTERN = f"^[^\\x00]*[^\\x00{_WHITESPACE}][^\\x00]*$"


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error responses each operation can give, and the
    character rules of DRF's text fields in the request schemas."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (direction == "request" and isinstance(field, serializers.CharField)
                and not field.read_only and schema.get("type") == "string"
                and not {"pattern", "format", "enum"} & set(schema)):
            blank_ok = field.allow_blank or not field.trim_whitespace
            schema["pattern"] = NO_NUL_PATTERN if blank_ok else NOT_BLANK_PATTERN
        return schema

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        # An empty query value means "not given" throughout the API (DRF's and django-filter's
        # reading of query strings, as HTML forms send them): say so.
        for parameter in (operation or {}).get("parameters", []):
            if parameter.get("in") == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
            # satisfaction.middleware.HostileInputMiddleware refuses NUL in paths and queries.
            schema = parameter.get("schema", {})
            if (parameter.get("in") in ("query", "path") and schema.get("type") == "string"
                    and not {"pattern", "format", "enum"} & set(schema)):
                schema["pattern"] = NO_NUL_PATTERN
        return operation

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self.error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ERROR_RESPONSES[code], code, ["application/json"], direction)
        return dict(sorted(responses.items()))

    def error_codes(self) -> list[str]:
        view = self.view
        codes = ["400", "403"]
        if view.get_authenticate_header(view.request):
            codes.append("401")
        writes = self.method not in SAFE_METHODS
        if "{" in self.path or writes or (self._is_list_view() and self._get_paginator()):
            codes.append("404")
        if writes:
            codes.append("409")
            if self._get_request_body() is not None:
                codes += ["413", "415"]
        if view.get_throttles():
            codes.append("429")
        return codes


# --- shared parameter and field shapes --------------------------------------------------------


@extend_schema_field({"type": "string", "pattern": QUARTER_PATTERN, "example": "2026Q4"})
class QuarterField(serializers.CharField):
    """A quarter in a body, as the API takes it: ``2026Q4`` (``QUARTER_PATTERN``, years
    ``REQUEST_YEARS``); the value is the ``Quarter``."""

    default_error_messages = {"invalid_quarter": gettext_lazy("Not a quarter such as 2026Q4.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", gettext_lazy("Quarter such as 2026Q4."))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            return parse_request_quarter(text, strict=True)
        except InvalidQuarterError:
            self.fail("invalid_quarter")

    def to_representation(self, value):
        return str(value)


@extend_schema_field({"type": "string", "format": "date", "pattern": DATE_PATTERN})
class RequestDateField(serializers.DateField):
    """A day in a body or a query, as the API documents it: ``2026-11-24`` in
    ``REQUEST_YEARS`` (``DATE_PATTERN``); what reads the day checks its year."""


def quarter_parameter(description: str = "", **kwargs) -> OpenApiParameter:
    """``?quarter=2026Q4`` as the API documents it (``quarter_param(..., strict=True)``)."""
    return OpenApiParameter("quarter", OpenApiTypes.STR, pattern=QUARTER_PATTERN,
                            description=description or gettext_lazy("Quarter such as 2026Q4."),
                            **kwargs)

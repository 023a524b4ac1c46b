"""One JSON shape for every API error, and the API's guards against hostile input.

``{"code": "...", "detail": "human message", "fields": {"field": ["message", ...]}}`` for
validation errors, application errors, 403, 404, 409, 413, 415 and 429 alike, so a POS vendor
writes one error handler (the OpenAPI component: ``satisfaction.api_schema.ErrorSerializer``).
A nested field is named by its path: ``items[3].amount``, ``sections[0].items[1].code``.

The guards: ``LimitedJSONParser`` (the API's only default parser) refuses bodies larger than
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413) and JSON nested deeper than ``MAX_JSON_DEPTH`` (400);
``RejectHostileInput`` (mixed into every API view) refuses a body of a media type the view does
not read (415) and lets any lookup value reach the view, so an unknown or malformed one is a JSON
404. NUL bytes in the path and the query (which PostgreSQL cannot store or compare) never reach
the API: ``satisfaction.middleware.HostileInputMiddleware`` answers them with a 400 site-wide.
"""

from __future__ import annotations

import codecs

from csp.constants import SELF as CSP_SELF
from csp.constants import UNSAFE_INLINE as CSP_UNSAFE_INLINE
from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils import json

from satisfaction.errors import ApplicationError

# DRF's browsable API (its HTML answers to a browser) styles its templates inline (style=""
# attributes, the code highlighting's <style>); its scripts stay as strict as everywhere.
BROWSABLE_API_CSP = {"style-src": [CSP_SELF, CSP_UNSAFE_INLINE]}

# Deeper than any body of the API (a scorecard template is 5 levels), far below the recursion
# limit that would turn a hostile body into a server error.
MAX_JSON_DEPTH = 32


class RequestTooLargeError(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def _too_deep(data, limit: int) -> bool:
    """Whether ``data`` (parsed JSON) nests containers deeper than ``limit``, without recursion."""
    level = [data]
    for _depth in range(limit):
        level = [child for value in level if isinstance(value, dict | list)
                 for child in (value.values() if isinstance(value, dict) else value)]
        if not level:
            return False
    return any(isinstance(value, dict | list) for value in level)


def _strings_with_nul(data) -> bool:
    """Whether any key or string value of ``data`` (parsed JSON, depth already bounded) holds
    a NUL character, which no text column can store."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with a size limit (``DATA_UPLOAD_MAX_MEMORY_SIZE``, as Django applies to
    forms: 413), a nesting limit (``MAX_JSON_DEPTH``: 400) and no NUL characters anywhere in the
    body (400: PostgreSQL cannot store them, so they must never reach a query)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if limit is not None and declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLargeError
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise RequestTooLargeError
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(raw, encoding)
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise exceptions.ParseError(_("JSON parse error - nested too deeply.")) from None
        except (ValueError, LookupError) as exc:
            message = _("JSON parse error - %(error)s") % {"error": exc}
            raise exceptions.ParseError(message) from None
        if _too_deep(data, MAX_JSON_DEPTH):
            raise exceptions.ParseError(_("JSON parse error - nested deeper than %(n)d levels.")
                                        % {"n": MAX_JSON_DEPTH})
        if _strings_with_nul(data):
            raise exceptions.ParseError(_("NUL characters are not allowed."))
        return data


def _has_body(request) -> bool:
    length = request.META.get("CONTENT_LENGTH") or "0"
    return (length.isdigit() and int(length) > 0) or "HTTP_TRANSFER_ENCODING" in request.META


class _StrictRequest(Request):
    """A body the view's parsers do not read is a 415 when the view reads it, even when
    something before DRF (the CSRF check, a middleware) has already consumed it as a form:
    DRF would then see an empty body and answer "field required"."""

    def _parse(self):
        if _has_body(self) and self.negotiator.select_parser(self, self.parsers) is None:
            raise exceptions.UnsupportedMediaType(self.content_type)
        return super()._parse()


class RejectHostileInput:
    """Mixin for every API view: a body of a media type the view does not read is a 415 (when
    read: a foreign object is still a 404 first). NUL bytes in the path and the query never get
    this far: ``satisfaction.middleware.HostileInputMiddleware`` answers them with a 400 for
    the whole site. The browsable API's HTML answers get ``BROWSABLE_API_CSP``."""

    # Any lookup value reaches the view (the router's default refuses dots): an unknown or
    # malformed code or id is then the API's JSON 404, not Django's HTML one.
    lookup_value_regex = "[^/]+"

    def initialize_request(self, request, *args, **kwargs):
        drf_request = super().initialize_request(request, *args, **kwargs)  # viewsets: action
        drf_request.__class__ = _StrictRequest  # the same request, stricter parsing only
        return drf_request

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        renderer = getattr(request, "accepted_renderer", None)
        if renderer is not None and renderer.format == "api":
            # What django-csp's csp_replace decorator sets, read by its middleware.
            response._csp_replace = BROWSABLE_API_CSP  # noqa: SLF001
        return response



def _flatten(detail, path: str = "") -> dict[str, list[str]]:
    """Validation errors as ``{path: [messages]}``: nested serializers, lists and dicts of fields
    are named by their path (``items[3].amount``, ``ratings.price``)."""
    if isinstance(detail, dict):
        fields: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{path}[{key}]" if isinstance(key, int) else (
                f"{path}.{key}" if path else str(key))
            fields.update(_flatten(value, name))
        return fields
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        fields = {}
        for index, item in enumerate(detail):
            if item:  # a list serializer reports {} for the valid items
                fields.update(_flatten(item if isinstance(item, dict | list) else [item],
                                       f"{path}[{index}]"))
        return fields
    messages = detail if isinstance(detail, list) else [detail]
    return {path or "non_field_errors": [str(message) for message in messages]}


def _as_api_exception(exc):
    """The DRF exception that stands for ``exc``, or ``exc`` itself."""
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {
            "non_field_errors": exc.messages})
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLargeError()
    if isinstance(exc, SuspiciousOperation):  # too many form fields or files, a bad boundary
        return exceptions.ParseError(str(exc) or None)
    return exc


def exception_handler(exc, context):
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES, which name this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, ApplicationError):
        response = Response({**exc.as_dict(),
                             "fields": _flatten(exc.fields) if exc.fields else {}},
                            status=exc.status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = {"code": "invalid", "detail": _("The request has invalid fields."),
                         "fields": _flatten(fields)}
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        response.data = {"code": codes if isinstance(codes, str) else "error",
                         "detail": str(getattr(exc, "detail", exc)), "fields": {}}
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and getattr(exc, "wait", None):
        response["Retry-After"] = str(int(exc.wait) + 1)
    return response

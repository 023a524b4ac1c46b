"""Request guards for pages and the API: hostile input is a clear 400 before any view runs, and
the one application error type becomes a clear page (the API has its own handler)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _

from satisfaction.errors import ApplicationError

logger = logging.getLogger(__name__)

NUL = "\x00"
# Django decodes the path as UTF-8 and writes each byte that is not UTF-8 back as an escape
# (``/q/%C3%28`` arrives as ``/q/%C3(``); no path of ours has such an escape as literal text.
_REPERCENTED = re.compile(r"%[89A-F][0-9A-F]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class HostileInputMiddleware:
    """A NUL byte in the path, the query string, a cookie, a header or a form field, or a path
    or query string that is not UTF-8, is answered with a 400 before any view, session or
    database query runs (PostgreSQL refuses NUL in text, so such a value would otherwise be a
    500 wherever it reached a query). Pages get the error page; ``/api/`` the API's JSON error
    shape (``satisfaction.api_errors``).

    It sits right after ``SecurityMiddleware``: nothing before it reads the request's data.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            part = hostile_part(request)
        except (MultiPartParserError, BadRequest, SuspiciousOperation):
            part, unreadable = "form", True
        else:
            if part is None:
                return self.get_response(request)
            unreadable = False
        logger.info("Refused a request with hostile input in its %s: %r", part,
                    request.path_info[:200])
        # Nothing after this middleware ran, so no language is active yet: the browser's.
        with translation.override(translation.get_language_from_request(request)):
            message = _("The form could not be read.") if unreadable else _(
                "The %(part)s contains a NUL byte or bytes that are not UTF-8 text; the "
                "request was refused.") % {"part": _part_name(part)}
            return _bad_request(request, part, message)


def _part_name(part: str) -> str:
    return {"path": _("web address"), "query": _("query string"), "cookie": _("cookie"),
            "header": _("request header"), "form": _("form")}[part]


def _raw_bytes(value: str) -> bytes:
    """A WSGI string as the bytes that came over the wire (WSGI decodes them as Latin-1)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:  # already decoded text (ASGI): its UTF-8 is what was sent
        return value.encode("utf-8")


def _is_text(raw: bytes) -> bool:
    if b"\x00" in raw:
        return False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def hostile_part(request: HttpRequest) -> str | None:
    """Which part of the request carries a NUL byte or non-UTF-8 bytes, or None.

    Form fields are read (``request.POST``) only for form posts, as CSRF checking would read
    them anyway; uploaded files are not looked at (a photo contains NUL bytes).
    """
    query = _raw_bytes(request.META.get("QUERY_STRING", ""))
    checks = (
        ("path", lambda: NUL not in request.path_info
         and not _REPERCENTED.search(request.path_info)),
        ("query", lambda: _is_text(unquote_to_bytes(query.replace(b"+", b" ")))),
        ("cookie", lambda: not any(NUL in key or NUL in value
                                   for key, value in request.COOKIES.items())),
        ("header", lambda: not any(key.startswith("HTTP_") and isinstance(value, str)
                                   and NUL in value for key, value in request.META.items())),
        ("form", lambda: _form_is_clean(request)),
    )
    return next((part for part, is_clean in checks if not is_clean()), None)


def _form_is_clean(request: HttpRequest) -> bool:
    """The form fields of a form post (upload names: Django drops their control characters)."""
    if request.method != "POST" or request.content_type not in FORM_TYPES:
        return True
    return not any(NUL in key or any(NUL in value for value in values)
                   for key, values in request.POST.lists())


def _bad_request(request: HttpRequest, part: str, message: str) -> HttpResponse:
    # No session or user middleware ran: the error page is rendered for an anonymous visitor
    # (a hostile session cookie is never looked up in the database).
    request.user = AnonymousUser()
    return application_error_response(request, ApplicationError(
        message, fields={part: [message]}, code="invalid_characters"))


def application_error_response(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    """The answer to ``error`` outside DRF's views: under ``/api/`` the API's JSON error shape,
    elsewhere the error page with the message and its field messages (those that do not repeat
    it)."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(error.as_dict(), status=error.status)
    details = [message for field in error.fields.values() for message in field
               if message != error.message]
    return render(request, "error.html", {"message": error.message, "details": details},
                  status=error.status)


class ApplicationErrorMiddleware:
    """A service or a view that raises ``ApplicationError`` outside a form (a malformed
    ``?quarter=``, a refused action) answers with its message and status, never a 500.
    DRF views handle the error themselves (``satisfaction.api_errors``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception
                          ) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        return application_error_response(request, exception)

"""Turns the one application error type into a clear page (the API has its own handler)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from satisfaction.errors import ApplicationError


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
        messages = [message for field in exception.fields.values() for message in field]
        return render(request, "error.html", {"message": exception.message,
                                              "details": messages}, status=exception.status)

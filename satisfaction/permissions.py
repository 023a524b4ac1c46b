"""Rules applied to pages and API views.

Django's ``user_passes_test`` sends a logged-in user who fails to the login page, which (with
``redirect_authenticated_user``) sends them straight back: a loop. Here a logged-in user who
may not use a page gets a 403; an anonymous visitor is sent to log in. The tests themselves are
the named predicates of the apps' ``rules.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from satisfaction.models import User

Predicate = Callable[[User], bool]


def role_required(test: Predicate) -> Callable:
    """Page decorator: log in first, then 403 unless ``test(user)``."""
    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not test(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def rule_permission(read: Predicate, write: Predicate | None = None) -> type[BasePermission]:
    """A DRF permission class from rules: ``read`` for safe methods, ``write`` (default: the
    same) for the others. Object-level rules stay in the view or the service."""
    write = write or read

    class RulePermission(BasePermission):
        def has_permission(self, request: Request, view: object) -> bool:
            test = read if request.method in SAFE_METHODS else write
            return bool(test(request.user))

    RulePermission.__name__ = RulePermission.__qualname__ = (
        f"Rule_{read.__name__}" + (f"_{write.__name__}" if write is not read else ""))
    return RulePermission

"""Role checks for pages.

Django's ``user_passes_test`` sends a logged-in user who fails to the login page, which (with
``redirect_authenticated_user``) sends them straight back: a loop. Here a logged-in user who
may not use a page gets a 403; an anonymous visitor is sent to log in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


def role_required(test: Callable) -> Callable:
    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not test(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def is_hq(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_hq

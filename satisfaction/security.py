"""Security wiring: response caching, session lifetime and login throttling (the
Content-Security-Policy is django-csp's middleware, configured in settings).

- ``PrivateCacheMiddleware``: every dynamic response is ``Cache-Control: private, no-store``;
- ``SessionIdleTimeoutMiddleware``: a login ends after ``SESSION_IDLE_TIMEOUT_SECONDS`` without a
  request, and ``SESSION_COOKIE_AGE`` after it began, however active;
- ``LoginThrottleHandler``: django-axes' database handler with one failure limit per
  combination of its lockout parameters.

The client's address (for the limits, axes and the logs) is ``satisfaction.ratelimit.client_ip``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.middleware import get_user
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control

# --- Cache-Control --------------------------------------------------------------------------


class PrivateCacheMiddleware:
    """``Cache-Control: private, no-store`` on every page, file and API answer.

    Nearly every dynamic answer carries personal data or belongs to a logged-in user (store
    figures, complaints with names and phones, evidence, exports); the public questionnaire and
    complaint forms carry a CSRF token. No shared cache or browser history may keep them.
    Static files (served with long-lived, content-hashed names) and ``/healthz`` are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        path = request.path_info
        if path != "/healthz" and not path.startswith(settings.STATIC_URL):
            patch_cache_control(response, private=True, no_store=True)
        return response


# --- Session lifetime -----------------------------------------------------------------------

SESSION_STARTED = "_auth_started"
SESSION_LAST_ACTIVITY = "_auth_last_activity"
ACTIVITY_RESOLUTION_SECONDS = 60


def start_session_clock(session) -> None:
    """Note a login's start and pin the session's expiry to its absolute end. Called at login
    (``LoginThrottleHandler.user_logged_in``), so it is saved with the login itself; the
    middleware calls it for a session that has no start yet."""
    now = timezone.now()
    stamp = int(now.timestamp())
    session[SESSION_STARTED] = stamp
    session[SESSION_LAST_ACTIVITY] = stamp
    session.set_expiry(now + timedelta(seconds=settings.SESSION_COOKIE_AGE))


class SessionIdleTimeoutMiddleware:
    """Log the user out after ``SESSION_IDLE_TIMEOUT_SECONDS`` without a request, and
    ``SESSION_COOKIE_AGE`` seconds after the login began however active they were.

    The session keeps the start and the last activity (epoch seconds, ``start_session_clock``
    at login); the last activity is rewritten at most once a minute, not on every request. The
    session's own expiry is pinned to the absolute end, so the stored session and the cookie
    end then too. A request that arrives too late goes on as anonymous: pages send it to the
    login form.
    Sits right after ``AuthenticationMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            self._check(request)
        return self.get_response(request)

    @staticmethod
    def _check(request: HttpRequest) -> None:
        session = request.session
        stamp = int(timezone.now().timestamp())
        started = session.get(SESSION_STARTED)
        last = session.get(SESSION_LAST_ACTIVITY)
        if started is None or last is None:
            # A session from before these clocks: they start now.
            start_session_clock(session)
            return
        idle = stamp - last
        if (idle > settings.SESSION_IDLE_TIMEOUT_SECONDS
                or stamp - started > settings.SESSION_COOKIE_AGE):
            logout(request)
            return
        if idle >= ACTIVITY_RESOLUTION_SECONDS:
            session[SESSION_LAST_ACTIVITY] = stamp


class ResolvedUserMiddleware:
    """A request with a login resolves its user once, here, and goes on with the user itself
    rather than Django's lazy proxy of it.

    Pages read ``request.user`` a few hundred times (every rule the menus and the page ask,
    the templates); through ``SimpleLazyObject`` each read raises and catches an
    ``AttributeError`` on the way: about a tenth of a store page's CPU (1.2 ms of 10.9 in
    process, measured against the same stack without this middleware).
    The user is the one ``AuthenticationMiddleware`` would load at the first read (one
    query). A request without a login (the public forms, the POS API) keeps the lazy
    anonymous user and never loads it. Sits right after ``SessionIdleTimeoutMiddleware``, so
    a login that has just ended is not resolved.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if SESSION_KEY in request.session:
            request.user = get_user(request)
        return self.get_response(request)


# --- Login throttling -----------------------------------------------------------------------


class LoginThrottleHandler(AxesDatabaseHandler):
    """django-axes' database handler, with two limits where axes has one.

    ``AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]`` makes axes count
    failures per username and client and per client across usernames, but it compares the
    larger of the two counts with the single ``AXES_FAILURE_LIMIT``: five mistyped passwords
    from a store's shared connection would lock every colleague out. Here each combination has
    its own limit: ``AXES_FAILURE_LIMIT`` per username and client, ``AXES_CLIENT_FAILURE_LIMIT``
    per client (password spraying: one wrong guess for each of many usernames).

    Axes locks when ``get_failures() >= AXES_FAILURE_LIMIT`` (when recording a failure and
    before every authentication), so ``get_failures`` answers the failures on that scale:
    ``AXES_FAILURE_LIMIT`` minus the attempts left before the first of the two limits. It is the
    username-and-client count itself until the client-wide count comes closer to its own limit.

    A successful login clears the failures of that username from that client only: a sprayer
    who knows one password cannot clear the client-wide count with it. It also starts the
    session's clocks (``start_session_clock``): this handler is the project's hook on every
    login, and the start is saved with the login instead of costing the next request a write.
    """

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        super().user_logged_in(sender, request, user, **kwargs)
        session = getattr(request, "session", None)
        if session is not None:
            start_session_clock(session)

    def get_failures(self, request, credentials: dict | None = None) -> int:
        # One queryset per AXES_LOCKOUT_PARAMETERS entry, in its order, within the cool-off.
        user_and_client, client = self.get_user_attempts(request, credentials)

        def total(attempts) -> int:
            return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0

        limit = settings.AXES_FAILURE_LIMIT
        left = min(limit - total(user_and_client),
                   settings.AXES_CLIENT_FAILURE_LIMIT - total(client))
        return limit - left

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        user_and_client, _client = self.get_user_attempts(request, credentials)
        count, _ = user_and_client.delete()
        return count

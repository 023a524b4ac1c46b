"""Security wiring (satisfaction.security, satisfaction.ratelimit): the Content-Security-Policy,
Cache-Control, the session's idle timeout and lifetime, trusted proxies and the client address,
and login throttling per username and client and per client."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.backends.cached_db import SessionStore
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from satisfaction import ratelimit, security
from satisfaction.models import User
from satisfaction.ratelimit import ClientIPLogFilter, client_ip
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-for-tests-2026"


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in
            (part.split() for part in header.split(";") if part.strip())}


# --- Content-Security-Policy ----------------------------------------------------------------


@pytest.mark.django_db
def test_every_page_is_sent_the_strict_policy(hq, login):
    for response in (login(hq).get("/stores/"), Client().get("/accounts/login/"),
                     Client().get("/ticket/")):
        assert _policy(response) == {
            "default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"],
            "img-src": ["'self'", "data:"], "object-src": ["'none'"], "base-uri": ["'self'"],
            "frame-ancestors": ["'none'"], "form-action": ["'self'"]}


@pytest.mark.django_db
def test_only_the_api_browsers_get_a_relaxed_policy(hq, login):
    client = Client()
    docs = _policy(client.get("/api/docs/"))
    assert docs["script-src"] == ["'self'", "'unsafe-inline'"]
    assert docs["style-src"] == ["'self'", "'unsafe-inline'"]
    redoc = _policy(client.get("/api/redoc/"))
    assert redoc["script-src"] == ["'self'"]
    assert redoc["style-src"] == ["'self'", "'unsafe-inline'"]
    assert redoc["worker-src"] == ["'self'", "blob:"]
    browsable = _policy(login(hq).get("/api/v1/stores/", HTTP_ACCEPT="text/html"))
    assert browsable["script-src"] == ["'self'"]
    assert browsable["style-src"] == ["'self'", "'unsafe-inline'"]
    for policy in (docs, redoc, browsable):
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["']""", re.I)
INLINE_STYLE = re.compile(r"""\sstyle\s*=\s*["']|<style[\s>]""", re.I)


def test_no_template_has_inline_script_handlers_or_styles():
    """Under the policy none of these would run or apply: scripts are static files (data in
    <script type="application/json"> blocks), handlers are wired in static/js/app.js through
    data-* attributes, styles are classes in the static style sheets."""
    templates = [path for path in ROOT.glob("**/templates/**/*.html")
                 if ".venv" not in path.parts and "staticfiles" not in path.parts]
    assert len(templates) > 50
    offenders = []
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE):
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in pattern.finditer(text)]
        if "javascript:" in text:
            offenders.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert offenders == []


# --- Cache-Control --------------------------------------------------------------------------


def _cache_control(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.mark.django_db
def test_pages_and_api_answers_are_private_and_not_stored(hq, login, store):
    client = login(hq)
    for url in ("/stores/", f"/stores/{store.code}/", "/api/v1/stores/", "/notifications/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert {"private", "no-store"} <= _cache_control(response), url
        assert "public" not in _cache_control(response)
    for url in (f"/complain/{store.code}", "/ticket/", "/accounts/login/"):
        assert {"private", "no-store"} <= _cache_control(Client().get(url)), url


@pytest.mark.django_db
def test_static_files_and_the_health_check_are_left_alone(settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()
    static = client.get("/static/css/app.css")
    assert static.status_code == 200
    assert "no-store" not in _cache_control(static)
    # /healthz says for itself what caches may do (never_cache); the middleware adds nothing.
    middleware = security.PrivateCacheMiddleware(lambda request: HttpResponse("ok"))
    assert "Cache-Control" not in middleware(RequestFactory().get("/healthz"))
    assert _cache_control(middleware(RequestFactory().get("/ticket/"))) == {"private", "no-store"}


# --- Sessions -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = timezone.now()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    """``timezone.now`` frozen; ``clock.advance(hours=1)`` moves it (sessions read it too)."""
    frozen = Clock()
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


def _logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


@pytest.mark.django_db
def test_a_login_ends_after_the_idle_timeout(hq, login, clock, settings):
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 8 * 3600
    client = login(hq)
    assert client.get("/stores/").status_code == 200
    clock.advance(hours=7, minutes=59)
    assert client.get("/stores/").status_code == 200  # active again: the idle time restarts
    clock.advance(hours=7, minutes=59)
    assert client.get("/stores/").status_code == 200
    clock.advance(hours=8, seconds=1)
    response = client.get("/stores/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not _logged_in(client)


@pytest.mark.django_db
def test_a_login_ends_after_its_lifetime_however_active(hq, login, clock, settings):
    settings.SESSION_COOKIE_AGE = 7 * 24 * 3600
    client = login(hq)
    assert client.get("/stores/").status_code == 200
    for _ in range(7 * 24 // 6 - 1):
        clock.advance(hours=6)
        assert client.get("/stores/").status_code == 200
    clock.advance(hours=6, seconds=1)  # seven days and a second after the first request
    assert client.get("/stores/").status_code == 302
    assert not _logged_in(client)


@pytest.mark.django_db
def test_the_last_activity_is_written_at_most_once_a_minute(hq, login, clock, settings):
    client = login(hq)
    client.get("/stores/")
    first = client.session[security.SESSION_LAST_ACTIVITY]
    clock.advance(seconds=30)
    response = client.get("/stores/")
    assert client.session[security.SESSION_LAST_ACTIVITY] == first
    # The session was not saved: no new cookie.
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    clock.advance(seconds=31)
    response = client.get("/stores/")
    assert client.session[security.SESSION_LAST_ACTIVITY] == first + 61
    assert settings.SESSION_COOKIE_NAME in response.cookies


@pytest.mark.django_db
def test_a_session_from_before_the_clocks_is_started_not_ended(hq, login):
    client = login(hq)
    session = client.session
    del session[security.SESSION_STARTED], session[security.SESSION_LAST_ACTIVITY]
    session.save()
    assert client.get("/stores/").status_code == 200
    assert security.SESSION_STARTED in client.session


def _through_resolved_user(session) -> object:
    """``request.user`` as the view sees it after the auth middleware and
    ``ResolvedUserMiddleware``."""
    request = RequestFactory().get("/stores/")
    request.session = session
    AuthenticationMiddleware(lambda r: HttpResponse()).process_request(request)
    seen = []
    security.ResolvedUserMiddleware(lambda r: seen.append(r.user) or HttpResponse())(request)
    return seen[0]


@pytest.mark.django_db
def test_a_logged_in_request_goes_on_with_its_user_itself(hq, login,
                                                           django_assert_num_queries):
    client = login(hq)
    with django_assert_num_queries(1):  # the user, once
        user = _through_resolved_user(client.session)
        assert type(user) is User
        assert user.pk == hq.pk
        assert user.is_authenticated
        assert user.role == hq.role


@pytest.mark.django_db
def test_a_request_without_a_login_keeps_the_lazy_anonymous_user(django_assert_num_queries):
    with django_assert_num_queries(0):
        user = _through_resolved_user(SessionStore())
        assert isinstance(user, SimpleLazyObject)
    assert not user.is_authenticated


@pytest.mark.django_db
def test_the_session_cookie_expires_at_the_end_of_the_lifetime(hq, login, clock, settings):
    settings.SESSION_COOKIE_AGE = 3600
    client = login(hq)  # the login starts the clocks (no write on the next request)
    assert client.get("/stores/").cookies.get(settings.SESSION_COOKIE_NAME) is None
    clock.advance(minutes=20)
    response = client.get("/stores/")  # the last activity is saved: the cookie is sent again
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 2400
    clock.advance(minutes=20)
    response = client.get("/stores/")
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 1200


# --- Trusted proxies and the client's address -----------------------------------------------


@pytest.mark.parametrize(("count", "remote", "forwarded", "expected"), [
    # No proxy of ours: the connection's address; X-Forwarded-For is anyone's to forge.
    (0, "203.0.113.5", "198.51.100.1", "203.0.113.5"),
    (0, "", "", None),
    # One proxy: the address it appended, the last one; the client's own entries are ignored.
    (1, "10.0.0.2", "198.51.100.1", "198.51.100.1"),
    (1, "10.0.0.2", "192.0.2.66, 198.51.100.1", "198.51.100.1"),
    (1, "10.0.0.2", " 198.51.100.1:5123 ", "198.51.100.1"),
    (1, "10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
    (1, "10.0.0.2", "::ffff:198.51.100.1", "198.51.100.1"),
    # Two proxies: the second from the right.
    (2, "10.0.0.3", "192.0.2.66, 198.51.100.1, 10.0.0.2", "198.51.100.1"),
    # Fewer entries than proxies (not through the proxies), or garbage: the connection.
    (2, "10.0.0.3", "198.51.100.1", "10.0.0.3"),
    (1, "10.0.0.2", "", "10.0.0.2"),
    (1, "10.0.0.2", "unknown", "10.0.0.2"),
])
def test_client_ip_believes_only_the_trusted_proxies(settings, count, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def _settings_value(extra_env: dict[str, str], expression: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"TRUSTED_PROXY_COUNT", "DEBUG"}}
    result = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", ("import django; django.setup(); from django.conf import "
                                f"settings as s; print({expression})")],
        cwd=ROOT, env={**clean, "DEBUG": "0", "SECRET_KEY": "x" * 50,
                       "DJANGO_SETTINGS_MODULE": "satisfaction.settings", **extra_env},
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_x_forwarded_proto_is_believed_only_behind_trusted_proxies():
    assert _settings_value({}, "s.SECURE_PROXY_SSL_HEADER") == "None"
    assert _settings_value({"TRUSTED_PROXY_COUNT": "1"}, "s.SECURE_PROXY_SSL_HEADER") == (
        "('HTTP_X_FORWARDED_PROTO', 'https')")


def test_log_records_name_the_client():
    log_filter = ClientIPLogFilter()
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found", (),
                               None)
    record.request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    assert log_filter.filter(record)
    assert record.client_ip == "203.0.113.9"
    plain = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
    log_filter.filter(plain)
    assert plain.client_ip == "-"


# --- Rate limits (the mechanics; the pages' limits are tested with their apps) ---------------


def test_a_slot_is_given_back_when_the_counted_work_fails():
    rule = ratelimit.Rule("test-rule", limit=1, window_seconds=60)
    with pytest.raises(ValueError, match="boom"), ratelimit.counted_if_accepted(rule, "a"):
        raise ValueError("boom")
    with ratelimit.counted_if_accepted(rule, "a"):
        pass
    with pytest.raises(ratelimit.RateLimitedError), ratelimit.counted_if_accepted(rule, "a"):
        pytest.fail("the block must not run over the limit")
    with ratelimit.counted_if_accepted(rule, "b"):
        pass
    assert "203.0.113.9" not in rule.key("203.0.113.9")


# --- Login throttling -----------------------------------------------------------------------


def _login_status(client: Client, username: str, password: str = "wrong-password") -> int:
    return client.post("/accounts/login/", {"username": username,
                                            "password": password}).status_code


@pytest.mark.django_db
def test_five_wrong_passwords_lock_that_user_from_that_client_only(store_manager):
    attacker = Client(REMOTE_ADDR="198.51.100.30")
    assert [_login_status(attacker, "store1") for _ in range(5)] == [200] * 4 + [429]
    assert _login_status(attacker, "store1", PASSWORD) == 429
    # The same user from their own device, and another user from the same client, log in.
    assert _login_status(Client(REMOTE_ADDR="203.0.113.31"), "store1", PASSWORD) == 302
    UserFactory(username="colleague")
    assert _login_status(attacker, "colleague", PASSWORD) == 302


@pytest.mark.django_db
def test_failures_across_usernames_lock_the_client(store_manager, settings):
    assert settings.AXES_CLIENT_FAILURE_LIMIT == 20
    sprayer = Client(REMOTE_ADDR="198.51.100.40")
    statuses = [_login_status(sprayer, f"user{n}") for n in range(20)]
    assert statuses == [200] * 19 + [429]
    # Locked for every username, even with the right password.
    assert _login_status(sprayer, "store1", PASSWORD) == 429
    assert _login_status(Client(REMOTE_ADDR="203.0.113.41"), "store1", PASSWORD) == 302


@pytest.mark.django_db
def test_a_known_password_does_not_clear_the_client_count(store_manager, settings):
    sprayer = Client(REMOTE_ADDR="198.51.100.50")
    assert [_login_status(sprayer, f"user{n}") for n in range(19)] == [200] * 19
    assert _login_status(sprayer, "store1", PASSWORD) == 302
    sprayer.post("/accounts/logout/")
    assert _login_status(sprayer, "user-next") == 429


@pytest.mark.django_db
def test_lockouts_follow_the_client_behind_the_proxy(store_manager, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.60")
    assert [_login_status(attacker, "store1") for _ in range(5)][-1] == 429
    customer = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.61")
    assert _login_status(customer, "store1", PASSWORD) == 302


# --- In a browser, under the policy ---------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_language_switch_works_without_inline_script(browser_page, hq, browser_login):
    page = browser_page
    browser_login(page, "hq")
    page.goto(page.live_url("/stores/"))
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.console_errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_api_browsers_render_under_their_relaxed_policy(browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(page.live_url("/api/docs/"))
    page.wait_for_selector(".opblock-tag", timeout=20000)  # Swagger UI drew the operations
    assert page.console_errors == []
    page.goto(page.live_url("/api/redoc/"))
    page.wait_for_selector("text=Satisfaction management API", timeout=20000)
    # Only what comes from outside is refused (ReDoc's Google Fonts and CDN logo), and the
    # favicon ReDoc's page does not name.
    unexpected = [error for error in page.console_errors
                  if not re.search(r"fonts\.googleapis\.com|cdn\.redoc\.ly|404", error)]
    assert unexpected == []

"""Personas shared by every app's tests.

Two regions; ``store`` and ``sibling_store`` in ``region``, ``other_store`` in ``other_region``.
Personas: ``hq``, ``region_manager`` (of ``region``), ``store_manager`` (of ``store``),
``other_store_manager`` (of ``other_store``), ``clerk`` (of ``store``), ``shopper``, ``hr``,
``department_head`` (of the logistics department).
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client

from satisfaction.models import EmployeeRole, Role
from tests.factories import EmployeeFactory, RegionFactory, StoreFactory, UserFactory


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """``postgres`` tests need PostgreSQL's concurrency; they run in CI's PostgreSQL pass.
    ``sqlite_pass`` and ``postgres_pass`` tests run in one pass only (CI's time budget).

    Tests that start a real Celery worker share one test process (``--dist loadgroup``): real
    workers on one broker would take each other's tasks and purge each other's queue. The group
    is given before pytest-xdist's own hook of this name reads it (``tryfirst``);
    ``_celery_worker_tests_share_a_process`` checks that it held."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    broker = bool(settings.CELERY_BROKER_URL)
    for item in items:
        _restore_migrated_rows_in_transactional_tests(item)
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="runs in the PostgreSQL pass"))
        if "sqlite_pass" in item.keywords and on_postgres:
            item.add_marker(pytest.mark.skip(reason="runs in the SQLite pass"))
        if "postgres_pass" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="runs in the PostgreSQL pass"))
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="runs in the PostgreSQL + Redis pass"))
        if "celery_worker" in item.keywords:
            if not (on_postgres and broker):
                item.add_marker(pytest.mark.skip(reason="runs in the PostgreSQL + Redis pass"))
            item.add_marker(pytest.mark.xdist_group("celery_worker"))


def _restore_migrated_rows_in_transactional_tests(item) -> None:
    """A transactional test ends with a flush, which also removes the rows data migrations made
    (default indicators, scorecard, complaint policy, scoring scheme). Serialized rollback
    restores them before each such test, so no test depends on the order tests run in."""
    marker = item.get_closest_marker("django_db")
    names = getattr(item, "fixturenames", ())
    transactional = ("transactional_db" in names or "live_server" in names
                     or (marker is not None and marker.kwargs.get("transaction")))
    if transactional:
        kwargs = dict(marker.kwargs) if marker is not None else {}
        kwargs.update(transaction=True, serialized_rollback=True)
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.fixture(autouse=True)
def _a_cache_of_its_own(settings, worker_id):
    """Each test starts with an empty cache (rate limits, throttles, cached figures) of its own.

    Parallel test processes share one Redis in CI, and clearing it (FLUSHDB) would wipe another
    test's counters mid-test: a fresh key prefix per test isolates them instead."""
    settings.CACHES = {"default": {**settings.CACHES["default"],
                                   "KEY_PREFIX": f"test-{worker_id}-{uuid.uuid4().hex}"}}


@pytest.fixture(autouse=True)
def _celery_worker_tests_share_a_process(request, pytestconfig):
    """A real-worker test fails with the reason, rather than at random, when pytest-xdist did not
    keep the ``celery_worker`` group together (as with pytest 9.2 and pytest-xdist 3.8)."""
    if ("celery_worker" in request.keywords and getattr(pytestconfig.option, "loadgroup", False)
            and not request.node.nodeid.endswith("@celery_worker")):
        pytest.fail("pytest-xdist did not group the real-worker tests (--dist loadgroup): check "
                    "the pytest and pytest-xdist pins in pyproject.toml")


@pytest.fixture(autouse=True)
def _jobs_run_in_process(request, monkeypatch):
    """A background job started in a test runs in the test's process when its transaction
    commits, as in eager mode, also in the PostgreSQL + Redis pass (where tasks would otherwise
    wait in Redis for a worker no test started); tests marked ``celery_worker`` hand jobs to
    their real worker."""
    if "celery_worker" in request.keywords:
        return
    from satisfaction import jobs
    from satisfaction.tasks import job_run

    monkeypatch.setattr(jobs, "_enqueue", lambda job_id: job_run.apply(args=[job_id]))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests make many users; a deliberately slow production hasher would dominate them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Production uses whitenoise's manifest (built by collectstatic); tests serve sources."""
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture
def region(db):
    return RegionFactory(code="EAST", name="华东区")


@pytest.fixture
def other_region(db):
    return RegionFactory(code="SOUTH", name="华南区")


@pytest.fixture
def store(region):
    return StoreFactory(code="S0001", name="上海人民路店", region=region, city="上海")


@pytest.fixture
def sibling_store(region):
    return StoreFactory(code="S0002", name="杭州解放路店", region=region, city="杭州")


@pytest.fixture
def other_store(other_region):
    return StoreFactory(code="S0011", name="广州中山路店", region=other_region, city="广州")


@pytest.fixture
def store_manager_employee(store):
    return EmployeeFactory(number="E00001", name="王店长", store=store,
                           role=EmployeeRole.STORE_MANAGER)


@pytest.fixture
def hq(db):
    return UserFactory(username="hq", role=Role.HQ_ADMIN, is_staff=True)


@pytest.fixture
def region_manager(region):
    return UserFactory(username="region1", role=Role.REGIONAL_MANAGER, regions=[region])


@pytest.fixture
def store_manager(store, store_manager_employee):
    return UserFactory(username="store1", role=Role.STORE_MANAGER, stores=[store],
                       employee=store_manager_employee)


@pytest.fixture
def emails(store_manager, region_manager, hq):
    """The store manager, the regional manager and HQ have e-mail addresses (the outbox)."""
    for user, address in ((store_manager, "store1@example.com"),
                          (region_manager, "region1@example.com"), (hq, "hq@example.com")):
        user.email = address
        user.save(update_fields=["email"])


@pytest.fixture
def other_store_manager(other_store):
    return UserFactory(username="store11", role=Role.STORE_MANAGER, stores=[other_store])


@pytest.fixture
def clerk(store):
    employee = EmployeeFactory(number="E00002", name="李店员", store=store)
    return UserFactory(username="clerk1", role=Role.CLERK, stores=[store], employee=employee)


@pytest.fixture
def shopper(db):
    return UserFactory(username="shopper1", role=Role.MYSTERY_SHOPPER)


@pytest.fixture
def hr(db):
    return UserFactory(username="hr", role=Role.HR)


@pytest.fixture
def department_head(db):
    """The head of the logistics department (an HQ department serving the stores): sees the
    internal complaints to logistics, no store data."""
    from satisfaction.models import Department

    return UserFactory(username="dept-logistics", role=Role.DEPARTMENT_HEAD,
                       departments=[Department.objects.get(code="logistics")])


@pytest.fixture
def login():
    """``login(user)`` returns a test client logged in as that user."""

    def _login(user) -> Client:
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return _login


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def browser_page(live_server, settings, monkeypatch):
    """A Playwright page in Debian's headless Chromium against ``live_server``.

    ``page.goto(live_url("/path"))``; ``console_errors`` collects console errors so a test can
    assert a page rendered without any. Viewport defaults to a 360x740 phone; pass
    ``browser_page.set_viewport_size(...)`` for desktop.
    """
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # itself are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    executable = "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Debian chromium is not installed (make browsers)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        context = browser.new_context(viewport={"width": 360, "height": 740},
                                      locale="zh-CN")
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        page.live_url = lambda path: f"{live_server.url}{path}"
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def browser_login():
    """``browser_login(page, username, password)`` logs in through the real login form."""

    def _login(page, username: str, password: str = "pw-for-tests-2026") -> None:
        page.goto(page.live_url("/accounts/login/"))
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

    return _login


@pytest.fixture
def redis_down(monkeypatch):
    """Every call on the shared cache raises, as with Redis down (tests/caches.py); the rate
    limits and the POS throttle fall back to their per-process memory, cleared around the test,
    and warn again at once."""
    from django.test import override_settings

    from pos import auth
    from satisfaction import ratelimit
    from tests.caches import UNREACHABLE

    ratelimit.LOCAL_CACHE.clear()
    for warning in (ratelimit.warn_cache_down, auth.warn_cache_down):
        monkeypatch.setattr(warning, "_next_at", 0.0)
        monkeypatch.setattr(warning, "_suppressed", 0)
    with override_settings(CACHES=UNREACHABLE):
        yield
    ratelimit.LOCAL_CACHE.clear()

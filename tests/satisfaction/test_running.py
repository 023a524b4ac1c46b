"""Health check, settings from the environment, login throttling, demo data, deployment file."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client

from satisfaction import env
from satisfaction.models import Employee, Region, Store, User

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_reports_database_and_broker_status():
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] in {"eager", "ok"}
    assert body["status"] == "ok"


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down():
    from django.db.backends.utils import CursorWrapper

    with mock.patch.object(CursorWrapper, "execute", side_effect=OSError("connection refused")):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("down")


def test_env_helpers_fail_loudly_on_bad_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env.env_bool("X_BOOL", default=False)
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env.env_int("X_INT", default=1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env.env_int("X_INT", default=1, minimum=1)
    monkeypatch.setenv("X_SHARE", "1.5")
    with pytest.raises(ImproperlyConfigured, match="X_SHARE"):
        env.env_float("X_SHARE", default=0.1, minimum=0, maximum=1)
    monkeypatch.setenv("X_SHARE", "0.25")
    assert env.env_float("X_SHARE", default=0.1, minimum=0, maximum=1) == 0.25
    monkeypatch.setenv("X_LIST", "a.example, b.example,")
    assert env.env_list("X_LIST") == ["a.example", "b.example"]
    monkeypatch.setenv("X_BOOL", "on")
    assert env.env_bool("X_BOOL", default=False) is True


def _run_settings(extra_env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL",
                          "SECURE_SSL_REDIRECT", "REDIS_URL"}}
    return subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], cwd=ROOT, env={**clean, **extra_env},
        capture_output=True, text=True, timeout=120, check=False)


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    result = _run_settings({"DEBUG": "0", "DJANGO_SETTINGS_MODULE": "satisfaction.settings"},
                           "import django; django.setup()")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_settings_default_to_sqlite_and_eager_tasks():
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.TIME_ZONE)")
    result = _run_settings({"DEBUG": "1", "DJANGO_SETTINGS_MODULE": "satisfaction.settings"}, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True", "Asia/Shanghai"]


def test_production_settings_pass_the_deployment_checklist():
    result = _run_settings({
        "DEBUG": "0", "SECRET_KEY": "a" * 20 + "-Very-Long-Random-Production-Key-0123456789!",
        "ALLOWED_HOSTS": "satisfaction.example.com",
        "DJANGO_SETTINGS_MODULE": "satisfaction.settings",
    }, "import sys; from django.core.management import execute_from_command_line; "
       "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_repeated_failed_logins_are_locked_out(store_manager):
    client = Client()
    statuses = [client.post("/accounts/login/",
                            {"username": "store1", "password": "wrong-password"}).status_code
                for _ in range(5)]
    assert statuses[:4] == [200] * 4  # the form again, with its error
    locked = client.post("/accounts/login/",
                         {"username": "store1", "password": "pw-for-tests-2026"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_user_logs_in_and_out_through_the_pages(hq):
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "hq", "password": "pw-for-tests-2026"})
    assert response.status_code == 302
    assert client.get("/stores/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/stores/").status_code == 302


@pytest.mark.django_db
def test_the_interface_speaks_chinese_and_english(hq, login):
    client = login(hq)
    chinese = client.get("/stores/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "门店" in chinese
    client.post("/i18n/setlang/", {"language": "en", "next": "/stores/"})
    english = client.get("/stores/").content.decode()
    assert "Stores" in english
    assert 'lang="en"' in english


# --reset flushes, which needs real transactions; serialized_rollback restores the rows the data
# migrations made (default indicators, scorecard, policies) that an earlier flush removed.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_seed_demo_builds_the_demo_chain_deterministically(capsys):
    records: list[logging.LogRecord] = []
    catcher = logging.Handler(level=logging.DEBUG)
    catcher.emit = records.append
    logging.getLogger().addHandler(catcher)
    try:
        call_command("seed_demo", "--seed", "7", "--password", "pw-demo-12345",
                     "--base-url", "http://127.0.0.1:8000/")
    finally:
        logging.getLogger().removeHandler(catcher)
    # A quiet first run: no task, rollup or broker lines, only the summary and the logins.
    assert [(r.name, r.getMessage()[:80]) for r in records] == []
    assert Region.objects.count() == 3
    assert Store.objects.count() == 30
    assert 150 <= Employee.objects.count() <= 250
    for username in ("hq", "region1", "store1", "shopper1", "hr"):
        assert User.objects.get(username=username).check_password("pw-demo-12345")
    assert User.objects.get(username="store1").stores.get().code == "S0001"
    assert set(User.objects.get(username="region1").regions.values_list("code", flat=True)) == {
        "EAST"}
    first = list(Employee.objects.order_by("number").values_list("name", "store__code"))
    out = capsys.readouterr().out
    assert "store1" in out
    assert "pw-demo-12345" in out
    # The customer's side has no login: its pages are printed with the logins.
    for link in ("http://127.0.0.1:8000/q/S0001", "http://127.0.0.1:8000/complain/S0001",
                 "http://127.0.0.1:8000/ticket/"):
        assert link in out
    call_command("seed_demo", "--seed", "7", "--password", "pw-demo-12345", "--reset")
    assert list(Employee.objects.order_by("number").values_list("name", "store__code")) == first


def test_docker_compose_runs_every_service_on_the_settings_variables():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"db", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("db", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert compose["volumes"].keys() >= {"pgdata", "redisdata"}
    settings_source = (ROOT / "satisfaction" / "settings.py").read_text()
    read_names = set(re.findall(r'env_\w+\("([A-Z_]+)"', settings_source))
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"} <= set(environment)
        unknown = set(environment) - read_names
        assert not unknown, f"{name} sets variables the settings never read: {unknown}"
    assert "celery" in " ".join(services["worker"]["command"])
    assert "beat" in services["beat"]["command"]
    assert "gunicorn" in services["web"]["command"][0]
    readme = (ROOT / "README.md").read_text()
    for variable in read_names:
        assert variable in readme, f"README does not document {variable}"


def test_the_alerts_worker_runs_one_process_per_outbox_sender():
    """A burst asks for DELIVERY_SENDERS sweeps at once (satisfaction.delivery.senders_for);
    the alerts worker of the deployment takes its process count from the same variable, with
    the same default, so the two cannot drift apart."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["worker-alerts"]["command"]
    concurrency = command[command.index("--concurrency") + 1]
    assert concurrency == "${DELIVERY_SENDERS:-2}"
    assert compose["services"]["worker-alerts"]["environment"]["DELIVERY_SENDERS"] == (
        "${DELIVERY_SENDERS:-2}")
    settings_source = (ROOT / "satisfaction" / "settings.py").read_text()
    assert 'env_int("DELIVERY_SENDERS", default=2' in settings_source


@pytest.mark.django_db
def test_a_form_posted_without_its_token_explains_itself(hq):
    client = Client(enforce_csrf_checks=True)
    client.force_login(hq)
    response = client.post("/chain/import/", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert "The form expired" in response.content.decode()


@pytest.mark.django_db
def test_the_login_page_links_the_demo_customer_pages_on_a_development_run(settings, store):
    settings.DEBUG = True
    page = Client().get("/accounts/login/").content.decode()
    assert 'data-testid="customer-links"' in page
    assert f'href="/q/{store.code}"' in page
    assert f'href="/complain/{store.code}"' in page
    assert 'href="/ticket/"' in page


@pytest.mark.django_db
def test_the_login_page_lists_no_customer_pages_in_production(settings, store):
    settings.DEBUG = False
    page = Client().get("/accounts/login/").content.decode()
    assert "customer-links" not in page
    assert f"/q/{store.code}" not in page

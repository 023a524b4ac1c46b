"""Schemathesis fuzzes the whole API (``/api/v1/``) through its OpenAPI schema, in-process over
WSGI, with all of Schemathesis' default checks: no 5xx, every status code, content type, header
and body as documented, schema-invalid requests refused, schema-valid ones accepted, auth
enforced, 405 with ``Allow`` for undocumented methods.

Three callers, each with its own credentials as the schema declares them (Schemathesis sets and,
for its negative cases, removes them):

- HQ, logged in: the session cookie (security scheme ``cookieAuth``). SessionAuthentication
  enforces CSRF for writes, so every request also carries a CSRF cookie and the matching
  ``X-CSRFToken`` header, as the browser's JavaScript sends them (``_with_csrf``). A session is
  what HQ's and the store managers' clients use; the project has no token authentication, and
  bypassing CSRF would fuzz a configuration that production does not run;
- a store manager, logged in the same way: most of what HQ may do is 403 or 404 for them;
- a POS system with an API key for S0001-S0003 (security scheme ``PosApiKey``).

For each caller and operation: the documented examples, Schemathesis' coverage cases (boundary
and invalid values of each parameter and property, missing required ones, undocumented
methods), then generated positive and negative cases (``FUZZ_EXAMPLES``). Schemathesis' own
pytest plugin does not run under pytest 9, so the cases are drawn with Hypothesis' ``@given``
and ``iter_coverage_cases`` directly; ``derandomize`` keeps every run the same.

``FALSE_POSITIVES`` switches single checks off for single operations, each with the reason; a
new one needs the same justification. ``API_FUZZ_OPERATIONS`` (a regular expression over
``"METHOD /path"``) narrows a local run to some operations.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, auths
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from complaints import services as complaint_services
from complaints.models import Category, Channel, EightDReport
from mystery_shopper.models import Visit, VisitStatus
from mystery_shopper.services import current_template
from pos.models import PosTransaction
from satisfaction.models import EmployeeRole, Role
from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from tests.dashboard.factories import (
    make_campaign,
    make_employee_score,
    make_response,
    make_rollup,
    make_store_score,
    make_visit,
)
from tests.factories import EmployeeFactory, UserFactory
from tests.mystery_shopper.factories import ShopperFactory
from tests.pos.factories import make_key

POS_KEY = "PosFuzz1.FuzzSecretForSchemathesisOnly-0000"
CSRF_TOKEN = "fuzzCsrfSecret0123456789abcdefgh"  # 32 characters, as Django's CSRF secret
FUZZ_EXAMPLES = {"hq": 25, "store_manager": 10, "pos_key": 10}

# Whether a schema-valid write succeeds depends on stored state or on rules between fields that
# OpenAPI cannot state; a 400 (or 404) then is the right answer, not a rejected valid request.
_STATE = ("the outcome depends on stored state: a referenced store, campaign, employee or "
          "appeal must exist and be visible, a complaint or visit must be in the right state, "
          "a code must be new, a quarter must not be locked")
_CROSS_FIELD = ("a rule between fields: start and end come together and end is not before "
                "start; a campaign's dates fall in its quarter; item codes are unique in a "
                "scorecard; red_line_score is at most 100")
_LENIENT = ("DRF's text and decimal fields also take a JSON number (36.5 for \"36.50\"), as "
            "the POS guide promises for amounts; the schema documents the string form only")

# (persona or "*", "METHOD /path" regex) -> [(check, why it is a false positive there)].
FALSE_POSITIVES: dict[tuple[str, str], list] = {
    ("*", r"GET /api/v1/complaint-figures/"): [(positive_data_acceptance, _CROSS_FIELD)],
    ("*", r"(POST|PUT|PATCH) /api/v1/.*"): [(positive_data_acceptance, _STATE)],
    ("*", (r"(POST|PUT|PATCH) /api/v1/(surveys/indicators|mystery-shopper/templates|"
           r"surveys/campaigns|scoring/rollups|complaints|pos/complaints)/.*")): [
        (negative_data_rejection, _LENIENT)],
}


def _excluded(persona: str, label: str) -> list:
    return [check for (who, pattern), entries in FALSE_POSITIVES.items()
            if who in ("*", persona) and re.fullmatch(pattern, label)
            for check, _why in entries]


# --- the chain the callers see ---------------------------------------------------------------


@pytest.fixture
def chain(settings, tmp_path, store, sibling_store, other_store, store_manager_employee):
    """S0001-S0003 in EAST, S0011 in SOUTH; data of every kind at S0001 so that reads and
    writes find something: a campaign with responses, visits in each state, complaints in
    each state with an 8D report, a provisional rollup with scores, receipts."""
    settings.MEDIA_ROOT = tmp_path
    settings.POS_THROTTLE_RATE = "1000000/min"
    quarter = Quarter.current()
    region = store.region
    third = type(store).objects.create(code="S0003", name="三店", region=region, city="上海")
    clerk = EmployeeFactory(number="E00002", name="李店员", store=store)
    hq = UserFactory(username="hq", role=Role.HQ_ADMIN, is_staff=True)
    manager = UserFactory(username="store1", role=Role.STORE_MANAGER, stores=[store],
                          employee=store_manager_employee)
    EmployeeFactory(number="E00011", name="赵店长", store=other_store,
                    role=EmployeeRole.STORE_MANAGER)
    shopper = ShopperFactory(username="shopper1", cities=[store.city])
    make_key(store, sibling_store, third, key=POS_KEY)

    campaign = make_campaign(quarter, ask_expectation=False)
    make_response(campaign, store, {"price": 4, "efficacy": 5}, employee=clerk)
    make_response(campaign, sibling_store, {"price": 2})
    Visit.objects.create(store=store, quarter=quarter, template=current_template(),
                         shopper=shopper, status=VisitStatus.ASSIGNED,
                         due_on=timezone.localdate() + timedelta(days=3))
    make_visit(store, quarter=quarter, visited_on=timezone.localdate(), score_pct=80.0,
               shopper=shopper, employee=clerk)
    make_visit(store, quarter=quarter, visited_on=timezone.localdate(), score_pct=60.0,
               shopper=shopper, status=VisitStatus.SUBMITTED)
    for description in ("店员态度冷淡", "价签不符"):
        complaint_services.complaint_create(
            store=store, channel=Channel.IN_STORE, category=Category.SERVICE_ATTITUDE,
            description=description, customer_name="张先生", customer_phone="13800138000",
            received_by=hq)
    triaged = complaint_services.complaint_create(
        store=store, channel=Channel.PHONE, category=Category.PRICE, description="多收钱",
        received_by=hq)
    triaged = complaint_services.complaint_triage(
        complaint=triaged, user=hq, version=triaged.version, grade="B", substantiated=True,
        responsibility="own_store", owner=manager)
    EightDReport.objects.create(complaint=triaged, d2_problem="多收钱")

    rollup = make_rollup(quarter, RollupStatus.PROVISIONAL)
    for shown in (store, sibling_store, other_store):
        make_store_score(rollup, shown, 70.0, survey=40, scenario=32, deductions=2)
    for employee in (store_manager_employee, clerk):
        make_employee_score(rollup, employee, 72.0)
    PosTransaction.objects.create(store=store, receipt_number="R0001",
                                  occurred_at=timezone.now(), amount=10, item_count=1,
                                  received_at=timezone.now())
    return {"hq": hq, "store_manager": manager}


@pytest.fixture
def _keep_test_connection():
    """Like Django's test client: the raw WSGI handler must not close the test's connection
    (it would, at each request's end, inside the test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _with_csrf(app):
    """The browser's part of Django's CSRF protection: the CSRF cookie on every request and the
    same secret in ``X-CSRFToken``; the session cookie stays Schemathesis' to set or leave out."""

    def wrapped(environ, start_response):
        cookies = environ.get("HTTP_COOKIE", "")
        environ["HTTP_COOKIE"] = "; ".join(filter(None, (cookies, f"csrftoken={CSRF_TOKEN}")))
        environ["HTTP_X_CSRFTOKEN"] = CSRF_TOKEN
        return app(environ, start_response)

    return wrapped


def _schema(persona: str, credentials: str):
    scheme = ({"PosApiKey": {"api_key": f"Api-Key {credentials}"}} if persona == "pos_key"
              else {"cookieAuth": {"api_key": credentials}})
    config = SchemathesisConfig.from_dict({"auth": {"openapi": scheme}})
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json",
                                            _with_csrf(get_wsgi_application()), config=config)
    return schema.include(path_regex=r"^/api/v1/")


def _session(user) -> str:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client.cookies["sessionid"].value


def _operations(schema) -> Iterator:
    only = os.environ.get("API_FUZZ_OPERATIONS")
    for result in schema.get_all_operations():
        operation = result.ok()
        if not only or re.search(only, operation.label):
            yield operation


def _coverage_cases(schema, operation) -> Iterator:
    """Schemathesis' coverage phase for one operation, with the caller's credentials set as
    its engine sets them."""
    context = auths.AuthContext(operation=operation, app=operation.app)
    for case in schema.iter_coverage_cases(
            operation, generation_modes=list(GenerationMode),
            generation_config=schema.config.generation_for(operation=operation)):
        auths.set_on_generated_case(case, context, None)
        yield case


def _validate(case, excluded, failures: list[str]) -> None:
    try:
        case.call_and_validate(excluded_checks=excluded)
    except FailureGroup as group:
        failures.append(str(group))


def _fuzz(operation, examples: int, excluded: list, failures: list[str]) -> int:
    """Generated positive and negative cases, and the documented examples: how many ran."""
    counted = 0
    strategy = st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                         operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
                         *operation.get_strategies_from_examples())

    @given(case=strategy)
    @hypothesis_settings(max_examples=examples, deadline=None, derandomize=True,
                         database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case):
        nonlocal counted
        counted += 1
        _validate(case, excluded, failures)

    fuzz()
    return counted


# The whole API fuzzed takes about three minutes of a CI process per pass: it runs once, against
# PostgreSQL, the database production answers from; the SQLite pass keeps the API's own tests.
@pytest.mark.postgres_pass
@pytest.mark.usefixtures("_keep_test_connection")
@pytest.mark.parametrize("persona", ["hq", "store_manager", "pos_key"])
def test_the_api_matches_its_schema_and_never_fails(persona, chain):
    credentials = POS_KEY if persona == "pos_key" else _session(chain[persona])
    schema = _schema(persona, credentials)
    failures: list[str] = []
    started, counted = time.monotonic(), 0
    for operation in _operations(schema):
        excluded = _excluded(persona, operation.label)
        for case in _coverage_cases(schema, operation):
            counted += 1
            _validate(case, excluded, failures)
        counted += _fuzz(operation, FUZZ_EXAMPLES[persona], excluded, failures)
    print(f"\n{persona}: {counted} requests in {time.monotonic() - started:.0f} s")  # noqa: T201
    assert not failures, "\n".join(failures[:40]) + f"\n… {len(failures)} failures in all"

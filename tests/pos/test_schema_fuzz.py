"""Schemathesis fuzzes the POS API through its OpenAPI schema, in-process over WSGI.

With a demo-like API key (S0001-S0003): no response is a 5xx, and every response (status
code, content type, body) matches the schema. Each operation gets its documented examples plus
positive and negative generated cases, capped so the whole run stays well under 60 s.
(Schemathesis' own pytest plugin does not run under pytest 9, so the cases are drawn with
Hypothesis' ``@given`` directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pos.models import PosTransaction
from tests.factories import RegionFactory, StoreFactory
from tests.pos.factories import make_key

FUZZ_KEY = "PosFuzz1.FuzzSecretForSchemathesisOnly-0000"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
HEADERS = {"Authorization": f"Api-Key {FUZZ_KEY}"}


def _strategy(operation):
    strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                  operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
    strategies.extend(operation.get_strategies_from_examples())
    return st.one_of(strategies)


@pytest.fixture
def _keep_test_connection():
    """Like Django's test client: the raw WSGI handler must not close the test's connection
    (it would, at each request's end, inside the test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.usefixtures("_keep_test_connection")
def test_the_pos_api_matches_its_schema_and_never_fails(db, settings):
    settings.POS_THROTTLE_RATE = "100000/min"
    region = RegionFactory(code="EAST")
    stores = [StoreFactory(code=f"S000{n}", region=region) for n in (1, 2, 3)]
    StoreFactory(code="S0011", region=region)
    make_key(*stores, key=FUZZ_KEY)
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json",
                                            get_wsgi_application())
    schema = schema.include(path_regex=r"^/api/v1/pos/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=_strategy(operation))
        @hypothesis_settings(max_examples=60, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=HEADERS, checks=CHECKS)

        run()
    # The documented examples are real receipts: the fuzzing stored some.
    assert PosTransaction.objects.filter(store__code="S0001").exists()

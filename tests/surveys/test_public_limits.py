"""The public questionnaire's limit (satisfaction.ratelimit.SURVEY_SUBMISSIONS): accepted answers
per store and client; a refused answer costs nothing."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from surveys.models import Response
from tests.surveys.factories import ALL_CODES, CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _a_small_limit(settings):
    settings.SURVEY_PUBLIC_SUBMISSIONS_PER_HOUR = 2


def _form(**extra) -> dict:
    started = signing.TimestampSigner(salt="surveys.started").sign(
        str(timezone.now().timestamp() - 120))
    return {**{f"rating_{code}": "4" for code in ALL_CODES}, "started": started, **extra}


def test_answers_with_mistakes_do_not_use_up_the_quota(store):
    CampaignFactory()
    client = Client(REMOTE_ADDR="198.51.100.20")
    incomplete = _form()
    del incomplete[f"rating_{ALL_CODES[0]}"]
    for _ in range(3):
        assert client.post("/q/S0001", incomplete).status_code == 400
    assert client.post("/q/S0001", _form()).status_code == 200
    assert client.post("/q/S0001", _form()).status_code == 200
    refused = client.post("/q/S0001", _form())
    assert refused.status_code == 429
    assert Response.objects.count() == 2


def test_the_quota_is_per_store_and_client(store, sibling_store):
    CampaignFactory()
    client = Client(REMOTE_ADDR="198.51.100.21")
    assert [client.post("/q/S0001", _form()).status_code for _ in range(3)] == [200, 200, 429]
    assert client.post("/q/S0002", _form()).status_code == 200
    assert Client(REMOTE_ADDR="198.51.100.22").post("/q/S0001", _form()).status_code == 200


def test_behind_the_proxy_customers_are_told_apart(store, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    CampaignFactory()
    first = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.23")
    assert [first.post("/q/S0001", _form()).status_code for _ in range(3)] == [200, 200, 429]
    second = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.24")
    assert second.post("/q/S0001", _form()).status_code == 200


def test_with_redis_down_answers_are_still_taken_and_limited_per_process(store, redis_down):
    CampaignFactory()
    client = Client(REMOTE_ADDR="198.51.100.31")
    statuses = [client.post("/q/S0001", _form()).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert Response.objects.count() == 2

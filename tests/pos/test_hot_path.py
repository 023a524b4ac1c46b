"""The single-receipt POST's hot path (plain SQL for the key and the stores, the throttle's one
Redis round trip) keeps the behaviour of the queryset and DRF versions it replaced."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.core.cache import caches
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from pos import services
from pos.auth import PosApiKeyAuthentication, PosKeyThrottle
from pos.models import PosApiKey, PosTransaction
from pos.services import pos_api_key_revoke, pos_api_key_update
from tests.pos.factories import make_key, receipt

URL = "/api/v1/pos/transactions/"


def post(client, data):
    return client.post(URL, data, content_type="application/json")


def _statements(captured) -> list[str]:
    """The first word of each statement a ``django_assert_*num_queries`` block captured."""
    return [q["sql"].split()[0] for q in captured.captured_queries]


def key_client(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")


def test_a_key_revoked_after_it_was_used_is_refused_on_its_next_request(store):
    api_key, secret = make_key(store)
    client = key_client(secret)
    assert post(client, receipt(receipt_number="R1")).status_code == 201
    pos_api_key_revoke(api_key=api_key)
    response = post(client, receipt(receipt_number="R2"))
    assert response.status_code == 401
    assert PosTransaction.objects.count() == 1


def test_a_store_taken_from_a_key_is_refused_on_its_next_request(store, other_store):
    api_key, secret = make_key(store, other_store)
    client = key_client(secret)
    assert post(client, receipt(receipt_number="R1")).status_code == 201
    pos_api_key_update(api_key=api_key, name=api_key.name, stores=[other_store],
                       all_stores=False, throttle_rate="", expiry_date=None)
    response = post(client, receipt(receipt_number="R2"))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden_store"


def test_the_right_prefix_with_another_secret_is_refused(store):
    _key, secret = make_key(store)
    prefix = secret.partition(".")[0]
    response = post(key_client(f"{prefix}.{'x' * 32}"), receipt())
    assert response.status_code == 401
    assert not PosTransaction.objects.exists()


def test_a_key_hashed_by_an_older_hasher_still_works_and_is_rehashed(store):
    api_key, secret = make_key(store)
    PosApiKey.objects.filter(pk=api_key.pk).update(
        hashed_key=make_password(secret))  # the project's password hasher, not sha512
    assert post(key_client(secret), receipt()).status_code == 201
    assert PosApiKey.objects.get(pk=api_key.pk).hashed_key.startswith("sha512$$")


def test_a_key_for_all_stores_posts_for_any_store_and_a_store_key_only_for_its_own(
        store, other_store):
    _all, all_secret = make_key(name="HQ", all_stores=True)
    assert post(key_client(all_secret), receipt(store=other_store.code)).status_code == 201
    _one, one_secret = make_key(store)
    refused = post(key_client(one_secret), receipt(store=other_store.code, receipt_number="R2"))
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden_store"


# --- the throttle on Redis -------------------------------------------------------------------

@pytest.fixture
def redis_cache(settings):
    """The shared cache on the configured Redis (``REDIS_URL``: the PostgreSQL + Redis pass,
    ``redis`` marker), under a key prefix of the test's own."""
    settings.CACHES = {"default": {"BACKEND": "satisfaction.cache.RedisCache",
                                   "LOCATION": settings.REDIS_URL,
                                   "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    return caches["default"]


@pytest.mark.redis
def test_on_redis_a_key_over_its_rate_gets_429_and_a_refused_request_is_not_counted(
        store, redis_cache):
    _key, secret = make_key(store, throttle_rate="2/min")
    client = key_client(secret)
    assert post(client, receipt(receipt_number="T1")).status_code == 201
    assert post(client, receipt(receipt_number="T2")).status_code == 201
    for number in ("T3", "T4", "T5"):
        response = post(client, receipt(receipt_number=number))
        assert response.status_code == 429
        assert 1 <= int(response["Retry-After"]) <= 61
    client_redis = redis_cache._cache.get_client(write=True)
    keys = client_redis.keys(f"{redis_cache.key_prefix}*")
    assert len(keys) == 1
    assert client_redis.zcard(keys[0]) == 2  # only the accepted requests are in the window
    assert PosTransaction.objects.count() == 2


@pytest.mark.redis
def test_on_redis_concurrent_requests_never_pass_more_than_the_rate(store, redis_cache):
    api_key, _secret = make_key(store, throttle_rate="5/min")
    request = APIRequestFactory().post(URL)
    request.auth = api_key
    allowed = []
    start = threading.Barrier(12)

    def one() -> None:
        start.wait()
        allowed.append(PosKeyThrottle().allow_request(request, None))

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 5


def test_authentication_reads_the_key_in_one_query(store, django_assert_num_queries):
    api_key, secret = make_key(store)
    request = APIRequestFactory().post(URL, HTTP_AUTHORIZATION=f"Api-Key {secret}")
    with django_assert_num_queries(1):
        _user, found = PosApiKeyAuthentication().authenticate(request)
    assert found == api_key


def test_a_new_receipt_is_stored_by_one_statement_after_the_key_lookup(
        pos_client, store, clerk, settings, django_assert_num_queries):
    settings.POS_SURVEY_SAMPLE_SHARE = 0
    post(pos_client, receipt(receipt_number="warm"))  # records the key's last use
    # The key lookup and INSERT ... SELECT ... RETURNING, committed on its own: no transaction
    # (no savepoint inside the test's own transaction).
    with django_assert_num_queries(2) as captured:
        assert post(pos_client, receipt(receipt_number="R2", cashier=clerk.employee.number)
                    ).status_code == 201
    assert _statements(captured) == ["SELECT", "INSERT"]
    stored = PosTransaction.objects.get(receipt_number="R2")
    assert (stored.store, stored.cashier, stored.amount) == (
        store, clerk.employee, Decimal("36.50"))


def test_a_retry_of_a_single_receipt_still_returns_the_stored_one(pos_client, store):
    first = post(pos_client, receipt())
    again = post(pos_client, receipt())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert PosTransaction.objects.count() == 1


def test_a_receipt_due_to_record_the_keys_use_writes_both_in_one_transaction(
        pos_client, store, settings, django_assert_max_num_queries):
    settings.POS_SURVEY_SAMPLE_SHARE = 0
    api_key = PosApiKey.objects.get()
    assert api_key.last_used_at is None
    with django_assert_max_num_queries(5) as captured:
        assert post(pos_client, receipt(receipt_number="R1")).status_code == 201
    statements = _statements(captured)
    assert statements == ["SELECT", "SAVEPOINT", "INSERT", "UPDATE", "RELEASE"]
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_a_sampled_receipt_is_stored_with_its_invitation_or_not_at_all(store, settings,
                                                                     monkeypatch):
    """The receipt's row and its invitation are one transaction: a failure while asking for the
    invitation leaves no receipt behind (the till's retry then stores both)."""
    settings.POS_SURVEY_SAMPLE_SHARE = 1
    api_key, _secret = make_key(store)
    api_key.last_used_at = timezone.now()  # its use recorded: only the invitation writes more

    def failing(rows):
        raise DatabaseError("the surveys database went away")

    monkeypatch.setattr(services, "_survey_invitations", failing)
    with pytest.raises(DatabaseError):
        services.pos_transactions_ingest(api_key=api_key, items=[receipt()], single=True)
    assert not PosTransaction.objects.exists()


def test_without_invitation_or_key_use_to_record_the_receipt_is_written_outside_a_transaction(
        store, settings, monkeypatch):
    """The other side of the rule above: the usual receipt writes nothing else, so its one
    statement commits on its own; what runs after it cannot take it back."""
    settings.POS_SURVEY_SAMPLE_SHARE = 0
    api_key, _secret = make_key(store)
    api_key.last_used_at = timezone.now()
    seen = []

    def touch(key, now):
        seen.append(PosTransaction.objects.filter(receipt_number=receipt()["receipt_number"])
                    .exists())
        raise DatabaseError("late failure")

    monkeypatch.setattr(services, "_touch_key", touch)
    with pytest.raises(DatabaseError):
        services.pos_transactions_ingest(api_key=api_key, items=[receipt()], single=True)
    assert seen == [True]
    assert PosTransaction.objects.count() == 1

"""A POS client with a key posts receipts, retries safely and is refused other stores."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis.exceptions
from django.test import Client
from django.utils import timezone

from pos.models import PosTransaction
from pos.services import member_hash, pos_api_key_revoke
from tests.pos.factories import make_key, receipt

URL = "/api/v1/pos/transactions/"
BATCH_URL = "/api/v1/pos/transactions/batch/"


def post(client, data, url=URL):
    return client.post(url, data, content_type="application/json")


def test_it_stores_a_receipt_and_returns_201_with_it(pos_client, store, clerk):
    response = post(pos_client, receipt())
    assert response.status_code == 201
    body = response.json()
    assert body["store"] == "S0001"
    assert body["receipt_number"] == "R0001"
    assert body["amount"] == "36.50"
    assert body["has_member"] is True
    assert body["cashier"] == "E00002"
    assert response["Idempotent-Replayed"] == "false"
    stored = PosTransaction.objects.get()
    assert stored.occurred_at == datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
    assert stored.amount == Decimal("36.50")
    assert stored.cashier == clerk.employee
    assert stored.api_key_id is not None


def test_it_keeps_the_member_id_only_as_a_keyed_hash(pos_client, store):
    post(pos_client, receipt(member_id="M88001234"))
    stored = PosTransaction.objects.get()
    assert stored.member_hash == member_hash("M88001234")
    assert "M88001234" not in str(PosTransaction.objects.values().get())


def test_a_retry_returns_the_stored_result_and_creates_nothing(pos_client, store):
    first = post(pos_client, receipt())
    second = post(pos_client, receipt())
    assert second.status_code == 200
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert PosTransaction.objects.count() == 1


def test_the_same_receipt_with_other_contents_is_a_409_showing_the_stored_one(pos_client, store):
    post(pos_client, receipt(amount="36.50"))
    response = post(pos_client, receipt(amount="99.00", item_count=5))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert "amount" in body["fields"]["receipt_number"][0]
    assert body["stored"]["amount"] == "36.50"
    assert PosTransaction.objects.get().amount == Decimal("36.50")


def test_a_key_for_one_store_posting_for_another_gets_403(pos_client, store, other_store):
    response = post(pos_client, receipt(store="S0011"))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden_store"
    assert not PosTransaction.objects.exists()


def test_an_unknown_store_code_is_403_for_a_store_key(pos_client, store):
    response = post(pos_client, receipt(store="S9999"))
    assert response.status_code == 403


def test_an_all_stores_key_gets_400_for_an_unknown_store(store):
    _key, secret = make_key(all_stores=True)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    response = post(client, receipt(store="S9999"))
    assert response.status_code == 400
    assert "store" in response.json()["fields"]


def test_it_refuses_requests_without_a_valid_key(store, store_key):
    assert post(Client(), receipt()).status_code == 401
    wrong = Client(HTTP_AUTHORIZATION=f"Api-Key {store_key[1][:9]}wrongsecretwrongsecretwrong0000")
    response = post(wrong, receipt())
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert not PosTransaction.objects.exists()


def test_the_x_api_key_header_works_too(store, store_key):
    client = Client(HTTP_X_API_KEY=store_key[1])
    assert post(client, receipt()).status_code == 201


def test_a_revoked_key_is_refused(pos_client, store, store_key):
    pos_api_key_revoke(api_key=store_key[0])
    assert post(pos_client, receipt()).status_code == 401


def test_an_expired_key_is_refused(store):
    _key, secret = make_key(store, expiry_date=timezone.now() - timedelta(minutes=1))
    response = post(Client(HTTP_AUTHORIZATION=f"Api-Key {secret}"), receipt())
    assert response.status_code == 401


def test_a_logged_in_user_cannot_post_receipts(login, hq, store):
    assert post(login(hq), receipt()).status_code in (401, 403)


def test_invalid_fields_are_400_with_messages_per_field(pos_client, store):
    response = post(pos_client, receipt(amount="1.234", item_count=0))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"amount", "item_count"}
    assert not PosTransaction.objects.exists()


def test_a_non_json_object_body_is_a_400_not_a_500(pos_client, store):
    response = pos_client.post(URL, "[1, 2]", content_type="application/json")
    assert response.status_code == 400
    response = pos_client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_a_batch_is_stored_and_a_retried_batch_creates_nothing(pos_client, store):
    items = [receipt(receipt_number=f"B{n}") for n in range(5)]
    first = post(pos_client, {"items": items}, BATCH_URL)
    assert first.status_code == 201
    assert first.json()["created"] == 5
    again = post(pos_client, {"items": items}, BATCH_URL)
    assert again.status_code == 200
    assert again.json()["created"] == 0
    assert again.json()["replayed"] == 5
    assert [r["id"] for r in again.json()["results"]] == [r["id"] for r in first.json()["results"]]
    assert PosTransaction.objects.count() == 5


def test_a_batch_with_one_invalid_item_stores_nothing_and_names_the_index(pos_client, store):
    items = [receipt(receipt_number="B0"), receipt(receipt_number="B1", amount="x"),
             receipt(receipt_number="B2")]
    response = post(pos_client, {"items": items}, BATCH_URL)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["items[1].amount"]
    assert not PosTransaction.objects.exists()


def test_a_batch_with_a_conflicting_item_stores_nothing(pos_client, store):
    post(pos_client, receipt(receipt_number="B1", amount="10.00"))
    items = [receipt(receipt_number="B0"), receipt(receipt_number="B1", amount="11.00")]
    response = post(pos_client, {"items": items}, BATCH_URL)
    assert response.status_code == 409
    body = response.json()
    assert body["conflicts"][0]["index"] == 1
    assert body["conflicts"][0]["stored"]["amount"] == "10.00"
    assert list(PosTransaction.objects.values_list("receipt_number", flat=True)) == ["B1"]


def test_a_batch_with_the_same_receipt_twice_differently_is_refused(pos_client, store):
    items = [receipt(receipt_number="B0"), receipt(receipt_number="B0", amount="1.00")]
    response = post(pos_client, {"items": items}, BATCH_URL)
    assert response.status_code == 400
    assert "items[1].receipt_number" in response.json()["fields"]


def test_a_batch_naming_another_store_is_403_and_stores_nothing(pos_client, store, other_store):
    items = [receipt(receipt_number="B0"), receipt(receipt_number="B1", store="S0011")]
    response = post(pos_client, {"items": items}, BATCH_URL)
    assert response.status_code == 403
    assert list(response.json()["fields"]) == ["items[1].store"]
    assert not PosTransaction.objects.exists()


def test_a_batch_over_1000_items_is_refused(pos_client, store):
    items = [receipt(receipt_number=f"B{n}") for n in range(1001)]
    response = post(pos_client, {"items": items}, BATCH_URL)
    assert response.status_code == 400
    assert response.json()["code"] == "batch_too_large"


@pytest.mark.parametrize("body", [{}, {"items": "x"}, {"items": []}, [1]])
def test_a_malformed_batch_is_400(pos_client, store, body):
    assert post(pos_client, body, BATCH_URL).status_code == 400


def test_a_batch_of_1000_is_set_based(pos_client, store, clerk, django_assert_max_num_queries):
    items = [receipt(receipt_number=f"B{n:04d}") for n in range(1000)]
    # key, key's stores, savepoint, stores, existing, cashiers, insert, release, key touch
    with django_assert_max_num_queries(12):
        response = post(pos_client, {"items": items}, BATCH_URL)
    assert response.status_code == 201
    assert PosTransaction.objects.count() == 1000
    with django_assert_max_num_queries(8):
        assert post(pos_client, {"items": items}, BATCH_URL).json()["replayed"] == 1000


def test_it_reads_its_own_receipt_and_gets_404_for_another_stores(pos_client, store,
                                                                   other_store):
    post(pos_client, receipt())
    _key, other_secret = make_key(other_store)
    other = Client(HTTP_AUTHORIZATION=f"Api-Key {other_secret}")
    post(other, receipt(store="S0011", receipt_number="X1"))
    assert pos_client.get(f"{URL}S0001/R0001/").json()["receipt_number"] == "R0001"
    assert pos_client.get(f"{URL}S0011/X1/").status_code == 404
    assert other.get(f"{URL}S0001/R0001/").status_code == 404


def test_the_list_shows_only_the_keys_stores(pos_client, store, other_store,
                                             django_assert_max_num_queries):
    for n in range(30):
        post(pos_client, receipt(receipt_number=f"A{n}"))
    _key, other_secret = make_key(other_store)
    post(Client(HTTP_AUTHORIZATION=f"Api-Key {other_secret}"),
         receipt(store="S0011", receipt_number="X1"))
    with django_assert_max_num_queries(4):
        body = pos_client.get(URL).json()
    assert len(body["results"]) == 30
    assert {row["store"] for row in body["results"]} == {"S0001"}
    assert pos_client.get(URL, {"since": "nonsense"}).status_code == 400


def test_the_key_sees_its_stores_only(pos_client, store, other_store):
    body = pos_client.get("/api/v1/pos/stores/").json()
    assert [row["code"] for row in body["results"]] == ["S0001"]


def test_a_key_over_its_rate_gets_429_with_retry_after(store):
    _key, secret = make_key(store, throttle_rate="2/min")
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert post(client, receipt(receipt_number="T1")).status_code == 201
    assert post(client, receipt(receipt_number="T2")).status_code == 201
    response = post(client, receipt(receipt_number="T3"))
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 61
    # Another key has its own budget.
    _other, other_secret = make_key(store)
    client2 = Client(HTTP_AUTHORIZATION=f"Api-Key {other_secret}")
    assert post(client2, receipt(receipt_number="T3")).status_code == 201


def test_error_messages_are_chinese_by_default_and_english_on_request(pos_client, store):
    zh = post(pos_client, receipt(amount="1.234"))
    assert zh.json()["fields"]["amount"] == ["最多 2 位小数。"]
    en = pos_client.post(URL, receipt(amount="1.234"), content_type="application/json",
                         HTTP_ACCEPT_LANGUAGE="en")
    assert en.json()["fields"]["amount"] == ["At most 2 decimal places."]


def test_a_single_receipt_takes_a_handful_of_queries(pos_client, store, settings,
                                                    django_assert_max_num_queries):
    settings.POS_SURVEY_SAMPLE_SHARE = 0
    post(pos_client, receipt(receipt_number="warm"))  # records the key's last use
    # key lookup, store + key check, INSERT ... RETURNING (the atomic block's savepoint and
    # release in tests)
    with django_assert_max_num_queries(5):
        assert post(pos_client, receipt(receipt_number="R2")).status_code == 201
    with django_assert_max_num_queries(6):
        assert post(pos_client, receipt(receipt_number="R2")).status_code == 200


def test_with_redis_down_a_receipt_is_stored_and_throttled_in_memory(store, redis_down,
                                                                      caplog):
    from django.core.cache import cache

    with pytest.raises(redis.exceptions.ConnectionError):
        cache.get("anything")  # the cache really is down
    _key, secret = make_key(store, throttle_rate="2/min")
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    with caplog.at_level(logging.WARNING, logger="pos.auth"):
        assert post(client, receipt(receipt_number="T1")).status_code == 201
        assert post(client, receipt(receipt_number="T2")).status_code == 201
        # The per-process limit still holds the key to its rate.
        assert post(client, receipt(receipt_number="T3")).status_code == 429
    assert PosTransaction.objects.count() == 2
    warnings = [r for r in caplog.records if r.name == "pos.auth"]
    assert len(warnings) == 1  # one line per minute, not one per request
    assert "cache is unreachable" in warnings[0].getMessage()
    assert "ConnectionError" in warnings[0].getMessage()

"""Concurrent retries on PostgreSQL: the unique constraint decides, each receipt stored once."""

from __future__ import annotations

from functools import partial

import pytest
from django.test import Client

from pos.models import PosTransaction
from tests.concurrency import run_concurrently
from tests.factories import RegionFactory, StoreFactory
from tests.pos.factories import make_key, receipt

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _post_concurrently(secret: str, bodies: list[tuple[str, dict]]) -> list[int]:
    """POST every body at once, each from its own client and thread; the status codes."""
    posts = [partial(Client(HTTP_AUTHORIZATION=f"Api-Key {secret}").post, url, body,
                     content_type="application/json")
             for url, body in bodies]
    return [outcome.get().status_code for outcome in run_concurrently(*posts)]


@pytest.fixture
def key_secret():
    store = StoreFactory(code="S0001", region=RegionFactory(code="EAST"))
    return make_key(store)[1]


def test_simultaneous_retries_store_the_receipt_once(key_secret):
    statuses = _post_concurrently(key_secret, [("/api/v1/pos/transactions/", receipt())] * 6)
    assert sorted(statuses) == [200] * 5 + [201]
    assert PosTransaction.objects.count() == 1


def test_simultaneous_batches_overlapping_store_each_receipt_once(key_secret):
    items = [receipt(receipt_number=f"B{n}") for n in range(200)]
    bodies = [("/api/v1/pos/transactions/batch/", {"items": items[:150]}),
              ("/api/v1/pos/transactions/batch/", {"items": items[50:]}),
              ("/api/v1/pos/transactions/batch/", {"items": items})]
    statuses = _post_concurrently(key_secret, bodies)
    assert set(statuses) <= {200, 201}
    assert PosTransaction.objects.count() == 200


def test_simultaneous_different_contents_give_one_201_and_409s(key_secret):
    bodies = [("/api/v1/pos/transactions/", receipt(amount=f"{n}.00")) for n in range(1, 5)]
    statuses = _post_concurrently(key_secret, bodies)
    assert sorted(statuses) == [201, 409, 409, 409]
    assert PosTransaction.objects.count() == 1

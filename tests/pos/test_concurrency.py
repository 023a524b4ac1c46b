"""Concurrent retries on PostgreSQL: the unique constraint decides, each receipt stored once;
batches in any order never deadlock; a deadlock that happens all the same is retried."""

from __future__ import annotations

import logging
from functools import partial

import psycopg.errors
import pytest
from django.db import OperationalError, transaction
from django.test import Client

from pos import services
from pos.models import PosTransaction
from tests.concurrency import run_concurrently
from tests.factories import RegionFactory, StoreFactory
from tests.pos.factories import make_key, receipt

# Each test runs its requests outside a test transaction, as in production (the ingest retries
# only there); the tests marked ``postgres`` need its row locks and run in that pass.
pytestmark = pytest.mark.django_db(transaction=True)
postgres = pytest.mark.postgres
BATCH_URL = "/api/v1/pos/transactions/batch/"


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


@postgres
def test_simultaneous_retries_store_the_receipt_once(key_secret):
    statuses = _post_concurrently(key_secret, [("/api/v1/pos/transactions/", receipt())] * 6)
    assert sorted(statuses) == [200] * 5 + [201]
    assert PosTransaction.objects.count() == 1


@postgres
def test_simultaneous_batches_overlapping_store_each_receipt_once(key_secret):
    items = [receipt(receipt_number=f"B{n}") for n in range(200)]
    bodies = [("/api/v1/pos/transactions/batch/", {"items": items[:150]}),
              ("/api/v1/pos/transactions/batch/", {"items": items[50:]}),
              ("/api/v1/pos/transactions/batch/", {"items": items})]
    statuses = _post_concurrently(key_secret, bodies)
    assert set(statuses) <= {200, 201}
    assert PosTransaction.objects.count() == 200


@postgres
def test_simultaneous_different_contents_give_one_201_and_409s(key_secret):
    bodies = [("/api/v1/pos/transactions/", receipt(amount=f"{n}.00")) for n in range(1, 5)]
    statuses = _post_concurrently(key_secret, bodies)
    assert sorted(statuses) == [201, 409, 409, 409]
    assert PosTransaction.objects.count() == 1


@postgres
@pytest.mark.parametrize("round_", [1, 2, 3])
def test_two_batches_of_the_same_receipts_in_opposite_orders_do_not_deadlock(key_secret, round_,
                                                                            caplog):
    """The sweep's case: 1,000 receipts, one batch in order and one reversed, at once (it was a
    500, "deadlock detected", 3 rounds of 3). Rows are inserted in one fixed order, so one batch
    waits for the other and then finds every receipt stored: no deadlock, not even a retry."""
    items = [receipt(receipt_number=f"D{round_}-{n:04d}") for n in range(1000)]
    with caplog.at_level(logging.WARNING, logger="pos.services"):
        statuses = _post_concurrently(key_secret, [(BATCH_URL, {"items": items}),
                                                   (BATCH_URL, {"items": items[::-1]})])
    assert sorted(statuses) == [200, 201]
    assert PosTransaction.objects.count() == 1000
    assert not [r for r in caplog.records if r.name == "pos.services"]  # no retry needed


def _deadlock() -> OperationalError:
    """What Django raises when PostgreSQL ends a transaction as a deadlock victim."""
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


@pytest.fixture
def flaky_ingest(monkeypatch):
    """``flaky_ingest(n)``: the first ``n`` tries of an ingest end in a deadlock."""
    real = services._ingest
    calls = []

    def install(failures: int) -> list:
        def ingest(**kwargs):
            calls.append(kwargs)
            if len(calls) <= failures:
                with transaction.atomic():  # writes, then the "deadlock" rolls it all back
                    real(**kwargs)
                    raise _deadlock()
            return real(**kwargs)

        monkeypatch.setattr(services, "_ingest", ingest)
        monkeypatch.setattr(services, "INGEST_RETRY_PAUSE_SECONDS", 0.001)
        return calls

    return install


def test_a_deadlocked_ingest_is_retried_and_stores_each_receipt_once(key_secret, flaky_ingest,
                                                                     caplog):
    calls = flaky_ingest(2)
    items = [receipt(receipt_number=f"Q{n}") for n in range(5)]
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key_secret}")
    with caplog.at_level(logging.WARNING, logger="pos.services"):
        response = client.post(BATCH_URL, {"items": items}, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["created"] == 5
    assert len(calls) == 3
    assert PosTransaction.objects.count() == 5
    retries = [r.getMessage() for r in caplog.records if r.name == "pos.services"]
    assert len(retries) == 2
    assert "DeadlockDetected" in retries[0]


def test_an_ingest_that_keeps_deadlocking_is_a_503_and_stores_nothing(key_secret,
                                                                     flaky_ingest):
    calls = flaky_ingest(services.INGEST_ATTEMPTS)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key_secret}", HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/api/v1/pos/transactions/", receipt(),
                           content_type="application/json")
    assert response.status_code == 503
    assert response.json()["code"] == "busy"
    assert response["Retry-After"] == "1"
    assert len(calls) == services.INGEST_ATTEMPTS
    assert PosTransaction.objects.count() == 0


def test_other_database_errors_are_not_retried(key_secret, monkeypatch):
    calls = []

    def broken(**kwargs):
        calls.append(kwargs)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "_ingest", broken)
    with pytest.raises(OperationalError):
        services.pos_transactions_ingest(api_key=make_key(StoreFactory())[0], items=[receipt()])
    assert len(calls) == 1

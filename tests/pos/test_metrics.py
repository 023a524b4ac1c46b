"""Loyalty, retention and complaints per 1,000 receipts per store, served by the API."""

from __future__ import annotations

import pytest
from django.test import Client

from pos.selectors import pos_store_metrics_frame
from pos.services import pos_transactions_ingest
from satisfaction.quarters import Quarter
from tests.pos.factories import make_key, receipt

URL = "/api/v1/pos/metrics/"


@pytest.fixture
def member_history(store, sibling_store):
    """Q3: S0001 has members M1-M4. Q4: M1 (twice), M2 and new M9 at S0001; M3 at S0002."""
    key, _ = make_key(all_stores=True)
    q3 = "2026-08-01T10:00:00+08:00"
    q4 = "2026-11-01T10:00:00+08:00"
    items = [receipt(receipt_number=f"Q3-{m}", member_id=m, occurred_at=q3)
             for m in ("M1", "M2", "M3", "M4")]
    items.append(receipt(receipt_number="Q3-none", member_id=None, occurred_at=q3))
    items += [receipt(receipt_number=f"Q4-{n}", member_id=m, occurred_at=q4)
              for n, m in enumerate(("M1", "M1", "M2", "M9"))]
    items.append(receipt(store="S0002", receipt_number="Q4-x", member_id="M3", occurred_at=q4))
    # The quarter boundary is the chain's midnight: 2026-09-30 23:30 in Shanghai is Q3.
    items.append(receipt(receipt_number="Q3-late", member_id=None,
                         occurred_at="2026-09-30T15:30:00Z"))
    pos_transactions_ingest(api_key=key, items=items)


def test_loyalty_and_retention_are_the_hand_computed_shares(member_history, store,
                                                            sibling_store):
    frame = pos_store_metrics_frame(quarter=Quarter.parse("2026Q4")).set_index("store_id")
    own = frame.loc[store.pk]
    assert own["transactions"] == 4
    assert own["members"] == 3
    assert own["previous_members"] == 4
    assert own["returning_members"] == 2   # M1, M2 came back to S0001
    assert own["retained_members"] == 3    # ... and M3 still buys, at S0002
    assert own["loyalty"] == 0.5
    assert own["retention"] == 0.75
    assert own["complaints_per_1000"] == 0.0
    sibling = frame.loc[sibling_store.pk]
    assert sibling["transactions"] == 1
    assert sibling["previous_members"] == 0
    assert sibling["loyalty"] != sibling["loyalty"]  # NaN: no members last quarter
    q3 = pos_store_metrics_frame(quarter=Quarter.parse("2026Q3")).set_index("store_id")
    assert q3.loc[store.pk, "transactions"] == 6


def test_an_empty_quarter_gives_an_empty_frame_with_the_columns(db):
    frame = pos_store_metrics_frame(quarter=Quarter.parse("2020Q1"))
    assert frame.empty
    assert "loyalty" in frame.columns


def test_a_key_reads_its_stores_metrics_and_gets_404_for_another(
        member_history, store, django_assert_max_num_queries):
    _key, secret = make_key(store)
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    with django_assert_max_num_queries(8):
        body = client.get(URL, {"quarter": "2026Q4"}).json()
    assert [row["store"] for row in body["results"]] == ["S0001"]
    row = body["results"][0]
    assert row["loyalty"] == 0.5
    assert row["retention"] == 0.75
    assert row["transactions"] == 4
    assert client.get(URL, {"quarter": "2026Q4", "store": "S0002"}).status_code == 404
    assert client.get(URL, {"quarter": "last"}).status_code == 400


def test_logged_in_managers_see_the_stores_they_may_see(member_history, login, store_manager,
                                                        region_manager):
    rows = login(region_manager).get(URL, {"quarter": "2026Q4"}).json()["results"]
    assert [row["store"] for row in rows] == ["S0001", "S0002"]
    own = login(store_manager)
    assert [r["store"] for r in own.get(URL, {"quarter": "2026Q4"}).json()["results"]] == [
        "S0001"]
    assert own.get(URL, {"quarter": "2026Q4", "store": "S0002"}).status_code == 404
    assert Client().get(URL).status_code in (401, 403)


def test_a_key_reads_its_stores_scores_and_gets_404_for_another(pos_client, store,
                                                                other_store):
    response = pos_client.get("/api/v1/pos/stores/S0001/scores/")
    assert response.status_code == 200
    assert response.json() == {"store": "S0001", "scores": []}
    assert pos_client.get("/api/v1/pos/stores/S0011/scores/").status_code == 404
    assert pos_client.get("/api/v1/pos/stores/S0001/scores/?quarter=x").status_code == 400


def test_a_key_reads_its_stores_values_per_quarter_from_scoring(pos_client, store, other_store,
                                                               django_assert_max_num_queries):
    from django.utils import timezone

    from scoring.models import Rollup, RollupStatus, Scheme, StoreScore

    scheme = Scheme.objects.filter(is_current=True).first() or Scheme.objects.create(version=99)
    now = timezone.now()
    q3 = Rollup.objects.create(quarter="2026Q3", revision=1, status=RollupStatus.PUBLISHED,
                               scheme=scheme, computed_at=now)
    q4 = Rollup.objects.create(quarter="2026Q4", revision=1, status=RollupStatus.PROVISIONAL,
                               scheme=scheme, computed_at=now)
    for rollup, value in ((q3, 72.5), (q4, 70.0)):
        StoreScore.objects.create(rollup=rollup, quarter=rollup.quarter, store=store,
                                  region=store.region, value=value, survey_points=40,
                                  scenario_points=35, deductions=2.5, n_responses=31)
        StoreScore.objects.create(rollup=rollup, quarter=rollup.quarter, store=other_store,
                                  region=other_store.region, value=10.0)
    with django_assert_max_num_queries(10):
        body = pos_client.get("/api/v1/pos/stores/S0001/scores/").json()
    assert [(s["quarter"], s["status"], s["value"]) for s in body["scores"]] == [
        ("2026Q4", "provisional", 70.0), ("2026Q3", "published", 72.5)]
    only = pos_client.get("/api/v1/pos/stores/S0001/scores/", {"quarter": "2026Q3"}).json()
    assert [s["value"] for s in only["scores"]] == [72.5]
    assert pos_client.get("/api/v1/pos/stores/S0011/scores/").status_code == 404

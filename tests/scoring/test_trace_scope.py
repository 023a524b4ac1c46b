"""Who sees which inputs in a trace: a clerk only their own; a store manager their store's; a
regional manager their region's; HQ and HR all; a shopper nothing."""

from __future__ import annotations

import pytest

from satisfaction.models import Role
from tests.factories import UserFactory
from tests.scoring.conftest import PAST
from tests.scoring.late_data import late_arrivals, make_quarter_rows, publish


@pytest.fixture
def rows(store, staff, hq):
    return make_quarter_rows(store, staff, hq)


@pytest.fixture
def clerk_user(store, staff):
    """The clerk E10001 whom R1, V1 and C1 name."""
    return UserFactory(username="clerk-e10001", role=Role.CLERK, stores=[store],
                       employee=staff["clerk"])


@pytest.fixture
def colleague_user(store, staff):
    """The pharmacist E10002, whom nothing names."""
    return UserFactory(username="pharm-e10002", role=Role.CLERK, stores=[store],
                       employee=staff["pharmacist"])


def _ids(parts) -> dict[str, list[int]]:
    return {part["kind"]: [row["id"] for row in part["rows"]] for part in parts}


def test_a_clerk_sees_the_store_value_but_only_their_own_inputs(rows, hq, clerk_user, login,
                                                                django_assert_max_num_queries):
    publish(hq)
    client = login(clerk_user)
    with django_assert_max_num_queries(30):
        response = client.get(f"/scoring/stores/S0001/?quarter={PAST}")
    assert response.status_code == 200
    assert _ids(response.context["trace"]) == {"responses": [rows["r1"].pk],
                                               "visits": [rows["v1"].pk],
                                               "complaints": [rows["c1"].pk]}
    assert 'data-testid="trace-own-only"' in response.content.decode()
    body = client.get(f"/api/v1/scoring/store-scores/S0001/trace/?quarter={PAST}").json()
    assert [r["id"] for r in body["responses"]["rows"]] == [rows["r1"].pk]
    assert body["responses"]["count"] == 1


def test_a_colleague_sees_none_of_the_clerk_s_inputs(rows, hq, colleague_user, login):
    publish(hq)
    client = login(colleague_user)
    response = client.get(f"/scoring/stores/S0001/?quarter={PAST}")
    assert _ids(response.context["trace"]) == {"responses": [], "visits": [], "complaints": []}
    assert response.context["compare"] is None
    html = response.content.decode()
    assert "E10001" not in html
    body = client.get(f"/api/v1/scoring/store-scores/S0001/trace/?quarter={PAST}").json()
    assert all(body[kind]["count"] == 0 for kind in ("responses", "visits", "complaints"))
    # Nor a colleague's employee trace.
    assert client.get(f"/scoring/employees/E10001/?quarter={PAST}").status_code == 404
    assert client.get(f"/api/v1/scoring/employee-scores/E10001/trace/?quarter={PAST}"
                      ).status_code == 404


def test_a_clerk_sees_only_their_own_late_items(rows, store, hq, store_manager,
                                                colleague_user, clerk_user, login):
    publish(hq)
    late_arrivals(rows, store, hq, store_manager)
    mine = login(clerk_user).get(f"/scoring/stores/S0001/?quarter={PAST}").context["late"]
    assert [(r["kind"], r["id"], r["change"]) for r in mine] == [
        ("complaints", rows["c1"].pk, "changed")]
    assert login(colleague_user).get(
        f"/scoring/stores/S0001/?quarter={PAST}").context["late"] == []
    assert len(login(store_manager).get(
        f"/scoring/stores/S0001/?quarter={PAST}").context["late"]) == 4


def test_a_clerk_cannot_compare_revisions(rows, store, hq, store_manager, clerk_user, login):
    from scoring.services import rollup_quarter

    publish(hq)
    late_arrivals(rows, store, hq, store_manager)
    rollup_quarter(quarter=PAST, user=hq, reason="late data")
    client = login(clerk_user)
    assert client.get(f"/scoring/stores/S0001/compare/?quarter={PAST}&old=1&new=2"
                      ).status_code == 403
    assert client.get(f"/api/v1/scoring/store-scores/S0001/compare/?quarter={PAST}"
                      "&old=1&new=2").status_code == 404
    assert login(store_manager).get(
        f"/scoring/stores/S0001/compare/?quarter={PAST}&old=1&new=2").status_code == 200


def test_other_stores_and_regions_and_shoppers_see_no_trace(
        rows, hq, other_store_manager, shopper, region_manager, other_region, login):
    publish(hq)
    outsider = UserFactory(username="region-south", role=Role.REGIONAL_MANAGER,
                           regions=[other_region])
    for user, status in ((other_store_manager, 404), (outsider, 404), (shopper, 403)):
        client = login(user)
        assert client.get(f"/scoring/stores/S0001/?quarter={PAST}").status_code == status
        assert client.get(f"/scoring/stores/S0001/compare/?quarter={PAST}&old=1&new=1"
                          ).status_code == status
        assert client.get(f"/api/v1/scoring/store-scores/S0001/trace/?quarter={PAST}"
                          ).status_code == status
    response = login(region_manager).get(f"/scoring/stores/S0001/?quarter={PAST}")
    assert _ids(response.context["trace"])["responses"] == sorted(
        [rows["r1"].pk, rows["r2"].pk])

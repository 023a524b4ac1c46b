"""Two revisions of a store compared item by item: what an HR officer reads to answer a pay
dispute ("why did my store's value move from 70.50 to 81.17?").

Revision 1 (published): R1 100, R2 50 → survey % 75 → 37.5; V1 70 % → 35; C1 B −2: 70.50.
Revision 2 (recomputed with a reason after the late data of ``late_data.late_arrivals``):
R3 (100) added → survey % 83.33 → 41.67 (+4.17); V2 (100 %) added → scenario % 85 → 42.5
(+7.5); C1 regraded B → C (+1) and C2 (B) added (−2) → deductions 3 (−1): 81.17, +10.67.
"""

from __future__ import annotations

import pytest

from scoring import selectors
from scoring.models import StoreScore
from scoring.services import rollup_quarter
from tests.scoring.conftest import PAST
from tests.scoring.late_data import late_arrivals, make_quarter_rows, publish


@pytest.fixture
def two_revisions(store, staff, hq, store_manager):
    rows = make_quarter_rows(store, staff, hq)
    first = publish(hq)
    rows.update(late_arrivals(rows, store, hq, store_manager))
    second = rollup_quarter(quarter=PAST, user=hq, reason="Late visit, complaint appeal").rollup
    return {"rows": rows, "first": first, "second": second}


def _compare(two_revisions, store) -> dict:
    return selectors.revision_compare(
        old=StoreScore.objects.get(rollup=two_revisions["first"], store=store),
        new=StoreScore.objects.get(rollup=two_revisions["second"], store=store))


def test_the_comparison_explains_the_movement_item_by_item(two_revisions, store):
    rows = two_revisions["rows"]
    comparison = _compare(two_revisions, store)
    assert comparison["old"]["value"] == pytest.approx(70.5)
    assert comparison["new"]["value"] == pytest.approx(37.5 + 4.166667 + 42.5 - 3, abs=1e-4)
    assert comparison["value_delta"] == pytest.approx(10.6667, abs=1e-4)
    survey, scenario, deductions = comparison["components"]

    assert (survey["old_pct"], survey["new_pct"]) == (pytest.approx(75.0),
                                                      pytest.approx(83.3333, abs=1e-4))
    assert [(i["id"], i["change"], i["new_figure"], i["effect"]) for i in survey["items"]] == [
        (rows["r3"].pk, "added", 100.0, pytest.approx(4.1667, abs=1e-4))]
    assert survey["other"] == pytest.approx(0.0, abs=1e-4)

    assert scenario["delta"] == pytest.approx(7.5)
    assert [(i["id"], i["change"], i["new_figure"], i["effect"])
            for i in scenario["items"]] == [(rows["v2"].pk, "added", 100.0, 7.5)]
    assert scenario["other"] == pytest.approx(0.0)

    assert deductions["delta"] == pytest.approx(-1.0)
    items = {i["id"]: (i["change"], i["old_figure"], i["new_figure"], i["effect"])
             for i in deductions["items"]}
    assert items == {rows["c1"].pk: ("changed", 2.0, 1.0, 1.0),
                     rows["c2"].pk: ("added", None, 2.0, -2.0)}
    # Every point of the movement is accounted for.
    assert (sum(i["effect"] for c in comparison["components"] for i in c["items"])
            == pytest.approx(comparison["value_delta"], abs=1e-3))
    assert comparison["clipping"] == pytest.approx(0.0, abs=1e-4)
    assert comparison["unchanged"] == {"responses": 2, "visits": 1, "complaints": 0}


def test_the_compare_page_reads_for_an_hr_officer(two_revisions, hr, login,
                                                  django_assert_max_num_queries):
    client = login(hr)
    with django_assert_max_num_queries(20):
        response = client.get(f"/scoring/stores/S0001/compare/?quarter={PAST}&old=1&new=2")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="compare-delta"><strong>10.67</strong>' in html
    assert two_revisions["rows"]["c1"].ticket_no in html
    assert "Late visit, complaint appeal" in html
    # By default: the displayed revision (the published r1) has nothing before it.
    assert client.get(f"/scoring/stores/S0001/compare/?quarter={PAST}&new=2"
                      ).context["comparison"]["old"]["revision"] == 1
    assert client.get(f"/scoring/stores/S0001/compare/?quarter={PAST}").status_code == 404


def test_the_store_page_links_to_the_comparison(two_revisions, store_manager, login):
    response = login(store_manager).get(f"/scoring/stores/S0001/?quarter={PAST}")
    assert response.context["compare"] == {"old": 1, "new": 2}
    assert 'data-testid="compare-link"' in response.content.decode()


def test_the_compare_api_gives_the_same_numbers(two_revisions, hq, login,
                                               django_assert_max_num_queries):
    client = login(hq)
    with django_assert_max_num_queries(16):
        response = client.get(f"/api/v1/scoring/store-scores/S0001/compare/?quarter={PAST}"
                              "&old=1&new=2")
    assert response.status_code == 200
    body = response.json()
    assert body["value_delta"] == pytest.approx(10.6667, abs=1e-4)
    assert [c["key"] for c in body["components"]] == ["survey", "scenario", "deductions"]
    assert body["components"][1]["items"][0]["effect"] == 7.5
    assert (body["old"]["status"], body["new"]["status"]) == ("published", "provisional")
    assert body["new"]["reason"] == "Late visit, complaint appeal"
    bad = client.get(f"/api/v1/scoring/store-scores/S0001/compare/?quarter={PAST}&old=x")
    assert bad.status_code == 400
    assert client.get(f"/api/v1/scoring/store-scores/S0001/compare/?quarter={PAST}"
                      "&old=1&new=9").status_code == 404


def test_a_revision_without_recorded_inputs_is_compared_by_its_figures_only(
        two_revisions, store):
    from scoring.models import Rollup

    Rollup.objects.filter(pk=two_revisions["first"].pk).update(evidence_recorded=False)
    two_revisions["first"].refresh_from_db()
    comparison = _compare(two_revisions, store)
    assert comparison["recorded"] is False
    assert all(c["items"] == [] for c in comparison["components"])
    scenario = comparison["components"][1]
    assert scenario["other"] == pytest.approx(7.5)
    assert comparison["value_delta"] == pytest.approx(10.6667, abs=1e-4)

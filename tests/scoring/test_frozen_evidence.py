"""Evidence frozen per revision: a published value's trace lists exactly what it counted, the
items that arrive or change afterwards are listed apart, and HQ recomputes with a reason.

The quarter and what arrives after publishing: ``tests/scoring/late_data.py`` (store value
70.5, the clerk 90.5).
"""

from __future__ import annotations

import pytest

from satisfaction.models import Role
from scoring import selectors
from scoring.models import (
    EmployeeScore,
    RevisionInput,
    RevisionResponses,
    Rollup,
    RollupStatus,
    StoreScore,
)
from scoring.services import rollup_quarter
from scoring.tasks import rollup_quarter_task
from surveys.models import ResponseStatus
from tests.factories import UserFactory
from tests.scoring.conftest import PAST
from tests.scoring.late_data import late_arrivals, make_quarter_rows, publish
from tests.surveys.factories import all_rated, rate


@pytest.fixture
def quarter_rows(store, staff, hq):
    return make_quarter_rows(store, staff, hq)


@pytest.fixture
def published(quarter_rows, hq):
    return publish(hq)


def _trace_ids(trace: dict) -> dict[str, list[int]]:
    return {kind: sorted(row["id"] for row in part["rows"])
            for kind, part in trace["parts"].items()}


def test_a_rollup_freezes_each_counted_input_with_what_it_contributed(published, quarter_rows,
                                                                      store, staff):
    rows = quarter_rows
    score = StoreScore.objects.get(rollup=published, store=store)
    assert score.value == pytest.approx(70.5)
    assert published.evidence_recorded
    frozen = {(kind, object_id): (employee_id, figure, employee_figure)
              for kind, object_id, _store, employee_id, figure, employee_figure
              in selectors.revision_inputs(rollup=published)}
    clerk = staff["clerk"].pk
    assert frozen == {
        (1, rows["r1"].pk): (clerk, pytest.approx(100.0), None),
        (1, rows["r2"].pk): (None, pytest.approx(50.0), None),
        (2, rows["v1"].pk): (clerk, pytest.approx(70.0), pytest.approx(70.0)),
        (3, rows["c1"].pk): (clerk, 2.0, None),
    }
    # The counts of the snapshot are the evidence's.
    assert (score.n_responses, score.n_visits, score.n_complaints) == (2, 1, 1)


def test_the_published_trace_and_value_do_not_change_when_late_data_arrives(
        published, quarter_rows, store, staff, hq, store_manager):
    before = selectors.revision_trace(rollup=published, store_id=store.pk)
    late = late_arrivals(quarter_rows, store, hq, store_manager)
    rollup_quarter_task(str(PAST))  # the nightly task skips the locked quarter
    published.refresh_from_db()
    after = selectors.revision_trace(rollup=published, store_id=store.pk)
    rows = quarter_rows
    assert _trace_ids(after) == _trace_ids(before) == {
        "responses": sorted([rows["r1"].pk, rows["r2"].pk]), "visits": [rows["v1"].pk],
        "complaints": [rows["c1"].pk]}
    c1_row = after["parts"]["complaints"]["rows"][0]
    assert c1_row["figure"] == 2.0  # counted as a B, although it is a C now
    assert StoreScore.objects.get(rollup=published, store=store).value == pytest.approx(70.5)
    assert EmployeeScore.objects.get(rollup=published,
                                     employee=staff["clerk"]).value == pytest.approx(90.5)
    assert Rollup.objects.filter(quarter=PAST).count() == 1
    # Apart: what arrived or changed since, not counted.
    changes = {(row["kind"], row["id"]): row["change"] for row in after["late"]}
    assert changes == {
        ("visits", rows["v2"].pk): "added", ("responses", late["r3"].pk): "added",
        ("complaints", late["c2"].pk): "added", ("complaints", rows["c1"].pk): "changed"}
    regraded = next(r for r in after["late"]
                    if (r["kind"], r["id"]) == ("complaints", rows["c1"].pk))
    assert (regraded["counted_figure"], regraded["figure"]) == (2.0, 1.0)
    approved = next(r for r in after["late"]
                    if (r["kind"], r["id"]) == ("visits", rows["v2"].pk))
    assert approved["figure"] == pytest.approx(100.0)


def test_the_store_page_shows_the_frozen_trace_and_the_late_items_apart(
        published, quarter_rows, store, hq, store_manager, login, django_assert_max_num_queries):
    late_arrivals(quarter_rows, store, hq, store_manager)
    client = login(store_manager)
    with django_assert_max_num_queries(30):
        response = client.get(f"/scoring/stores/S0001/?quarter={PAST}&revision=1")
    assert response.status_code == 200
    counts = {part["kind"]: part["count"] for part in response.context["trace"]}
    assert counts == {"responses": 2, "visits": 1, "complaints": 1}
    assert len(response.context["late"]) == 4
    html = response.content.decode()
    assert 'data-testid="trace-late"' in html
    assert "发布后到达，未计入" in html
    assert quarter_rows["c1"].ticket_no in html
    client.post("/i18n/setlang/", {"language": "en"})
    html = client.get(f"/scoring/stores/S0001/?quarter={PAST}").content.decode()
    assert "arrived after publishing, not counted" in html


def test_the_api_trace_is_the_frozen_one_with_the_late_items_apart(
        published, quarter_rows, store, hq, store_manager, login, django_assert_max_num_queries):
    late = late_arrivals(quarter_rows, store, hq, store_manager)
    client = login(hq)
    with django_assert_max_num_queries(25):
        body = client.get(f"/api/v1/scoring/store-scores/S0001/trace/?quarter={PAST}").json()
    assert (body["revision"], body["recorded"]) == (1, True)
    assert body["responses"]["count"] == 2
    assert sorted(r["id"] for r in body["responses"]["rows"]) == sorted(
        [quarter_rows["r1"].pk, quarter_rows["r2"].pk])
    assert [r["figure"] for r in body["visits"]["rows"]] == [pytest.approx(70.0)]
    assert {(r["kind"], r["id"], r["change"]) for r in body["late"]} >= {
        ("responses", late["r3"].pk, "added"), ("complaints", late["c2"].pk, "added")}


def test_the_employee_trace_lists_what_counted_for_the_employee(
        published, quarter_rows, store, staff, hq, store_manager, login):
    late_arrivals(quarter_rows, store, hq, store_manager)
    client = login(store_manager)
    body = client.get(f"/api/v1/scoring/employee-scores/E10001/trace/?quarter={PAST}").json()
    assert [r["id"] for r in body["responses"]["rows"]] == [quarter_rows["r1"].pk]
    assert [r["id"] for r in body["visits"]["rows"]] == [quarter_rows["v1"].pk]
    assert body["visits"]["rows"][0]["employee_figure"] == pytest.approx(70.0)
    assert [r["id"] for r in body["complaints"]["rows"]] == [quarter_rows["c1"].pk]
    # The regraded complaint named the clerk: changed for him; the other late items did not.
    assert [(r["id"], r["change"]) for r in body["late"]] == [
        (quarter_rows["c1"].pk, "changed")]
    response = client.get(f"/scoring/employees/E10001/?quarter={PAST}")
    assert response.status_code == 200
    assert {p["kind"]: p["count"] for p in response.context["trace"]} == {
        "responses": 1, "visits": 1, "complaints": 1}


def test_a_response_rejected_after_publishing_is_listed_as_no_longer_counting(
        published, quarter_rows, store):
    quarter_rows["r2"].status = ResponseStatus.REJECTED
    quarter_rows["r2"].save()
    trace = selectors.revision_trace(rollup=published, store_id=store.pk)
    assert quarter_rows["r2"].pk in _trace_ids(trace)["responses"]
    assert [(r["id"], r["change"]) for r in trace["late"]] == [
        (quarter_rows["r2"].pk, "withdrawn")]


def test_the_quarter_page_counts_the_late_items_and_lists_them_per_store(
        published, quarter_rows, store, hq, hr, store_manager, login,
        django_assert_max_num_queries):
    client = login(hq)
    response = client.get("/scoring/quarters/")
    assert response.context["rollups"][0].late_count == 0
    late_arrivals(quarter_rows, store, hq, store_manager)
    with django_assert_max_num_queries(16):
        response = client.get("/scoring/quarters/")
    assert response.status_code == 200
    assert response.context["rollups"][0].late_count == 4
    assert f'data-testid="late-{PAST}-1"' in response.content.decode()
    reader = login(hr)
    with django_assert_max_num_queries(16):
        response = reader.get(f"/scoring/quarters/{PAST}/late/")
    assert response.status_code == 200
    [row] = response.context["rows"]
    assert (row["store"].code, row["added"], row["changed"], row["withdrawn"]) == (
        "S0001", 3, 1, 0)
    assert 'data-testid="late-recompute"' not in response.content.decode()  # HR: read only
    html = client.get(f"/scoring/quarters/{PAST}/late/").content.decode()
    assert 'data-testid="late-recompute"' in html
    assert client.get("/scoring/quarters/2025Q1/late/").status_code == 404
    assert client.get("/scoring/quarters/nonsense/late/").status_code == 404


def test_hq_starts_a_new_revision_with_a_reason_from_the_late_list(
        published, quarter_rows, store, hq, store_manager, login,
        django_capture_on_commit_callbacks):
    late_arrivals(quarter_rows, store, hq, store_manager)
    client = login(hq)
    response = client.post("/scoring/quarters/rollup/", {"rollup-quarter": str(PAST),
                                                         "rollup-reason": ""})
    assert response.status_code == 400  # a published quarter needs a reason
    with django_capture_on_commit_callbacks(execute=True):  # the rollup job runs
        response = client.post("/scoring/quarters/rollup/", {
            "rollup-quarter": str(PAST), "rollup-reason": "Late visit and complaint appeal"})
    assert response.status_code == 302
    second = Rollup.objects.get(quarter=PAST, revision=2)
    assert (second.status, second.reason) == (RollupStatus.PROVISIONAL,
                                             "Late visit and complaint appeal")
    # r2 counts them; r1 stays as it was, and still lists them as not counted.
    assert StoreScore.objects.get(rollup=second, store=store).value == pytest.approx(
        41.666667 + 42.5 - 3, abs=1e-4)
    assert StoreScore.objects.get(rollup=published, store=store).value == pytest.approx(70.5)
    assert selectors.revision_trace(rollup=second, store_id=store.pk)["late"] == []
    assert len(selectors.revision_trace(rollup=published, store_id=store.pk)["late"]) == 4


def test_a_revision_without_recorded_inputs_says_its_trace_is_the_current_rows(
        quarter_rows, store, store_manager, login):
    rollup = rollup_quarter(quarter=PAST).rollup
    Rollup.objects.filter(pk=rollup.pk).update(evidence_recorded=False)
    RevisionInput.objects.filter(rollup=rollup).delete()
    RevisionResponses.objects.filter(rollup=rollup).delete()
    response = login(store_manager).get(f"/scoring/stores/S0001/?quarter={PAST}")
    assert response.status_code == 200
    assert response.context["trace_recorded"] is False
    assert 'data-testid="trace-live"' in response.content.decode()
    assert {p["kind"]: p["count"] for p in response.context["trace"]} == {
        "responses": 2, "visits": 1, "complaints": 1}


def test_nobody_scores_themselves_in_the_frozen_evidence(quarter_rows, store, staff):
    """A response keyed in by the clerk naming himself counts for the store, not for him."""
    user = UserFactory(username="clerk-self", role=Role.CLERK, stores=[store],
                       employee=staff["clerk"])
    own = rate(campaign=quarter_rows["campaign"], store=store, ratings=all_rated(5),
               employee=staff["clerk"], entered_by=user)
    rollup = rollup_quarter(quarter=PAST).rollup
    [frozen] = [row for row in selectors.revision_inputs(rollup=rollup, kinds=(1,))
                if row[1] == own.pk]
    assert frozen[2:4] == (store.pk, None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_parallel_loads_read_one_snapshot_and_freeze_what_they_counted(
        store, staff, hq, monkeypatch):
    """Outside a transaction PostgreSQL loads the frames in parallel, sharing one exported
    snapshot: the evidence matches the snapshot's counts."""
    from scoring import loader

    snapshots = []
    load_frames = loader.load_frames

    def spy(calls, **kwargs):
        snapshots.append((kwargs.get("parallel"), kwargs.get("snapshot")))
        return load_frames(calls, **kwargs)

    monkeypatch.setattr(loader, "load_frames", spy)
    rows = make_quarter_rows(store, staff, hq)
    outcome = rollup_quarter(quarter=PAST)
    [(parallel, snapshot)] = snapshots
    assert parallel is True
    assert snapshot
    score = StoreScore.objects.get(rollup=outcome.rollup, store=store)
    assert score.value == pytest.approx(70.5)
    kinds = sorted(row[:2] for row in selectors.revision_inputs(rollup=outcome.rollup,
                                                                store_id=store.pk))
    assert kinds == [(1, rows["r1"].pk), (1, rows["r2"].pk), (2, rows["v1"].pk),
                     (3, rows["c1"].pk)]
    assert outcome.inputs == 4


def test_the_store_manager_s_trace_says_which_of_his_inputs_count(published, store_manager,
                                                                   login):
    response = login(store_manager).get(f"/scoring/employees/E00001/?quarter={PAST}")
    assert response.status_code == 200
    assert 'data-testid="manager-trace-note"' in response.content.decode()
    clerk = login(store_manager).get(f"/scoring/employees/E10001/?quarter={PAST}")
    assert 'data-testid="manager-trace-note"' not in clerk.content.decode()


def test_an_employee_who_moved_store_has_the_inputs_at_the_store_left_still_counting(
        quarter_rows, store, sibling_store, staff, hq, store_manager):
    # The clerk moved to S0002 before the rollup: their value counts R1, V1 and C1 at S0001.
    clerk = staff["clerk"]
    clerk.store = sibling_store
    clerk.save()
    published = publish(hq)
    score = EmployeeScore.objects.get(rollup=published, employee=clerk)
    assert score.store_id == sibling_store.pk
    assert selectors.late_inputs(rollup=published, store_id=score.store_id,
                                 employee_id=clerk.pk, employee_value=True) == []
    late_arrivals(quarter_rows, store, hq, store_manager)
    changes = {(row["kind"], row["id"]): row["change"] for row in selectors.late_inputs(
        rollup=published, store_id=score.store_id, employee_id=clerk.pk, employee_value=True)}
    assert changes[("complaints", quarter_rows["c1"].pk)] == "changed"
    assert "withdrawn" not in changes.values()

"""On PostgreSQL the rollup never brings the counted responses into Python: the database
groups them per store and employee as it stages them, derives each store's statistics from
the groups, and freezes the groups as evidence with one ``INSERT … SELECT``
(``loader.load(stage_responses=True)``, ``services._write_staged_responses``). On SQLite, and
when a test passes frames, pandas does it (``evidence.response_stats``,
``evidence.counted_inputs``, ``evidence.response_groups``). Both give the same statistics and
the same evidence."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from django.utils import timezone

from satisfaction.quarters import Quarter
from scoring import engine, evidence, loader, selectors
from scoring.models import RevisionResponses, Rollup, StoreScore
from scoring.services import _write_staged_responses, rollup_quarter, scheme_current
from surveys import selectors as survey_selectors
from surveys.models import ResponseStatus
from surveys.services import response_scores_refresh
from tests.factories import EmployeeFactory, StoreFactory
from tests.scoring.conftest import PAST
from tests.surveys.factories import CampaignFactory, all_rated, rate

pytestmark = pytest.mark.postgres


@pytest.fixture
def quarter(store, sibling_store, other_store, staff):
    """Counted responses of every kind the evidence treats apart, and some that do not count."""
    campaign = CampaignFactory(quarter=PAST, opens_on=date(2026, 4, 1),
                               closes_on=date(2026, 6, 30))
    clerk, pharmacist = staff["clerk"], staff["pharmacist"]
    # A closed store with no data gets no value, nor does its employee.
    closed = StoreFactory(region=store.region, is_active=False)
    moved = EmployeeFactory(store=closed)

    def answer(at, ratings, **extra):
        return rate(campaign=campaign, store=at, ratings=ratings, **extra)

    rows = {
        "served": answer(store, all_rated(5), employee=clerk),
        "self_served": answer(store, {**all_rated(3), "price": 1}, employee=clerk,
                              self_served=True),
        "non_member": answer(store, {**all_rated(4), "efficacy": 2}, employee=moved),
        "cleared": answer(store, {**all_rated(2), "warm_service": 5}, employee=pharmacist,
                          status=ResponseStatus.CLEARED),
        "partial": answer(store, {"price": 5, "efficacy": 1}),
        "unscored": answer(store, {}),  # counts, with no score: no figure, not in the sd
        "flagged": answer(store, all_rated(1), status=ResponseStatus.FLAGGED),
        "rejected": answer(store, all_rated(1), status=ResponseStatus.REJECTED),
        "alone": answer(sibling_store, all_rated(4)),  # one response: no sd
        "other": answer(other_store, {"efficacy": 2, "price": 5}, employee=clerk),
        "other_2": answer(other_store, all_rated(3)),
        "closed": answer(closed, {}),  # counted, at a store outside the members
    }
    weights = scheme_current().to_params().indicator_weights
    response_scores_refresh(quarter=PAST, weights=weights)
    return {"rows": rows, "weights": weights, "closed": closed, "moved": moved}


def _by_frame(weights: dict[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The counted responses one by one and their statistics grouped by pandas."""
    responses = survey_selectors.survey_response_score_frame(quarter=PAST, weights=weights)
    return responses, evidence.response_stats(responses)


def _sorted(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.sort_values(key).reset_index(drop=True)


def _response_rows(frame: pd.DataFrame) -> dict[int, tuple]:
    responses = frame[frame["kind"] == evidence.RESPONSE]
    return {int(r.object_id): (int(r.store_id),
                               None if pd.isna(r.employee_id) else int(r.employee_id),
                               None if pd.isna(r.figure) else pytest.approx(r.figure, abs=1e-12))
            for r in responses.itertuples()}


def _frozen_rows(rollup: Rollup) -> dict[int, tuple]:
    return {object_id: (store_id, employee_id, figure)
            for _kind, object_id, store_id, employee_id, figure, _employee_figure
            in selectors.revision_inputs(rollup=rollup, kinds=(evidence.RESPONSE,))}


def _groups(rows) -> set[tuple]:
    """Groups as (store, employee, ((id, figure), …) by id): their order inside is free."""
    return {(store_id, employee_id, tuple(sorted(zip(ids, figures, strict=True))))
            for store_id, employee_id, ids, figures in rows}


def _frozen_groups(rollup: Rollup) -> set[tuple]:
    return _groups((store_id, employee_key or None, ids, figures)
                   for store_id, employee_key, ids, figures
                   in RevisionResponses.objects.filter(rollup=rollup).values_list(
                       "store_id", "employee_key", "response_ids", "figures"))


def test_the_database_s_store_statistics_equal_the_frame_s(quarter, store, sibling_store,
                                                          other_store):
    in_db = loader.load(quarter=PAST, weights=quarter["weights"], stage_responses=True)
    assert in_db.responses is None
    assert in_db.staged_responses == loader.STAGED_RESPONSES
    _responses, by_frame = _by_frame(quarter["weights"])
    pd.testing.assert_frame_equal(
        _sorted(in_db.survey_responses[engine.STORE_RESPONSE_COLUMNS], "store_id"),
        _sorted(by_frame, "store_id"), check_exact=False, rtol=1e-12, atol=1e-12)
    stats = _sorted(in_db.survey_responses, "store_id").set_index("store_id")
    # The unscored response and those that do not count are left out; one gives no sd.
    assert stats.loc[store.pk, "n"] == 5
    assert stats.loc[sibling_store.pk, "n"] == 1
    assert pd.isna(stats.loc[sibling_store.pk, "sd_score"])
    assert stats.loc[other_store.pk, "n"] == 2
    assert quarter["closed"].pk not in stats.index  # its one response has no score
    # Without staging (a scheme's preview), the statistics are grouped straight from the
    # responses, under the candidate's weights too (scores kept under others are recomputed).
    direct = survey_selectors.survey_response_stats_frame(quarter=PAST,
                                                          weights=quarter["weights"])
    pd.testing.assert_frame_equal(_sorted(direct, "store_id"), _sorted(by_frame, "store_id"),
                                  check_exact=False, rtol=1e-12, atol=1e-12)
    other_weights = {**quarter["weights"], "price": 0.0, "efficacy": 5.0}
    pd.testing.assert_frame_equal(
        _sorted(survey_selectors.survey_response_stats_frame(quarter=PAST,
                                                             weights=other_weights),
                "store_id"),
        _sorted(_by_frame(other_weights)[1], "store_id"), check_exact=False, rtol=1e-12,
        atol=1e-12)
    loader.staged_responses_drop()


def test_the_database_freezes_the_rows_counted_inputs_gives_whoever_the_members_are(
        quarter, store, sibling_store, other_store, staff):
    in_db = loader.load(quarter=PAST, weights=quarter["weights"], stage_responses=True)
    responses, _stats = _by_frame(quarter["weights"])
    params = scheme_current().to_params()
    stores, employees = loader.members(in_db)
    assert quarter["closed"].pk not in stores
    assert quarter["moved"].pk not in employees
    trimmed = loader.LoadedInput(**in_db.__dict__)
    trimmed.stores = in_db.stores[in_db.stores["store_id"] != sibling_store.pk]
    trimmed.employees = in_db.employees[in_db.employees["employee_id"] != staff["clerk"].pk]
    for number, data in enumerate((in_db, trimmed), start=1):
        rollup = Rollup.objects.create(quarter=Quarter(1999, number), revision=1,
                                       scheme=scheme_current(), computed_at=timezone.now())
        written = _write_staged_responses(rollup=rollup, table=loader.STAGED_RESPONSES,
                                          members=loader.members(data))
        inputs = evidence.counted_inputs(data, params, responses, None)
        expected = _response_rows(inputs)
        assert _frozen_rows(rollup) == expected
        assert written == len(expected)
        # One row per store and employee, as the frame's way groups them.
        assert _frozen_groups(rollup) == _groups(evidence.response_groups(inputs))
    rows = quarter["rows"]
    first = Rollup.objects.get(quarter=Quarter(1999, 1))
    frozen = _frozen_rows(first)
    clerk, pharmacist = staff["clerk"].pk, staff["pharmacist"].pk
    # Every indicator weighs 1: a response's score is the mean of its ratings' 0–100 scores.
    assert {name: frozen.get(rows[name].pk) for name in rows} == {
        "served": (store.pk, clerk, pytest.approx(100.0)),
        "self_served": (store.pk, None, pytest.approx(300 / 7)),  # for the store only
        "non_member": (store.pk, None, pytest.approx(475 / 7)),  # he gets no value
        "cleared": (store.pk, pharmacist, pytest.approx(250 / 7)),
        "partial": (store.pk, None, pytest.approx(50.0)),
        "unscored": (store.pk, None, None),
        "flagged": None, "rejected": None,
        "alone": (sibling_store.pk, None, pytest.approx(75.0)),
        "other": (other_store.pk, clerk, pytest.approx(62.5)),
        "other_2": (other_store.pk, None, pytest.approx(50.0)),
        "closed": None}  # its store gets no value
    # The store's responses for no one (key 0): those naming no one, the self-served one and
    # the one naming an employee without a value (merged into the group of no employee).
    groups = {(store_id, employee_key): sorted(ids) for store_id, employee_key, ids
              in RevisionResponses.objects.filter(rollup=first).values_list(
                  "store_id", "employee_key", "response_ids")}
    assert groups == {
        (store.pk, 0): sorted(rows[name].pk for name in (
            "self_served", "non_member", "partial", "unscored")),
        (store.pk, clerk): [rows["served"].pk], (store.pk, pharmacist): [rows["cleared"].pk],
        (sibling_store.pk, 0): [rows["alone"].pk],
        (other_store.pk, clerk): [rows["other"].pk], (other_store.pk, 0): [rows["other_2"].pk]}
    loader.staged_responses_drop()


def test_a_rollup_in_the_database_equals_one_given_the_frames(quarter, monkeypatch):
    """The rollup's own path (staged, grouped and frozen in the database) against the same
    rollup given the per-response frame (pandas): the same values, counts, intervals and
    evidence."""
    with monkeypatch.context() as patched:
        def one_by_one(**kwargs):
            raise AssertionError("the rollup read the responses one by one")

        patched.setattr(survey_selectors, "survey_response_score_frame", one_by_one)
        sql = rollup_quarter(quarter=PAST).rollup
    fields = ["store_id", "value", "n_responses", "ci_low", "ci_high", "flags"]
    by_sql = list(StoreScore.objects.filter(rollup=sql).order_by("store_id").values_list(
        *fields))
    by_sql_inputs = _frozen_rows(sql)
    by_sql_groups = _frozen_groups(sql)
    weights = quarter["weights"]
    calls = {name: call for name, call in loader.store_frame_calls(
        quarter=PAST, weights=weights).items() if name != "survey_responses"}
    calls["survey_employees"] = (survey_selectors.survey_employee_indicator_frame,
                                 engine.EMPLOYEE_INDICATOR_COLUMNS, {"quarter": PAST})
    frames = loader.load_frames(calls, parallel=False)
    frames["responses"] = _by_frame(weights)[0]
    given = loader.engine_input(frames, *loader.chain_frames())
    again = rollup_quarter(quarter=PAST, data=given).rollup
    assert again.pk == sql.pk  # recomputed in place
    by_frame = list(StoreScore.objects.filter(rollup=again).order_by("store_id").values_list(
        *fields))
    assert len(by_sql) == len(by_frame) == 3  # the closed store gets no value
    for mine, theirs in zip(by_sql, by_frame, strict=True):
        assert (mine[0], mine[2], mine[5]) == (theirs[0], theirs[2], theirs[5])
        assert mine[1] == pytest.approx(theirs[1], abs=1e-12)
        assert mine[3] == pytest.approx(theirs[3], abs=1e-12)
        assert mine[4] == pytest.approx(theirs[4], abs=1e-12)
    assert by_sql_inputs == _frozen_rows(again)
    assert by_sql_groups == _frozen_groups(again)
    assert len(by_sql_inputs) == 9  # 12 responses, less flagged, rejected and the closed one

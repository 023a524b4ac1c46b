"""The scoring scheme's preview (/setup/schemes/): the last published quarter recomputed with
the candidate values, by the rollup's engine, before anything is saved."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from django.test import Client
from django.utils import timezone, translation

from satisfaction.errors import ApplicationError
from satisfaction.models import Job, JobState
from satisfaction.quarters import Quarter
from scoring import loader, preview
from scoring.engine import (
    DEDUCTION_COLUMNS,
    EMPLOYEE_INDICATOR_COLUMNS,
    STORE_INDICATOR_COLUMNS,
    STORE_RESPONSE_COLUMNS,
    VISIT_COLUMNS,
    EngineInput,
)
from scoring.forms import SchemeForm
from scoring.models import Rollup, RollupStatus, Scheme, StoreScore
from scoring.preview_jobs import PREVIEW_KIND
from scoring.services import scheme_current
from tests.dashboard.factories import make_rollup, make_store_score
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

PAGE = "/setup/schemes/"
PAST = Quarter(2026, 2)
# store code -> (survey %, scenario %): with the default 50/50 points the value is their mean;
# with 70/30 it moves by 0.2 × (survey % − scenario %).
STORES = {"P001": (80.0, 60.0), "P002": (50.0, 90.0), "P003": (75.0, 65.0),
          "P004": (60.0, 62.0)}
OLD = {"P001": 70.0, "P002": 70.0, "P003": 70.0, "P004": 61.0}
NEW = {"P001": 74.0, "P002": 62.0, "P003": 72.0, "P004": 60.6}  # 0.7 · survey + 0.3 · scenario


@pytest.fixture
def stores(region):
    return {code: StoreFactory(code=code, region=region) for code in STORES}


@pytest.fixture
def inputs(stores) -> EngineInput:
    """Each store: 40 responses on one indicator at its survey %, one approved visit at its
    scenario % (purchase and process at the same share), one clerk with no data of their own."""
    rows = list(stores.values())
    return EngineInput(
        stores=pd.DataFrame({"store_id": [s.pk for s in rows],
                             "region_id": [s.region_id for s in rows]}),
        employees=pd.DataFrame({"employee_id": [9000 + n for n in range(len(rows))],
                                "store_id": [s.pk for s in rows],
                                "role": ["clerk"] * len(rows)}),
        survey_indicators=pd.DataFrame([
            {"store_id": s.pk, "indicator_code": "price", "n": 40,
             "mean_score": STORES[s.code][0], "bottom_n": 0,
             "mean_expectation_score": math.nan} for s in rows],
            columns=STORE_INDICATOR_COLUMNS),
        survey_employees=pd.DataFrame(columns=EMPLOYEE_INDICATOR_COLUMNS),
        survey_responses=pd.DataFrame([
            {"store_id": s.pk, "n": 40, "mean_score": STORES[s.code][0], "sd_score": 5.0}
            for s in rows], columns=STORE_RESPONSE_COLUMNS),
        visits=pd.DataFrame([
            {"visit_id": n, "store_id": s.pk, "employee_id": None,
             "score_pct": STORES[s.code][1], "purchase_points": STORES[s.code][1] / 10,
             "purchase_max": 10, "process_points": STORES[s.code][1] / 10, "process_max": 10,
             "image_points": 0, "image_max": 0, "red_line": False}
            for n, s in enumerate(rows, start=1)], columns=VISIT_COLUMNS),
        deductions=pd.DataFrame(columns=DEDUCTION_COLUMNS),
    )


@pytest.fixture
def published(stores, inputs, monkeypatch) -> Rollup:
    """PAST published with the default scheme and the values it gives; the loader returns the
    hand-made inputs, as if the input apps had those rows."""
    monkeypatch.setattr(loader, "load", lambda **kwargs: inputs)
    rollup = make_rollup(PAST, RollupStatus.PUBLISHED)
    Rollup.objects.filter(pk=rollup.pk).update(published_at=timezone.now())
    for code, store in stores.items():
        make_store_score(rollup, store, OLD[code])
    return rollup


def _candidate(**values):
    return preview.candidate_params(base=scheme_current(), values=values)


def test_changing_survey_and_scenario_points_moves_each_store_as_the_formula_says(published):
    result = preview.scheme_preview(candidate=_candidate(survey_points=70, scenario_points=30))
    assert (result.quarter, result.revision) == ("2026Q2", published.revision)
    assert result.stores == 4
    assert result.store_mean_old == pytest.approx(sum(OLD.values()) / 4)  # 67.75
    assert result.store_mean_new == pytest.approx(sum(NEW.values()) / 4)  # 67.15
    assert result.store_mean_change == pytest.approx(-0.6)
    assert result.stores_moved == 3  # P004 moves by 0.4 only
    assert [(m.code, m.old, m.new) for m in result.up] == [
        ("P001", pytest.approx(70.0), pytest.approx(74.0)),
        ("P003", pytest.approx(70.0), pytest.approx(72.0))]
    assert [(m.code, round(m.change, 6)) for m in result.down] == [("P002", -8.0),
                                                                    ("P004", -0.4)]
    # The employee formula does not use the store points: the employees do not move.
    assert result.employees == 4
    assert result.employee_mean_change == pytest.approx(0.0)
    assert result.employees_moved == 0
    assert result.late_stores == 0


def test_grade_points_move_the_stores_with_complaints_by_the_difference(published, inputs,
                                                                       stores):
    inputs.deductions = pd.DataFrame([
        {"complaint_id": 1, "store_id": stores["P002"].pk, "employee_id": 9001, "grade": "A"},
        {"complaint_id": 2, "store_id": stores["P002"].pk, "employee_id": None, "grade": "A"},
    ], columns=DEDUCTION_COLUMNS)
    result = preview.scheme_preview(candidate=_candidate(grade_a_points=5))
    assert [(m.code, m.old, m.new) for m in result.down] == [
        ("P002", pytest.approx(70.0 - 2 * 3), pytest.approx(70.0 - 2 * 5))]
    assert result.up == []
    assert result.stores_moved == 1
    # P002's published value was 70 (no complaints then): its inputs changed since.
    assert result.late_stores == 1
    # The clerk named by one complaint loses 2 points more, among 4 employees.
    assert result.employee_mean_change == pytest.approx(-2 / 4)


def test_only_the_ten_largest_movers_each_way_are_listed(region, monkeypatch):
    many = {f"M{n:03d}": StoreFactory(code=f"M{n:03d}", region=region) for n in range(25)}
    # Store n: survey 50 + n, scenario 50 → with 70/30 it gains 0.2 · n.
    rows = list(many.values())
    data = EngineInput(
        stores=pd.DataFrame({"store_id": [s.pk for s in rows],
                             "region_id": [s.region_id for s in rows]}),
        employees=pd.DataFrame(columns=["employee_id", "store_id", "role"]),
        survey_indicators=pd.DataFrame([
            {"store_id": s.pk, "indicator_code": "price", "n": 40, "mean_score": 50.0 + n,
             "bottom_n": 0, "mean_expectation_score": math.nan} for n, s in enumerate(rows)],
            columns=STORE_INDICATOR_COLUMNS),
        survey_employees=pd.DataFrame(columns=EMPLOYEE_INDICATOR_COLUMNS),
        survey_responses=pd.DataFrame(columns=STORE_RESPONSE_COLUMNS),
        visits=pd.DataFrame([
            {"visit_id": n, "store_id": s.pk, "employee_id": None, "score_pct": 50.0,
             "purchase_points": 5, "purchase_max": 10, "process_points": 5,
             "process_max": 10, "image_points": 0, "image_max": 0, "red_line": False}
            for n, s in enumerate(rows)], columns=VISIT_COLUMNS),
        deductions=pd.DataFrame(columns=DEDUCTION_COLUMNS))
    rollup = make_rollup(PAST, RollupStatus.PUBLISHED)
    result = preview.scheme_preview(candidate=_candidate(survey_points=70, scenario_points=30),
                                    rollup=rollup, data=data)
    assert [m.code for m in result.up] == [f"M{n:03d}" for n in range(24, 14, -1)]
    assert [m.change for m in result.up] == sorted((m.change for m in result.up), reverse=True)
    assert result.down == []
    assert result.stores_moved == 20  # 0.2 · n ≥ 1 from n = 5


def test_no_published_quarter_gives_no_preview(stores):
    make_rollup(PAST, RollupStatus.PROVISIONAL)
    assert preview.scheme_preview(candidate=_candidate()) is None


def test_an_invalid_candidate_is_refused_with_the_field(db):
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        _candidate(survey_points=70, scenario_points=50)
    assert refused.value.fields["scenario_points"] == [
        "Survey and scenario points must add up to 100."]


# --- the page -------------------------------------------------------------------------------


@pytest.fixture
def hq_client(hq) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(hq)
    return client


def form_data(scheme: Scheme, **changes) -> dict:
    """The scheme's form as the page shows it, with ``changes`` typed over it."""
    form = SchemeForm(instance=scheme)
    data = {}
    for name in form.fields:
        value = changes.get(name, form[name].value())
        if value is False or value is None:
            continue
        data[name] = "on" if value is True else value
    return data


def _preview(client: Client, data: dict, capture) -> Job:
    """Press Preview: the job runs (eagerly, on commit) and the page links back to it."""
    with capture(execute=True):
        response = client.post(PAGE, {**data, "preview": "1"})
    assert response.status_code == 302
    job = Job.objects.get(kind=PREVIEW_KIND)
    assert response["Location"] == job.get_absolute_url()
    return Job.objects.get(pk=job.pk)


def test_hq_previews_on_the_page_and_nothing_is_saved(hq_client, published, stores,
                                                      django_capture_on_commit_callbacks):
    versions = Scheme.objects.count()
    scores = StoreScore.objects.count()
    job = _preview(hq_client, form_data(scheme_current(), survey_points=70, scenario_points=30,
                                        note="70/30"), django_capture_on_commit_callbacks)
    assert job.state == JobState.DONE
    assert job.result["summary"][0] == ["Stores computed", 4]
    assert job.result["rows"][0] == [f"P001 {stores['P001'].name}", "70.00 → 74.00", "+4.00"]
    job_page = hq_client.get(job.get_absolute_url())
    assert job_page.status_code == 200
    assert f"/setup/schemes/?preview={job.public_id}" in job_page.content.decode()

    response = hq_client.get(PAGE, {"preview": str(job.public_id)})
    assert response.status_code == 200
    result = response.context["preview"]
    assert result.stores == 4
    page = response.content.decode()
    assert "67.75 → 67.15 (-0.60)" in page
    up = page[page.index('data-testid="movers-up"'):page.index('data-testid="movers-down"')]
    assert up.index("P001") < up.index("P003")
    assert "+4.00" in up
    # The form holds the values previewed, ready to save.
    form = response.context["form"]
    assert (form["survey_points"].value(), form["note"].value()) == (70, "70/30")
    assert Scheme.objects.count() == versions
    assert StoreScore.objects.count() == scores
    assert Rollup.objects.get(pk=published.pk).status == RollupStatus.PUBLISHED


def test_a_preview_job_is_only_its_starters_or_hqs(hq_client, published, hr,
                                                   django_capture_on_commit_callbacks):
    job = _preview(hq_client, form_data(scheme_current()), django_capture_on_commit_callbacks)
    assert hq_client.get(PAGE, {"preview": "not-a-job"}).status_code == 404
    other = Client()
    other.force_login(hr)
    assert other.get(job.get_absolute_url()).status_code == 404


def test_save_creates_a_new_version(hq_client, hq, published):
    before = scheme_current()
    response = hq_client.post(PAGE, {**form_data(before, survey_points=70, scenario_points=30,
                                                 note="70/30"), "save": "1"})
    assert response.status_code == 302
    assert response["Location"] == PAGE
    now = scheme_current()
    assert (now.version, now.survey_points, now.scenario_points, now.note, now.created_by) == (
        before.version + 1, 70, 30, "70/30", hq)


def test_without_a_published_quarter_the_page_says_so_and_saving_still_works(
        hq_client, stores, django_capture_on_commit_callbacks):
    job = _preview(hq_client, form_data(scheme_current()), django_capture_on_commit_callbacks)
    assert job.state == JobState.DONE
    response = hq_client.get(PAGE, {"preview": str(job.public_id)})
    assert response.status_code == 200
    assert response.context["preview"] is None
    assert 'data-testid="preview-none"' in response.content.decode()
    saved = hq_client.post(PAGE, {**form_data(scheme_current(), note="same"), "save": "1"})
    assert saved.status_code == 302


def test_an_invalid_preview_is_a_form_error(hq_client, published):
    response = hq_client.post(PAGE, {**form_data(scheme_current(), survey_points=70),
                                     "preview": "1"})
    assert response.status_code == 400
    assert response.context["form"].errors["scenario_points"] == [
        "Survey and scenario points must add up to 100."]
    assert not Job.objects.exists()  # nothing started for a scheme that cannot be saved


def test_the_old_address_redirects_for_good(hq_client):
    response = hq_client.get("/scoring/schemes/")
    assert response.status_code == 301
    assert response["Location"] == PAGE


@pytest.mark.parametrize("persona", ["hr", "region_manager", "store_manager"])
def test_only_hq_may_use_the_page(request, persona):
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"preview": "1"}).status_code == 403

"""Roll up real rows of the input apps through their selectors, made with their factories and
services: survey responses, approved mystery-shopper visits, graded complaints."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from complaints.models import Responsibility
from complaints.services import appeal_file, complaint_triage
from mystery_shopper.models import Appeal, AppealStatus, VisitStatus
from satisfaction.errors import ApplicationError
from satisfaction.quarters import chain_zone
from scoring.models import EmployeeScore, RollupStatus, StoreScore
from scoring.services import quarter_publish, rollup_quarter
from surveys.models import ResponseStatus
from tests.complaints.factories import make_complaint
from tests.mystery_shopper.factories import VisitFactory
from tests.scoring.conftest import PAST
from tests.surveys.factories import CampaignFactory, all_rated, rate

IN_PAST = datetime.combine(date(2026, 5, 10), time(12), tzinfo=chain_zone())


@pytest.fixture
def real_rows(store, staff, hq):
    campaign = CampaignFactory(quarter=PAST, opens_on=date(2026, 4, 1),
                               closes_on=date(2026, 6, 30))
    clerk = staff["clerk"]
    rate(campaign=campaign, store=store, ratings=all_rated(5), employee=clerk)  # all 100
    rate(campaign=campaign, store=store, ratings=all_rated(3))                  # all 50
    rate(campaign=campaign, store=store, ratings=all_rated(1),                  # not counted
         status=ResponseStatus.FLAGGED)
    visit = VisitFactory(store=store, quarter=PAST, status=VisitStatus.APPROVED,
                         due_on=date(2026, 5, 20), visited_on=date(2026, 5, 18), employee=clerk,
                         score_pct=80.0, purchase_points=8, purchase_max=10, process_points=6,
                         process_max=10, image_points=10, image_max=10)
    VisitFactory(store=store, quarter=PAST, status=VisitStatus.RETURNED,  # does not count
                 due_on=date(2026, 5, 20), visited_on=date(2026, 5, 19), score_pct=0.0)
    graded = make_complaint(store, received_at=IN_PAST, employee=clerk)
    complaint_triage(complaint=graded, user=hq, version=graded.version, grade="B",
                     substantiated=True, responsibility=Responsibility.OWN_STORE, owner=None)
    unfounded = make_complaint(store, received_at=IN_PAST)
    complaint_triage(complaint=unfounded, user=hq, version=unfounded.version, grade="A",
                     substantiated=False, responsibility=Responsibility.OWN_STORE, owner=None)
    make_complaint(store, received_at=IN_PAST)  # not graded yet: no deduction
    graded.refresh_from_db()
    return {"campaign": campaign, "visit": visit, "complaint": graded}


def test_a_quarter_rolls_up_from_real_responses_visits_and_complaints(real_rows, store, staff):
    rollup = rollup_quarter(quarter=PAST).rollup
    score = StoreScore.objects.get(rollup=rollup, store=store)
    # survey: each indicator the mean of 100 and 50 = 75 % -> 37.5; scenario: seed 002's
    # purchase + process (8 + 6) / (10 + 10) = 70 % -> 35 (the visit's 10/10 store image is
    # reported beside it, not counted); the substantiated B complaint -2 (the unfounded A and
    # the ungraded one deduct nothing)
    assert score.survey_points == pytest.approx(37.5)
    assert score.scenario_points == pytest.approx(35.0)
    assert score.deductions == pytest.approx(2.0)
    assert score.value == pytest.approx(70.5)
    assert (score.n_responses, score.n_visits, score.n_complaints) == (2, 1, 1)
    # CI: per-response scores 100 and 50, sd 35.36, t(0.975, 1) = 12.71: half-width
    # 12.71 x 35.36 / sqrt(2) x 50 / 100 = 158.8 points, clipped to 0..100
    assert (score.ci_low, score.ci_high) == (0.0, 100.0)
    assert "small_sample" in score.flags
    clerk = EmployeeScore.objects.get(rollup=rollup, employee=staff["clerk"])
    # warm 100 -> 25, efficacy 100 -> 25, price 100 -> 25, purchase 14/20 = 70 % -> 17.5;
    # the B complaint names the clerk: -2
    assert clerk.value == pytest.approx(90.5)
    assert clerk.flags == []
    pharmacist = EmployeeScore.objects.get(rollup=rollup, employee=staff["pharmacist"])
    # no own data: every part from the store (75, 75, 75, 70 %) = 18.75 x 3 + 17.5
    assert pharmacist.value == pytest.approx(73.75)
    manager = EmployeeScore.objects.get(rollup=rollup, employee=staff["manager"])
    assert manager.value == pytest.approx((90.5 + 73.75) / 2)


def test_the_store_page_traces_the_value_to_the_real_rows(real_rows, store_manager, login):
    rollup_quarter(quarter=PAST)
    response = login(store_manager).get("/scoring/stores/S0001/?quarter=2026Q2")
    assert response.status_code == 200
    counts = {part["kind"]: part["count"] for part in response.context["trace"]}
    assert counts == {"responses": 2, "visits": 1, "complaints": 1}
    assert real_rows["complaint"].ticket_no in response.content.decode()


def test_publishing_waits_for_an_open_visit_appeal(real_rows, hq):
    rollup_quarter(quarter=PAST)
    appeal = Appeal.objects.create(visit=real_rows["visit"], reason="The shopper was wrong.")
    with pytest.raises(ApplicationError) as error:
        quarter_publish(quarter=PAST, user=hq)
    assert error.value.code == "open_appeals"
    appeal.status = AppealStatus.UPHELD
    appeal.save()
    assert quarter_publish(quarter=PAST, user=hq).status == RollupStatus.PUBLISHED


def test_publishing_waits_for_an_open_complaint_appeal(real_rows, hq, store_manager):
    rollup_quarter(quarter=PAST)
    appeal_file(complaint=real_rows["complaint"], user=store_manager, kind="grade",
                reason="It was a C at most.", requested_grade="C")
    with pytest.raises(ApplicationError) as error:
        quarter_publish(quarter=PAST, user=hq)
    assert error.value.code == "open_appeals"
    assert "complaints" in error.value.message or "投诉" in error.value.message

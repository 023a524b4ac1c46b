"""A quarter of real rows for the evidence tests, and the data that arrives after publishing.

The quarter (2026Q2, rows made through the input apps' factories and services):

- responses R1 (every indicator 5 → 100, serving the clerk) and R2 (every indicator 3 → 50):
  survey % 75 → 37.5 points;
- visit V1 (purchase 8/10, process 6/10, image 10/10, the clerk served): scenario % 70 → 35;
- complaint C1 (grade B, substantiated, names the clerk): −2;

store value 37.5 + 35 − 2 = 70.5; the clerk 25 + 25 + 25 + 17.5 − 2 = 90.5.

After publishing (``late_arrivals``): V2 (submitted before, 100 %) is approved, a late response
R3 (all 5 → 100) and a late complaint C2 (B) arrive, and an appeal regrades C1 from B to C.
"""

from __future__ import annotations

from datetime import date, datetime, time

from complaints.models import Responsibility
from complaints.services import appeal_decide, appeal_file, complaint_triage
from mystery_shopper.models import ItemKind, ScorecardItem, VisitAnswer, VisitStatus
from mystery_shopper.services import visit_approve
from satisfaction.quarters import chain_zone
from scoring.services import quarter_publish, rollup_quarter
from tests.complaints.factories import make_complaint
from tests.mystery_shopper.factories import VisitFactory
from tests.scoring.conftest import PAST
from tests.surveys.factories import CampaignFactory, all_rated, rate

IN_PAST = datetime.combine(date(2026, 5, 10), time(12), tzinfo=chain_zone())
LATER_IN_PAST = datetime.combine(date(2026, 6, 20), time(15), tzinfo=chain_zone())


def _triage(complaint, hq, grade: str, substantiated: bool = True):
    complaint_triage(complaint=complaint, user=hq, version=complaint.version, grade=grade,
                     substantiated=substantiated, responsibility=Responsibility.OWN_STORE,
                     owner=None)
    complaint.refresh_from_db()
    return complaint


def _full_marks(visit) -> None:
    """Every item of the visit's scorecard answered at its maximum (a 100 % visit)."""
    VisitAnswer.objects.bulk_create([
        VisitAnswer(visit=visit, item=item,
                    value=1 if item.kind == ItemKind.YES_NO else item.max_points)
        for item in ScorecardItem.objects.filter(section__template=visit.template_id)])


def make_quarter_rows(store, staff, hq) -> dict:
    campaign = CampaignFactory(quarter=PAST, opens_on=date(2026, 4, 1),
                               closes_on=date(2026, 6, 30))
    clerk = staff["clerk"]
    r1 = rate(campaign=campaign, store=store, ratings=all_rated(5), employee=clerk)
    r2 = rate(campaign=campaign, store=store, ratings=all_rated(3))
    v1 = VisitFactory(store=store, quarter=PAST, status=VisitStatus.APPROVED,
                      due_on=date(2026, 5, 20), visited_on=date(2026, 5, 18), employee=clerk,
                      score_pct=80.0, purchase_points=8, purchase_max=10, process_points=6,
                      process_max=10, image_points=10, image_max=10)
    # Submitted before publishing, approved after it.
    v2 = VisitFactory(store=store, quarter=PAST, status=VisitStatus.SUBMITTED,
                      due_on=date(2026, 6, 12), visited_on=date(2026, 6, 10))
    _full_marks(v2)
    c1 = _triage(make_complaint(store, received_at=IN_PAST, employee=clerk), hq, "B")
    return {"campaign": campaign, "r1": r1, "r2": r2, "v1": v1, "v2": v2, "c1": c1}


def publish(hq):
    # Publishing locks a provisional revision: roll the quarter up first, as HQ does.
    rollup_quarter(quarter=PAST, user=hq)
    return quarter_publish(quarter=PAST, user=hq)


def late_arrivals(rows, store, hq, store_manager):
    """After publishing: V2 approved, a late response R3 (all 5 → 100), a late complaint C2
    (B), and an appeal that regrades C1 from B to C."""
    visit_approve(visit=rows["v2"], reviewer=hq)
    r3 = rate(campaign=rows["campaign"], store=store, ratings=all_rated(5))
    c2 = _triage(make_complaint(store, received_at=LATER_IN_PAST), hq, "B")
    appeal = appeal_file(complaint=rows["c1"], user=store_manager, kind="grade",
                         reason="It was a C at most.", requested_grade="C")
    appeal_decide(appeal=appeal, user=hq, accept=True, reason="The customer confirmed it.")
    return {"r3": r3, "c2": c2}

"""Issue 12's "Done when": a quarter computed by hand, driven through the input apps' services,
the rollup, publishing, late data, a recompute with a reason and the HR export.

The quarter is 2026Q3. The scheme (a new version, saved by HQ) weighs warm service and price 2,
the other five indicators 1 (Σ w = 9); minimum sample 3; bonus k = 5, target T = 70. The
scorecard (a new version of the default one) gives a red-line visit 20 %. Ratings are 1–5, so a
rating r is (r − 1) × 25 on 0–100; a response's score is Σ w·score / 9.

Region EAST (华东区): S0001 上海人民路店 and S0002 杭州解放路店; region SOUTH (华南区): S0011.

S0001 (manager E00001 王店长, clerk E10001 张药师, pharmacist E10002 赵药师)
  responses (store QR code, counted at once), ratings assortment, environment, recommendation,
  efficacy, warm service, product quality, price:
    R1 serves the clerk      2 3 4 4 5 3 5 → (25 + 50 + 75 + 75 + 2·100 + 50 + 2·100) / 9 = 75
    R2 serves the pharmacist 4 3 3 4 3 3 2 → (75 + 50 + 50 + 75 + 2·50 + 50 + 2·25) / 9 = 50
    R3 names no one          all 5        → 100
    (unweighted R1 would be 67.86: the scheme's weights matter)
    survey % = (75 + 50 + 100) / 3 = 75 → × 50 / 100 = 37.5 points; n = 3, not a small sample
  visits (default scorecard: purchase 50, process 30, store image 20 beside):
    V1 the clerk served: purchase 10+10+10+5+5 = 40, process 5+5+0+14 = 24, image 5+5 = 10
       → (40 + 24) / (50 + 30) = 80 % (with the image it would be 74 %); image 50 % beside
    scenario % = 80 → × 50 / 100 = 40 points
  complaints: C1 A names the manager −3, C2 B names the clerk −2, C3 C names no one −1 (handled
    and closed), C4 A names the pharmacist, not substantiated: 0 → deductions 6
  store value = 37.5 + 40 − 6 = 71.5; 95 % CI: response scores 75, 50, 100 (sd 25),
    t(0.975, 2) = 4.302653: 4.302653 × 25 / √3 × 50 / 100 = 31.0517 → 40.45 .. 100 (clipped)
  clerk      = warm 100 × 25 % = 25 + efficacy (75 + 75) / 2 × 25 % = 18.75 + price 100 → 25
               + purchase 80 (V1) → 20 − C2 2 = 86.75
  pharmacist = warm 50 → 12.5 + efficacy (50 + 75) / 2 = 62.5 → 15.625 + price 25 → 6.25
               + purchase: no visit, the store's 80 → 20 (flagged) − nothing (C4 unfounded)
             = 54.375
  manager    = staff mean (86.75 + 54.375) / 2 = 70.5625 − C1 3 = 67.5625
S0002 (clerk E20001 钱店员)
  R4 serves E20001 all 4 → 75, R5 all 3 → 50: survey % 62.5 → 31.25; n = 2 < 3: small sample
  V3 E20001 served, a red line failed (everything else full marks): the configured 20 %
     → scenario % 20 → 10 points
  C6 C names E20001 −1
  store value = 31.25 + 10 − 1 = 40.25; CI: t(0.975, 1) = 12.7062 × 17.678 / √2 × 50 / 100
     = 79.41 → 0 .. 100
  E20001 = 75 → 18.75 × 3 + purchase 20 → 5 − 1 = 60.25
S0011 (no staff)
  V4 (badge matches no one): purchase 45, process 27 → 72 / 80 = 90 % (92 with the image);
  no survey: the scenario carries 100 points → 90 (flag missing_survey)
Ranks: chain S0011 1, S0001 2, S0002 3; EAST S0001 1, S0002 2.
Bonus factor max(0, 1 + 5 × (value − 70) / 100): clerk 1.8375, pharmacist 0.21875,
manager 0.878125, E20001 0.5125.

After publishing (all dated inside 2026Q3): V2 (submitted before publishing, the pharmacist
served; purchase 6 × 5 = 30, process 5 + 13 = 18 → 48 / 80 = 60 %, image 15 / 20) is approved;
C5 (B, names the pharmacist, received 2026-09-20) is recorded by HQ; R6 (all 5 → 100, keyed in
on paper by the store manager: held for HQ) is cleared by HQ.
Revision 2 (HQ, with a reason) counts them:
  S0001: survey (75 + 50 + 100 + 100) / 4 = 81.25 → 40.625; scenario (80 + 60) / 2 = 70 → 35;
         deductions 6 + 2 = 8 → 67.625 (−3.875: R6 +3.125, V2 −5, C5 −2)
  pharmacist: 12.5 + 15.625 + 6.25 + own purchase 60 → 15 − C5 2 = 47.375
  manager: (86.75 + 47.375) / 2 − 3 = 64.0625; the clerk, S0002, S0011 do not move.
  bonus factors: pharmacist 1 + 5 × (47.375 − 70) / 100 = −0.13125 → 0 (the max(0, …));
  manager 0.703125.

The HR export writes each figure rounded half up to what it shows (2 decimals, the bonus factor
3): e.g. the pharmacist 54.375 → 54.38, his satisfaction points 54.375 × 30 / 100 = 16.3125 →
16.31, his bonus factor 0.21875 → 0.219.
"""

from __future__ import annotations

import io
import math
import re
from datetime import date, datetime, time

import pytest
from django.test import TestCase
from openpyxl import load_workbook

from complaints import services as complaint_services
from complaints.models import Responsibility
from mystery_shopper import services as visit_services
from mystery_shopper.models import ScorecardItem
from satisfaction.models import Employee, EmployeeRole, Region, Store
from satisfaction.quarters import Quarter, chain_zone
from scoring import selectors
from scoring.export import rounded
from scoring.models import EmployeeScore, Rollup, RollupStatus, StoreScore
from scoring.services import quarter_publish, rollup_quarter, scheme_create_version
from surveys.models import Channel, ResponseStatus
from surveys.services import ResponseInput, campaign_create, response_create, response_review
from tests.complaints.factories import make_complaint
from tests.factories import EmployeeFactory
from tests.mystery_shopper.factories import ShopperFactory, VisitFactory, jpeg_upload, wav_upload

Q3 = Quarter(2026, 3)
CODES = ("assortment", "environment", "recommendation", "efficacy", "warm_service",
         "product_quality", "price")
WEIGHTS = {"assortment": 1.0, "environment": 1.0, "recommendation": 1.0, "efficacy": 1.0,
           "warm_service": 2.0, "product_quality": 1.0, "price": 2.0}
RED_LINE_SCORE = 20.0
T_975_2 = 4.302652729749462  # t(0.975, 2): the 95 % interval of 3 responses
CI_HALF_S0001 = T_975_2 * 25.0 / math.sqrt(3) * 50.0 / 100.0  # 31.0517 points

# Published revision 1 (the module docstring has the arithmetic).
STORES_R1 = {  # code: (survey %, survey points, scenario %, scenario points, deductions, value)
    "S0001": (75.0, 37.5, 80.0, 40.0, 6.0, 71.5),
    "S0002": (62.5, 31.25, 20.0, 10.0, 1.0, 40.25),
    "S0011": (None, 0.0, 90.0, 90.0, 0.0, 90.0),
}
EMPLOYEES_R1 = {"E10001": 86.75, "E10002": 54.375, "E00001": 67.5625, "E20001": 60.25}
# As the export writes them: value, satisfaction points (value × 30 / 100), bonus factor.
EXPORTED_R1 = {"E10001": (86.75, 26.03, 1.838),   # 26.025, 1.8375 half up
               "E10002": (54.38, 16.31, 0.219),   # 54.375, 16.3125, 0.21875
               "E00001": (67.56, 20.27, 0.878),   # 67.5625, 20.26875, 0.878125
               "E20001": (60.25, 18.08, 0.513)}   # 18.075, 0.5125
# 95 % CI as exported: 71.5 ± 31.05 (high clipped to 100); S0002 0 .. 100; S0011 no survey.
EXPORTED_CI_R1 = {"S0001": (40.45, 100.0), "S0002": (0.0, 100.0), "S0011": (None, None)}
# Revision 2 (recomputed with a reason after the late data).
STORES_R2 = {**STORES_R1, "S0001": (81.25, 40.625, 70.0, 35.0, 8.0, 67.625)}
EMPLOYEES_R2 = {**EMPLOYEES_R1, "E10002": 47.375, "E00001": 64.0625}
EXPORTED_R2 = {**EXPORTED_R1, "E10002": (47.38, 14.21, 0.0),  # 14.2125; −0.13125 → 0
               "E00001": (64.06, 19.22, 0.703)}               # 19.21875, 0.703125
# S0001 in revision 2: scores 75, 50, 100, 100 (sd 23.9357), t(0.975, 3) = 3.182446:
# 3.182446 × 23.9357 / √4 × 50 / 100 = 19.0435 → 67.625 ± 19.0435 = 48.58 .. 86.67.
EXPORTED_CI_R2 = {**EXPORTED_CI_R1, "S0001": (48.58, 86.67)}
REASON = "Late visit V2, complaint C5 and a cleared paper questionnaire"

CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def in_q3(month: int, day: int, hour: int = 11) -> datetime:
    return datetime.combine(date(2026, month, day), time(hour), tzinfo=chain_zone())


def bonus(value: float) -> float:
    """The scheme's bonus factor with k = 5, T = 70 (DESIGN.md)."""
    return max(0.0, 1 + 5 * (value - 70) / 100)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- The quarter, through the input apps' services ------------------------------------------


def _ratings(*values: int) -> dict[str, int]:
    return dict(zip(CODES, values, strict=True))


def _respond(campaign, store, ratings: dict[str, int], employee: str = "", *,
             when: datetime, entered_by=None, channel: str = Channel.QR):
    return response_create(store=store, campaign=campaign,
                           data=ResponseInput(ratings=ratings, employee_number=employee),
                           channel=channel, entered_by=entered_by, now=when)


def _visit(store, shopper, *, badge: str, values: dict[str, float], day: int):
    """A shopper's report: every item answered (``values`` by item code, else full marks),
    the required photo and recording attached, checked in on 2026-08-<day>, submitted."""
    visit = VisitFactory(store=store, shopper=shopper, quarter=Q3, due_on=date(2026, 8, day))
    items = list(ScorecardItem.objects.filter(section__template=visit.template_id))
    answers = {item.pk: {"value": values.get(
        item.code, item.max_points if item.kind == "points" else 1)} for item in items}
    visit_services.visit_draft_save(visit=visit, shopper=shopper, answers=answers,
                                    checked_in_at=in_q3(8, day), served_by_badge=badge)
    for item in items:
        if item.evidence:
            upload = jpeg_upload() if item.evidence == "photo" else wav_upload()
            visit_services.visit_evidence_add(visit=visit, shopper=shopper, upload=upload,
                                              item=item)
    return visit_services.visit_submit(visit=visit, shopper=shopper)


def _complaint(store, hq, *, grade: str, substantiated: bool = True, employee=None,
               received_at: datetime):
    """Received (dated more than 7 days back: HQ records it), then graded by HQ."""
    complaint = make_complaint(store, received_at=received_at, employee=employee)
    complaint_services.complaint_triage(
        complaint=complaint, user=hq, version=complaint.version, grade=grade,
        substantiated=substantiated, responsibility=Responsibility.OWN_STORE, owner=None)
    complaint.refresh_from_db()
    return complaint


# V1: purchase 40/50, process 24/30, image 10/20 (only signboard and uniform).
V1 = {"asks_present_history": 10, "asks_past_history": 10, "marketing_awareness": 10,
      "combination_professional": 5, "combination_rational": 5, "asks_allergies": 1,
      "checks_combinations": 1, "states_contraindications": 0, "ask_then_dispense": 14,
      "signboard": 1, "uniform": 1, "polite_greeting": 0, "polite_purchase": 0,
      "polite_checkout": 0, "polite_farewell": 0}
# V2: purchase 30/50, process 18/30, image 15/20.
V2 = {"asks_present_history": 6, "asks_past_history": 6, "marketing_awareness": 6,
      "combination_professional": 6, "combination_rational": 6, "asks_allergies": 1,
      "checks_combinations": 0, "states_contraindications": 0, "ask_then_dispense": 13,
      "polite_checkout": 0, "polite_farewell": 0}
# V3: full marks but no licensed pharmacist on duty (a red line).
V3 = {"pharmacist_on_duty": 0}
# V4: purchase 45/50 (one item 5 of 10), process 27/30, image 20/20.
V4 = {"combination_rational": 5, "ask_then_dispense": 12}


def make_quarter(store, sibling_store, other_store, staff, hq, store_manager) -> dict:
    """2026Q3 as the module docstring computes it, published (revision 1)."""
    scheme_create_version(user=hq, note="Pay scenario", indicator_weights=WEIGHTS, min_sample=3,
                          bonus_k=5, bonus_target=70)
    card = visit_services.template_as_data(visit_services.current_template())
    card["red_line_score"] = RED_LINE_SCORE
    visit_services.scorecard_template_create_version(user=hq, **card)
    e20001 = EmployeeFactory(number="E20001", name="钱店员", store=sibling_store,
                             role=EmployeeRole.CLERK)
    campaign = campaign_create(name="2026Q3 商圈调查", quarter=Q3, opens_on=date(2026, 7, 1),
                               closes_on=date(2026, 9, 30))
    rows = {
        "r1": _respond(campaign, store, _ratings(2, 3, 4, 4, 5, 3, 5), "E10001",
                       when=in_q3(7, 10)),
        "r2": _respond(campaign, store, _ratings(4, 3, 3, 4, 3, 3, 2), "E10002",
                       when=in_q3(7, 11)),
        "r3": _respond(campaign, store, _ratings(*[5] * 7), when=in_q3(7, 12)),
        # Keyed in by the store's own manager: held for HQ, it does not count yet.
        "r6": _respond(campaign, store, _ratings(*[5] * 7), when=in_q3(9, 25),
                       entered_by=store_manager, channel=Channel.PAPER),
        "r4": _respond(campaign, sibling_store, _ratings(*[4] * 7), "E20001",
                       when=in_q3(7, 14)),
        "r5": _respond(campaign, sibling_store, _ratings(*[3] * 7), when=in_q3(7, 15)),
    }
    assert rows["r6"].status == ResponseStatus.FLAGGED
    shopper = ShopperFactory(username="shopper-q3", cities=["上海", "杭州", "广州"])
    rows["v1"] = _visit(store, shopper, badge="E10001", values=V1, day=5)
    rows["v2"] = _visit(store, shopper, badge="E10002", values=V2, day=25)  # approved late
    rows["v3"] = _visit(sibling_store, shopper, badge="E20001", values=V3, day=7)
    rows["v4"] = _visit(other_store, shopper, badge="X999", values=V4, day=9)
    for key in ("v1", "v3", "v4"):
        rows[key] = visit_services.visit_approve(visit=rows[key], reviewer=hq)
    manager = staff["manager"]
    rows["c1"] = _complaint(store, hq, grade="A", employee=manager, received_at=in_q3(7, 20))
    rows["c2"] = _complaint(store, hq, grade="B", employee=staff["clerk"],
                            received_at=in_q3(8, 3))
    rows["c3"] = _complaint(store, hq, grade="C", received_at=in_q3(8, 12))
    rows["c4"] = _complaint(store, hq, grade="A", substantiated=False,
                            employee=staff["pharmacist"], received_at=in_q3(8, 18))
    rows["c6"] = _complaint(sibling_store, hq, grade="C", employee=e20001,
                            received_at=in_q3(9, 2))
    # C3 is handled and closed by the store (a C needs no 8D report).
    c3 = rows["c3"]
    c3 = complaint_services.complaint_start(complaint=c3, user=store_manager, version=c3.version)
    c3 = complaint_services.complaint_resolve(complaint=c3, user=store_manager,
                                              version=c3.version, remedy="当面道歉并退换",
                                              customer_satisfied=True)
    rows["c3"] = complaint_services.complaint_close(complaint=c3, user=store_manager,
                                                    version=c3.version)
    rollup_quarter(quarter=Q3, user=hq)  # publishing locks a provisional revision
    rows["rollup"] = quarter_publish(quarter=Q3, user=hq)
    return rows


def arrive_late(rows: dict, store, staff, hq) -> dict:
    """After publishing: V2 approved, C5 recorded by HQ, R6 cleared by HQ."""
    rows["v2"] = visit_services.visit_approve(visit=rows["v2"], reviewer=hq)
    rows["c5"] = _complaint(store, hq, grade="B", employee=staff["pharmacist"],
                            received_at=in_q3(9, 20, 15))
    assert response_review(user=hq, response_ids=[rows["r6"].pk], clear=True) == 1
    return rows


@pytest.fixture
def quarter(store, sibling_store, other_store, staff, hq, store_manager):
    return make_quarter(store, sibling_store, other_store, staff, hq, store_manager)


@pytest.fixture
def late(quarter, store, staff, hq):
    return arrive_late(quarter, store, staff, hq)


def _english(client):
    client.post("/i18n/setlang/", {"language": "en"})
    return client


def _workbook(client, quarter: str = str(Q3)):
    """HR's download: the export form starts a job (run here), whose page offers the file."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post("/scoring/hr/export/",
                               {"quarter": quarter, "format": "xlsx", "language": "en"})
    assert response.status_code == 302, response.content[:500]
    download = client.get(response["Location"].rstrip("/") + "/download")
    assert download.status_code == 200
    return load_workbook(io.BytesIO(b"".join(download.streaming_content)))


def _rows(sheet) -> dict[str, dict[str, object]]:
    rows = list(sheet.iter_rows(values_only=True))
    return {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}


def _info(sheet) -> dict[str, object]:
    return dict(list(sheet.iter_rows(values_only=True))[1:])


def _assert_export_matches(book, rollup, stores: dict, employees: dict, ci: dict) -> None:
    """Every exported figure is the hand-computed one as shown, and the stored one rounded
    half up to the decimals shown."""
    info, bonus_sheet, store_sheet = book.worksheets
    assert _info(info)["Revision"] == rollup.revision
    assert _info(info)["Quarter"] == str(Q3)
    assert _info(info)["Scheme version"] == rollup.scheme.version
    exported = _rows(store_sheet)
    assert set(exported) == set(stores)
    for score in StoreScore.objects.filter(rollup=rollup).select_related("store"):
        row, hand = exported[score.store.code], stores[score.store.code]
        assert (row["Sample survey %"], row["Sample survey points"], row["Scenario survey %"],
                row["Scenario survey points"], row["Complaint deductions"],
                row["Satisfaction value"]) == tuple(rounded(v) for v in hand)
        assert (row["Satisfaction value"], row["95% CI low"], row["95% CI high"]) == (
            rounded(score.value), rounded(score.ci_low), rounded(score.ci_high))
        assert (row["95% CI low"], row["95% CI high"]) == ci[score.store.code]
        assert (row["Survey responses (n)"], row["Approved visits (n)"],
                row["Substantiated complaints (n)"], row["Rank in region"],
                row["Rank in chain"]) == (score.n_responses, score.n_visits,
                                          score.n_complaints, score.rank_region,
                                          score.rank_chain)
    people = _rows(bonus_sheet)
    assert set(people) == set(employees)
    for score in EmployeeScore.objects.filter(rollup=rollup).select_related("employee"):
        row, hand = people[score.employee.number], employees[score.employee.number]
        assert row["Revision"] == rollup.revision
        assert (row["Satisfaction value"], row["Satisfaction points"],
                row["Bonus factor"]) == hand, score.employee.number
        assert (row["Satisfaction value"], row["Satisfaction points"], row["Bonus factor"]) == (
            rounded(score.value), rounded(score.satisfaction_points),
            rounded(score.bonus_factor, 3))


# --- The published values --------------------------------------------------------------------


def test_the_published_values_are_the_hand_computed_ones(quarter):
    rollup = quarter["rollup"]
    assert (rollup.revision, rollup.status) == (1, RollupStatus.PUBLISHED)
    stores = {s.store.code: s for s in StoreScore.objects.filter(rollup=rollup)
              .select_related("store")}
    for code, (survey_pct, survey, scenario_pct, scenario, deductions, value) in (
            STORES_R1.items()):
        score = stores[code]
        assert score.survey_pct == (None if survey_pct is None else pytest.approx(survey_pct))
        assert (score.survey_points, score.scenario_pct, score.scenario_points,
                score.deductions, score.value) == pytest.approx(
            (survey, scenario_pct, scenario, deductions, value))
    s1, s2, s11 = stores["S0001"], stores["S0002"], stores["S0011"]
    assert (s1.n_responses, s1.n_visits, s1.n_complaints) == (3, 1, 3)  # R6 held, C4 unfounded
    assert (s1.ci_low, s1.ci_high) == (pytest.approx(71.5 - CI_HALF_S0001), 100.0)
    assert (s2.ci_low, s2.ci_high) == (0.0, 100.0)
    assert (s1.flags, s2.flags, s11.flags) == ([], ["small_sample"], ["missing_survey"])
    assert [(s.rank_region, s.rank_chain) for s in (s1, s2, s11)] == [(1, 2), (2, 3), (1, 1)]
    # The indicator means the weights were applied to (R1, R2, R3).
    assert s1.indicators["warm_service"] == [3, pytest.approx(83.3333, abs=1e-4)]
    assert s1.indicators["price"] == [3, pytest.approx(75.0)]

    people = {e.employee.number: e for e in EmployeeScore.objects.filter(rollup=rollup)
              .select_related("employee")}
    for number, value in EMPLOYEES_R1.items():
        assert people[number].value == pytest.approx(value), number
        assert people[number].bonus_factor == pytest.approx(bonus(value)), number
    clerk, pharmacist, manager = people["E10001"], people["E10002"], people["E00001"]
    assert (clerk.warm_service_pct, clerk.efficacy_pct, clerk.price_pct,
            clerk.purchase_pct) == pytest.approx((100.0, 75.0, 100.0, 80.0))
    assert (clerk.deductions, clerk.flags) == (2.0, [])
    assert (pharmacist.warm_service_pct, pharmacist.efficacy_pct, pharmacist.price_pct,
            pharmacist.purchase_pct) == pytest.approx((50.0, 62.5, 25.0, 80.0))
    assert (pharmacist.deductions, pharmacist.n_complaints) == (0.0, 0)
    assert pharmacist.flags == ["purchase_from_store"]
    assert manager.deductions == 3.0
    assert manager.flags == ["staff_mean", "staff_n:2", "manager_deduction"]
    assert people["E20001"].purchase_pct == pytest.approx(RED_LINE_SCORE)


def test_the_visits_carry_the_seed_s_figure_and_the_store_image_beside_it(quarter):
    v1, v3, v4 = (quarter[k] for k in ("v1", "v3", "v4"))
    assert (v1.purchase_points, v1.purchase_max, v1.process_points, v1.process_max,
            v1.image_points, v1.image_max) == (40, 50, 24, 30, 10, 20)
    assert v1.score_pct == pytest.approx(74.0)  # every part, the image included
    assert v1.image_pct == pytest.approx(50.0)  # reported beside, not counted
    assert v3.red_line
    assert (v3.score_pct, v3.image_pct) == (pytest.approx(RED_LINE_SCORE),
                                            pytest.approx(RED_LINE_SCORE))
    assert v4.score_pct == pytest.approx(92.0)
    # The store's scenario % is 90 (purchase + process), not the visit's 92.
    assert StoreScore.objects.get(rollup=quarter["rollup"],
                                  store=v4.store).scenario_pct == pytest.approx(90.0)


# --- Value, trace and export agree ----------------------------------------------------------


def _by_id(part: dict) -> dict[int, tuple]:
    return {row["id"]: (row["employee"], row["figure"], row["employee_figure"])
            for row in part["rows"]}


def test_the_published_value_its_trace_and_the_hr_export_agree(late, hq, hr, login,
                                                                 django_assert_max_num_queries):
    rows, rollup = late, late["rollup"]
    score = StoreScore.objects.get(rollup=rollup, store__code="S0001")
    api = login(hq)
    with django_assert_max_num_queries(25):
        body = api.get(f"/api/v1/scoring/store-scores/S0001/trace/?quarter={Q3}").json()
    assert (body["revision"], body["recorded"]) == (1, True)
    responses, visits, complaints = (_by_id(body[k]) for k in
                                     ("responses", "visits", "complaints"))
    assert responses == {rows["r1"].pk: ("E10001", pytest.approx(75.0), None),
                         rows["r2"].pk: ("E10002", pytest.approx(50.0), None),
                         rows["r3"].pk: ("", pytest.approx(100.0), None)}
    assert visits == {rows["v1"].pk: ("E10001", pytest.approx(80.0), pytest.approx(80.0))}
    assert complaints == {rows["c1"].pk: ("E00001", 3.0, None),
                          rows["c2"].pk: ("E10001", 2.0, None),
                          rows["c3"].pk: ("", 1.0, None)}
    # The items add up to the published value.
    survey_pct = sum(f for _e, f, _p in responses.values()) / len(responses)
    scenario_pct = sum(f for _e, f, _p in visits.values()) / len(visits)
    deductions = sum(f for _e, f, _p in complaints.values())
    assert (survey_pct, scenario_pct, deductions) == pytest.approx(
        (score.survey_pct, score.scenario_pct, score.deductions))
    assert survey_pct * 50 / 100 + scenario_pct * 50 / 100 - deductions == pytest.approx(
        score.value)
    # The page lists the same items with the same figures.
    page = login(hq).get(f"/scoring/stores/S0001/?quarter={Q3}")
    assert page.status_code == 200
    assert page.context["score"].value == score.value
    shown = {part["kind"]: _by_id(part) for part in page.context["trace"]}
    assert shown == {"responses": responses, "visits": visits, "complaints": complaints}
    assert 'data-testid="store-value">71.50<' in page.content.decode()

    # Each employee's trace lists what counted for that employee.
    def employee_trace(number):
        return api.get(f"/api/v1/scoring/employee-scores/{number}/trace/?quarter={Q3}").json()

    clerk = employee_trace("E10001")
    assert [r["id"] for r in clerk["responses"]["rows"]] == [rows["r1"].pk]
    assert [(r["id"], r["employee_figure"]) for r in clerk["visits"]["rows"]] == [
        (rows["v1"].pk, pytest.approx(80.0))]
    assert [(r["id"], r["figure"]) for r in clerk["complaints"]["rows"]] == [
        (rows["c2"].pk, 2.0)]
    pharmacist = employee_trace("E10002")
    assert [r["id"] for r in pharmacist["responses"]["rows"]] == [rows["r2"].pk]
    assert (pharmacist["visits"]["count"], pharmacist["complaints"]["count"]) == (0, 0)
    manager = employee_trace("E00001")
    assert [(r["id"], r["figure"]) for r in manager["complaints"]["rows"]] == [
        (rows["c1"].pk, 3.0)]

    # The HR export (still revision 1, whatever arrived since) says the same.
    _assert_export_matches(_workbook(login(hr)), rollup, STORES_R1, EXPORTED_R1,
                           EXPORTED_CI_R1)


# --- Late items ---------------------------------------------------------------------------


def test_the_late_items_are_listed_as_arrived_after_publishing_not_counted(
        late, store, hq, login, django_assert_max_num_queries):
    rows, rollup = late, late["rollup"]
    # Nothing moved: the published values and counts are those of the publishing day.
    score = StoreScore.objects.get(rollup=rollup, store=store)
    assert (score.value, score.n_responses, score.n_visits, score.n_complaints) == (
        pytest.approx(71.5), 3, 1, 3)
    assert Rollup.objects.filter(quarter=Q3).count() == 1
    expected = {("responses", rows["r6"].pk, "added", 100.0),
                ("visits", rows["v2"].pk, "added", 60.0),
                ("complaints", rows["c5"].pk, "added", 2.0)}
    client = _english(login(hq))
    body = client.get(f"/api/v1/scoring/store-scores/S0001/trace/?quarter={Q3}").json()
    assert {(r["kind"], r["id"], r["change"], round(r["figure"], 6))
            for r in body["late"]} == expected
    assert {r["change_label"] for r in body["late"]} == {
        "arrived after publishing, not counted"}
    assert {r["id"] for r in body["visits"]["rows"]} == {rows["v1"].pk}  # V2 is not in it
    page = client.get(f"/scoring/stores/S0001/?quarter={Q3}")
    assert {(r["kind"], r["id"], r["change"], round(r["figure"], 6))
            for r in page.context["late"]} == expected
    html = page.content.decode()
    assert 'data-testid="trace-late"' in html
    assert html.count("arrived after publishing, not counted") == 3
    # The pharmacist's trace: the two that name him.
    pharmacist = client.get(f"/api/v1/scoring/employee-scores/E10002/trace/?quarter={Q3}")
    assert {(r["kind"], r["id"], r["change"]) for r in pharmacist.json()["late"]} == {
        ("visits", rows["v2"].pk, "added"), ("complaints", rows["c5"].pk, "added")}
    # The quarter page counts them; the late list names the store.
    with django_assert_max_num_queries(16):
        quarters = client.get("/scoring/quarters/")
    [published] = quarters.context["rollups"]
    assert published.late_count == 3
    assert re.search(rf'data-testid="late-{Q3}-1"><a [^>]*><span class="badge warn">3<',
                     quarters.content.decode())
    listing = client.get(f"/scoring/quarters/{Q3}/late/")
    assert [(r["store"].code, r["added"], r["changed"], r["withdrawn"])
            for r in listing.context["rows"]] == [("S0001", 3, 0, 0)]
    assert listing.context["total"] == 3


# --- Revision 2 and the comparison ----------------------------------------------------------


@pytest.fixture
def second(late, hq, login, django_capture_on_commit_callbacks):
    """HQ starts revision 2 with a reason from the late list."""
    client = login(hq)
    assert 'data-testid="late-recompute"' in client.get(
        f"/scoring/quarters/{Q3}/late/").content.decode()
    refused = client.post("/scoring/quarters/rollup/", {"rollup-quarter": str(Q3),
                                                        "rollup-reason": ""})
    assert refused.status_code == 400  # a published quarter needs a reason
    with django_capture_on_commit_callbacks(execute=True):  # the rollup job runs
        response = client.post("/scoring/quarters/rollup/", {"rollup-quarter": str(Q3),
                                                             "rollup-reason": REASON})
    assert response.status_code == 302
    late["second"] = Rollup.objects.get(quarter=Q3, revision=2)
    return late


def test_a_recompute_with_a_reason_makes_revision_2_with_the_hand_computed_values(second):
    rollup = second["second"]
    assert (rollup.status, rollup.reason) == (RollupStatus.PROVISIONAL, REASON)
    for code, hand in STORES_R2.items():
        score = StoreScore.objects.get(rollup=rollup, store__code=code)
        assert (score.survey_points, score.scenario_pct, score.scenario_points,
                score.deductions, score.value) == pytest.approx(hand[1:]), code
    s1 = StoreScore.objects.get(rollup=rollup, store__code="S0001")
    assert (s1.survey_pct, s1.n_responses, s1.n_visits, s1.n_complaints) == (
        pytest.approx(81.25), 4, 2, 4)
    for number, value in EMPLOYEES_R2.items():
        score = EmployeeScore.objects.get(rollup=rollup, employee__number=number)
        assert score.value == pytest.approx(value), number
    pharmacist = EmployeeScore.objects.get(rollup=rollup, employee__number="E10002")
    assert (pharmacist.purchase_pct, pharmacist.deductions, pharmacist.flags) == (
        pytest.approx(60.0), 2.0, [])
    # Revision 1 is untouched and still what HR pays from.
    assert StoreScore.objects.get(rollup=second["rollup"],
                                  store__code="S0001").value == pytest.approx(71.5)


def test_the_revision_comparison_explains_the_difference_item_by_item(
        second, hq, hr, login, django_assert_max_num_queries):
    rows = second
    client = login(hq)
    with django_assert_max_num_queries(16):
        response = client.get(f"/api/v1/scoring/store-scores/S0001/compare/?quarter={Q3}"
                              "&old=1&new=2")
    assert response.status_code == 200
    body = response.json()
    assert (body["old"]["revision"], body["new"]["revision"]) == (1, 2)
    assert (body["old"]["value"], body["new"]["value"]) == (pytest.approx(71.5),
                                                            pytest.approx(67.625))
    assert body["new"]["reason"] == REASON
    assert body["value_delta"] == pytest.approx(-3.875)
    survey, scenario, deductions = body["components"]
    # R6 (100) added: survey % 75 → 81.25, × 50 / 100 = +3.125 points.
    assert (survey["key"], survey["old_pct"], survey["new_pct"]) == (
        "survey", pytest.approx(75.0), pytest.approx(81.25))
    assert [(i["id"], i["change"], i["old_figure"], i["new_figure"], i["effect"])
            for i in survey["items"]] == [
        (rows["r6"].pk, "added", None, pytest.approx(100.0), pytest.approx(3.125))]
    # V2 (60 %) added: scenario % 80 → 70, × 50 / 100 = −5 points.
    assert [(i["id"], i["change"], i["employee"], i["new_figure"], i["effect"])
            for i in scenario["items"]] == [
        (rows["v2"].pk, "added", "E10002", pytest.approx(60.0), pytest.approx(-5.0))]
    # C5 (B) added: −2 points.
    assert [(i["id"], i["change"], i["employee"], i["new_figure"], i["effect"])
            for i in deductions["items"]] == [(rows["c5"].pk, "added", "E10002", 2.0, -2.0)]
    assert [c["delta"] for c in body["components"]] == pytest.approx([3.125, -5.0, -2.0])
    assert [c["explained"] for c in body["components"]] == pytest.approx([3.125, -5.0, -2.0])
    assert [c["other"] for c in body["components"]] == pytest.approx([0.0, 0.0, 0.0])
    # 3.125 − 5 − 2 = −3.875: every point of the movement is an item's.
    assert sum(i["effect"] for c in body["components"] for i in c["items"]) == pytest.approx(
        body["value_delta"])
    assert body["clipping"] == pytest.approx(0.0)
    assert body["unchanged"] == {"responses": 3, "visits": 1, "complaints": 3}
    # The page an HR officer reads gives the same numbers.
    page = login(hr).get(f"/scoring/stores/S0001/compare/?quarter={Q3}&old=1&new=2")
    assert page.status_code == 200
    comparison = page.context["comparison"]
    assert comparison["value_delta"] == pytest.approx(body["value_delta"])
    assert [[i["effect"] for i in c["items"]] for c in comparison["components"]] == [
        [i["effect"] for i in c["items"]] for c in body["components"]]
    assert 'data-testid="compare-delta"><strong>-3.88</strong>' in page.content.decode()


def test_hr_pays_from_revision_1_until_revision_2_is_published(second, hq, hr, login):
    client = login(hr)
    _assert_export_matches(_workbook(client), second["rollup"], STORES_R1, EXPORTED_R1,
                           EXPORTED_CI_R1)
    republished = quarter_publish(quarter=Q3, user=hq)
    assert (republished.revision, republished.status) == (2, RollupStatus.PUBLISHED)
    second["rollup"].refresh_from_db()
    assert second["rollup"].status == RollupStatus.SUPERSEDED
    book = _workbook(client)
    _assert_export_matches(book, republished, STORES_R2, EXPORTED_R2, EXPORTED_CI_R2)
    assert _info(book.worksheets[0])["Reason for the recompute"] == REASON
    # Revision 2 counted the late items: nothing is late for it; revision 1 still lists them.
    trace = client.get(f"/api/v1/scoring/store-scores/S0001/trace/?quarter={Q3}").json()
    assert (trace["revision"], trace["late"]) == (2, [])
    assert {r["id"] for r in trace["visits"]["rows"]} == {second["v1"].pk, second["v2"].pk}
    old = client.get(f"/api/v1/scoring/store-scores/S0001/trace/?quarter={Q3}&revision=1")
    assert len(old.json()["late"]) == 3
    assert [r.late_count for r in login(hq).get("/scoring/quarters/").context["rollups"]] == [
        0, None]  # r2 published, r1 superseded (no count)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_values_are_the_same_when_the_rollup_reads_in_parallel_as_in_production(
        store, sibling_store, other_store, staff, hq, store_manager, monkeypatch):
    """Outside a transaction PostgreSQL loads the frames in parallel from one snapshot and
    writes with COPY: the production path gives the hand-computed values too."""
    from scoring import loader

    parallel = []
    load_frames = loader.load_frames

    def spy(calls, **kwargs):
        parallel.append(kwargs.get("parallel"))
        return load_frames(calls, **kwargs)

    monkeypatch.setattr(loader, "load_frames", spy)
    rows = make_quarter(store, sibling_store, other_store, staff, hq, store_manager)
    assert parallel == [True, True]  # the rollup, then publishing's recompute
    rollup = rows["rollup"]
    assert {s.store.code: s.value for s in StoreScore.objects.filter(rollup=rollup)
            .select_related("store")} == pytest.approx(
        {code: hand[-1] for code, hand in STORES_R1.items()})
    assert {e.employee.number: e.value for e in EmployeeScore.objects.filter(rollup=rollup)
            .select_related("employee")} == pytest.approx(EMPLOYEES_R1)
    arrive_late(rows, store, staff, hq)
    second = rollup_quarter(quarter=Q3, user=hq, reason=REASON).rollup
    assert {e.employee.number: e.value for e in EmployeeScore.objects.filter(rollup=second)
            .select_related("employee")} == pytest.approx(EMPLOYEES_R2)
    assert StoreScore.objects.get(rollup=second, store=store).value == pytest.approx(67.625)
    assert len(selectors.revision_inputs(rollup=second, store_id=store.pk)) == 4 + 2 + 4


# --- The English export ------------------------------------------------------------------


def test_the_english_export_is_english_throughout(late, hr, login):
    book = _workbook(login(hr))  # asked in English from a Chinese page
    assert book.sheetnames == ["About this export", f"Bonus {Q3}", f"Stores {Q3}"]
    data = {*Employee.objects.values_list("name", flat=True),
            *Store.objects.values_list("name", flat=True),
            *Region.objects.values_list("name", flat=True)}
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str) and CJK.search(value):
                    assert value in data, (sheet.title, value)
    people = _rows(book.worksheets[1])
    assert {n: r["Role"] for n, r in people.items()} == {
        "E00001": "Store manager", "E10001": "Clerk", "E10002": "Pharmacist",
        "E20001": "Clerk"}
    assert people["E00001"]["Flags"] == (
        "store manager: mean of the staff; mean of 2 staff; "
        "store manager: own complaints deducted after the staff mean")
    assert people["E10002"]["Flags"] == "purchase evaluation: store's value"
    assert people["E10001"]["Flags"] is None
    stores = _rows(book.worksheets[2])
    assert stores["S0002"]["Flags"] == "fewer responses than the minimum sample"
    assert stores["S0011"]["Flags"] == (
        "no sample survey: the scenario survey carries the value")
    assert _info(book.worksheets[0])["Status"] == "Published (locked)"

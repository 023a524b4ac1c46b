"""Where the dashboard shows a mystery-shopper figure, it is the mystery-shopper module's and
the one the scoring frame counts (one owner per rule: ``mystery_shopper`` scores visits)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from dashboard import selectors as dashboard_selectors
from mystery_shopper import selectors as visit_selectors
from mystery_shopper import services as visit_services
from mystery_shopper.calc import ItemResult
from mystery_shopper.models import ScorecardItem, Visit, VisitAnswer, VisitStatus
from satisfaction.quarters import Quarter
from scoring import engine
from scoring.models import StoreScore
from scoring.services import rollup_quarter
from tests.factories import EmployeeFactory
from tests.mystery_shopper.factories import ShopperFactory, VisitFactory

pytestmark = pytest.mark.django_db
Q = Quarter(2026, 4)

FULL = {  # every item of the default card at its maximum (yes for yes/no items)
    "signboard": 1, "uniform": 1, "polite_greeting": 1, "polite_purchase": 1,
    "polite_checkout": 1, "polite_farewell": 1, "asks_present_history": 10,
    "asks_past_history": 10, "marketing_awareness": 10, "combination_professional": 10,
    "combination_rational": 10, "asks_allergies": 1, "checks_combinations": 1,
    "states_contraindications": 1, "ask_then_dispense": 15, "pharmacist_on_duty": 1,
    "rx_with_prescription": 1,
}


def approved(store, hq, day: date, employee=None, **changes) -> Visit:
    """An approved visit scored by the mystery-shopper service from its answers
    (``changes``: item code -> value, None for not applicable)."""
    visit = VisitFactory(store=store, quarter=Q, status=VisitStatus.SUBMITTED, due_on=day,
                         visited_on=day, employee=employee,
                         shopper=ShopperFactory(cities=[store.city]))
    items = {i.code: i for i in ScorecardItem.objects.filter(section__template=visit.template)}
    answers = {**FULL, **changes}
    VisitAnswer.objects.bulk_create([
        VisitAnswer(visit=visit, item=items[code],
                    value=None if value is None else Decimal(str(value)),
                    not_applicable=value is None) for code, value in answers.items()])
    return visit_services.visit_approve(visit=visit, reviewer=hq)


@pytest.fixture
def visits(store, other_store, hq):
    clerk = EmployeeFactory(store=store)
    # A: uniform no (image 15 / 20), marketing 4 (purchase 44 / 50), ask-then-dispense 9
    # (process 24 / 30): mystery-shopper score (44 + 24) / 80 = 85 %
    a = approved(store, hq, date(2026, 10, 20), employee=clerk, uniform=0,
                 marketing_awareness=4, ask_then_dispense=9)
    # B: signboard not applicable (image 15 / 15), past history 6 and rational 5 (purchase
    # 41 / 50), allergies no (process 25 / 30): (41 + 25) / 80 = 82.5 %
    b = approved(store, hq, date(2026, 11, 5), signboard=None, asks_past_history=6,
                 combination_rational=5, asks_allergies=0)
    # C, at a store of another region: a red line fails -> the card's red-line score, 0 %
    c = approved(other_store, hq, date(2026, 11, 6), pharmacist_on_duty=0)
    return {"a": a, "b": b, "c": c, "clerk": clerk}


def test_the_mystery_shopper_module_and_the_scoring_frame_give_the_same_visit_figures(
        visits):
    expected = {visits["a"].pk: 85.0, visits["b"].pk: 82.5, visits["c"].pk: 0.0}
    for visit in Visit.objects.filter(pk__in=expected):
        assert visit.purchase_process_pct == pytest.approx(expected[visit.pk])
        assert visit_services.visit_compute_score(visit).purchase_process_pct == (
            pytest.approx(expected[visit.pk]))
    frame = visit_selectors.approved_visit_frame(quarter=Q)
    figures = engine.visit_figures(frame, engine.SchemeParams()).set_index("visit_id")
    assert figures["purchase_pct"].to_dict() == pytest.approx(expected)
    assert figures["scenario_pct"].to_dict() == pytest.approx(expected)
    assert figures.loc[visits["a"].pk, "image_pct"] == pytest.approx(75.0)


def test_the_store_page_shows_the_figures_the_store_value_counts(
        visits, store, login, store_manager):
    rollup = rollup_quarter(quarter=Q).rollup
    score = StoreScore.objects.get(rollup=rollup, store=store)
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]),
                                        {"quarter": str(Q)})
    shown = response.context["visits"]
    assert [v.pk for v in shown] == [visits["b"].pk, visits["a"].pk]
    assert [v.purchase_process_pct for v in shown] == pytest.approx([82.5, 85.0])
    assert [v.image_pct for v in shown] == pytest.approx([100.0, 75.0])
    # the store's scenario % is the mean of exactly the figures the page shows
    assert score.scenario_pct == pytest.approx((82.5 + 85.0) / 2)
    html = response.content.decode()
    assert "82.5%" in html
    assert "85.0%" in html


def test_the_weakest_items_figure_adds_up_to_the_visits_stored_parts(visits, hq, store):
    rows = dashboard_selectors.weakest_scorecard_items(user=hq, quarter=Q,
                                                       region_code=store.region.code, limit=50)
    by_part: dict[str, list[float]] = {}
    for row in rows:
        points, possible = by_part.setdefault(row["item__part"], [0.0, 0.0])
        by_part[row["item__part"]] = [points + row["points"], possible + row["possible"]]
    frame = visit_selectors.approved_visit_frame(quarter=Q)
    mine = frame[frame["store_id"] == store.pk]
    for part in ("purchase", "process", "image"):
        assert by_part[part] == pytest.approx(
            [mine[f"{part}_points"].sum(), mine[f"{part}_max"].sum()])
    # (44 + 41) / (50 + 50) for the purchase items of A and B
    assert by_part["purchase"] == pytest.approx([85.0, 100.0])
    marketing = next(r for r in rows if r["item__code"] == "marketing_awareness")
    assert (marketing["points"], marketing["pct"], marketing["n"]) == (14.0, 70.0, 2)


def test_the_items_sql_earns_what_the_visit_score_earns(visits):
    """``earned_points`` (SQL) against ``calc.ItemResult.earned`` (Python), answer by answer:
    yes, no, points, partial points."""
    earned = dict(VisitAnswer.objects.filter(not_applicable=False).annotate(
        e=visit_selectors.earned_points()).values_list("pk", "e"))
    for answer in VisitAnswer.objects.filter(not_applicable=False).select_related("item"):
        python = ItemResult(answer.item.part, float(answer.item.max_points),
                            float(answer.value), yes_no=answer.item.kind == "yes_no").earned
        assert earned[answer.pk] == pytest.approx(python)

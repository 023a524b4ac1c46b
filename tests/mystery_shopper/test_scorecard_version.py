"""Seed 002's scorecard: each history-taking point asked once, as a new version of an existing
card (old visits keep theirs); the visit's mystery-shopper score is purchase + process."""

from __future__ import annotations

from datetime import date
from importlib import import_module

import pytest
from django.apps import apps

from mystery_shopper import services
from mystery_shopper.models import ScorecardItem, ScorecardTemplate, VisitStatus
from tests.mystery_shopper.factories import VisitFactory, default_template

pytestmark = pytest.mark.django_db
MIGRATION = import_module("mystery_shopper.migrations.0003_history_asked_once")


def _items(template: ScorecardTemplate) -> dict[str, ScorecardItem]:
    return {i.code: i for i in ScorecardItem.objects.filter(section__template=template)}


def _max_by_part(template: ScorecardTemplate) -> dict[str, float]:
    totals: dict[str, float] = {}
    for item in _items(template).values():
        totals[item.part] = totals.get(item.part, 0.0) + float(item.max_points)
    return totals


def _old_card(hq) -> ScorecardTemplate:
    """The card as it was before issue 12: the process section asked the medical history
    again ("四步咨询：询问病史", 5 points) and the ask-then-dispense item was worth 10."""
    data = services.template_as_data(default_template())
    process = next(s for s in data["sections"] if s["title_zh"] == "问病卖药流程")
    process["items"].insert(0, {
        "code": "asks_medical_history", "text_zh": "四步咨询：询问病史",
        "text_en": "Counselling: asks medical history", "kind": "yes_no", "max_points": 5,
        "part": "process"})
    for item in process["items"]:
        item["text_zh"] = item["text_zh"].replace("用药咨询：", "四步咨询：")
        if item["code"] == "ask_then_dispense":
            item["max_points"] = 10
    return services.scorecard_template_create_version(user=hq, **data)


def test_a_new_database_asks_each_history_taking_point_once(db):
    template = default_template()
    history = sorted(code for code in _items(template) if "history" in code)
    assert history == ["asks_past_history", "asks_present_history"]
    assert all(item.part == "purchase" for code, item in _items(template).items()
               if code in history)
    # purchase 50 + process 30 = the mystery-shopper score's 80; the store image 20 beside
    assert _max_by_part(template) == {"image": 20.0, "purchase": 50.0, "process": 30.0}


def test_an_old_card_becomes_a_new_version_without_the_repeated_question(hq):
    old = _old_card(hq)
    assert _max_by_part(old)["process"] == 30.0
    assert float(_items(old)["ask_then_dispense"].max_points) == 10.0
    visit = VisitFactory(template=old, status=VisitStatus.APPROVED, visited_on=date(2026, 11, 2),
                         score_pct=80.0, process_points=28, process_max=30)

    MIGRATION.forward(apps, None)

    new = default_template()
    assert new.version == old.version + 1
    old.refresh_from_db()
    assert not old.is_current
    items = _items(new)
    assert "asks_medical_history" not in items
    assert float(items["ask_then_dispense"].max_points) == 15.0
    assert items["asks_allergies"].text_zh == "用药咨询：询问过敏史"
    assert _max_by_part(new) == {"image": 20.0, "purchase": 50.0, "process": 30.0}
    # the red lines and the evidence rules come along
    assert items["pharmacist_on_duty"].is_red_line
    assert items["signboard"].evidence == "photo"
    # the old visit keeps the card it was scored on, and its score
    visit.refresh_from_db()
    assert visit.template_id == old.pk
    assert (visit.score_pct, visit.process_points, visit.process_max) == (80.0, 28, 30)
    # and new visits get the new card
    assert services.current_template().pk == new.pk


def test_the_migration_leaves_a_card_without_the_repeated_question_alone(hq):
    before = ScorecardTemplate.objects.count()
    MIGRATION.forward(apps, None)
    assert ScorecardTemplate.objects.count() == before
    _old_card(hq)
    MIGRATION.forward(apps, None)
    MIGRATION.forward(apps, None)  # a second run finds nothing to change
    assert ScorecardTemplate.objects.count() == before + 2


def test_an_approved_visit_reports_its_mystery_shopper_score_and_image_beside_it(hq):
    visit = VisitFactory(visited_on=date(2026, 11, 2))
    answers = {}
    for code, item in _items(visit.template).items():
        full = 1 if item.kind == "yes_no" else float(item.max_points)
        answers[item.pk] = {"value": 0 if code in {"uniform", "asks_allergies"} else full}
        if code == "marketing_awareness":
            answers[item.pk] = {"value": 6}
    services.visit_draft_save(visit=visit, shopper=visit.shopper, answers=answers)
    visit.status = VisitStatus.SUBMITTED
    visit.save(update_fields=["status"])
    visit = services.visit_approve(visit=visit, reviewer=hq)
    # purchase 46 / 50, process 25 / 30 -> (46 + 25) / 80 = 88.75 %; image 15 / 20 = 75 %;
    # the score of every item (46 + 25 + 15) / 100 = 86 %
    assert visit.purchase_process_pct == pytest.approx(88.75)
    assert visit.image_pct == pytest.approx(75.0)
    assert visit.score_pct == pytest.approx(86.0)
    assert services.visit_compute_score(visit).purchase_process_pct == pytest.approx(88.75)


def test_a_red_line_visit_reports_the_configured_score_as_its_mystery_shopper_score(hq):
    template = default_template()
    ScorecardTemplate.objects.filter(pk=template.pk).update(red_line_score=20)
    visit = VisitFactory(visited_on=date(2026, 11, 2))
    answers = {item.pk: {"value": 1 if item.kind == "yes_no" else float(item.max_points)}
               for item in _items(visit.template).values()}
    answers[_items(visit.template)["rx_with_prescription"].pk] = {"value": 0}
    services.visit_draft_save(visit=visit, shopper=visit.shopper, answers=answers)
    visit.status = VisitStatus.SUBMITTED
    visit.save(update_fields=["status"])
    visit = services.visit_approve(visit=visit, reviewer=hq)
    assert visit.red_line
    # every item at its maximum, and still the configured 20 %
    assert visit.purchase_process_pct == pytest.approx(20.0)
    assert visit.image_pct == pytest.approx(20.0)

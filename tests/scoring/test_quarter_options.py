"""Every quarter picker reads one owner of a quarter's state: ``selectors.quarter_options``
(running, closed, provisional revision N, published rN on a date), in a bounded number of
queries, and the scoring pages offer those quarters as selects, never as free text."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from django.utils import translation

from satisfaction.quarters import Quarter, chain_zone
from scoring.models import Rollup, RollupStatus
from scoring.selectors import quarter_options
from tests.complaints.factories import make_complaint
from tests.dashboard.factories import make_campaign, make_rollup
from tests.mystery_shopper.factories import VisitFactory

CURRENT = Quarter.current()
PROVISIONAL = CURRENT.previous()
PUBLISHED = PROVISIONAL.previous()
CAMPAIGN_ONLY = PUBLISHED.previous()
COMPLAINT_ONLY = CAMPAIGN_ONLY.previous()
VISITS_ONLY = COMPLAINT_ONLY.previous().previous()  # a gap before it: no quarter there


def _published(quarter: Quarter, revision: int, day: datetime) -> Rollup:
    rollup = make_rollup(quarter, RollupStatus.PUBLISHED, revision=revision)
    Rollup.objects.filter(pk=rollup.pk).update(published_at=day)
    return rollup


@pytest.fixture
def quarters(store, hq):
    make_rollup(PROVISIONAL, RollupStatus.PROVISIONAL, revision=2)
    make_rollup(PROVISIONAL, RollupStatus.SUPERSEDED, revision=1)
    published_on = datetime.combine(PROVISIONAL.first_day.replace(day=5), time(10),
                                    tzinfo=chain_zone())
    _published(PUBLISHED, 1, published_on)
    make_campaign(CAMPAIGN_ONLY)
    # Half past midnight in Shanghai on the quarter's first day: still the quarter before in
    # UTC.
    make_complaint(store, received_at=datetime.combine(COMPLAINT_ONLY.first_day, time(0, 30),
                                                       tzinfo=chain_zone()))
    VisitFactory(store=store, quarter=VISITS_ONLY, due_on=VISITS_ONLY.first_day)
    return published_on


def test_each_quarter_that_exists_has_its_state_newest_first(quarters):
    with translation.override("en"):
        options = quarter_options()
    by_quarter = {o.quarter: o for o in options}
    assert [o.quarter for o in options] == [CURRENT, PROVISIONAL, PUBLISHED, CAMPAIGN_ONLY,
                                            COMPLAINT_ONLY, VISITS_ONLY]
    assert [o.state for o in options] == ["running", "provisional", "published", "closed",
                                          "closed", "closed"]
    assert by_quarter[CURRENT].label == f"{CURRENT} · running"
    make_rollup(CURRENT, RollupStatus.PROVISIONAL, revision=1)
    with translation.override("en"):
        running = quarter_options()[0]
    assert (running.state, running.revision, running.label) == (
        "running", 1, f"{CURRENT} · running, provisional revision 1")
    assert (by_quarter[PROVISIONAL].revision, by_quarter[PROVISIONAL].label) == (
        2, f"{PROVISIONAL} · provisional revision 2")
    published = by_quarter[PUBLISHED]
    assert (published.revision, published.published_at) == (1, quarters)
    assert published.label == (f"{PUBLISHED} · published r1 on "
                               f"{quarters.date().isoformat()}")
    assert by_quarter[CAMPAIGN_ONLY].label == f"{CAMPAIGN_ONLY} · closed"
    assert by_quarter[CAMPAIGN_ONLY].revision is None


def test_a_complaint_s_quarter_is_the_one_it_was_received_in_in_the_chain_s_zone(quarters):
    offered = {o.quarter for o in quarter_options()}
    assert COMPLAINT_ONLY in offered
    assert COMPLAINT_ONLY.previous() not in offered  # its quarter in UTC


def test_a_new_revision_beside_a_published_one_is_named_in_the_label(quarters):
    make_rollup(PUBLISHED, RollupStatus.PROVISIONAL, revision=2)
    with translation.override("en"):
        option = next(o for o in quarter_options() if o.quarter == PUBLISHED)
    assert (option.state, option.revision, option.pending_revision) == ("published", 1, 2)
    assert option.label.endswith("· revision 2 provisional")


def test_the_labels_read_in_chinese(quarters):
    with translation.override("zh-hans"):
        labels = {o.quarter: o.label for o in quarter_options()}
    assert labels[CURRENT] == f"{CURRENT} · 进行中"
    assert labels[PROVISIONAL] == f"{PROVISIONAL} · 暂定第 2 版"
    assert labels[PUBLISHED] == f"{PUBLISHED} · 第 1 版已于 {quarters.date().isoformat()} 发布"
    assert labels[CAMPAIGN_ONLY] == f"{CAMPAIGN_ONLY} · 已结束，未汇总"


def test_with_nothing_on_file_the_current_quarter_is_offered(db):
    assert [(o.quarter, o.state) for o in quarter_options()] == [(CURRENT, "running")]


def test_the_states_take_a_bounded_number_of_queries(quarters, store,
                                                     django_assert_max_num_queries):
    for back in range(12, 40):  # many more quarters: still the same queries
        quarter = CURRENT
        for _step in range(back):
            quarter = quarter.previous()
        make_rollup(quarter, RollupStatus.PUBLISHED)
        make_campaign(quarter)
    with django_assert_max_num_queries(2):
        options = quarter_options()
    assert len(options) > 30


def test_the_rollup_form_offers_the_quarters_as_a_select_with_their_states(quarters, hq,
                                                                           login):
    html = login(hq).get("/scoring/quarters/").content.decode()
    assert '<select name="rollup-quarter"' in html
    assert f'<option value="{PROVISIONAL}">{PROVISIONAL} · 暂定第 2 版</option>' in html
    assert 'name="rollup-quarter" maxlength' not in html  # no free text


def test_an_unknown_quarter_posted_to_the_rollup_is_a_form_error(quarters, hq, login):
    response = login(hq).post("/scoring/quarters/rollup/", {"rollup-quarter": "2031Q1"})
    assert response.status_code == 400
    assert response.context["rollup_form"].errors["quarter"]
    assert not Rollup.objects.filter(quarter=Quarter(2031, 1)).exists()


def test_the_value_pages_pick_their_quarter_from_a_select(rolled_up, store_manager, login):
    client = login(store_manager)
    response = client.get("/scoring/stores/S0001/?quarter=2026Q2")
    picker = response.context["picker"]
    assert [value for value, _label in picker.fields["quarter"].choices] == ["2026Q2"]
    assert 'data-testid="quarter-picker"' in response.content.decode()
    assert picker["quarter"].value() == "2026Q2"

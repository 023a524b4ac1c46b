"""The dashboard's quarter pickers: a select of the quarters that exist, each with its state
(``scoring.selectors.quarter_options``), never free text; a quarter not offered is a 400."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from scoring.selectors import quarter_options
from tests.dashboard.factories import make_campaign, make_rollup, make_store_score

pytestmark = pytest.mark.django_db
NOW = Quarter.current()
OPTION = re.compile(r'<option value="([^"]+)" data-state="([a-z]+)"( selected)?>([^<]*)</option>')
PAGES = ["dashboard:store_list", "dashboard:complaint_figures", "dashboard:mystery_figures"]


@pytest.fixture
def quarters(store):
    """The running quarter rolled up nightly, the last one published in revision 2, the one
    before provisional, and an older one with only a survey campaign."""
    make_store_score(make_rollup(NOW, RollupStatus.PROVISIONAL), store, 80.0, rank_chain=1)
    last = make_rollup(NOW.previous(), RollupStatus.PUBLISHED, revision=2)
    last.published_at = timezone.now()
    last.save()
    make_store_score(last, store, 70.0, rank_chain=1)
    make_rollup(NOW.previous().previous(), RollupStatus.PROVISIONAL)
    make_campaign(NOW.previous().previous().previous())


def _options(response) -> list[tuple[str, str, bool, str]]:
    assert response.status_code == 200
    return [(value, state, bool(selected), label)
            for value, state, selected, label in OPTION.findall(response.content.decode())]


@pytest.mark.parametrize("page", PAGES)
def test_every_dashboard_quarter_picker_lists_the_quarters_with_their_state(
        login, hq, quarters, page):
    options = _options(login(hq).get(reverse(page), HTTP_ACCEPT_LANGUAGE="en"))
    q3, q2, q1 = NOW.previous(), NOW.previous().previous(), NOW.previous().previous().previous()
    assert [(value, state) for value, state, _selected, _label in options] == [
        (str(NOW), "running"), (str(q3), "published"), (str(q2), "provisional"),
        (str(q1), "closed")]
    with_labels = {value: label for value, _state, _selected, label in options}
    assert with_labels[str(q3)].startswith(f"{q3} · published r2 on ")
    assert with_labels[str(q2)] == f"{q2} · provisional revision 1"
    # The labels are the scoring app's, the one owner of a quarter's state.
    assert [label for *_rest, label in options] == [
        o.label.replace("&", "&amp;") for o in quarter_options()]


@pytest.mark.parametrize("page", PAGES)
def test_the_picker_selects_the_quarter_shown(login, hq, quarters, page):
    client = login(hq)
    shown = [value for value, _s, selected, _l in _options(client.get(reverse(page)))
             if selected]
    assert shown == [str(NOW)]
    asked = client.get(reverse(page), {"quarter": str(NOW.previous())})
    assert [value for value, _s, selected, _l in _options(asked) if selected] == [
        str(NOW.previous())]


@pytest.mark.parametrize("page", PAGES)
def test_no_page_asks_for_a_quarter_as_free_text(login, hq, quarters, page):
    html = login(hq).get(reverse(page)).content.decode()
    assert '<input name="quarter"' not in html
    assert '<select name="quarter"' in html


def test_the_store_list_opens_on_the_newest_quarter_with_values(login, hq, store):
    make_store_score(make_rollup(NOW.previous(), RollupStatus.PUBLISHED), store, 70.0)
    response = login(hq).get(reverse("dashboard:store_list"))
    assert response.context["rollup"].quarter == NOW.previous()
    assert [value for value, _s, selected, _l in _options(response) if selected] == [
        str(NOW.previous())]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("quarter", ["2026Q9", "last", "2019Q1"])
def test_a_quarter_not_offered_is_a_400_naming_it(login, hq, quarters, page, quarter):
    response = login(hq).get(reverse(page), {"quarter": quarter}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-message"' in html
    assert f"{quarter} is not one of the quarters offered." in html

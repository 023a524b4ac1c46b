"""The store page answers "how are we doing" at a glance: one figure said plainly (this
quarter's provisional value, else the last published one) with its change against the last
published value, the region's value of the same revision, the ranks of the quarter shown
(labelled with it), and the open complaints as cards, the most urgent first."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from satisfaction.quarters import Quarter, chain_zone
from scoring.models import RollupStatus
from tests.complaints.factories import make_complaint
from tests.dashboard.factories import make_rollup, make_store_score

pytestmark = pytest.mark.django_db
NOW = Quarter.current()
LAST = NOW.previous()
NOON = datetime.combine(timezone.localdate(), time(12), tzinfo=chain_zone())
TAG = re.compile(r"<[^>]+>")


def _text(html: str, testid: str) -> str:
    """The text of the element with ``data-testid=testid`` (tags dropped, spaces joined)."""
    start = html.index(f'data-testid="{testid}"')
    start = html.index(">", start) + 1
    end = html.index("</p>", start)
    return " ".join(TAG.sub("", html[start:end]).split())


def _page(client, store, language: str = "zh-hans") -> str:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client.get(reverse("dashboard:store", args=[store.code])).content.decode()


@pytest.fixture
def quarters(store, sibling_store, other_store):
    """Last quarter published with the store 1st; this quarter provisional with it 3rd of 3 in
    the chain and 2nd of 2 in its region."""
    published = make_rollup(LAST, RollupStatus.PUBLISHED)
    make_store_score(published, store, 82.5, rank_chain=1, rank_region=1)
    make_store_score(published, sibling_store, 70.0, rank_chain=2, rank_region=2)
    make_store_score(published, other_store, 60.0, rank_chain=3, rank_region=1)
    provisional = make_rollup(NOW, RollupStatus.PROVISIONAL)
    make_store_score(provisional, store, 60.2, rank_chain=3, rank_region=2)
    make_store_score(provisional, sibling_store, 70.05, rank_chain=1, rank_region=1)
    make_store_score(provisional, other_store, 65.0, rank_chain=2, rank_region=1)
    return provisional


def test_the_hero_is_this_quarters_provisional_value_with_its_change_and_the_region(
        login, store_manager, quarters, store, uncached_store_body):
    client = login(store_manager)
    html = _page(client, store)
    assert _text(html, "hero") == "本季度暂定值 60.2 （未发布，随数据变化）"
    assert _text(html, "hero-change") == f"比 {LAST} 已发布值（82.5）低 22.3"
    # The region (store and sibling_store) in the same provisional revision: (60.2 + 70.05) / 2.
    assert _text(html, "hero-region") == f"{store.region.name}同季度平均 65.1"
    headline = client.get(reverse("dashboard:store", args=[store.code])).context["headline"]
    assert (headline.change, headline.direction) == (-22.3, "down")
    assert headline.baseline.value == 82.5
    english = _page(client, store, "en")
    assert _text(english, "hero") == ("This quarter's provisional value 60.2 "
                                      "(not published; changes as data arrive)")
    assert _text(english, "hero-change") == f"22.3 lower than the {LAST} published value (82.5)"
    assert _text(english, "hero-region") == f"{store.region.name}, same quarter: average 65.1"


def test_the_ranks_are_those_of_the_quarter_shown_and_say_which(login, store_manager, quarters,
                                                                store):
    client = login(store_manager)
    assert _text(_page(client, store), "ranks") == f"{NOW}（暂定）全链第 3 / 3，区域第 2 / 2"
    assert _text(_page(client, store, "en"), "ranks") == (
        f"{NOW} (provisional): rank 3 / 3 in the chain, 2 / 2 in the region")


def test_without_a_provisional_value_the_hero_is_the_last_published_one(
        login, store_manager, store, sibling_store):
    older = make_rollup(LAST.previous(), RollupStatus.PUBLISHED)
    make_store_score(older, store, 70.0, rank_chain=2, rank_region=2)
    make_store_score(older, sibling_store, 75.0, rank_chain=1, rank_region=1)
    published = make_rollup(LAST, RollupStatus.PUBLISHED)
    make_store_score(published, store, 82.5, rank_chain=1, rank_region=1)
    make_store_score(published, sibling_store, 80.0, rank_chain=2, rank_region=2)
    client = login(store_manager)
    html = _page(client, store)
    assert _text(html, "hero") == f"{LAST} 已发布 82.5"
    assert _text(html, "hero-change") == f"比 {LAST.previous()} 已发布值（70.0）高 12.5"
    assert _text(html, "hero-region") == f"{store.region.name}同季度平均 81.3"  # 81.25, half up
    assert _text(html, "ranks") == f"{LAST}（已发布）全链第 1 / 2，区域第 1 / 2"
    english = _page(client, store, "en")
    assert _text(english, "hero") == f"{LAST} published value 82.5"
    assert _text(english, "hero-change") == (
        f"12.5 higher than the {LAST.previous()} published value (70.0)")


def test_a_first_value_has_nothing_to_compare_with(login, store_manager, store):
    make_store_score(make_rollup(NOW, RollupStatus.PROVISIONAL), store, 55.0)
    html = _page(login(store_manager), store)
    assert _text(html, "hero") == "本季度暂定值 55.0 （未发布，随数据变化）"
    assert _text(html, "hero-change") == "尚无更早的已发布值可供比较。"
    assert _text(html, "ranks") == f"{NOW}（暂定）未参与排名"


@pytest.fixture
def noon(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOON)
    return NOON


def test_complaints_are_cards_the_most_urgent_first(login, noon, store, store_manager):
    # Ungraded complaints have 24 h: received 30 h ago is 6 h overdue, 19 h ago has 5 h left.
    calm = make_complaint(store, received_at=noon - timedelta(hours=4))
    soon = make_complaint(store, received_at=noon - timedelta(hours=19))
    later = make_complaint(store, received_at=noon - timedelta(hours=25))
    late = make_complaint(store, received_at=noon - timedelta(hours=30))
    client = login(store_manager)
    response = client.get(reverse("dashboard:store", args=[store.code]))
    assert [c.pk for c in response.context["complaints"]] == [late.pk, later.pk, soon.pk,
                                                              calm.pk]
    html = _page(client, store)
    cards = html.split('data-testid="complaint-card"')[1:]
    assert [late.ticket_no in cards[0], calm.ticket_no in cards[3]] == [True, True]
    assert "已超时 6 小时" in cards[0]
    assert "已超时 1 小时" in cards[1]
    assert "即将超时：还剩 5 小时" in cards[2]
    assert "还剩 20 小时" in cards[3]
    english = _page(client, store, "en").split('data-testid="complaint-card"')[1:]
    assert "6 h overdue" in english[0]
    assert "Due soon: 5 h left" in english[2]
    assert "20 h left" in english[3]
    assert "%" not in "".join(cards)
    assert _text(html, "hero-complaints") == "2 条未结投诉已超时"


def test_the_staff_table_becomes_cards_on_phones(login, store_manager, quarters, store,
                                                 store_manager_employee):
    from tests.dashboard.factories import make_employee_score

    make_employee_score(quarters, store_manager_employee, 68.0)
    html = _page(login(store_manager), store)
    start = html.index('data-testid="staff"')
    table = html[start:html.index("</table>", start)]
    assert '<table class="data stack">' in table
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    body = table[table.index("<tbody>"):]
    cells = re.findall(r"<td([^>]*)>", body)
    labels = [re.search(r'data-label="([^"]*)"', cell).group(1) for cell in cells]
    assert labels == headers  # one scored employee: a cell per column, labelled by its header
    assert labels[0] == "员工"  # the key field first

"""The store manager's page: values, components, trend, indicators, complaints, visits, staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.models import ImprovementAction
from mystery_shopper.models import Evidence
from satisfaction.quarters import Quarter
from scoring.models import Rollup, RollupStatus
from tests.complaints.factories import make_complaint as file_complaint
from tests.dashboard.factories import (
    make_campaign,
    make_complaint,
    make_employee_score,
    make_response,
    make_rollup,
    make_store_score,
    make_visit,
)
from tests.factories import EmployeeFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = Quarter.current()
LAST = NOW.previous()
MAX_STORE_PAGE_QUERIES = 22


@pytest.fixture
def values(store, sibling_store, other_store, store_manager_employee):
    published = make_rollup(LAST, RollupStatus.PUBLISHED)
    provisional = make_rollup(NOW, RollupStatus.PROVISIONAL)
    older = make_rollup(LAST.previous(), RollupStatus.PUBLISHED)
    make_store_score(older, store, 58.0)
    make_store_score(published, store, 66.5, survey=33.0, scenario=36.5, deductions=3,
                     rank_chain=2, rank_region=1, indicators={"price": (10, 60.0)})
    make_store_score(provisional, store, 71.25, survey=37.5, scenario=35.75, deductions=2,
                     rank_chain=1, rank_region=1,
                     indicators={"price": (10, 50.0), "warm_service": (10, 80.0),
                                 "efficacy": (9, 70.0)})
    make_store_score(provisional, sibling_store, 60.0,
                     indicators={"price": (10, 70.0), "warm_service": (8, 90.0)})
    make_store_score(provisional, other_store, 40.0, indicators={"price": (10, 10.0)})
    make_employee_score(provisional, store_manager_employee, 68.0, warm_service_points=20.0,
                        efficacy_points=17.5, price_points=12.5, purchase_points=18.0)
    return provisional


def test_the_store_manager_sees_the_provisional_value_against_the_published_one_with_ranks(
        login, store_manager, values, store):
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    assert response.status_code == 200
    page = response.context["page"]
    assert page.provisional.value == 71.25
    assert page.published.value == 66.5
    headline = response.context["headline"]
    assert (headline.score, headline.baseline) == (page.provisional, page.published)
    html = response.content.decode()
    assert 'data-testid="hero-value">71.3<' in html
    assert f"比 {LAST} 已发布值（66.5）高 4.8" in html  # 71.3 - 66.5, as both are shown
    # The ranks of the provisional revision shown (1st), not the published one's (2nd).
    assert f"{NOW}（暂定）全链第 1 / 1，区域第 1 / 1" in html


def test_the_components_split_the_current_value(login, store_manager, values, store):
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    rows = response.context["components_rows"]
    assert [v for _label, v in rows] == [37.5, 35.75, -2.0]
    assert sum(v for _label, v in rows) == pytest.approx(71.25)


def test_the_trend_covers_eight_quarters_oldest_first(login, store_manager, values, store):
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    rows = response.context["trend_rows"]
    assert len(rows) == 8
    assert rows[-3:] == [(str(LAST.previous()), 58.0), (str(LAST), 66.5), (str(NOW), 71.2)]
    assert rows[0] == (str(NOW.last_n(8)[0]), None)


def test_the_indicators_stand_beside_the_region_average(login, store_manager, values, store):
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    table = {row[0]: row[1:] for row in response.context["indicator_rows"]}
    # Region EAST: the store and its sibling; other_store (SOUTH) does not count.
    assert table["商品价格感知"] == (50.0, 60.0)   # (50 + 70) / 2
    assert table["亲情服务质量感知"] == (80.0, 85.0)   # (80 + 90) / 2
    assert table["疗效感知"] == (70.0, 70.0)
    weakest = [w["code"] for w in response.context["weakest"]]
    assert weakest == ["price", "warm_service", "efficacy"]


def test_the_gap_compares_perception_with_expectation(login, store_manager, values, store):
    campaign = make_campaign(NOW, scale_max=5)
    make_response(campaign, store, {"price": (2, 4), "efficacy": (5, 4)})
    make_response(campaign, store, {"price": (4, 4)})
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    gaps = {row[0]: row[1:] for row in response.context["gap_table"]}
    # price: P mean 3 -> 50, E mean 4 -> 75; efficacy: P 5 -> 100, E 4 -> 75.
    assert gaps["商品价格感知"] == (50.0, 75.0, -25.0)
    assert gaps["疗效感知"] == (100.0, 75.0, 25.0)


def test_open_complaints_show_the_sla_clock_most_urgent_first(login, store_manager, values,
                                                              store):
    now = timezone.now()
    urgent = file_complaint(store, received_at=now - timedelta(hours=25))
    calm = file_complaint(store, received_at=now - timedelta(hours=2))
    make_complaint(store, received_at=now - timedelta(hours=30), status="closed")
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    complaints = response.context["complaints"]
    assert [c.pk for c in complaints] == [urgent.pk, calm.pk]
    assert (complaints[0].clock.state, complaints[0].clock.hm) == ("overdue", "1:00")
    assert (complaints[1].clock.state, complaints[1].clock.hm) == ("on_time", "21:59")
    assert ('<span class="badge bad" data-testid="time-left" data-state="overdue">已超时 1 小时'
            '</span>') in response.content.decode()


def test_only_approved_visits_are_shown_newest_first(login, store_manager, values, store):
    today = timezone.localdate()
    secret = UserFactory(username="mystery_zhang", first_name="神秘顾客张三",
                         role="mystery_shopper")
    make_visit(store, quarter=NOW, visited_on=today - timedelta(days=10), score_pct=80.0,
               shopper=secret)
    newest = make_visit(store, quarter=NOW, visited_on=today - timedelta(days=2),
                        score_pct=92.5)
    make_visit(store, quarter=NOW, visited_on=today - timedelta(days=1), score_pct=50.0,
               status="submitted")
    photo = Evidence.objects.create(visit=newest, kind="photo", file="x.jpg",
                                    content_type="image/jpeg", extension="jpg", size=10,
                                    uploaded_by=secret)
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    visits = response.context["visits"]
    assert [v.score_pct for v in visits] == [92.5, 80.0]
    assert visits[0].pk == newest.pk
    html = response.content.decode()
    assert f'src="/mystery-shopper/evidence/{photo.public_id}/"' in html
    assert "神秘顾客张三" not in html
    assert "mystery_zhang" not in html


def test_hr_and_clerks_read_the_reports_without_their_photos(login, hr, clerk, values, store):
    visit = make_visit(store, quarter=NOW, visited_on=timezone.localdate(), score_pct=90.0)
    photo = Evidence.objects.create(visit=visit, kind="photo", file="x.jpg",
                                    content_type="image/jpeg", extension="jpg", size=10)
    for user in (hr, clerk):
        client = login(user)
        response = client.get(reverse("dashboard:store", args=[store.code]))
        assert [v.pk for v in response.context["visits"]] == [visit.pk]
        assert str(photo.public_id) not in response.content.decode()
        report = client.get(f"/mystery-shopper/store/{visit.pk}/")
        assert report.status_code == 200
        assert str(photo.public_id) not in report.content.decode()
        api = client.get(f"/api/v1/mystery-shopper/visits/{visit.pk}/").json()
        assert api["evidence"] == []
        # ...and the file itself is not theirs to fetch.
        assert client.get(f"/mystery-shopper/evidence/{photo.public_id}/").status_code == 404


def test_the_staff_table_shows_each_employee_value_and_parts(login, store_manager, values,
                                                            store):
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    staff = response.context["staff"]
    assert [(e.employee.name, e.value, e.price_points) for e in staff] == [("王店长", 68.0, 12.5)]


def test_overdue_actions_show_on_the_page(login, store_manager, values, store,
                                          store_manager_employee):
    today = timezone.localdate()
    ImprovementAction.objects.create(store=store, quarter=NOW, title="价格标签复核",
                                     indicator_code="price", owner=store_manager_employee,
                                     deadline=today - timedelta(days=1))
    ImprovementAction.objects.create(store=store, quarter=NOW, title="亲情服务培训",
                                     indicator_code="warm_service",
                                     owner=store_manager_employee,
                                     deadline=today + timedelta(days=5))
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    assert response.context["overdue_count"] == 1
    assert 'data-testid="overdue-count">1 项已逾期' in response.content.decode()


def test_another_store_manager_gets_404(login, other_store_manager, values, store):
    response = login(other_store_manager).get(reverse("dashboard:store", args=[store.code]))
    assert response.status_code == 404


def test_hq_and_the_regional_manager_may_open_the_store_page(login, hq, region_manager, values,
                                                            store, other_store):
    assert login(hq).get(reverse("dashboard:store", args=[store.code])).status_code == 200
    manager = login(region_manager)
    assert manager.get(reverse("dashboard:store", args=[store.code])).status_code == 200
    assert manager.get(reverse("dashboard:store", args=[other_store.code])).status_code == 404


def test_the_store_manager_lands_on_their_store(login, store_manager, store):
    response = login(store_manager).get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard:store", args=[store.code])


def test_the_store_page_without_any_values_still_renders(login, store_manager, store):
    response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    assert response.status_code == 200
    assert response.context["score"] is None


def _fill(store, values, count):
    for index in range(count):
        employee = EmployeeFactory(store=store)
        make_employee_score(values, employee, 60.0 + index)
        make_complaint(store, received_at=timezone.now() - timedelta(hours=1),
                       due_at=timezone.now() + timedelta(hours=20))
        visit = make_visit(store, quarter=NOW, visited_on=timezone.localdate(), score_pct=70.0)
        Evidence.objects.create(visit=visit, kind="photo", file="x.jpg", content_type="image/jpeg",
                                extension="jpg", size=10)
        ImprovementAction.objects.create(store=store, quarter=NOW, title=f"a{index}",
                                         indicator_code="price", owner=employee,
                                         deadline=timezone.localdate())
        make_store_score(values, StoreFactory(region=store.region), 50.0 + index,
                         indicators={"price": (3, 40.0)})


def test_the_store_page_query_count_does_not_grow_with_staff_or_stores(
        login, store_manager, values, store, django_assert_max_num_queries,
        uncached_store_body):
    client = login(store_manager)
    url = reverse("dashboard:store", args=[store.code])
    _fill(store, values, 2)
    client.get(url)  # warm the region-average cache
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    small_count = len(small.captured_queries)
    _fill(store, values, 12)
    # Snapshot rows are only written by a rollup, which moves the revision's computed_at.
    Rollup.objects.filter(pk=values.pk).update(computed_at=timezone.now())
    client.get(url)  # warm the figures of the recomputed revision
    with django_assert_max_num_queries(small_count):
        response = client.get(url)
    assert len(response.context["staff"]) == 15
    assert small_count <= MAX_STORE_PAGE_QUERIES


def test_the_page_reads_in_chinese_and_in_english(login, store_manager, values, store,
                                                  settings):
    client = login(store_manager)
    url = reverse("dashboard:store", args=[store.code])
    chinese = client.get(url).content.decode()
    assert "最薄弱的指标" in chinese
    assert "区域平均" in chinese
    assert ">图表<" in chinese
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(url).content.decode()
    assert "Weakest indicators" in english
    assert "Price" in english
    assert "最薄弱的指标" not in english

"""The store page keeps its whole body per store, reader's view and state of its data
(``dashboard.page_cache``, keyed by ``selectors.store_page_stamp``), and its figures per
revision (``selectors.store_figures`` and the body's fragments) for the renders in between: a
cached page still changes when a complaint is filed, closed or edited behind the services' back,
when an action is planned, a member of staff renamed, the quarter recomputed or published; it
never shows another store's figures, another reader's view or token, or a stale time left."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import services as complaint_services
from complaints.models import Complaint
from dashboard import selectors
from dashboard.services import improvement_action_complete, improvement_action_create
from satisfaction.models import Employee
from satisfaction.quarters import Quarter
from scoring.models import Rollup, RollupStatus, StoreScore
from tests.complaints.factories import make_complaint as file_complaint
from tests.dashboard.factories import make_employee_score, make_rollup, make_store_score
from tests.factories import EmployeeFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = Quarter.current()
LAST = NOW.previous()
# A reload: the user, the store (its scope), the stamp and the unread count; the session, the
# body and the frame around it from the cache.
MAX_CACHED_BODY_QUERIES = 4
# A render with the figures and fragments cached (``uncached_store_body``): session, user,
# store, action rights (the variant's and the page's), the stamp, the rollup version, labels,
# unread count, actions, complaints, visits and their photos, unscored staff, survey gaps.
MAX_WARM_STORE_PAGE_QUERIES = 18
HERO = re.compile(r'data-testid="hero-value">([^<]*)<')
TIME_LEFT = re.compile(r'data-testid="time-left" data-state="\w+">([^<]*)<')


@pytest.fixture
def provisional(store, other_store, store_manager_employee):
    rollup = make_rollup(NOW, RollupStatus.PROVISIONAL)
    make_store_score(rollup, store, 71.25, indicators={"price": (10, 50.0)})
    make_store_score(rollup, other_store, 40.0, indicators={"price": (10, 10.0)})
    make_employee_score(rollup, store_manager_employee, 68.0)
    return rollup


def _page(client, store) -> str:
    response = client.get(reverse("dashboard:store", args=[store.code]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_warm_store_page_reads_fewer_queries_than_the_cold_one(
        login, store_manager, provisional, store, django_assert_max_num_queries,
        uncached_store_body):
    client = login(store_manager)
    with CaptureQueriesContext(connection) as cold:
        _page(client, store)
    with django_assert_max_num_queries(MAX_WARM_STORE_PAGE_QUERIES) as warm:
        html = _page(client, store)
    assert len(warm.captured_queries) < len(cold.captured_queries)
    assert HERO.search(html).group(1) == "71.3"
    assert not any("scoring_storescore" in q["sql"] or "scoring_employeescore" in q["sql"]
                   for q in warm.captured_queries)


def test_a_recompute_of_the_revision_shows_its_new_values(login, store_manager, provisional,
                                                          store):
    client = login(store_manager)
    assert HERO.search(_page(client, store)).group(1) == "71.3"
    # What rollup_quarter does to a provisional revision: new rows, computed_at moved.
    StoreScore.objects.filter(rollup=provisional, store=store).update(value=64.0)
    Rollup.objects.filter(pk=provisional.pk).update(
        computed_at=timezone.now() + timedelta(seconds=1))
    assert HERO.search(_page(client, store)).group(1) == "64.0"


def test_publishing_a_new_revision_shows_it_as_published(login, store_manager, provisional,
                                                         store):
    client = login(store_manager)
    assert "暂定" in _page(client, store)
    published = make_rollup(NOW, RollupStatus.PUBLISHED, revision=2)
    make_store_score(published, store, 80.0)
    Rollup.objects.filter(pk=provisional.pk).update(status=RollupStatus.SUPERSEDED)
    html = _page(client, store)
    assert HERO.search(html).group(1) == "80.0"
    assert f'data-testid="hero-label">{NOW} 已发布<' in html


def test_a_filed_and_a_closed_complaint_show_on_the_cached_page(login, store_manager, hq,
                                                                provisional, store):
    client = login(store_manager)
    assert 'data-testid="complaint-card"' not in _page(client, store)
    complaint = file_complaint(store)
    html = _page(client, store)
    assert complaint.ticket_no in html
    assert html.count('data-testid="complaint-card"') == 1
    complaint_services.complaint_triage(
        complaint=complaint, user=hq, version=complaint.version, grade="C",
        substantiated=True, responsibility="own_store", owner=None)
    complaint.refresh_from_db()
    complaint_services.complaint_resolve(complaint=complaint, user=store_manager,
                                         version=complaint.version, remedy="退款",
                                         customer_satisfied=True)
    assert complaint.ticket_no not in _page(client, store)


def test_the_time_left_on_a_cached_page_follows_the_clock(login, store_manager, provisional,
                                                          store, monkeypatch):
    now = timezone.now()
    file_complaint(store, received_at=now - timedelta(hours=1))
    client = login(store_manager)
    first = TIME_LEFT.search(_page(client, store)).group(1)
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(hours=5))
    later = TIME_LEFT.search(_page(client, store)).group(1)
    assert first != later


def test_each_store_manager_sees_their_own_stores_figures_after_both_are_cached(
        login, store_manager, other_store_manager, provisional, store, other_store):
    mine, theirs = login(store_manager), login(other_store_manager)
    for _ in range(2):
        assert HERO.search(_page(mine, store)).group(1) == "71.3"
        assert HERO.search(_page(theirs, other_store)).group(1) == "40.0"
    assert mine.get(reverse("dashboard:store", args=[other_store.code])).status_code == 404


def test_a_clerk_sees_only_their_own_value_from_the_cached_staff_rows(
        login, store_manager, provisional, store, store_manager_employee):
    clerk_employee = EmployeeFactory(number="E00009", name="王店员", store=store)
    make_employee_score(provisional, clerk_employee, 55.0)
    clerk = UserFactory(username="clerk9", role="clerk", stores=[store],
                        employee=clerk_employee)
    manager_page = _page(login(store_manager), store)  # caches every staff row
    colleague = reverse("scoring:employee_detail", args=[store_manager_employee.number])
    assert colleague in manager_page
    response = login(clerk).get(reverse("dashboard:store", args=[store.code]))
    assert [s.employee_id for s in response.context["staff"]] == [clerk_employee.pk]
    assert colleague not in response.content.decode()


def test_a_reload_reads_the_body_from_the_cache_in_a_few_queries(
        login, store_manager, provisional, store, django_assert_max_num_queries):
    client = login(store_manager)
    file_complaint(store)
    first = _page(client, store)
    with django_assert_max_num_queries(MAX_CACHED_BODY_QUERIES) as reload:
        again = _page(client, store)
    def body(html: str) -> str:  # the CSRF token is masked afresh on every response
        return re.sub(r'value="[^"]+"', "", html.split('<main class="content">')[1])

    assert body(again) == body(first)
    assert not any(q["sql"].startswith('SELECT "complaints_complaint"')
                   for q in reload.captured_queries)


def test_a_complaint_edited_behind_the_services_back_shows_at_once(
        login, store_manager, provisional, store):
    complaint = file_complaint(store)
    client = login(store_manager)
    assert "等级 A" not in _page(client, store)
    Complaint.objects.filter(pk=complaint.pk).update(grade="A")  # the admin, a bulk fix
    assert "等级 A" in _page(client, store)


def test_a_planned_and_a_completed_action_show_at_once(login, store_manager, provisional, store,
                                                       store_manager_employee):
    client = login(store_manager)
    assert "整改价格标签" not in _page(client, store)
    action = improvement_action_create(
        user=store_manager, store=store, title="整改价格标签", indicator_code="price",
        owner=store_manager_employee, deadline=timezone.localdate() + timedelta(days=30))
    html = _page(client, store)
    assert "整改价格标签" in html
    assert reverse("dashboard:action_complete", args=[action.pk]) in html
    improvement_action_complete(action=action, user=store_manager)
    assert reverse("dashboard:action_complete", args=[action.pk]) not in _page(client, store)


def test_a_renamed_member_of_staff_shows_at_once(login, store_manager, provisional, store):
    newcomer = EmployeeFactory(number="E00077", name="赵新人", store=store)
    client = login(store_manager)
    assert "赵新人" in _page(client, store)
    Employee.objects.filter(pk=newcomer.pk).update(name="赵新员")
    html = _page(client, store)
    assert "赵新员" in html
    assert "赵新人" not in html


def test_each_reader_of_a_cached_body_posts_with_their_own_csrf_token(
        provisional, store, store_manager, store_manager_employee):
    from django.test import Client

    deputy = UserFactory(username="store1b", role="store_manager", stores=[store])
    action = improvement_action_create(
        user=store_manager, store=store, title="整改价格标签", indicator_code="price",
        owner=store_manager_employee, deadline=timezone.localdate() + timedelta(days=30))
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    url = reverse("dashboard:action_complete", args=[action.pk])
    tokens = []
    for user in (store_manager, deputy):  # the same view of the store: the deputy's is a hit
        client = Client(enforce_csrf_checks=True)
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        html = _page(client, store)
        form = html[html.index(f'action="{url}"'):]
        tokens.append(token.search(form).group(1))
    assert tokens[0] != tokens[1]
    assert "__store-page-csrf-token__" not in html
    assert client.post(url, {"csrfmiddlewaretoken": tokens[1]}).status_code == 302


def test_a_clerk_never_gets_the_body_cached_for_the_manager(
        login, store_manager, clerk, provisional, store, store_manager_employee):
    improvement_action_create(
        user=store_manager, store=store, title="整改价格标签", indicator_code="price",
        owner=store_manager_employee, deadline=timezone.localdate() + timedelta(days=30))
    manager_page = _page(login(store_manager), store)
    assert 'data-testid="new-action"' in manager_page
    clerk_page = _page(login(clerk), store)
    assert 'data-testid="new-action"' not in clerk_page
    assert "csrfmiddlewaretoken" not in clerk_page.split('data-testid="actions"')[1]


# --- the frame: the layout around the body, per reader ---------------------------------------

def test_a_reload_renders_no_template_and_keeps_the_readers_own_top_bar(
        login, store_manager, provisional, store):
    client = login(store_manager)
    first = client.get(reverse("dashboard:store", args=[store.code]))
    assert "dashboard/store.html" in [t.name for t in first.templates]
    again = client.get(reverse("dashboard:store", args=[store.code]))
    assert again.status_code == 200
    assert again.templates == []  # the frame and the body both from the cache
    html = again.content.decode()
    assert store_manager.username in html
    assert html.count('name="csrfmiddlewaretoken"') >= 2  # the language switch, the log out
    assert "__store-page-" not in html


def test_each_reader_gets_their_own_name_and_menus_on_the_same_cached_body(
        login, store_manager, hq, provisional, store):
    deputy = UserFactory(username="deputy-manager", role="store_manager", stores=[store])
    _page(login(store_manager), store)
    deputy_page = _page(login(deputy), store)
    assert "deputy-manager" in deputy_page
    assert f">{store_manager.username}<" not in deputy_page.split('<main class="content">')[0]
    hq_page = _page(login(hq), store)
    assert reverse("admin:index") in hq_page
    assert reverse("admin:index") not in deputy_page


def test_a_new_notification_and_a_granted_right_show_in_the_top_bar_at_once(
        login, store_manager, provisional, store):
    from satisfaction.models import Role, User
    from satisfaction.notifications import notification_send

    client = login(store_manager)
    assert 'data-testid="unread-count"' not in _page(client, store)
    notification_send(users=[store_manager], title="投诉待处理", email=False)
    assert re.search(r'data-testid="unread-count">1<', _page(client, store))
    User.objects.filter(pk=store_manager.pk).update(role=Role.HQ_ADMIN)
    assert reverse("admin:index") in _page(client, store)


def test_a_message_after_a_form_shows_once_on_the_cached_page(
        login, store_manager, provisional, store, store_manager_employee):
    client = login(store_manager)
    _page(client, store)
    _page(client, store)  # the frame is kept
    response = client.post(reverse("dashboard:action_create", args=[store.code]), {
        "title": "价格标签每日复核", "indicator_code": "price", "source": "indicator",
        "owner": store_manager_employee.pk, "source_ref": "", "description": "",
        "deadline": (timezone.localdate() + timedelta(days=14)).isoformat()}, follow=True)
    assert "改善措施已保存" in response.content.decode()
    assert "改善措施已保存" not in _page(client, store)


def test_the_language_switch_returns_to_the_page_in_the_chosen_language(
        login, store_manager, provisional, store, settings):
    client = login(store_manager)
    url = reverse("dashboard:store", args=[store.code]) + f"?quarter={NOW}"
    assert '<html lang="zh-hans">' in client.get(url).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(url).content.decode()
    assert '<html lang="en">' in html
    assert f'name="next" type="hidden" value="{url.replace("&", "&amp;")}"' in html


def test_a_query_other_than_the_quarter_renders_the_frame_every_time(
        login, store_manager, provisional, store):
    client = login(store_manager)
    page = reverse("dashboard:store", args=[store.code])
    for query in ("?utm=mail", f"?quarter={NOW}&quarter={NOW}"):
        client.get(page + query)
        assert "dashboard/store.html" in [t.name for t in client.get(page + query).templates]
    client.get(f"{page}?quarter={NOW}")
    assert client.get(f"{page}?quarter={NOW}").templates == []


# --- the stamp as a database function (PostgreSQL) --------------------------------------------

def _stamp_of(store):
    return selectors.store_page_stamp(store=store, quarter=NOW)


@pytest.mark.postgres
def test_on_postgres_migrate_installs_the_stamp_function_and_a_reload_calls_it(
        login, store_manager, provisional, store):
    name, _create = selectors.store_page_stamp_function()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regproc(%s) IS NOT NULL", [name])
        assert cursor.fetchone()[0]
    client = login(store_manager)
    _page(client, store)
    with CaptureQueriesContext(connection) as reload:
        _page(client, store)
    assert sum(f"SELECT {name}(" in q["sql"] for q in reload.captured_queries) == 1
    assert not any("string_agg" in q["sql"] for q in reload.captured_queries)


@pytest.mark.postgres
def test_on_postgres_the_function_and_the_statement_give_the_same_stamp(
        monkeypatch, provisional, store, store_manager_employee):
    def both():
        monkeypatch.setattr(selectors, "_stamp_function_present", {})
        by_function = _stamp_of(store)
        monkeypatch.setattr(selectors, "_stamp_function_present", {"default": False})
        by_statement = _stamp_of(store)
        assert by_function == by_statement
        return by_function

    quiet = both()
    assert not quiet.clocks_running
    complaint = file_complaint(store)
    filed = both()
    assert filed.clocks_running
    assert filed.digest != quiet.digest
    Employee.objects.filter(pk=store_manager_employee.pk).update(name="Renamed")
    assert both().digest != filed.digest
    Complaint.objects.filter(pk=complaint.pk).update(grade="A")
    assert both() != filed


@pytest.mark.postgres
def test_a_database_migrated_before_the_function_still_stamps_and_shows_changes(
        monkeypatch, login, store_manager, provisional, store):
    name, _create = selectors.store_page_stamp_function()
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(f"DROP FUNCTION {name}(bigint, bigint, text)")
    monkeypatch.setattr(selectors, "_stamp_function_present", {})
    client = login(store_manager)
    _page(client, store)
    complaint = file_complaint(store)
    with CaptureQueriesContext(connection) as reload:
        html = _page(client, store)
    assert any("string_agg" in q["sql"] for q in reload.captured_queries)
    assert complaint.ticket_no in html

"""HQ's page of its departments (dashboard/internal_views.py): each department's internal
satisfaction and internal complaints by region; a department head sees their own."""

from __future__ import annotations

import pytest

from complaints import services
from tests.factories import UserFactory, department, make_department_rating

pytestmark = pytest.mark.django_db


@pytest.fixture
def figures(store, other_store, store_manager, other_store_manager, department_head):
    for user in (store_manager, other_store_manager):
        make_department_rating(rater=user, department=department("logistics"), answer=3)
        make_department_rating(rater=user, department=department("it"), answer=5)
    complaint = services.internal_complaint_create(
        user=other_store_manager, store=other_store, department=department("logistics"),
        description="配送少了两箱")
    services.internal_complaint_create(user=store_manager, store=store,
                                       department=department("it"), description="收银卡顿")
    return complaint


def test_hq_sees_every_department_by_region_in_a_fixed_number_of_queries(
        figures, login, hq, region, other_region, django_assert_max_num_queries):
    client = login(hq)
    with django_assert_max_num_queries(14):
        response = client.get("/dashboard/departments/")
    body = response.content.decode()
    assert response.status_code == 200
    for row in ("logistics-chain", "logistics-EAST", "logistics-SOUTH", "it-chain",
                "training-chain"):
        assert f'data-testid="row-{row}"' in body
    south = body.split('data-testid="row-logistics-SOUTH"')[1].split("</tr>")[0]
    assert ">50.0<" in south
    assert ">1<" in south
    assert 'id="chart-departments"' in body


def test_a_department_head_sees_only_their_departments_rows(figures, login, department_head):
    body = login(department_head).get("/dashboard/departments/").content.decode()
    assert 'data-testid="row-logistics-chain"' in body
    assert 'data-testid="row-it-chain"' not in body


def test_the_stores_and_regions_do_not_see_the_page(login, store_manager, region_manager, hr):
    for user in (store_manager, region_manager, hr):
        assert login(user).get("/dashboard/departments/").status_code == 403


def test_a_bad_quarter_is_a_400(login, hq):
    assert login(hq).get("/dashboard/departments/?quarter=20x6").status_code == 400


def test_a_head_of_no_department_sees_an_empty_page(login):
    lonely = UserFactory(role="department_head")
    response = login(lonely).get("/dashboard/departments/")
    assert response.status_code == 200
    assert 'data-testid="row-' not in response.content.decode()

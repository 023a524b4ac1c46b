"""The role x resource permission matrix of the chain's core pages and API."""

from __future__ import annotations

import pytest
from django.test import Client

from satisfaction.scoping import visible_stores
from tests.factories import EmployeeFactory

STORES = ("S0001", "S0002", "S0011")  # store, sibling_store (same region), other_store

# persona -> which of STORES it may see
MATRIX = {
    "hq": {"S0001", "S0002", "S0011"},
    "hr": {"S0001", "S0002", "S0011"},
    "region_manager": {"S0001", "S0002"},
    "store_manager": {"S0001"},
    "clerk": {"S0001"},
    "other_store_manager": {"S0011"},
    "shopper": set(),
}


@pytest.fixture
def chain(store, sibling_store, other_store):
    for s in (store, sibling_store, other_store):
        EmployeeFactory(store=s, number=f"N-{s.code}")
    return {s.code: s for s in (store, sibling_store, other_store)}


@pytest.mark.parametrize(("persona", "allowed"), MATRIX.items())
def test_visible_stores_follows_the_role_rule(request, chain, persona, allowed):
    user = request.getfixturevalue(persona)
    assert set(visible_stores(user).values_list("code", flat=True)) == allowed


@pytest.mark.parametrize(("persona", "allowed"), MATRIX.items())
@pytest.mark.parametrize("code", STORES)
def test_store_page_is_404_for_a_store_outside_the_users_scope(request, chain, login, persona,
                                                                allowed, code):
    client = login(request.getfixturevalue(persona))
    response = client.get(f"/stores/{code}/")
    if persona == "shopper":  # no store pages at all
        assert response.status_code == 403
    else:
        assert response.status_code == (200 if code in allowed else 404)


@pytest.mark.parametrize(("persona", "allowed"), MATRIX.items())
@pytest.mark.parametrize("code", STORES)
def test_store_api_is_404_for_a_store_outside_the_users_scope(request, chain, login, persona,
                                                               allowed, code):
    client = login(request.getfixturevalue(persona))
    response = client.get(f"/api/v1/stores/{code}/")
    if persona == "shopper":  # the chain's stores are not a shopper's business at all
        assert response.status_code == 403
        return
    assert response.status_code == (200 if code in allowed else 404)
    if code not in allowed:
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(("persona", "allowed"), MATRIX.items())
def test_lists_hold_only_the_users_stores_and_their_staff(request, chain, login, persona,
                                                          allowed):
    client = login(request.getfixturevalue(persona))
    if persona == "shopper":
        assert client.get("/api/v1/stores/").status_code == 403
        assert client.get("/api/v1/employees/").status_code == 403
        assert client.get("/stores/").status_code == 403
        return
    stores = client.get("/api/v1/stores/").json()["results"]
    assert {s["code"] for s in stores} == allowed
    employees = client.get("/api/v1/employees/").json()["results"]
    assert {e["store"] for e in employees} <= allowed
    assert {e["number"] for e in employees} >= {f"N-{code}" for code in allowed}
    page = client.get("/stores/")
    assert page.status_code == 200
    shown = {code for code in STORES if f"/stores/{code}/" in page.content.decode()}
    assert shown == allowed


@pytest.mark.parametrize(("persona", "allowed"), MATRIX.items())
@pytest.mark.parametrize("code", STORES)
def test_employee_api_is_404_for_another_stores_employee(request, chain, login, persona,
                                                         allowed, code):
    client = login(request.getfixturevalue(persona))
    response = client.get(f"/api/v1/employees/N-{code}/")
    assert response.status_code == (403 if persona == "shopper" else
                                    200 if code in allowed else 404)


def test_anonymous_visitors_are_sent_to_login_and_refused_by_the_api(chain):
    client = Client()
    response = client.get("/stores/S0001/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    api = client.get("/api/v1/stores/")
    assert api.status_code == 403
    assert set(api.json()) == {"code", "detail", "fields"}


@pytest.mark.parametrize("persona", ["region_manager", "store_manager", "clerk", "shopper", "hr"])
def test_only_hq_may_import_the_chain_or_use_the_admin(request, chain, login, persona):
    client = login(request.getfixturevalue(persona))
    assert client.get("/chain/import/").status_code == 403
    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert "/admin/login/" in admin["Location"]


def test_hq_may_import_the_chain_and_use_the_admin(chain, hq, login):
    client = login(hq)
    assert client.get("/chain/import/").status_code == 200
    assert client.get("/admin/satisfaction/store/").status_code == 200


def test_a_regional_manager_with_two_regions_sees_both(chain, region, other_region):
    from tests.factories import UserFactory

    user = UserFactory(role="regional_manager", regions=[region, other_region])
    assert set(visible_stores(user).values_list("code", flat=True)) == set(STORES)


def test_an_inactive_user_sees_nothing(chain, hq):
    hq.is_active = False
    assert not visible_stores(hq).exists()


def test_store_list_page_runs_a_bounded_number_of_queries(chain, hq, login,
                                                          django_assert_max_num_queries):
    from tests.factories import StoreFactory

    StoreFactory.create_batch(40, region=chain["S0001"].region)
    client = login(hq)
    with django_assert_max_num_queries(12):  # + 2: the quarter states
        response = client.get("/stores/")
    assert response.status_code == 200


# --- The store lookup by code (the statement compiled once per shape of the rule) -----------

LOOKUP_PERSONAS = [*MATRIX, "department_head"]


def _lookup(user, code):
    from django.http import Http404

    from satisfaction.scoping import get_visible_store_or_404

    try:
        return get_visible_store_or_404(user, code=code).code
    except Http404:
        return None


@pytest.mark.parametrize("persona", LOOKUP_PERSONAS)
def test_the_store_lookup_by_code_agrees_with_the_rule_for_every_persona(request, chain,
                                                                         persona):
    user = request.getfixturevalue(persona)
    for code in (*STORES, "S9999"):
        expected = code if visible_stores(user).filter(code=code).exists() else None
        assert _lookup(user, code) == expected, code


def test_two_managers_of_one_shape_share_the_statement_not_the_answer(chain, store_manager,
                                                                      other_store_manager):
    assert _lookup(store_manager, "S0001") == "S0001"
    assert _lookup(other_store_manager, "S0001") is None
    assert _lookup(other_store_manager, "S0011") == "S0011"
    assert _lookup(store_manager, "S0011") is None


def test_a_clerk_sees_the_store_of_their_employee_record_without_a_link(chain, sibling_store):
    from tests.factories import UserFactory

    employee = EmployeeFactory(number="E00077", store=sibling_store)
    clerk = UserFactory(role="clerk", employee=employee)
    assert _lookup(clerk, "S0002") == "S0002"
    assert _lookup(clerk, "S0001") is None


def test_a_superuser_sees_every_store_and_an_inactive_one_none(chain, store_manager):
    from tests.factories import UserFactory

    root = UserFactory(role="clerk", is_superuser=True)
    assert [_lookup(root, code) for code in STORES] == list(STORES)
    store_manager.is_active = False
    assert _lookup(store_manager, "S0001") is None


def test_a_code_of_another_type_is_looked_up_as_text_and_none_is_404(chain, hq):
    from tests.factories import StoreFactory

    StoreFactory(code="4711", region=chain["S0001"].region)
    assert _lookup(hq, 4711) == "4711"
    assert _lookup(hq, None) is None


def test_the_store_lookup_is_one_query(chain, store_manager, django_assert_num_queries):
    _lookup(store_manager, "S0011")  # the statement compiled (no query) and asked once
    with django_assert_num_queries(1):
        assert _lookup(store_manager, "S0001") == "S0001"


class _ReadsRecorded:
    """A user whose attribute reads are recorded (what ``visible_stores`` branches on)."""

    def __init__(self, user):
        object.__setattr__(self, "_user", user)
        object.__setattr__(self, "read", set())

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self._user, name)


@pytest.mark.parametrize("persona", LOOKUP_PERSONAS)
def test_the_rule_reads_only_what_the_lookups_shape_key_and_stand_ins_cover(request, chain,
                                                                           persona):
    # get_visible_store_or_404 keeps one statement per (role, superuser, active, has an
    # employee record) and binds the ids: a rule that read anything else of the user would
    # need it in that key, or one user's statement would answer for another's.
    user = _ReadsRecorded(request.getfixturevalue(persona))
    visible_stores(user)
    assert user.read <= {"is_authenticated", "is_active", "is_superuser", "role", "pk",
                         "employee_id"}

"""HQ's POS key pages (/setup/pos-keys/): the secret is shown once, the key works, a revoke
takes effect at once, bad input is a form error, and no one else may use them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from pos.models import PosApiKey
from pos.services import pos_api_key_create, pos_api_key_revoke, pos_api_key_update
from pos.views import SHOWN_ONCE
from satisfaction.errors import ApplicationError
from tests.factories import StoreFactory
from tests.pos.factories import make_key

pytestmark = pytest.mark.django_db

KEYS, CREATE = "/setup/pos-keys/", "/setup/pos-keys/new/"


@pytest.fixture
def hq_client(hq) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(hq)
    return client


def _create(client: Client, **fields):
    data = {"name": "Till vendor A", "scope": "chosen", "store_codes": "S0001",
            "throttle_rate": "600/min", "expires_on": ""}
    data.update(fields)
    return client.post(CREATE, data)


def test_hq_creates_a_key_and_sees_its_secret_once(hq_client, store):
    response = _create(hq_client)
    assert response.status_code == 302
    assert response["Location"] == KEYS  # the secret is not in the address

    shown = hq_client.get(KEYS)
    api_key = PosApiKey.objects.get(name="Till vendor A")
    secret = shown.context["new_key"]["secret"]
    assert secret.startswith(f"{api_key.prefix}.")
    assert secret in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    assert PosApiKey.objects.get_from_key(secret) == api_key
    assert list(api_key.stores.all()) == [store]
    assert api_key.throttle_rate == "600/min"
    assert not api_key.all_stores

    again = hq_client.get(KEYS)
    assert secret not in again.content.decode()
    assert again.context["new_key"] is None
    assert SHOWN_ONCE not in hq_client.session
    assert api_key.prefix in again.content.decode()  # the key is listed, without its secret


def test_the_new_key_works_against_the_api_and_a_revoke_refuses_it_at_once(hq_client, store):
    _create(hq_client)
    secret = hq_client.get(KEYS).context["new_key"]["secret"]
    api_key = PosApiKey.objects.get(name="Till vendor A")
    pos = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    stores = pos.get("/api/v1/pos/stores/")
    assert stores.status_code == 200
    assert [row["code"] for row in stores.json()["results"]] == ["S0001"]

    confirm = hq_client.get(f"/setup/pos-keys/{api_key.prefix}/revoke/")
    assert confirm.status_code == 200
    assert not PosApiKey.objects.get(pk=api_key.pk).revoked  # a GET only asks
    revoked = hq_client.post(f"/setup/pos-keys/{api_key.prefix}/revoke/")
    assert revoked.status_code == 302
    assert PosApiKey.objects.get(pk=api_key.pk).revoked

    refused = pos.get("/api/v1/pos/stores/")
    assert refused.status_code == 401
    assert refused.json()["code"] == "authentication_failed"


@pytest.mark.parametrize("rate", ["lots", "0/min", "600/week", "600 / min", "-5/s"])
def test_a_malformed_rate_is_a_form_error_and_creates_nothing(hq_client, store, rate):
    response = _create(hq_client, throttle_rate=rate)
    assert response.status_code == 400
    assert response.context["form"].errors["throttle_rate"] == [
        "A rate such as 600/min, 20/s or 50000/day."]
    assert not PosApiKey.objects.exists()


def test_unknown_store_codes_are_named_and_no_store_at_all_is_refused(hq_client, store):
    unknown = _create(hq_client, store_codes="S0001, S9999，S8888")
    assert unknown.status_code == 400
    assert unknown.context["form"].errors["store_codes"] == [
        "No store has the code(s): S8888, S9999"]
    empty = _create(hq_client, store_codes="")
    assert empty.status_code == 400
    assert "Choose the stores this key acts for." in empty.context["form"].errors["__all__"]
    assert not PosApiKey.objects.exists()


def test_a_key_can_act_for_a_region_or_for_every_store(hq_client, store, sibling_store,
                                                      other_store, region):
    assert _create(hq_client, name="East", store_codes="", regions=[region.pk]
                   ).status_code == 302
    east = PosApiKey.objects.get(name="East")
    assert sorted(s.code for s in east.stores.all()) == ["S0001", "S0002"]
    assert _create(hq_client, name="Call centre", scope="all", store_codes="S9999"
                   ).status_code == 302
    everywhere = PosApiKey.objects.get(name="Call centre")
    assert everywhere.all_stores
    assert not everywhere.stores.exists()


def test_an_expiry_day_works_through_that_day_and_cannot_be_past(hq_client, store):
    past = timezone.localdate() - timedelta(days=1)
    assert _create(hq_client, expires_on=past.isoformat()).status_code == 400
    day = timezone.localdate() + timedelta(days=30)
    assert _create(hq_client, expires_on=day.isoformat()).status_code == 302
    expiry = timezone.localtime(PosApiKey.objects.get().expiry_date)
    assert (expiry.date(), expiry.hour, expiry.minute) == (day + timedelta(days=1), 0, 0)


def test_hq_changes_a_keys_stores_and_rate(hq_client, store, sibling_store):
    api_key, secret = make_key(store)
    page = hq_client.get(f"/setup/pos-keys/{api_key.prefix}/")
    assert page.status_code == 200
    assert page.context["form"].initial["store_codes"] == "S0001"
    response = hq_client.post(f"/setup/pos-keys/{api_key.prefix}/", {
        "name": "Till moved", "scope": "chosen", "store_codes": "S0002",
        "throttle_rate": "20/s", "expires_on": ""})
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert (api_key.name, api_key.throttle_rate) == ("Till moved", "20/s")
    assert [s.code for s in api_key.stores.all()] == ["S0002"]
    # The same secret, the new stores from the next request on.
    stores = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}").get("/api/v1/pos/stores/")
    assert [row["code"] for row in stores.json()["results"]] == ["S0002"]


def test_a_revoked_key_cannot_be_changed(hq_client, store, hq):
    api_key, _secret = make_key(store)
    pos_api_key_revoke(api_key=api_key, user=hq)
    response = hq_client.post(f"/setup/pos-keys/{api_key.prefix}/", {
        "name": "Again", "scope": "all", "store_codes": "", "throttle_rate": "",
        "expires_on": ""})
    assert response.status_code == 400
    assert "This key is revoked; it cannot be changed." in response.context["form"].errors[
        "__all__"]
    api_key.refresh_from_db()
    assert api_key.name == "POS test"
    assert not api_key.all_stores


def test_the_list_reads_in_a_fixed_number_of_queries(hq_client, store, sibling_store,
                                                     django_assert_max_num_queries):
    for n in range(12):
        make_key(store, sibling_store, name=f"Till {n}")
    make_key(name="Call centre", all_stores=True)
    with django_assert_max_num_queries(8):
        response = hq_client.get(KEYS)
    assert response.status_code == 200
    assert response.content.decode().count("data-prefix=") == 13


@pytest.mark.parametrize("persona", ["hr", "region_manager", "store_manager", "clerk",
                                     "shopper"])
def test_no_one_but_hq_may_use_the_pages(request, persona, store):
    api_key, _secret = make_key(store)
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    for url in (KEYS, CREATE, f"/setup/pos-keys/{api_key.prefix}/",
                f"/setup/pos-keys/{api_key.prefix}/revoke/"):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"name": "x", "scope": "all"}).status_code == 403, url
    assert not PosApiKey.objects.get(pk=api_key.pk).revoked
    assert PosApiKey.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(store):
    response = Client().get(KEYS)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_services_are_hq_only_and_validate_the_rate(store, hr, hq):
    with pytest.raises(ApplicationError) as refused:
        pos_api_key_create(name="x", stores=[store], user=hr)
    assert refused.value.status == 403
    with pytest.raises(ApplicationError) as bad:
        pos_api_key_create(name=" ", stores=[], throttle_rate="fast", user=hq)
    assert set(bad.value.fields) == {"name", "stores", "throttle_rate"}
    api_key, _secret = pos_api_key_create(name="ok", stores=[store], user=hq)
    with pytest.raises(ApplicationError):
        pos_api_key_update(api_key=api_key, name="ok", stores=[store], all_stores=False,
                           throttle_rate="", expiry_date=None, user=hr)
    with pytest.raises(ApplicationError):
        pos_api_key_revoke(api_key=api_key, user=hr)
    assert not PosApiKey.objects.get(pk=api_key.pk).revoked
    other = StoreFactory(code="S0100")
    pos_api_key_update(api_key=api_key, name="ok", stores=[other], all_stores=False,
                       throttle_rate=" 50000/day ", expiry_date=None, user=hq)
    api_key.refresh_from_db()
    assert api_key.throttle_rate == "50000/day"


def test_the_keys_page_shows_who_created_changed_and_revoked_a_key(hq, login, store,
                                                                   sibling_store):
    from pos.services import pos_api_key_create, pos_api_key_revoke, pos_api_key_update

    api_key, _secret = pos_api_key_create(name="Till A", stores=[store], user=hq)
    pos_api_key_update(api_key=api_key, name="Till A", stores=[store, sibling_store],
                       all_stores=False, throttle_rate="60/min", expiry_date=None, user=hq)
    pos_api_key_revoke(api_key=api_key, user=hq)
    assert api_key.history.count() == 3
    assert set(api_key.history.values_list("history_user__username", flat=True)) == {"hq"}
    page = login(hq).get("/setup/pos-keys/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Change history" in page
    assert f"{sibling_store.code}" in page  # the stores the change gave it
    assert "60/min" in page
    assert "hashed" not in page.lower()

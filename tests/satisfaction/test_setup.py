"""HQ's setup area: the index links every setting; the appeal windows page validates through
the service and shows who changed what."""

from __future__ import annotations

import pytest

from satisfaction.models import AppealWindow, AppealWindowKind
from satisfaction.selectors import appeal_window_days

pytestmark = pytest.mark.django_db


def test_hq_sees_every_setup_page_linked_from_the_index(login, hq):
    client = login(hq)
    index = client.get("/setup/")
    assert index.status_code == 200
    text = index.content.decode()
    for url in ("/setup/campaigns/", "/setup/indicators/", "/setup/scorecards/",
                "/setup/complaints/", "/setup/store-hours/", "/setup/appeal-windows/",
                "/setup/schemes/", "/setup/pos-keys/", "/chain/import/"):
        assert f'href="{url}' in text, url
    assert 'href="/setup/"' in client.get("/").content.decode() or 'href="/setup/"' in text


@pytest.mark.parametrize("persona", ["region_manager", "store_manager", "hr", "shopper"])
def test_only_hq_may_use_the_setup_area(login, persona, request):
    client = login(request.getfixturevalue(persona))
    assert client.get("/setup/").status_code == 403
    assert client.post("/setup/appeal-windows/", {"complaint": 30}).status_code == 403


def test_hq_changes_an_appeal_window_and_the_history_names_them(login, hq):
    client = login(hq)
    response = client.post("/setup/appeal-windows/", {AppealWindowKind.COMPLAINT: 14,
                                                      AppealWindowKind.MYSTERY_SHOPPER: 7})
    assert response.status_code == 302
    assert appeal_window_days(kind=AppealWindowKind.COMPLAINT) == 14
    page = client.get("/setup/appeal-windows/").content.decode()
    assert "hq" in page
    assert "14" in page
    # Only the window that changed was written.
    assert not AppealWindow.history.filter(kind=AppealWindowKind.MYSTERY_SHOPPER,
                                           history_user=hq).exists()
    assert AppealWindow.history.filter(kind=AppealWindowKind.COMPLAINT, history_user=hq,
                                       days=14).exists()


def test_an_out_of_range_window_is_a_form_error_and_nothing_is_saved(login, hq):
    response = login(hq).post("/setup/appeal-windows/", {AppealWindowKind.COMPLAINT: 0,
                                                          AppealWindowKind.MYSTERY_SHOPPER: 400})
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {AppealWindowKind.COMPLAINT,
                                                      AppealWindowKind.MYSTERY_SHOPPER}
    assert appeal_window_days(kind=AppealWindowKind.COMPLAINT) == 7

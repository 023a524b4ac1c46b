"""The customer's phone: file from the QR link, then check the status."""

import pytest

from complaints.models import Complaint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_files_and_checks_status_on_a_phone(browser_page, store):
    page = browser_page
    page.goto(page.live_url(f"/complain/{store.code}"))
    page.fill("#id_customer_phone", "13912345678")
    page.select_option("#id_category", "price")
    page.fill("#id_description", "价签和收银价格不一致")
    page.click("button[type=submit].primary")
    ticket = page.inner_text("[data-testid=ticket-no]").strip()
    assert ticket == Complaint.objects.get().ticket_no
    page.click(f"a[href*='t={ticket}']")
    page.fill("#id_phone_last4", "5678")
    page.click("button[type=submit].primary")
    assert "新建" in page.inner_text("[data-testid=ticket-status]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.console_errors == []


def test_hq_grades_and_the_owner_resolves_on_a_phone(browser_page, browser_login, store, hq,
                                                     store_manager):
    from tests.complaints.factories import make_complaint

    complaint = make_complaint(store)
    page = browser_page
    browser_login(page, "hq")
    page.goto(page.live_url(f"/complaints/{complaint.pk}/"))
    page.check("#triage input[name=grade][value=C]")
    page.select_option("#id_substantiated", "yes")
    page.select_option("#id_responsibility", "own_store")
    page.select_option("#id_owner", str(store_manager.pk))
    page.click("#triage button[type=submit]")
    page.wait_for_load_state("networkidle")
    complaint.refresh_from_db()
    assert complaint.grade == "C"
    assert complaint.owner == store_manager
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.console_errors == []

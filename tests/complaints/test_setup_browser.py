"""HQ changes a grade's hours on the setup page, on a phone."""

import pytest

from complaints.models import GradePolicy

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hq_changes_grade_b_hours_and_sees_the_value_and_the_history_row(browser_page,
                                                                         browser_login, hq):
    page = browser_page
    browser_login(page, "hq")
    page.goto(page.live_url("/setup/complaints/"))
    page.fill("#id_grade-B-resolution_hours", "36")
    page.click("#grade-B button[type=submit]")
    page.wait_for_load_state("networkidle")
    current = GradePolicy.objects.filter(grade="B").order_by("-version").first()
    assert (current.version, current.resolution_hours) == (2, 36)
    assert page.input_value("#id_grade-B-resolution_hours") == "36"
    row = page.locator(".policy-history tbody tr").first
    assert "hq" in row.inner_text()
    assert "B" in row.inner_text()
    assert "36" in row.locator("ins").first.inner_text()
    assert "24" in row.locator("del").first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.click("a[href='/setup/store-hours/']")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.console_errors == []

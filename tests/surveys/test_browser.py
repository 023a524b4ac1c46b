"""A customer answers from the QR link on a phone (headless Chromium, 360 px)."""

import pytest

from surveys.models import Response
from tests.surveys.factories import CampaignFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_customer_answers_screen_by_screen_on_a_phone(store, browser_page, settings):
    settings.SURVEY_MIN_SECONDS_PER_QUESTION = 0
    CampaignFactory()
    page = browser_page
    page.goto(page.live_url("/q/S0001"))
    screens = page.locator("[data-screen]")
    assert screens.count() == 4  # goods, store, service, and the last one
    for index in range(3):
        screen = screens.nth(index)
        assert screen.is_visible()
        for group in screen.locator(".scale").all():
            group.locator("label").nth(4).click()
        page.click("[data-next]")
    assert not page.locator("[data-next]").is_visible()
    page.fill("#comment", "店员很耐心")
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-testid=public-message]")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    assert page.console_errors == []
    response = Response.objects.get()
    assert response.comment == "店员很耐心"
    assert set(response.answers.values_list("rating", flat=True)) == {5}

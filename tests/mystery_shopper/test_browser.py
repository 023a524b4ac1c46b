"""Done when: HQ plans a quarter, a shopper completes a report with a photo on a phone-sized
browser, HQ approves it, the store manager sees it with the photo, and another store's manager
gets 404 for it and for its evidence file."""

from __future__ import annotations

import pytest

from mystery_shopper.models import ScorecardItem, Visit, VisitStatus
from satisfaction.quarters import Quarter
from tests.factories import EmployeeFactory
from tests.mystery_shopper.factories import ShopperFactory, jpeg_bytes, wav_bytes


@pytest.mark.browser
def test_plan_report_on_a_phone_approve_and_store_sees_it(
        browser_page, browser_login, login, hq, store, store_manager, other_store_manager,
        tmp_path, transactional_db):
    page = browser_page
    shopper = ShopperFactory(username="shopper7", cities=[store.city])
    EmployeeFactory(store=store, number="E00077", name="赵药师")
    quarter = Quarter.current()

    # HQ plans the quarter.
    browser_login(page, "hq")
    page.goto(page.live_url(f"/mystery-shopper/plan/?quarter={quarter}"))
    page.click("[data-testid=generate]")
    page.wait_for_load_state("networkidle")
    visit = Visit.objects.filter(store=store, shopper=shopper).order_by("due_on").first()
    assert visit is not None
    page.context.clear_cookies()

    # The shopper fills the report at 360 x 740, one section per screen.
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(jpeg_bytes())
    recording = tmp_path / "rec.wav"
    recording.write_bytes(wav_bytes())
    browser_login(page, "shopper7")
    assert "/mystery-shopper/" in page.url
    page.click(f"[data-testid=visit-{visit.pk}] a.button")
    page.fill("#id_served_by_badge", "E00077")
    # The report sends what the phone holds before it posts a step (report.js): wait for the
    # post's page, not for the network to be idle.
    with page.expect_navigation():
        page.click("[data-testid=next]")
    sections = visit.template.sections.order_by("position")
    for section in sections:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        for item in section.items.all():
            if item.kind == "yes_no":
                page.check(f"input[name=item_{item.pk}][value='1']")
            else:
                page.fill(f"input[name=item_{item.pk}]", str(int(item.max_points)))
            if item.evidence == "photo":
                page.set_input_files(f"input[name=evidence_{item.pk}]", str(photo))
            elif item.evidence == "audio":
                page.set_input_files(f"input[name=evidence_{item.pk}]", str(recording))
        with page.expect_navigation():
            page.click("[data-testid=next]")
        page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.fill("#id_notes", "店员先询问了症状和过敏史")
    with page.expect_navigation():
        page.click("[data-testid=submit]")
    page.wait_for_load_state("networkidle")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.SUBMITTED, page.content()[:2000]
    assert visit.employee.number == "E00077"
    assert page.console_errors == []
    page.context.clear_cookies()

    # HQ approves.
    browser_login(page, "hq")
    page.goto(page.live_url(f"/mystery-shopper/review/{visit.pk}/"))
    page.click("[data-testid=approve]")
    page.wait_for_load_state("networkidle")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.APPROVED
    assert visit.score_pct == pytest.approx(100.0)
    page.context.clear_cookies()

    # The store manager sees it with the photo, and not who visited.
    browser_login(page, "store1")
    page.goto(page.live_url(f"/mystery-shopper/store/{visit.pk}/"))
    photo_img = page.locator("[data-testid=evidence-photo]")
    assert photo_img.count() == 1
    assert page.evaluate("document.querySelector('[data-testid=evidence-photo]').naturalWidth") \
        == 32
    assert "shopper7" not in page.content()

    # Another store's manager: 404 for the report and its evidence file.
    signboard = ScorecardItem.objects.get(section__template=visit.template, code="signboard")
    evidence = visit.evidence.get(item=signboard)
    other = login(other_store_manager)
    assert other.get(f"/mystery-shopper/store/{visit.pk}/").status_code == 404
    assert other.get(f"/mystery-shopper/evidence/{evidence.public_id}/").status_code == 404

"""Done when: a shopper fills part of a report, loses the connection, answers and takes a photo,
reloads the page without a connection and finds what they entered (the answers, and the photo
waiting), and once back online everything is on the server exactly once, even when the phone
sends it again."""

from __future__ import annotations

import re

import pytest

from mystery_shopper.models import Evidence, ScorecardItem, VisitAnswer
from tests.mystery_shopper.factories import ShopperFactory, VisitFactory, jpeg_bytes

WAITING = re.compile(r"已保存在本机，(\d+) 项待上传")


def _item(visit, code: str) -> ScorecardItem:
    return ScorecardItem.objects.get(section__template=visit.template, code=code)


def _status(page) -> str:
    return page.locator("[data-testid=offline-status]").inner_text()


def _wait_for_status(page, text: str) -> None:
    page.wait_for_function(
        "text => document.querySelector('[data-testid=offline-status]').textContent"
        ".indexOf(text) !== -1", arg=text, timeout=15000)


def _eventually(page, check, seconds: float = 10) -> None:
    for _ in range(int(seconds * 10)):
        if check():
            return
        page.wait_for_timeout(100)
    assert check()


@pytest.mark.browser
def test_a_report_filled_offline_survives_a_reload_and_reaches_the_server_once(
        browser_page, browser_login, store, tmp_path, transactional_db):
    page = browser_page
    shopper = ShopperFactory(username="shopper9", cities=[store.city])
    visit = VisitFactory(store=store, shopper=shopper)
    signboard, uniform = _item(visit, "signboard"), _item(visit, "uniform")
    greeting = _item(visit, "polite_greeting")
    photo = tmp_path / "IMG_offline.jpg"
    photo.write_bytes(jpeg_bytes())
    report = f"/mystery-shopper/visits/{visit.pk}/report/"

    # Online: the check-in step, numbered from 1, then the store image step.
    browser_login(page, "shopper9")
    page.goto(page.live_url(f"{report}?step=0"))
    assert "第 1 步，共 6 步" in page.locator("h1").inner_text()
    page.fill("#id_served_by_badge", "E00099")
    page.click("[data-testid=next]")
    page.wait_for_url(re.compile(r"step=1$"))
    # The item that needs a photo says so where it is asked.
    assert page.locator(f"#item-{signboard.pk} [data-testid=needs-evidence]").inner_text() \
        == "需要照片"
    page.check(f"input[name=item_{uniform.pk}][value='1']")
    _wait_for_status(page, "草稿已保存")
    _eventually(page, lambda: VisitAnswer.objects.filter(visit=visit, item=uniform,
                                                         value=1).exists())
    # The worker controls the page and holds every step of the report and its assets.
    page.wait_for_function("""async () => {
        if (!navigator.serviceWorker.controller) { return false; }
        const keys = await (await caches.open('ms-report-v1')).keys();
        const paths = keys.map(k => new URL(k.url).pathname + new URL(k.url).search);
        return paths.filter(p => p.indexOf('report/?step=') !== -1).length >= 6
            && paths.some(p => p.endsWith('report.js'));
    }""", timeout=15000)

    # Offline: answer, comment and take a photo; they wait on the phone.
    page.context.set_offline(True)
    page.check(f"input[name=item_{signboard.pk}][value='1']")
    page.fill(f"input[name=item_{signboard.pk}_comment]", "招牌干净明亮")
    page.check(f"input[name=item_{greeting.pk}][value='0']")
    page.set_input_files(f"input[name=evidence_{signboard.pk}]", str(photo))
    page.wait_for_function(
        "() => /已保存在本机，3 项待上传/.test("
        "document.querySelector('[data-testid=offline-status]').textContent)", timeout=15000)
    assert not VisitAnswer.objects.filter(visit=visit, item__in=[signboard, greeting]).exists()
    assert not Evidence.objects.filter(visit=visit).exists()

    # Reloaded without a connection: the form comes back with what was entered.
    page.reload()
    page.wait_for_selector("[data-testid=queued-file]")
    assert page.is_checked(f"input[name=item_{signboard.pk}][value='1']")
    assert page.is_checked(f"input[name=item_{greeting.pk}][value='0']")
    assert page.is_checked(f"input[name=item_{uniform.pk}][value='1']")
    assert page.input_value(f"input[name=item_{signboard.pk}_comment]") == "招牌干净明亮"
    queued = page.locator(f"#item-{signboard.pk} [data-testid=queued-file]")
    assert queued.count() == 1
    assert "IMG_offline.jpg" in queued.inner_text()
    client_id = queued.get_attribute("data-client-id")
    _wait_for_status(page, "项待上传")
    assert WAITING.search(_status(page)).group(1) == "3"
    assert not Evidence.objects.filter(visit=visit).exists()

    # Still offline, "save and continue" moves on to the next step from the phone's copy.
    history = _item(visit, "asks_present_history")
    page.click("[data-testid=next]")
    page.wait_for_url(re.compile(r"step=2$"))
    page.fill(f"input[name=item_{history.pk}]", "8")
    _wait_for_status(page, "4 项待上传")
    page.goto(page.live_url(f"{report}?step=1"))
    page.wait_for_selector("[data-testid=queued-file]")
    assert page.is_checked(f"input[name=item_{signboard.pk}][value='1']")

    # Back online: everything is sent, once, even if the phone syncs again and again.
    page.context.set_offline(False)
    page.evaluate("() => { for (let i = 0; i < 3; i++) "
                  "window.dispatchEvent(new Event('online')); }")
    page.wait_for_selector(f"#item-{signboard.pk} [data-testid=uploaded-file]", timeout=15000)
    _wait_for_status(page, "草稿已保存")
    assert page.locator("[data-testid=queued-file]").count() == 0
    # The same file sent once more (its answer was lost, say): the server keeps one.
    again = page.evaluate("""async ([url, clientId, item]) => {
        const blob = await (await fetch(document.querySelector(
            '[data-testid=uploaded-file] img').src)).blob();
        const body = new FormData();
        body.append('client_id', clientId);
        body.append('item', item);
        body.append('file', blob, 'IMG_offline.jpg');
        const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
        const response = await fetch(url, {method: 'POST', body: body,
            headers: {'X-CSRFToken': token}});
        return response.status;
    }""", [f"{report}evidence/", client_id, str(signboard.pk)])
    assert again == 200

    answers = {a.item_id: a for a in VisitAnswer.objects.filter(visit=visit)}
    assert answers[signboard.pk].value == 1
    assert answers[signboard.pk].comment == "招牌干净明亮"
    assert answers[greeting.pk].value == 0
    assert answers[uniform.pk].value == 1
    assert answers[history.pk].value == 8
    assert VisitAnswer.objects.filter(visit=visit, item=signboard).count() == 1
    evidence = Evidence.objects.get(visit=visit)
    assert (str(evidence.client_id), evidence.item_id) == (client_id, signboard.pk)
    visit.refresh_from_db()
    assert visit.served_by_badge == "E00099"

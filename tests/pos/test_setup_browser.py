"""HQ creates a POS key in the browser (its secret is shown once) and revokes it."""

from __future__ import annotations

import pytest

from pos.models import PosApiKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hq_creates_a_pos_key_sees_the_secret_once_and_revokes_it(hq, store, browser_page,
                                                                   browser_login):
    page = browser_page
    browser_login(page, "hq")
    page.goto(page.live_url("/setup/pos-keys/"))
    page.click("text=新建密钥")
    page.fill("#id_name", "收银台 A")
    page.fill("#id_store_codes", "S0001")
    page.fill("#id_throttle_rate", "600/min")
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")

    secret = page.locator("[data-testid=new-key-secret]").inner_text().strip()
    api_key = PosApiKey.objects.get(name="收银台 A")
    assert secret.startswith(f"{api_key.prefix}.")
    assert PosApiKey.objects.get_from_key(secret) == api_key
    row = page.locator(f"tr[data-prefix='{api_key.prefix}']")
    assert "有效" in row.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1") is False

    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=new-key]").count() == 0
    assert secret not in page.content()

    row = page.locator(f"tr[data-prefix='{api_key.prefix}']")
    row.locator("text=吊销").click()
    page.wait_for_load_state("networkidle")
    page.click("[data-testid=confirm-revoke]")
    page.wait_for_load_state("networkidle")
    assert "已吊销" in page.locator(f"tr[data-prefix='{api_key.prefix}']").inner_text()
    assert PosApiKey.objects.get(pk=api_key.pk).revoked
    assert page.console_errors == []

"""The top bar: menus by role and task, the account menu, the language switch, icons not emoji,
and the customer pages under the chain's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from satisfaction.models import Notification

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _header(client, path: str = "/stores/", **extra) -> str:
    html = client.get(path, follow=True, **extra).content.decode()
    match = re.search(r"<header\b.*?</header>", html, re.S)
    assert match, "no top bar"
    return match.group(0)


def _groups(header: str) -> dict[str, list[str]]:
    """Each menu (data-nav-group) with the link texts in it; a group shown as a single link
    on the bar holds that one link."""
    groups: dict[str, list[str]] = {}
    for match in re.finditer(r'<li class="nav-(?:group|single)" data-nav-group="([a-z]+)">(.*?)'
                             r'(?=<li class="nav-(?:group|single)" data-nav-group=|</ul></nav>)',
                             header, re.S):
        links = re.findall(r"<a [^>]*>(.*?)</a>", match.group(2), re.S)
        groups[match.group(1)] = [re.sub(r"<[^>]+>", "", text).strip() for text in links]
    return groups


@pytest.mark.parametrize(("persona", "expected"), [
    ("hq", {
        "stores": ["Stores", "Regions", "Improvement actions", "Monthly reports", "Quarters",
                   "Staff pulse results", "Staff pulse and customer value"],
        "surveys": ["Surveys", "Paper questionnaires", "Survey invitation", "Flagged answers"],
        "mystery": ["Mystery shopper plan", "Report review", "Report appeals",
                    "Mystery shopper reports", "Mystery-shopper figures"],
        "internal": ["Internal complaints", "HQ departments"],
        "complaints": ["Complaints", "Complaint figures", "Complaint charts"],
        "hr": ["Appraisal & bonus"],
        "setup": ["Setup", "Scoring scheme"]}),
    ("region_manager", {
        "stores": ["Stores", "Regions", "Improvement actions", "Monthly reports",
                   "Staff pulse results", "Staff pulse and customer value"],
        "surveys": ["Surveys"],
        "mystery": ["Mystery shopper reports", "Mystery-shopper figures"],
        "internal": ["Internal complaints"],
        "complaints": ["Complaints", "Complaint figures", "Complaint charts"]}),
    ("store_manager", {
        "stores": ["My store", "Stores", "Improvement actions", "Monthly reports", "Staff pulse",
                   "Staff pulse results"],
        "surveys": ["Surveys", "Paper questionnaires", "Survey invitation"],
        "mystery": ["Mystery shopper reports"],
        "internal": ["Rate HQ departments", "Internal complaints"],
        "complaints": ["Complaints", "Complaint figures"]}),
    ("clerk", {
        "stores": ["My store", "Stores", "Improvement actions", "My value", "Staff pulse",
                   "Staff pulse results"],
        "surveys": ["Surveys", "Paper questionnaires", "Survey invitation"],
        "mystery": ["Mystery shopper reports"],
        "internal": ["Rate HQ departments", "Internal complaints"],
        "complaints": ["Complaints", "Complaint figures"]}),
    ("shopper", {"mystery": ["My visits"]}),
    ("department_head", {"internal": ["Internal complaints", "HQ departments"]}),
    ("hr", {
        "stores": ["Stores", "Regions", "Improvement actions", "Quarters"],
        "surveys": ["Surveys"],
        "mystery": ["Mystery shopper reports", "Mystery-shopper figures"],
        "complaints": ["Complaints", "Complaint figures", "Complaint charts"],
        "hr": ["Appraisal & bonus"]}),
])
def test_each_role_sees_only_the_menus_that_hold_links_for_it(request, login, persona,
                                                              expected):
    user = request.getfixturevalue(persona)
    header = _header(login(user), "/notifications/", **ENGLISH)
    assert _groups(header) == expected
    # A menu of one link is that link on the bar: no menu holding a single entry.
    for key, links in expected.items():
        shown_as = "nav-single" if len(links) == 1 else "nav-group"
        assert f'<li class="{shown_as}" data-nav-group="{key}">' in header


def test_the_menus_are_named_by_task_and_a_store_sees_its_own_store_first(login, hq,
                                                                          store_manager):
    hq_header = _header(login(hq), **ENGLISH)
    for label in ("Stores & scores", "Surveys", "Mystery shopping", "Complaints", "Setup"):
        assert f'<span class="nav-label">{label}</span>' in hq_header
    assert '<span class="nav-label">My store</span>' in _header(login(store_manager), **ENGLISH)
    chinese = _header(login(hq), HTTP_ACCEPT_LANGUAGE="zh-hans")
    for label in ("门店与评估值", "抽样调查", "神秘顾客", "顾客投诉", "设置"):
        assert f'<span class="nav-label">{label}</span>' in chinese


def test_the_account_menu_holds_the_name_role_admin_and_log_out(login, hq, shopper):
    header = _header(login(hq), **ENGLISH)
    account = header[header.index('aria-label="Account"'):]
    with translation.override("en"):
        who = f"{hq.get_full_name() or hq.username} · {hq.get_role_display()}"
    assert who in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", account))
    assert f'href="{reverse("admin:index")}"' in account
    assert f'action="{reverse("logout")}"' in account
    assert "Log out" in account
    shopper_header = _header(login(shopper), "/notifications/", **ENGLISH)
    assert 'href="/admin/"' not in shopper_header
    assert "Log out" in shopper_header


def test_the_bell_is_named_by_its_text_and_the_unread_count(login, store_manager):
    client = login(store_manager)
    header = _header(client, **ENGLISH)
    bell = re.search(r'<a href="/notifications/" class="bell".*?</a>', header, re.S).group(0)
    assert "aria-label" not in bell  # named by its content: the label can't mismatch the text
    assert "Notifications" in bell
    assert "unread" not in bell
    for n in range(3):
        Notification.objects.create(user=store_manager, title=f"note {n}")
    header = _header(client, **ENGLISH)
    bell = re.search(r'<a href="/notifications/" class="bell".*?</a>', header, re.S).group(0)
    name = re.sub(r"<span[^>]*aria-hidden=\"true\"[^>]*>.*?</span>", "", bell)
    name = re.sub(r"<svg.*?</svg>", "", name, flags=re.S)
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", name)).strip() == \
        "Notifications (3 unread)"
    assert 'data-testid="unread-count">3</span>' in bell
    chinese = _header(client, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "通知" in chinese
    assert "（3 条未读）" in chinese


def test_languages_are_listed_by_their_own_names(client, login, hq):
    for page in (client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans"),
                 login(hq).get("/stores/", HTTP_ACCEPT_LANGUAGE="en")):
        options = re.findall(r'<option value="([^"]+)" lang="[^"]+"[^>]*>([^<]+)</option>',
                             page.content.decode())
        assert sorted(options) == [("en", "English"), ("zh-hans", "简体中文")]
    assert "英语" not in client.get("/accounts/login/",
                                  HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_icons_are_inline_svg_hidden_from_screen_readers(login, hq):
    header = _header(login(hq), **ENGLISH)
    icons = re.findall(r"<svg\b[^>]*>", header)
    assert icons
    for svg in icons:
        assert 'aria-hidden="true"' in svg
        assert 'focusable="false"' in svg
        assert 'stroke="currentColor"' in svg
        assert "style=" not in svg
    assert 'aria-controls="site-menu"' in header
    assert 'aria-expanded="false"' in header


EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F]")


def test_no_template_holds_an_emoji():
    """Emoji render as empty boxes on a PC without an emoji font: icons are inline SVG."""
    base = Path(settings.BASE_DIR)
    found = []
    for path in sorted(base.glob("**/templates/**/*.html")):
        if ".venv" in path.parts or "node_modules" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{path.relative_to(base)}:{number}: {m.group(0)!r}"
                      for m in EMOJI.finditer(line)]
    assert found == []


def test_the_customer_pages_carry_the_chains_name_not_the_products(client, login, settings,
                                                                    store, store_manager):
    settings.CHAIN_NAME = "老百姓健康药房"
    pages = [client.get(f"/q/{store.code}"), client.get(f"/complain/{store.code}"),
             client.get("/ticket/"),
             login(store_manager).get(reverse("complaints:poster", args=[store.code]))]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200, page.request["PATH_INFO"]
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        assert title.endswith("· 老百姓健康药房"), title
        assert '<span class="brand" data-testid="brand">老百姓健康药房</span>' in html
        for internal in ("Satisfaction management", "满意度管理"):
            assert internal not in html
        assert 'aria-label="Main"' not in html
        assert "主导航" not in html


def test_without_a_chain_name_the_customer_sees_the_stores(client, settings, store):
    settings.CHAIN_NAME = ""
    html = client.get(f"/complain/{store.code}").content.decode()
    assert '<span class="brand" data-testid="brand">上海人民路店</span>' in html
    ticket = client.get("/ticket/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<span class="brand" data-testid="brand">顾客服务</span>' in ticket


def test_staff_pages_keep_the_products_name(login, hq):
    html = login(hq).get("/stores/", **ENGLISH).content.decode()
    assert "· Satisfaction management</title>" in html


# --- In a browser ---------------------------------------------------------------------------

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_menus_work_from_the_keyboard_and_never_scroll_sideways(browser_page, browser_login,
                                                                     hq, store):
    page = browser_page
    browser_login(page, "hq")
    for language in ("en", "zh-hans"):
        page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language,
                                   "url": page.live_url("/")}])
        # Wide screen: the menus are on the bar; Enter opens one, another closes it, Escape
        # closes and gives the focus back, a click outside closes.
        page.set_viewport_size({"width": 1366, "height": 768})
        for path in ("/", "/stores/", "/notifications/", f"/complaints/poster/{store.code}/"):
            page.goto(page.live_url(path))
            assert page.evaluate(NO_OVERFLOW), (language, 1366, path)
        page.goto(page.live_url("/stores/"))
        assert page.locator("html").get_attribute("lang") == language
        stores = page.locator("[data-nav-group=stores] summary")
        surveys = page.locator("[data-nav-group=surveys] summary")
        stores.focus()
        page.keyboard.press("Enter")
        assert page.locator("[data-nav-group=stores] a[href='/stores/']").is_visible()
        assert page.evaluate(NO_OVERFLOW)
        page.keyboard.press("Tab")  # into the open menu
        assert page.evaluate("document.activeElement.closest('[data-nav-group]').dataset"
                             ".navGroup") == "stores"
        surveys.focus()
        page.keyboard.press("Enter")
        assert page.locator("[data-nav-group=surveys] details").get_attribute("open") is not None
        assert page.locator("[data-nav-group=stores] details").get_attribute("open") is None
        page.keyboard.press("Escape")
        assert page.locator("details[open]").count() == 0
        assert page.evaluate("document.activeElement.closest('[data-nav-group]').dataset"
                             ".navGroup") == "surveys"
        page.keyboard.press("Enter")
        page.mouse.click(600, 600)
        assert page.locator("details[open]").count() == 0

        # Phone: one menu button opens every menu as one list.
        page.set_viewport_size({"width": 360, "height": 740})
        for path in ("/", "/stores/", "/notifications/"):
            page.goto(page.live_url(path))
            assert page.evaluate(NO_OVERFLOW), (language, 360, path)
        toggle = page.locator("[data-nav-toggle]")
        assert not page.locator("[data-nav-group=complaints] a[href='/complaints/']").is_visible()
        toggle.focus()
        page.keyboard.press("Enter")
        assert toggle.get_attribute("aria-expanded") == "true"
        for href in ("/stores/", "/complaints/", "/setup/", "/notifications/"):
            assert page.locator(f"header a[href='{href}']").first.is_visible(), href
        assert page.evaluate(NO_OVERFLOW), (language, 360, "menu open")
        page.keyboard.press("Escape")
        assert toggle.get_attribute("aria-expanded") == "false"
        assert page.evaluate("document.activeElement.hasAttribute('data-nav-toggle')")
    assert page.console_errors == []

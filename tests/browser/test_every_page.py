"""Every page each demo login reaches from its navigation, and the customer's public pages, at a
360x740 phone and a 1366x768 desktop, in zh-hans and English: the page does not scroll
sideways, axe-core finds no serious or critical accessibility violation, the console shows no
error and nothing answers 500.

One test per group of roles, so pytest-xdist spreads them; each seeds the demo chain (the same
data as ``make run``). The pages are the same-origin links in the page's <nav> (visible or inside a
closed menu), plus the detail pages a person opens first: the store page of S0001, the first
complaint of the list, the shopper's first visit and the first report in review.

axe-core is vendored in tests/browser/vendor/axe-core (only the tests load it). Set
``BROWSER_CRAWL_REPORT=/path/file.jsonl`` to append every finding as a JSON line (a
developer's report across roles).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from satisfaction.management.commands.seed_demo import seed_demo
from satisfaction.quarters import chain_zone

# The crawl checks what pages render, which does not depend on the database: it runs once, in
# the SQLite pass (about 2.5 minutes), and the PostgreSQL pass keeps the app's own browser tests.
pytestmark = [pytest.mark.browser, pytest.mark.sqlite_pass,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "pw-for-tests-2026"
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
AXE_FAILING_IMPACTS = {"serious", "critical"}
LANGUAGES = ["zh-hans", "en"]
PHONE, DESKTOP = (360, 740), (1366, 768)
# Links that end the session or leave the app's pages.
SKIPPED_PATHS = re.compile(r"/accounts/logout/|export/|/download|/api/")
# The first link of each kind found on a crawled page is crawled too: the detail pages a
# person opens first from the lists in the navigation.
DETAIL_LINKS = {
    "store page of S0001": re.compile(r"^/stores/S0001/$"),
    "first complaint": re.compile(r"^/complaints/\d+/$"),
    "first visit": re.compile(r"^/mystery-shopper/visits/\d+/(report/)?$"),
    "first report in review": re.compile(r"^/mystery-shopper/review/\d+/$"),
}
# Each test seeds the demo once (about 15 s on CI) and crawls a group of roles of about the
# same length, so the two CI processes share the crawl evenly (hq alone is the longest).
ROLES = [("hq",), ("region1", "hr"), ("store1", "clerk1"), ("shopper1", "customer")]

OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const root = document.documentElement;
  if (root.scrollWidth <= width) return null;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.classList.length ? '.' + [...el.classList].join('.') : '');
  const wide = [...document.body.querySelectorAll('*')]
    .filter(el => el.getBoundingClientRect().right > width + 1)
    .filter(el => !el.parentElement || el.parentElement.getBoundingClientRect().right <= width + 1)
    .slice(0, 5).map(el => name(el) + ' (right ' + Math.round(el.getBoundingClientRect().right)
      + ' px)');
  return {scrollWidth: root.scrollWidth, innerWidth: width, widest: wide};
}"""

NEXT_FRAME_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"

AXE_JS = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                           resultTypes: ['violations']});
  return {ran: 'violations' in results && 'passes' in results,
          violations: results.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(' '))}))};
}"""


@dataclass
class Crawl:
    role: str
    base: str
    problems: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    # Pages reached by filling in a form: the path of the form -> what the person does there.
    form_steps: dict[str, Callable] = field(default_factory=dict)
    visited: list[str] = field(default_factory=list)
    pages: int = 0
    checks: int = 0

    def fail(self, message: str, **finding) -> None:
        self.problems.append(message)
        self.findings.append({"role": self.role, **finding})


def _seed() -> None:
    seed_demo(seed=2026, password=PASSWORD, today=timezone.localdate(timezone=chain_zone()))


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _links(page, base: str, selector: str) -> list[str]:
    hrefs = page.eval_on_selector_all(
        selector, "els => els.filter(a => !a.hasAttribute('download')).map(a => a.href)")
    paths = []
    for href in hrefs:
        if not href.startswith(base + "/"):
            continue
        path = _path(href.split("#", 1)[0])
        if not SKIPPED_PATHS.search(path) and path not in paths:
            paths.append(path)
    return paths


def _check(page, crawl: Crawl, path: str, language: str) -> None:
    width = page.viewport_size["width"]
    where = f"{path} as {crawl.role}, {width} px, {language}"
    crawl.checks += 1
    overflow = page.evaluate(OVERFLOW_JS)
    if overflow:
        crawl.fail(f"{where}: scrolls sideways ({overflow['scrollWidth']} px > "
                   f"{overflow['innerWidth']} px); widest: {', '.join(overflow['widest'])}",
                   kind="overflow", path=path, width=width, language=language, detail=overflow)
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    result = page.evaluate(AXE_JS, AXE_TAGS)
    assert result["ran"], f"{where}: axe-core did not run"
    for violation in result["violations"]:
        if violation["impact"] in AXE_FAILING_IMPACTS:
            targets = violation["targets"]
            shown = "; ".join(targets[:4]) + (f" (+{len(targets) - 4} more)"
                                              if len(targets) > 4 else "")
            crawl.fail(f"{where}: axe {violation['impact']} {violation['id']} "
                       f"({violation['help']}) on {len(targets)} element(s): {shown}",
                       kind="axe", path=path, width=width, language=language, **violation)


def _visit(page, crawl: Crawl, path: str, language: str, done: list[str]) -> str | None:
    """Load ``path`` and check it at the current width and at the other one, unless it landed
    (after redirects) on a page in ``done``; the path it landed on, or None when it is no HTML
    page. A path in ``FORM_STEPS`` is a form page whose answer (after a POST) is checked too."""
    page.console_errors.clear()
    failed: list[str] = []
    # Every request of the page, the document's own included, that fails on the server; and
    # any the page asks for that is not there (the console shows those without their address).
    page.on("response", on_response := (
        lambda r: (r.status >= 500 or (r.status >= 400 and r.request.resource_type != "document"))
        and failed.append(f"{r.status} {_path(r.url)}")))
    try:
        try:
            response = page.goto(crawl.base + path, wait_until="load")
            if path in crawl.form_steps:
                with page.expect_navigation(wait_until="load") as navigation:
                    crawl.form_steps[path](page)
                response = navigation.value
        except PlaywrightError as error:  # a download aborts the navigation
            if "Download is starting" in str(error):
                return None
            raise
        landed = _path(page.url)
        if landed in done:
            return None
        where = f"{landed} as {crawl.role}, {language}"
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            return None
        crawl.pages += 1
        if response.status >= 400:
            crawl.fail(f"{where}: answered {response.status} (linked from the navigation)",
                       kind="status", path=landed, language=language, status=response.status)
            return landed
        _check(page, crawl, landed, language)
        other = PHONE if page.viewport_size["width"] == DESKTOP[0] else DESKTOP
        page.set_viewport_size({"width": other[0], "height": other[1]})
        # The window's resize event (charts redraw on it) comes with the next frame.
        page.evaluate(NEXT_FRAME_JS)
        _check(page, crawl, landed, language)
    finally:
        page.remove_listener("response", on_response)
    for text in page.console_errors:
        crawl.fail(f"{where}: console error: {text}", kind="console", path=landed,
                   language=language, text=text)
    for text in failed:
        crawl.fail(f"{where}: request answered {text}", kind="status", path=landed,
                   language=language, text=text)
    return landed


def _customer_pages(crawl: Crawl) -> list[str]:
    """The login page and a demo store's public pages: the counter questionnaire, the complaint
    form, and the ticket status page before and after a customer looks a ticket up."""
    from complaints.models import Complaint

    complaint = Complaint.objects.filter(store__code="S0001").exclude(customer_phone="").first()
    assert complaint is not None, "the demo has no complaint with a phone at S0001"
    lookup = f"/ticket/?t={complaint.ticket_no}&lookup"

    def look_up(page) -> None:
        page.fill("[name=phone_last4]", complaint.customer_phone[-4:])
        page.locator("main form button[type=submit]").click()

    crawl.form_steps[lookup] = look_up
    return ["/accounts/login/", "/q/S0001", "/complain/S0001",
            f"/ticket/?t={complaint.ticket_no}", lookup]


def _crawl(page, crawl: Crawl, start: list[str]) -> None:
    queue = list(start)
    seen_details: set[str] = set()
    done: dict[str, list[str]] = {language: [] for language in LANGUAGES}
    for language in LANGUAGES:
        page.context.add_cookies([{"name": "django_language", "value": language,
                                   "url": crawl.base}])
        queue_here = list(queue)
        for path in queue_here:
            landed = _visit(page, crawl, path, language, done[language])
            if landed is None:
                continue
            done[language].append(landed)
            crawl.visited = done[LANGUAGES[0]]
            if language != LANGUAGES[0]:
                continue
            for kind, pattern in DETAIL_LINKS.items():
                if kind in seen_details:
                    continue
                found = [p for p in _links(page, crawl.base, "main a[href]") if pattern.match(p)]
                if found:
                    seen_details.add(kind)
                    queue.append(found[0])
                    queue_here.append(found[0])


def _write_report(crawl: Crawl) -> None:
    target = os.environ.get("BROWSER_CRAWL_REPORT")
    if target:
        with Path(target).open("a", encoding="utf-8") as report:
            for finding in crawl.findings:
                report.write(json.dumps(finding, ensure_ascii=False) + "\n")


def _crawl_role(page, role: str, base: str, browser_login) -> Crawl:
    page.context.clear_cookies()
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    crawl = Crawl(role=role, base=base)
    if role == "customer":
        start = _customer_pages(crawl)
    else:
        browser_login(page, role, PASSWORD)
        assert "/accounts/login/" not in page.url, f"{role} could not log in"
        start = list(dict.fromkeys([_path(page.url), *_links(page, base, "nav a[href]")]))
    _crawl(page, crawl, start)
    assert crawl.checks >= 4, f"{role}: no page was checked"
    return crawl


@pytest.mark.parametrize("roles", [pytest.param(group, id="+".join(group)) for group in ROLES])
def test_every_page_fits_is_accessible_and_has_no_errors(roles, browser_page, browser_login,
                                                        live_server):
    started = time.monotonic()
    _seed()
    timing = [f"seeded in {time.monotonic() - started:.1f} s"]
    problems: list[str] = []
    for role in roles:
        began = time.monotonic()
        crawl = _crawl_role(browser_page, role, live_server.url, browser_login)
        timing.append(f"{role}: {crawl.pages} page loads, {crawl.checks} checks in "
                      f"{time.monotonic() - began:.1f} s")
        crawl.findings.append({"role": role, "kind": "timing", "text": timing[-1], "path": "",
                               "language": "", "visited": crawl.visited})
        _write_report(crawl)
        problems += crawl.problems
    print("; ".join(timing))  # noqa: T201
    if problems:
        pytest.fail(f"{len(problems)} problem(s):\n" + "\n".join(problems), pytrace=False)

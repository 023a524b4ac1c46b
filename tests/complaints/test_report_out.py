"""The report goes out (投诉处理报告 … 报告给顾客和上级): closing a complaint whose grade needs the
8D report sends the customer a masked summary (e-mail through the outbox, or a printable
letter) and the owner's superior the full report, and the history says what went to whom."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from complaints import services
from complaints.models import Complaint, ComplaintEvent, Status
from complaints.services.reports import (
    CUSTOMER_KIND,
    SUPERIOR_KIND,
    customer_email_compose,
    customer_letter_compose,
    report_superiors,
)
from satisfaction import delivery
from satisfaction.errors import ApplicationError
from satisfaction.masking import mask_text
from satisfaction.models import Delivery, Notification, Role
from tests.complaints.factories import make_complaint
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DESCRIPTION = ("我是张三，电话 138-1234-1234，邮箱 zhangsan@example.com。2026-11-24 在店里买药，"
               "店员李店员态度很差。")
ROOT_CAUSE = "收货验收未逐件核对效期，陈列巡检漏项。"
SECTIONS = {
    "d1_team": "店长、当班药师", "d2_problem": "顾客反映属实。", "d3_containment": "当日致歉。",
    "d4_root_cause": ROOT_CAUSE, "d5_corrective_action": "增加效期双人复核。",
    "d6_implementation": "已培训全店员工。", "d7_prevention": "写入标准作业流程。",
    "d8_closure": "顾客满意。",
}
SUMMARY = "经核实问题属实，王店长已当面向您致歉，我们加强了员工培训。"
REMEDY = "向张三致歉并退款 35 元"


@pytest.fixture
def named(hq, region_manager, store_manager):
    """Real names, as the superior's copy and the history show them."""
    for user, first in ((hq, "客户关系部"), (region_manager, "华东区经理"),
                        (store_manager, "王店长")):
        user.first_name = first
        user.save(update_fields=["first_name"])


def _resolved(store, hq, owner, grade: str, **extra) -> Complaint:
    complaint = make_complaint(store, description=DESCRIPTION, **extra)
    services.complaint_triage(complaint=complaint, user=hq, version=complaint.version,
                              grade=grade, substantiated=True, responsibility="own_store",
                              owner=owner)
    return services.complaint_resolve(complaint=complaint, user=owner, version=complaint.version,
                                      remedy=REMEDY, customer_satisfied=True)


def _write_8d(client, complaint: Complaint, *, summary: str = SUMMARY) -> None:
    page = client.post(reverse("complaints:eight_d", args=[complaint.pk]),
                       {**SECTIONS, "customer_summary": summary, "version": 1})
    assert page.status_code == 302, page.content.decode()


def _close_on_the_page(client, complaint: Complaint):
    complaint.refresh_from_db()
    return client.post(reverse("complaints:detail", args=[complaint.pk]),
                       {"form": "close", "version": complaint.version, "note": ""})


def _report_events(complaint: Complaint) -> list[dict]:
    return [e.changes for e in ComplaintEvent.objects.filter(complaint=complaint,
                                                              action="report_sent")]


# --- Grade A, customer with e-mail ------------------------------------------------------------

def test_closing_an_a_complaint_emails_the_customer_a_masked_summary_and_hq_the_full_report(
        login, store, hq, store_manager, region_manager, clerk, emails, named):
    complaint = _resolved(store, hq, store_manager, "A", customer_name="张三",
                          customer_email="zhangsan@example.com")
    client = login(store_manager)
    _write_8d(client, complaint)
    assert _close_on_the_page(client, complaint).status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED

    customer = Delivery.objects.get(kind=CUSTOMER_KIND)
    assert customer.user is None
    assert customer.address == "zhangsan@example.com"
    assert customer.url == f"{reverse('complaints_public:ticket')}?t={complaint.ticket_no}"
    body = customer.body
    assert complaint.ticket_no in customer.title
    assert complaint.ticket_no in body
    assert store.name in body
    assert "138****1234" in body
    assert "z***@example.com" in body
    assert "2026-11-24" in body  # a date is not a phone number
    assert "王**已当面向您致歉" in body
    assert "退款 35 元" in body
    for secret in ("13812341234", "138-1234-1234", "zhangsan@", "张三", "李店员", "王店长",
                   ROOT_CAUSE, "D4", "店长、当班药师"):
        assert secret not in body, secret

    # HQ (grade A) in the app and by e-mail, with every section; not the region manager.
    notes = Notification.objects.filter(kind=SUPERIOR_KIND)
    assert [n.user for n in notes] == [hq]
    assert ROOT_CAUSE in notes[0].body
    assert SUMMARY in notes[0].body
    assert notes[0].url == reverse("complaints:eight_d_print", args=[complaint.pk])
    superior_mail = Delivery.objects.get(kind=SUPERIOR_KIND)
    assert (superior_mail.user, superior_mail.address) == (hq, "hq@example.com")
    assert Delivery.objects.filter(kind__startswith="complaint_report").count() == 2

    assert _report_events(complaint) == [
        {"recipient": "customer", "via": "email", "to": "z***@example.com", "cycle": 1},
        {"recipient": "superior", "via": "app_email", "to": ["客户关系部"], "cycle": 1}]
    page = client.get(reverse("complaints:detail", args=[complaint.pk]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Handling report e-mailed to the customer (z***@example.com)" in page
    assert ("Full handling report sent to the superior in the app and by e-mail: 客户关系部"
            in page)
    chinese = client.get(reverse("complaints:detail", args=[complaint.pk]),
                         HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "处理报告已通过电子邮件发送给顾客（z***@example.com）" in chinese


def test_the_sweep_sends_the_customer_and_the_superior_their_emails(
        login, store, hq, store_manager, emails, settings):
    settings.PUBLIC_BASE_URL = "https://service.example.cn"
    complaint = _resolved(store, hq, store_manager, "A", customer_email="kunde@example.com")
    client = login(store_manager)
    _write_8d(client, complaint)
    delivery.deliveries_send_due()  # what triage told the owner
    mail.outbox.clear()
    _close_on_the_page(client, complaint)

    result = delivery.deliveries_send_due()
    assert result.sent == 2
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"kunde@example.com", "hq@example.com"}
    customer = by_address["kunde@example.com"]
    assert customer.body.endswith(
        f"https://service.example.cn/ticket/?t={complaint.ticket_no}")
    assert ROOT_CAUSE not in customer.body
    assert "/complaints/" not in customer.body  # no internal page
    hq_mail = by_address["hq@example.com"]
    assert ROOT_CAUSE in hq_mail.body
    assert hq_mail.body.endswith(f"/complaints/{complaint.pk}/8d/print/")


# --- Grade B, customer without e-mail: the letter ---------------------------------------------

def test_a_b_complaint_without_email_becomes_a_letter_and_the_region_manager_gets_the_copy(
        login, store, hq, store_manager, region_manager, clerk, other_store_manager, shopper,
        emails, named):
    complaint = _resolved(store, hq, clerk, "B", customer_name="张三")
    _write_8d(login(clerk), complaint)
    complaint.refresh_from_db()
    closed = login(clerk).post(f"/api/v1/complaints/{complaint.pk}/close/",
                               {"version": complaint.version}, content_type="application/json")
    assert closed.status_code == 200, closed.json()

    assert not Delivery.objects.filter(user__isnull=True).exists()
    notes = Notification.objects.filter(kind=SUPERIOR_KIND)
    assert [n.user for n in notes] == [region_manager]
    assert ROOT_CAUSE in notes[0].body
    assert Delivery.objects.get(kind=SUPERIOR_KIND).address == "region1@example.com"
    assert _report_events(complaint) == [
        {"recipient": "customer", "via": "letter", "to": "张*", "cycle": 1},
        {"recipient": "superior", "via": "app_email", "to": ["华东区经理"], "cycle": 1}]

    url = reverse("complaints:letter", args=[complaint.pk])
    for user in (clerk, store_manager, region_manager, hq):
        page = login(user).get(url)
        assert page.status_code == 200, user
    letter = login(store_manager).get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "王**已当面向您致歉" in letter
    assert "138****1234" in letter
    assert "退款 35 元" in letter
    assert store.name in letter
    for secret in (ROOT_CAUSE, "张三", "李店员", "13812341234", "zhangsan@",
                   "Satisfaction management"):
        assert secret not in letter, secret
    assert "print.css" in letter
    assert login(other_store_manager).get(url).status_code == 404
    assert login(shopper).get(url).status_code == 403

    detail = login(store_manager).get(reverse("complaints:detail", args=[complaint.pk]),
                                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="{url}" data-testid="letter-link"' in detail
    assert "Handling report for the customer (张*): print it and send it as a letter" in detail

    # The superior's link: the full report, with what the customer was told.
    printed = login(region_manager).get(notes[0].url).content.decode()
    assert ROOT_CAUSE in printed
    assert SUMMARY in printed


def test_the_letter_uses_the_chains_name_when_one_is_set(login, store, hq, store_manager,
                                                         settings):
    settings.CHAIN_NAME = "老百姓健康药房"
    complaint = _resolved(store, hq, store_manager, "B")
    client = login(store_manager)
    _write_8d(client, complaint)
    _close_on_the_page(client, complaint)
    letter = client.get(reverse("complaints:letter", args=[complaint.pk])).content.decode()
    assert letter.count("老百姓健康药房") >= 2


def test_a_clerk_who_does_not_own_the_complaint_may_not_open_the_letter(
        login, store, hq, store_manager, clerk):
    complaint = _resolved(store, hq, store_manager, "B")
    client = login(store_manager)
    _write_8d(client, complaint)
    _close_on_the_page(client, complaint)
    assert login(clerk).get(reverse("complaints:letter", args=[complaint.pk])).status_code == 403


def test_there_is_no_letter_before_the_complaint_is_closed(login, store, hq, store_manager):
    complaint = _resolved(store, hq, store_manager, "B")
    _write_8d(login(store_manager), complaint)
    url = reverse("complaints:letter", args=[complaint.pk])
    assert login(store_manager).get(url).status_code == 404


# --- Refused and not sent ---------------------------------------------------------------------

def test_closing_without_a_customer_summary_is_a_field_error_and_writes_nothing(
        login, store, hq, store_manager, emails):
    complaint = _resolved(store, hq, store_manager, "A", customer_email="kunde@example.com")
    client = login(store_manager)
    _write_8d(client, complaint, summary="  ")
    complaint.refresh_from_db()
    events_before = ComplaintEvent.objects.filter(complaint=complaint).count()

    page = _close_on_the_page(client, complaint)
    assert page.status_code == 400
    assert "结案前请在8D报告中填写“给顾客的说明”" in page.content.decode()
    api = client.post(f"/api/v1/complaints/{complaint.pk}/close/",
                      {"version": complaint.version}, content_type="application/json")
    assert api.status_code == 400
    assert api.json()["code"] == "customer_summary_required"
    assert list(api.json()["fields"]) == ["customer_summary"]

    complaint.refresh_from_db()
    assert complaint.status == Status.RESOLVED
    assert ComplaintEvent.objects.filter(complaint=complaint).count() == events_before
    assert not Delivery.objects.filter(kind__startswith="complaint_report").exists()
    assert not Notification.objects.filter(kind=SUPERIOR_KIND).exists()


def test_the_8d_page_shows_the_customer_summary_as_its_own_field(login, store, hq, store_manager):
    complaint = _resolved(store, hq, store_manager, "B")
    page = login(store_manager).get(reverse("complaints:eight_d", args=[complaint.pk]),
                                    HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="customer_summary"' in page
    _write_8d(login(store_manager), complaint)
    assert complaint.eight_d.customer_summary == SUMMARY
    api = login(store_manager).get(f"/api/v1/complaints/{complaint.pk}/eight-d/").json()
    assert api["customer_summary"] == SUMMARY


def test_a_c_complaint_without_the_8d_requirement_sends_nothing(
        login, store, hq, store_manager, emails):
    complaint = _resolved(store, hq, store_manager, "C", customer_email="kunde@example.com")
    assert _close_on_the_page(login(store_manager), complaint).status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED
    assert _report_events(complaint) == []
    assert not Delivery.objects.filter(kind__startswith="complaint_report").exists()
    assert not Notification.objects.filter(kind=SUPERIOR_KIND).exists()
    url = reverse("complaints:letter", args=[complaint.pk])
    assert login(store_manager).get(url).status_code == 404


# --- A new cycle ------------------------------------------------------------------------------

def test_a_reopened_complaint_closed_again_sends_again_in_its_new_cycle(
        login, store, hq, store_manager, emails):
    complaint = _resolved(store, hq, store_manager, "B", customer_email="kunde@example.com")
    client = login(store_manager)
    _write_8d(client, complaint)
    _close_on_the_page(client, complaint)
    complaint.refresh_from_db()
    services.complaint_reopen(complaint=complaint, user=store_manager, version=complaint.version,
                              note="顾客再次来电")
    services.complaint_resolve(complaint=complaint, user=store_manager,
                               version=complaint.version, remedy=REMEDY, customer_satisfied=True)
    assert _close_on_the_page(client, complaint).status_code == 302
    assert [(e["recipient"], e["cycle"]) for e in _report_events(complaint)] == [
        ("customer", 1), ("superior", 1), ("customer", 2), ("superior", 2)]
    assert Delivery.objects.filter(kind=CUSTOMER_KIND).count() == 2
    page = client.get(reverse("complaints:detail", args=[complaint.pk]),
                      HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "handling cycle 2" in page


# --- Superiors --------------------------------------------------------------------------------

def test_the_superior_is_hq_when_the_owner_is_a_region_manager(store, hq, region_manager):
    complaint = _resolved(store, hq, region_manager, "B")
    assert report_superiors(complaint) == [hq]


def test_the_superior_is_hq_when_the_region_has_no_manager(other_store, hq):
    owner = UserFactory(role=Role.STORE_MANAGER, stores=[other_store])
    complaint = _resolved(other_store, hq, owner, "C")
    assert report_superiors(complaint) == [hq]


# --- Intake of the customer's e-mail ----------------------------------------------------------

def test_the_customer_email_is_taken_by_every_intake(login, store, store_manager):
    staff = login(store_manager).post(reverse("complaints:create"), {
        "store": store.pk, "channel": "in_store", "category": "price",
        "description": "多收钱", "customer_email": "a@example.com"})
    assert staff.status_code == 302, staff.content.decode()
    public = login(store_manager).post(
        reverse("complaints_public:complain", args=[store.code]), {
            "customer_phone": "13812341234", "category": "price", "description": "多收钱",
            "customer_email": "b@example.com"})
    assert public.status_code == 200
    api = login(store_manager).post("/api/v1/complaints/", {
        "store": store.code, "channel": "pos", "category": "price", "description": "多收钱",
        "customer_email": "c@example.com"}, content_type="application/json")
    assert api.status_code == 201
    assert api.json()["customer_email"] == "c@example.com"  # the store manager sees contacts
    assert sorted(Complaint.objects.values_list("customer_email", flat=True)) == [
        "a@example.com", "b@example.com", "c@example.com"]


def test_an_invalid_customer_email_is_a_field_error(login, store, store_manager):
    api = login(store_manager).post("/api/v1/complaints/", {
        "store": store.code, "channel": "pos", "category": "price", "description": "多收钱",
        "customer_email": "not-an-address"}, content_type="application/json")
    assert api.status_code == 400
    assert "customer_email" in api.json()["fields"]
    with pytest.raises(ApplicationError) as error:
        make_complaint(store, customer_email="x@")
    assert list(error.value.fields) == ["customer_email"]
    assert Complaint.objects.count() == 0


# --- The texts (pure) -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "masked"), [
    ("电话13812341234", "电话138****1234"),
    ("call +86 138 1234 1234 now", "call 861****1234 now"),
    ("座机 021-6543-2100", "座机 021****2100"),
    ("写信到 Li.Si+x@mail.example.cn 谢谢", "写信到 L***@mail.example.cn 谢谢"),
    ("2026-11-24 买了 2 盒，35 元", "2026-11-24 买了 2 盒，35 元"),
    ("张三说李店员不理他", "张*说李**不理他"),
])
def test_free_text_is_masked(text, masked):
    assert mask_text(text, names=["张三", "李店员", "", "王"]) == masked


def test_the_customer_email_text_has_no_root_cause_and_no_d_sections(store, hq, store_manager):
    complaint = _resolved(store, hq, store_manager, "A", customer_name="张三")
    report = services.eight_d_save(complaint=complaint, user=store_manager, version=1,
                                   sections=SECTIONS, customer_summary=SUMMARY)
    letter = customer_letter_compose(complaint=complaint, report=report,
                                     names=["张三", "王店长"], letterhead="老百姓健康药房")
    title, body = customer_email_compose(letter)
    assert "老百姓健康药房" in title
    assert body.endswith("老百姓健康药房")
    for section in SECTIONS.values():
        assert section not in body
    assert "王**" in body

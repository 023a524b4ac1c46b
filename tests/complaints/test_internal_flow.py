"""Internal complaints (issue 18, part 3): a store's complaint to an HQ department, on the
customer complaint's machinery. The "Done when" flow through the pages, and who sees what."""

from __future__ import annotations

import re

import pytest

from complaints import services
from complaints.models import Complaint, ComplaintKind, Status
from internal_service.models import DepartmentRating
from satisfaction.errors import ApplicationError
from satisfaction.models import Notification, Role
from tests.factories import UserFactory, department

pytestmark = pytest.mark.django_db


def _file(client, store, code="logistics", text="补货单审批三天仍未到货，降压药断货"):
    return client.post("/complaints/internal/new/", {
        "store": store.pk, "department": department(code).pk, "description": text})


def test_a_store_rates_a_department_and_its_head_handles_and_closes_its_complaint(
        login, store, store_manager, department_head, hq):
    manager = login(store_manager)
    # The store manager rates logistics for the quarter ...
    response = manager.post("/internal/departments/logistics/", {
        "responsiveness": "2", "support": "3", "communication": "2", "overall": "2",
        "comment": "补货太慢"})
    assert response.status_code == 302
    assert DepartmentRating.objects.get().overall == 2
    # ... and files an internal complaint to it: the department's head owns it at once.
    response = _file(manager, store)
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert complaint.kind == ComplaintKind.INTERNAL
    assert (complaint.owner, complaint.status, complaint.grade) == (
        department_head, Status.ASSIGNED, "")
    assert complaint.ticket_no.startswith("I")
    assert complaint.due_at is not None  # the customer complaint's 24-hour clock runs
    assert Notification.objects.filter(user=department_head,
                                       kind="internal_complaint_new").exists()

    # The department head sees it, starts and resolves it: the same services.
    head = login(department_head)
    listing = head.get("/complaints/internal/")
    assert complaint.ticket_no in listing.content.decode()
    page = f"/complaints/internal/{complaint.pk}/"
    assert head.post(page, {"form": "start", "version": complaint.version,
                            "note": ""}).status_code == 302
    complaint.refresh_from_db()
    assert head.post(page, {"form": "resolve", "version": complaint.version, "note": "",
                            "remedy": "已加急补货，明日到店"}).status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.RESOLVED
    assert complaint.resolved_on_time
    # Not closed before the store has answered.
    assert head.post(page, {"form": "close", "version": complaint.version,
                            "note": ""}).status_code == 400

    # The store says it is satisfied; the head closes it.
    assert manager.post(page, {"form": "confirm", "version": complaint.version, "note": "",
                               "satisfied": "yes"}).status_code == 302
    complaint.refresh_from_db()
    assert complaint.customer_satisfied is True
    assert head.post(page, {"form": "close", "version": complaint.version,
                            "note": ""}).status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED

    # HQ's page shows the figures.
    body = login(hq).get("/dashboard/departments/").content.decode()
    assert 'data-testid="row-logistics-chain"' in body
    row = body.split('data-testid="row-logistics-chain"')[1].split("</tr>")[0]
    cells = [c.split(">", 1)[1].split("<")[0] for c in row.split("<td")[1:]]
    # mean of (2, 3, 2, 2) on 1..5 -> 1.25 of 4 -> 31.25 -> 31.3; one rating; one complaint,
    # none open or overdue, 100 % on time, 1 of 1 closed with the store satisfied
    assert cells[2:4] == ["31.3", "1"]
    assert cells[5:7] == ["1", "0"]
    assert "100.0" in row
    assert "1 / 1" in row


def test_another_stores_manager_and_another_departments_head_get_404(
        login, store, store_manager, other_store_manager, department_head, hq):
    complaint = services.internal_complaint_create(
        user=store_manager, store=store, department=department("logistics"),
        description="配送少了两箱")
    it_head = UserFactory(username="dept-it", role=Role.DEPARTMENT_HEAD,
                          departments=[department("it")])
    page = f"/complaints/internal/{complaint.pk}/"
    assert login(other_store_manager).get(page).status_code == 404
    assert login(it_head).get(page).status_code == 404
    assert login(it_head).post(page, {"form": "start", "version": complaint.version,
                                      "note": ""}).status_code == 404
    assert login(department_head).get(page).status_code == 200
    assert login(hq).get(page).status_code == 200
    assert login(store_manager).get(page).status_code == 200
    # The other store's list does not show it; the IT head's list neither.
    for user in (other_store_manager, it_head):
        assert complaint.ticket_no not in login(user).get(
            "/complaints/internal/").content.decode()


def test_a_department_head_sees_nothing_of_customer_complaints_and_an_internal_one_is_no_customer_complaint(  # noqa: E501
        login, store, store_manager, department_head):
    from tests.complaints.factories import make_complaint

    customer = make_complaint(store)
    internal = services.internal_complaint_create(
        user=store_manager, store=store, department=department("logistics"),
        description="配送少了两箱")
    head = login(department_head)
    assert head.get("/complaints/").status_code == 403
    assert head.get(f"/complaints/{customer.pk}/").status_code == 403
    # The customer pages and API do not know the internal complaint.
    manager = login(store_manager)
    assert manager.get(f"/complaints/{internal.pk}/").status_code == 404
    assert internal.ticket_no not in manager.get("/complaints/").content.decode()
    assert manager.get(f"/api/v1/complaints/{internal.pk}/").status_code == 404
    # The department head lands on the internal complaints.
    assert head.get("/").url == "/complaints/internal/"


def test_the_store_may_not_handle_its_own_internal_complaint_and_the_head_may_not_answer_for_it(
        store, store_manager, department_head):
    complaint = services.internal_complaint_create(
        user=store_manager, store=store, department=department("logistics"),
        description="配送少了两箱")
    with pytest.raises(ApplicationError) as refused:
        services.complaint_start(complaint=complaint, user=store_manager,
                                 version=complaint.version)
    assert refused.value.status == 403
    services.complaint_resolve(complaint=complaint, user=department_head,
                               version=complaint.version, remedy="已补发",
                               customer_satisfied=True)
    complaint.refresh_from_db()
    assert complaint.customer_satisfied is None  # the store answers, not the department
    with pytest.raises(ApplicationError) as refused:
        services.internal_complaint_confirm(complaint=complaint, user=department_head,
                                            version=complaint.version, satisfied=True)
    assert refused.value.status == 403


def test_an_unsatisfied_store_must_say_why_and_the_department_may_reopen_it(
        store, store_manager, department_head):
    complaint = services.internal_complaint_create(
        user=store_manager, store=store, department=department("logistics"),
        description="配送少了两箱")
    services.complaint_resolve(complaint=complaint, user=department_head,
                               version=complaint.version, remedy="已补发",
                               customer_satisfied=None)
    with pytest.raises(ApplicationError) as missing:
        services.internal_complaint_confirm(complaint=complaint, user=store_manager,
                                            version=complaint.version, satisfied=False)
    assert "note" in missing.value.fields
    services.internal_complaint_confirm(complaint=complaint, user=store_manager,
                                        version=complaint.version, satisfied=False,
                                        note="只补了一箱")
    services.complaint_reopen(complaint=complaint, user=department_head,
                              version=complaint.version, note="门店反馈仍缺货")
    complaint.refresh_from_db()
    assert (complaint.status, complaint.cycle, complaint.customer_satisfied) == (
        Status.REOPENED, 2, None)


def test_an_internal_complaint_is_never_graded(store, store_manager, hq):
    complaint = services.internal_complaint_create(
        user=store_manager, store=store, department=department("pricing"),
        description="价签未同步")
    with pytest.raises(ApplicationError) as refused:
        services.complaint_triage(complaint=complaint, user=hq, version=complaint.version,
                                  grade="A", substantiated=True, responsibility="own_store",
                                  owner=None)
    assert refused.value.code == "internal"


def test_the_owner_is_the_head_with_fewest_open_internal_complaints_of_the_department(
        store, store_manager):
    logistics = department("logistics")
    first = UserFactory(username="head-a", role=Role.DEPARTMENT_HEAD, departments=[logistics])
    second = UserFactory(username="head-b", role=Role.DEPARTMENT_HEAD, departments=[logistics])
    owners = [services.internal_complaint_create(
        user=store_manager, store=store, department=logistics, description=f"第{n}次缺货"
    ).owner for n in range(3)]
    assert owners == [first, second, first]


def test_a_department_without_a_head_tells_hq_and_only_hq_handles_it(
        store, store_manager, hq, department_head):
    complaint = services.internal_complaint_create(
        user=store_manager, store=store, department=department("training"),
        description="新员工培训排期太晚")
    assert complaint.owner is None
    assert complaint.status == Status.NEW
    assert Notification.objects.filter(user=hq, kind="internal_complaint_new").exists()
    with pytest.raises(ApplicationError) as refused:
        services.complaint_start(complaint=complaint, user=department_head,
                                 version=complaint.version)
    assert refused.value.status == 403
    services.complaint_start(complaint=complaint, user=hq, version=complaint.version)


def test_only_the_stores_staff_file_internal_complaints(login, store, region_manager,
                                                        department_head, hq, clerk):
    for user in (region_manager, department_head, hq):
        assert login(user).get("/complaints/internal/new/").status_code == 403
    clerk_client = login(clerk)
    assert clerk_client.get("/complaints/internal/new/").status_code == 200
    assert _file(clerk_client, store).status_code == 302
    # An empty description is a form error, not a 500.
    assert _file(clerk_client, store, text="").status_code == 400


def test_a_store_cannot_file_for_another_store(login, store_manager, other_store):
    response = _file(login(store_manager), other_store)
    assert response.status_code == 400
    assert not Complaint.objects.exists()


def test_the_list_reads_a_fixed_number_of_queries(login, store, store_manager,
                                                   department_head,
                                                   django_assert_max_num_queries):
    for n in range(12):
        services.internal_complaint_create(
            user=store_manager, store=store, department=department("logistics"),
            description=f"第{n}次缺货")
    head = login(department_head)
    with django_assert_max_num_queries(12):
        response = head.get("/complaints/internal/")
    assert len(re.findall(r'href="/complaints/internal/\d+/"', response.content.decode())) == 12

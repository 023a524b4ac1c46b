"""Every URL of the project × every persona: who may read, who may write, own and foreign.

The objects all belong to store S0001 (region EAST) and, for visits, to ``shopper``. For the
personas of S0001's side (HQ, HR, EAST's manager, S0001's manager and clerk, the shopper and
S0001's POS key) they are their own; for the others (SOUTH's manager, S0011's manager, another
shopper, S0011's POS key) they are foreign, and those must never read or change them. The
head of the logistics department sees no store data: only the internal complaints to logistics
(S0001's one here) and the departments' page.

Outcomes:

- ``ok``: allowed (2xx, or a redirect that is not to a login page); a write may still be
  refused as invalid (400/409) as long as it is not refused as forbidden;
- ``login``: sent to the login page (pages, anonymous); ``admin_login``: the admin's;
- ``denied``: 401 or 403 (a role that may not use the page or the endpoint at all);
- ``404``: the object is outside the persona's scope;
- ``refused``: a create naming a store outside the persona's scope: 400, 403 or 404, never a
  2xx.

``TABLE`` has an entry for every named URL pattern of the project; a new URL without an entry
(or an entry for a URL that no longer exists) fails ``test_every_url_has_an_entry``. Each
request runs in a savepoint that is rolled back, so one persona's write never changes what the
next persona sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from complaints import services as complaint_services
from complaints.models import Category, Channel, EightDReport
from dashboard.models import ImprovementAction
from mystery_shopper.models import Appeal, Evidence, Visit, VisitStatus
from mystery_shopper.services import current_template
from pos.models import PosTransaction
from pos.services import pos_api_key_create
from satisfaction.models import Employee, EmployeeRole, Job, JobState, Notification, Role
from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from surveys.models import Indicator, Invitation, StoreFlag
from tests.dashboard.factories import (
    make_campaign,
    make_employee_score,
    make_response,
    make_rollup,
    make_store_score,
    make_visit,
)
from tests.factories import EmployeeFactory, UserFactory, department
from tests.mystery_shopper.factories import ShopperFactory, jpeg_bytes, jpeg_upload

pytestmark = pytest.mark.django_db

HQ, HR, RM, RM_OTHER = "hq", "hr", "region_manager", "other_region_manager"
SM, SM_OTHER, CLERK = "store_manager", "other_store_manager", "clerk"
SHOPPER, SHOPPER_OTHER, ANON, KEY, KEY_OTHER = ("shopper", "other_shopper", "anonymous",
                                                "pos_key", "other_pos_key")
# The head of an HQ department (logistics): no store data, the internal complaints to their
# department and its figures only.
DH = "department_head"
PERSONAS = (HQ, HR, RM, RM_OTHER, SM, SM_OTHER, CLERK, SHOPPER, SHOPPER_OTHER, ANON, KEY,
            KEY_OTHER, DH)
LOGGED_IN = (HQ, HR, RM, RM_OTHER, SM, SM_OTHER, CLERK, SHOPPER, SHOPPER_OTHER, DH)
STAFF = (HQ, HR, RM, RM_OTHER, SM, SM_OTHER, CLERK)  # everyone who works with store data
OWN = (HQ, HR, RM, SM, CLERK)  # staff who see S0001
FOREIGN = (RM_OTHER, SM_OTHER)  # staff who do not
SHOPPERS = (SHOPPER, SHOPPER_OTHER)
EVERYONE_OK = dict.fromkeys(PERSONAS, "ok")


def page(ok=(), missing=(), refused=(), **exact) -> dict[str, str]:
    """A page: ``ok`` personas allowed, ``missing`` get 404, other logged-in users 403,
    anonymous visitors and POS keys (no session) are sent to log in."""
    result = {}
    for persona in PERSONAS:
        if persona in ok:
            result[persona] = "ok"
        elif persona in missing:
            result[persona] = "404"
        elif persona in refused:
            result[persona] = "refused"
        elif persona in (ANON, KEY, KEY_OTHER):
            result[persona] = "login"
        else:
            result[persona] = "denied"
    result.update(exact)
    return result


def api(ok=(), missing=(), refused=(), **exact) -> dict[str, str]:
    """An API endpoint: as ``page``, but anonymous callers and keys are ``denied``."""
    result = page(ok, missing, refused)
    for persona in (ANON, KEY, KEY_OTHER):
        if result[persona] == "login":
            result[persona] = "denied"
    result.update(exact)
    return result


def pos_api(ok=(KEY,), missing=(), refused=(), **exact) -> dict[str, str]:
    """A POS endpoint (API key only): a session is not a key, so users are ``denied``."""
    return api(ok, missing, refused, **exact)


@dataclass
class Check:
    method: str
    expect: dict[str, str]
    data: Callable[[World], dict] | None = None
    json: bool = False
    multipart: bool = False


@dataclass
class Entry:
    url: Callable[[World], str]
    checks: list[Check] = field(default_factory=list)


def get(expect: dict[str, str]) -> Check:
    return Check("get", expect)


def post(expect: dict[str, str], data: Callable | None = None, *, json: bool = False,
         multipart: bool = False) -> Check:
    return Check("post", expect, data, json=json, multipart=multipart)


def write(method: str, expect: dict[str, str], data: Callable | None = None) -> Check:
    return Check(method, expect, data, json=True)


# --- The world ---------------------------------------------------------------------------------


@dataclass
class World:
    quarter: Quarter
    store: object
    other_store: object
    manager_employee: Employee
    clerk_employee: Employee
    users: dict
    secrets: dict
    campaign: object
    response: object
    invitation: object
    flag: object
    visit_open: object
    visit_done: object
    draft_evidence: Evidence
    photo: Evidence
    visit_appeal: Appeal
    complaint: object
    attachment: object
    action: ImprovementAction
    internal: object
    internal_attachment: object


@pytest.fixture
def world(settings, tmp_path, store, sibling_store, other_store, region, other_region,
          store_manager_employee) -> World:
    settings.MEDIA_ROOT = tmp_path
    quarter = Quarter.current()
    clerk_employee = EmployeeFactory(number="E00002", name="李店员", store=store)
    other_manager = EmployeeFactory(number="E00011", name="赵店长", store=other_store,
                                    role=EmployeeRole.STORE_MANAGER)
    shopper = ShopperFactory(username="shopper1", cities=[store.city])
    users = {
        HQ: UserFactory(username="hq", role=Role.HQ_ADMIN, is_staff=True),
        HR: UserFactory(username="hr", role=Role.HR),
        RM: UserFactory(username="region1", role=Role.REGIONAL_MANAGER, regions=[region]),
        RM_OTHER: UserFactory(username="region2", role=Role.REGIONAL_MANAGER,
                              regions=[other_region]),
        SM: UserFactory(username="store1", role=Role.STORE_MANAGER, stores=[store],
                        employee=store_manager_employee),
        SM_OTHER: UserFactory(username="store11", role=Role.STORE_MANAGER,
                              stores=[other_store], employee=other_manager),
        CLERK: UserFactory(username="clerk1", role=Role.CLERK, stores=[store],
                           employee=clerk_employee),
        SHOPPER: shopper,
        SHOPPER_OTHER: ShopperFactory(username="shopper2", cities=[store.city]),
        DH: UserFactory(username="dept-logistics", role=Role.DEPARTMENT_HEAD,
                        departments=[department("logistics")]),
    }
    _, key = pos_api_key_create(name="S0001 till", stores=[store])
    _, other_key = pos_api_key_create(name="S0011 till", stores=[other_store])

    campaign = make_campaign(quarter, ask_expectation=False)
    response = make_response(campaign, store, {"price": 4, "efficacy": 5},
                             employee=clerk_employee)
    invitation = Invitation.objects.create(token="tok-S0001-1", store=store, campaign=campaign,
                                           expires_at=timezone.now() + timedelta(days=7))
    flag = StoreFlag.objects.create(store=store, campaign=campaign, reasons=["cluster"])

    visit_open = Visit.objects.create(store=store, quarter=quarter, template=current_template(),
                                      shopper=shopper, status=VisitStatus.ASSIGNED,
                                      due_on=timezone.localdate() + timedelta(days=3))
    draft_evidence = Evidence.objects.create(
        visit=visit_open, kind="photo", content_type="image/jpeg", extension="jpg",
        size=10, uploaded_by=shopper, file=ContentFile(jpeg_bytes(), name="draft.jpg"))
    visit_done = make_visit(store, quarter=quarter, visited_on=timezone.localdate(),
                            score_pct=80.0, shopper=shopper, employee=clerk_employee)
    photo = Evidence.objects.create(
        visit=visit_done, kind="photo", content_type="image/jpeg", extension="jpg", size=10,
        uploaded_by=shopper, file=ContentFile(jpeg_bytes(), name="shop.jpg"))
    visit_appeal = Appeal.objects.create(visit=visit_done, raised_by=users[SM],
                                         reason="店员当天休假")

    complaint = complaint_services.complaint_create(
        store=store, channel=Channel.IN_STORE, category=Category.SERVICE_ATTITUDE,
        description="店员态度冷淡", customer_name="张先生", customer_phone="13800138000",
        received_by=users[CLERK], attachments=[jpeg_upload()])
    complaint = complaint_services.complaint_triage(
        complaint=complaint, user=users[HQ], version=complaint.version, grade="B",
        substantiated=True, responsibility="own_store", owner=users[SM])
    EightDReport.objects.create(complaint=complaint, d2_problem="态度冷淡")
    attachment = complaint.attachments.get()

    rollup = make_rollup(quarter, RollupStatus.PROVISIONAL)
    for shown in (store, other_store):
        make_store_score(rollup, shown, 70.0, survey=40, scenario=32, deductions=2)
    for employee in (store_manager_employee, clerk_employee, other_manager):
        make_employee_score(rollup, employee, 72.0)
    action = ImprovementAction.objects.create(
        store=store, quarter=quarter, title="价格标签复核", indicator_code="price",
        owner=store_manager_employee, deadline=timezone.localdate() + timedelta(days=10))
    PosTransaction.objects.create(store=store, receipt_number="R0001",
                                  occurred_at=timezone.now(), amount=10, item_count=1,
                                  received_at=timezone.now())
    internal = complaint_services.internal_complaint_create(
        user=users[SM], store=store, department=department("logistics"),
        description="补货单审批三天仍未到货", attachments=[jpeg_upload()])
    for user in users.values():
        Notification.objects.create(user=user, title="提醒")
    return World(internal=internal, internal_attachment=internal.attachments.get(),
                 quarter=quarter, store=store, other_store=other_store,
                 manager_employee=store_manager_employee, clerk_employee=clerk_employee,
                 users=users, secrets={KEY: key, KEY_OTHER: other_key}, campaign=campaign,
                 response=response, invitation=invitation, flag=flag, visit_open=visit_open,
                 visit_done=visit_done, draft_evidence=draft_evidence, photo=photo,
                 visit_appeal=visit_appeal, complaint=complaint, attachment=attachment,
                 action=action)


# --- What each write sends --------------------------------------------------------------------


def _receipt(w: World) -> dict:
    return {"store": "S0001", "receipt_number": "R0002",
            "occurred_at": timezone.now().isoformat(), "amount": "36.50", "item_count": 3}


def _complaint(w: World) -> dict:
    return {"store": "S0001", "channel": "phone", "category": "service_attitude",
            "description": "店员没有问病情就推荐药品。", "customer_phone": "13900139000"}


def _version(w: World) -> dict:
    return {"version": w.complaint.version, "note": ""}


def _form(kind: str) -> Callable[[World], dict]:
    return lambda w: {"form": kind, "version": w.complaint.version, "note": ""}


def _paper(w: World) -> dict:
    return {"store": "S0001", "campaign": w.campaign.pk, "r0_price": "4", "r0_efficacy": "5"}


def _survey_response(w: World) -> dict:
    return {"campaign": w.campaign.pk, "store": "S0001", "channel": "paper",
            "ratings": {"price": 4}}


def _pulse_answer(w: World) -> dict:
    return {"store": w.store.pk, "equipped": "4", "hq_support": "3", "recognition": "4",
            "pride": "5", "recommend": "4"}


def _upload(w: World) -> dict:
    return {"file": SimpleUploadedFile("p.jpg", jpeg_bytes(), content_type="image/jpeg")}


# --- The table -----------------------------------------------------------------------------------

PUBLIC = EVERYONE_OK
HQ_PAGE = page(ok=(HQ,))
HQ_API = api(ok=(HQ,))
STAFF_PAGE = page(ok=STAFF)
STAFF_API = api(ok=STAFF)
OWN_PAGE = page(ok=OWN, missing=FOREIGN)
OWN_API = api(ok=OWN, missing=FOREIGN)
# Handling a complaint: HQ, its owner (S0001's manager) and the region's manager; HR and the
# clerk see it but may not act; foreign staff do not see it.
HANDLERS_API = api(ok=(HQ, RM, SM), missing=FOREIGN)
HANDLERS_PAGE = page(ok=(HQ, RM, SM), missing=FOREIGN)
SHOPPER_OWN_PAGE = page(ok=(SHOPPER,), missing=(SHOPPER_OTHER,))
# A shopper's own visit through the API: other shoppers and the staff (it is not approved) do
# not see it; HQ sees it but does not report it.
SHOPPER_OWN_API = api(ok=(SHOPPER,), missing=(SHOPPER_OTHER, *STAFF, DH))
ADMIN = {persona: "ok" if persona == HQ else "admin_login" for persona in PERSONAS}


def _store(w: World) -> str:
    return w.store.code


JOB_PAGE = page(ok=(HQ, SM), missing=(HR, RM, RM_OTHER, SM_OTHER, CLERK, SHOPPER, SHOPPER_OTHER,
                                      DH))


def _job(w: World) -> Job:
    """A finished export of S0001's manager, made once per world."""
    if not hasattr(w, "job"):
        w.job = Job.objects.create(kind="dashboard.ranking_export", created_by=w.users[SM],
                                   state=JobState.DONE, result={"message": "done"},
                                   output_file=ContentFile(b"code\n", name="ranking.csv"),
                                   output_name="ranking.csv")
    return w.job


TABLE: dict[str, Entry] = {
    # --- wiring and the core ---
    "home": Entry(lambda w: "/", [get(page(ok=LOGGED_IN))]),
    "healthz": Entry(lambda w: "/healthz", [get(PUBLIC)]),
    "login": Entry(lambda w: "/accounts/login/", [get(PUBLIC)]),
    "logout": Entry(lambda w: "/accounts/logout/", [post(dict.fromkeys(PERSONAS, "login"))]),
    "set_language": Entry(lambda w: "/i18n/setlang/", [post(PUBLIC, lambda w: {
        "language": "en"})]),
    "javascript-catalog": Entry(lambda w: "/jsi18n/", [get(PUBLIC)]),
    "chain_import": Entry(lambda w: "/chain/import/", [get(HQ_PAGE), post(HQ_PAGE)]),
    "pos_setup:keys": Entry(lambda w: "/setup/pos-keys/", [get(HQ_PAGE)]),
    "pos_setup:key_create": Entry(lambda w: "/setup/pos-keys/new/", [
        get(HQ_PAGE), post(HQ_PAGE, lambda w: {"name": "Till B", "scope": "chosen",
                                                "store_codes": "S0001"})]),
    "pos_setup:key_edit": Entry(lambda w: f"/setup/pos-keys/{w.secrets[KEY].split('.')[0]}/", [
        get(HQ_PAGE), post(HQ_PAGE, lambda w: {"name": "S0001 till", "scope": "chosen",
                                                "store_codes": "S0001",
                                                "throttle_rate": "60/min"})]),
    "pos_setup:key_revoke": Entry(
        lambda w: f"/setup/pos-keys/{w.secrets[KEY].split('.')[0]}/revoke/",
        [get(HQ_PAGE), post(HQ_PAGE)]),
    "chain_import_template": Entry(lambda w: "/chain/import/template?format=xlsx",
                                   [get(HQ_PAGE)]),
    "setup": Entry(lambda w: "/setup/", [get(HQ_PAGE)]),
    "setup_appeal_windows": Entry(lambda w: "/setup/appeal-windows/",
                                  [get(HQ_PAGE), post(HQ_PAGE)]),
    # A job is its starter's (S0001's manager here) and HQ's; anyone else gets a 404.
    "jobs": Entry(lambda w: "/jobs/", [get(page(ok=LOGGED_IN))]),
    "job": Entry(lambda w: f"/jobs/{_job(w).public_id}/", [get(JOB_PAGE)]),
    "job_status": Entry(lambda w: f"/jobs/{_job(w).public_id}/status", [get(JOB_PAGE)]),
    "job_download": Entry(lambda w: f"/jobs/{_job(w).public_id}/download", [get(JOB_PAGE)]),
    "job_import": Entry(lambda w: f"/jobs/{_job(w).public_id}/import", [post(JOB_PAGE)]),
    "notifications": Entry(lambda w: "/notifications/",
                           [get(page(ok=LOGGED_IN)), post(page(ok=LOGGED_IN))]),
    "deliveries": Entry(lambda w: "/notifications/deliveries/", [get(HQ_PAGE), post(HQ_PAGE)]),
    "schema": Entry(lambda w: "/api/schema/", [get(PUBLIC)]),
    "swagger-ui": Entry(lambda w: "/api/docs/", [get(PUBLIC)]),
    "redoc": Entry(lambda w: "/api/redoc/", [get(PUBLIC)]),
    "api-root": Entry(lambda w: "/api/v1/", [get(api(ok=LOGGED_IN))]),
    "region-list": Entry(lambda w: "/api/v1/regions/", [get(STAFF_API)]),
    "region-detail": Entry(lambda w: "/api/v1/regions/EAST/", [get(OWN_API)]),
    "store-list": Entry(lambda w: "/api/v1/stores/", [get(STAFF_API)]),
    "store-detail": Entry(lambda w: "/api/v1/stores/S0001/", [get(OWN_API)]),
    "employee-list": Entry(lambda w: "/api/v1/employees/", [get(STAFF_API)]),
    "employee-detail": Entry(lambda w: "/api/v1/employees/E00002/", [get(OWN_API)]),
    "old_scoring_list": Entry(lambda w: "/scoring/", [get(PUBLIC)]),
    # --- dashboard ---
    "dashboard:store_list": Entry(lambda w: "/stores/", [get(STAFF_PAGE)]),
    "dashboard:store": Entry(lambda w: "/stores/S0001/", [get(OWN_PAGE)]),
    "dashboard:action_create": Entry(lambda w: "/stores/S0001/actions/new/", [
        get(page(ok=(HQ, RM, SM), missing=FOREIGN)),
        post(page(ok=(HQ, RM, SM), missing=FOREIGN))]),
    "dashboard:store_home": Entry(lambda w: "/dashboard/", [get(STAFF_PAGE)]),
    "dashboard:actions": Entry(lambda w: "/dashboard/actions/", [get(STAFF_PAGE)]),
    "dashboard:action_complete": Entry(lambda w: f"/dashboard/actions/{w.action.pk}/done/", [
        post(page(ok=(HQ, RM, SM), missing=FOREIGN))]),
    "dashboard:action_review": Entry(lambda w: f"/dashboard/actions/{w.action.pk}/review/", [
        post(page(ok=(HQ, RM, SM), missing=FOREIGN))]),
    "dashboard:complaint_figures": Entry(lambda w: "/dashboard/complaints/", [
        get(page(ok=(HQ, HR, RM, RM_OTHER)))]),
    "dashboard:mystery_figures": Entry(lambda w: "/dashboard/mystery-shopper/", [
        get(page(ok=(HQ, HR, RM, RM_OTHER)))]),
    # The staff pulse beside the customer value: HQ and regional managers (their regions); never
    # HR (the pulse is never linked to pay), never a store's staff.
    "dashboard:pulse": Entry(lambda w: "/dashboard/pulse/", [get(page(ok=(HQ, RM, RM_OTHER)))]),
    # --- the staff pulse: store staff answer for their own store; group results to all staff
    # but HR; another store's pulse is a 404 ---
    "pulse:take": Entry(lambda w: "/pulse/", [
        get(page(ok=(SM, SM_OTHER, CLERK))),
        post(page(ok=(SM, CLERK), refused=(SM_OTHER,)), _pulse_answer)]),
    "pulse:results": Entry(lambda w: "/pulse/results/", [
        get(page(ok=(HQ, RM, RM_OTHER, SM, SM_OTHER, CLERK)))]),
    "pulse:store": Entry(lambda w: "/pulse/stores/S0001/", [
        get(page(ok=(HQ, RM, SM, CLERK), missing=FOREIGN))]),
    # The region page: HQ, HR and the region's manager; a store's staff and another region's
    # manager get a 404, as for another store's page.
    "dashboard:region_list": Entry(lambda w: "/regions/", [get(page(ok=(HQ, HR, RM, RM_OTHER)))]),
    "dashboard:region": Entry(lambda w: "/regions/EAST/", [
        get(page(ok=(HQ, HR, RM), missing=(RM_OTHER, SM, SM_OTHER, CLERK)))]),
    # The monthly report: HQ, regional and store managers; a store of theirs by ?store=.
    "dashboard:monthly_reports": Entry(lambda w: "/reports/monthly/", [
        get(page(ok=(HQ, RM, RM_OTHER, SM, SM_OTHER)))]),
    "dashboard:monthly_report": Entry(lambda w: "/reports/monthly/{}/?store=S0001".format(
        (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")), [
        get(page(ok=(HQ, RM, SM), missing=FOREIGN))]),
    "dashboard:old_ranking": Entry(lambda w: "/dashboard/ranking/", [get(PUBLIC)]),
    "dashboard:old_store": Entry(lambda w: "/dashboard/stores/S0001/", [get(PUBLIC)]),
    # --- surveys ---
    "surveys:campaigns": Entry(lambda w: "/surveys/", [get(STAFF_PAGE)]),
    "surveys:campaign_results": Entry(lambda w: f"/surveys/campaigns/{w.campaign.pk}/",
                                      [get(STAFF_PAGE)]),
    "surveys:campaign_export": Entry(
        lambda w: f"/surveys/campaigns/{w.campaign.pk}/export.csv", [get(STAFF_PAGE)]),
    "surveys:store_results": Entry(
        lambda w: f"/surveys/campaigns/{w.campaign.pk}/stores/S0001/", [get(OWN_PAGE)]),
    "surveys:poster": Entry(lambda w: "/surveys/stores/S0001/poster.svg", [get(OWN_PAGE)]),
    "surveys:invitation_create": Entry(lambda w: "/surveys/invitations/new/", [
        get(page(ok=(HQ, SM, SM_OTHER, CLERK))),
        post(page(ok=(HQ, SM, CLERK), missing=(SM_OTHER,)), lambda w: {"store": "S0001"})]),
    "surveys:paper_entry": Entry(lambda w: "/surveys/paper/", [
        get(page(ok=(HQ, SM, SM_OTHER, CLERK))),
        post(page(ok=(HQ, SM, CLERK), missing=(SM_OTHER,)), _paper)]),
    "surveys:paper_template": Entry(lambda w: "/surveys/paper/template/?format=csv", [
        get(page(ok=(HQ, SM, SM_OTHER, CLERK)))]),
    "surveys_setup:campaigns": Entry(lambda w: "/setup/campaigns/", [get(HQ_PAGE)]),
    "surveys_setup:campaign_create": Entry(lambda w: "/setup/campaigns/new/", [
        get(HQ_PAGE), post(HQ_PAGE, lambda w: {"name": "四季度", "store_choice": "region",
                                               "regions": ["EAST"]})]),
    "surveys_setup:campaign_edit": Entry(lambda w: f"/setup/campaigns/{w.campaign.pk}/", [
        get(HQ_PAGE), post(HQ_PAGE, lambda w: {"name": "改名"})]),
    "surveys_setup:indicators": Entry(lambda w: "/setup/indicators/", [
        get(HQ_PAGE), post(HQ_PAGE, lambda w: {"code": "waiting"})]),
    "surveys_setup:indicator_edit": Entry(
        lambda w: f"/setup/indicators/{Indicator.objects.get(code='price').pk}/", [
            get(HQ_PAGE), post(HQ_PAGE, lambda w: {"name_en": "Price"})]),
    "surveys:review": Entry(lambda w: "/surveys/review/", [get(HQ_PAGE)]),
    "surveys:review_responses": Entry(lambda w: "/surveys/review/responses/", [
        post(HQ_PAGE, lambda w: {"response": w.response.pk, "action": "clear"})]),
    "surveys:review_store_flag": Entry(lambda w: f"/surveys/review/stores/{w.flag.pk}/", [
        post(HQ_PAGE, lambda w: {"action": "clear"})]),
    "surveys_public:store": Entry(lambda w: "/q/S0001", [get(PUBLIC)]),
    "surveys_public:invitation": Entry(lambda w: f"/s/{w.invitation.token}", [get(PUBLIC)]),
    "survey-indicator-list": Entry(lambda w: "/api/v1/surveys/indicators/", [
        get(STAFF_API), post(HQ_API, json=True)]),
    "survey-indicator-detail": Entry(lambda w: "/api/v1/surveys/indicators/price/", [
        get(STAFF_API), write("patch", HQ_API, lambda w: {"name_en": "Price"})]),
    "survey-campaign-list": Entry(lambda w: "/api/v1/surveys/campaigns/", [
        get(STAFF_API), post(HQ_API, json=True)]),
    "survey-campaign-detail": Entry(lambda w: f"/api/v1/surveys/campaigns/{w.campaign.pk}/", [
        get(STAFF_API), write("patch", HQ_API, lambda w: {"target_per_store": 40})]),
    "survey-campaign-results": Entry(
        lambda w: f"/api/v1/surveys/campaigns/{w.campaign.pk}/results/", [get(STAFF_API)]),
    "survey-response-list": Entry(lambda w: "/api/v1/surveys/responses/", [
        get(STAFF_API),
        post(api(ok=(HQ, SM, CLERK), missing=(SM_OTHER,)), _survey_response, json=True)]),
    "survey-response-detail": Entry(
        lambda w: f"/api/v1/surveys/responses/{w.response.pk}/", [get(OWN_API)]),
    "survey-invitation-list": Entry(lambda w: "/api/v1/surveys/invitations/", [
        get(STAFF_API),
        post(api(ok=(HQ, SM, CLERK), missing=(SM_OTHER,)), lambda w: {"store": "S0001"},
             json=True)]),
    "survey-invitation-detail": Entry(
        lambda w: f"/api/v1/surveys/invitations/{w.invitation.pk}/", [get(OWN_API)]),
    # --- mystery shopper ---
    "mystery_shopper:my_visits": Entry(lambda w: "/mystery-shopper/",
                                       [get(page(ok=SHOPPERS))]),
    "mystery_shopper:report": Entry(
        lambda w: f"/mystery-shopper/visits/{w.visit_open.pk}/report/",
        [get(SHOPPER_OWN_PAGE), post(SHOPPER_OWN_PAGE, lambda w: {"step": "0"})]),
    # The offline report's sync: answers (idempotent per item) and files (idempotent per
    # client id) of the visit's own shopper only.
    "mystery_shopper:report_draft": Entry(
        lambda w: f"/mystery-shopper/visits/{w.visit_open.pk}/report/draft/",
        [post(SHOPPER_OWN_PAGE, lambda w: {"notes": "from the phone"})]),
    "mystery_shopper:report_evidence": Entry(
        lambda w: f"/mystery-shopper/visits/{w.visit_open.pk}/report/evidence/",
        [post(SHOPPER_OWN_PAGE,
              lambda w: {"client_id": "6f1c2f4e-8a3b-4c1d-9e2f-0a1b2c3d4e5f"})]),
    # The service worker holds no data: a static script, served where its scope needs it.
    "mystery_shopper:service_worker": Entry(lambda w: "/mystery-shopper/sw.js", [get(PUBLIC)]),
    "mystery_shopper:report_view": Entry(
        lambda w: f"/mystery-shopper/visits/{w.visit_done.pk}/", [get(SHOPPER_OWN_PAGE)]),
    "mystery_shopper:evidence_delete": Entry(
        lambda w: (f"/mystery-shopper/visits/{w.visit_open.pk}/evidence/"
                   f"{w.draft_evidence.public_id}/delete/"), [post(SHOPPER_OWN_PAGE)]),
    # Evidence of an approved visit: HQ, the shopper who took it, and the store's manager and
    # regional manager (mystery_shopper.rules.can_see_store_evidence). HR and clerks read the
    # reports but not the photos and recordings (personal data); they get 404 like anyone else.
    "mystery_shopper:evidence": Entry(
        lambda w: f"/mystery-shopper/evidence/{w.photo.public_id}/",
        [get(page(ok=(HQ, RM, SM, SHOPPER),
                  missing=(HR, CLERK, *FOREIGN, SHOPPER_OTHER, DH)))]),
    "mystery_shopper:plan": Entry(lambda w: "/mystery-shopper/plan/",
                                  [get(HQ_PAGE), post(HQ_PAGE)]),
    "mystery_shopper:visit_manage": Entry(
        lambda w: f"/mystery-shopper/plan/visits/{w.visit_open.pk}/",
        [get(HQ_PAGE), post(HQ_PAGE, lambda w: {"action": "cancel", "comment": "门店装修"})]),
    "mystery_shopper:scorecards": Entry(lambda w: "/mystery-shopper/scorecards/",
                                        [get(HQ_PAGE), post(HQ_PAGE)]),
    # Visit reports of a quarter as CSV / XLSX: HQ (every visit, with the shopper), HR and the
    # managers (the approved reports of the stores they see: another region's or store's
    # manager gets a file without S0001's rows); clerks and shoppers may not export.
    "mystery_shopper:export": Entry(lambda w: "/mystery-shopper/export/", [
        get(page(ok=(HQ, HR, RM, RM_OTHER, SM, SM_OTHER))),
        post(page(ok=(HQ, HR, RM, RM_OTHER, SM, SM_OTHER)),
             lambda w: {"quarter": str(w.visit_done.quarter), "format": "csv"})]),
    # --- mystery-shopper setup (HQ) ---
    "mystery_shopper_setup:scorecards": Entry(lambda w: "/setup/scorecards/", [get(HQ_PAGE)]),
    "mystery_shopper_setup:scorecard": Entry(
        lambda w: f"/setup/scorecards/{w.visit_done.template.code}/", [get(HQ_PAGE)]),
    "mystery_shopper_setup:scorecard_edit": Entry(
        lambda w: f"/setup/scorecards/{w.visit_done.template.code}/edit/",
        [get(HQ_PAGE), post(HQ_PAGE)]),
    "mystery_shopper_setup:scorecard_json": Entry(
        lambda w: f"/setup/scorecards/{w.visit_done.template.code}/json/",
        [get(HQ_PAGE), post(HQ_PAGE, lambda w: {"definition": "{}"})]),
    "mystery_shopper_setup:scenarios": Entry(lambda w: "/setup/scenarios/",
                                             [get(HQ_PAGE), post(HQ_PAGE)]),
    "mystery_shopper:review_list": Entry(lambda w: "/mystery-shopper/review/", [get(HQ_PAGE)]),
    "mystery_shopper:review_detail": Entry(
        lambda w: f"/mystery-shopper/review/{w.visit_done.pk}/",
        [get(HQ_PAGE), post(HQ_PAGE, lambda w: {"action": "approve"})]),
    "mystery_shopper:store_visits": Entry(lambda w: "/mystery-shopper/store/",
                                          [get(STAFF_PAGE)]),
    "mystery_shopper:store_visit": Entry(
        lambda w: f"/mystery-shopper/store/{w.visit_done.pk}/", [
            get(OWN_PAGE),
            post(page(ok=(HQ, SM), missing=FOREIGN), lambda w: {"coaching": "已培训"})]),
    "mystery_shopper:appeal_list": Entry(lambda w: "/mystery-shopper/appeals/",
                                         [get(HQ_PAGE)]),
    "mystery_shopper:appeal_decide": Entry(
        lambda w: f"/mystery-shopper/appeals/{w.visit_appeal.pk}/",
        [get(HQ_PAGE), post(HQ_PAGE, lambda w: {"note": "维持"})]),
    "ms-template-list": Entry(lambda w: "/api/v1/mystery-shopper/templates/", [
        get(api(ok=LOGGED_IN)), post(HQ_API, json=True)]),
    "ms-template-detail": Entry(
        lambda w: f"/api/v1/mystery-shopper/templates/{w.visit_done.template_id}/",
        [get(api(ok=LOGGED_IN))]),
    "ms-visit-list": Entry(lambda w: "/api/v1/mystery-shopper/visits/",
                           [get(api(ok=LOGGED_IN))]),
    "ms-visit-detail": Entry(
        lambda w: f"/api/v1/mystery-shopper/visits/{w.visit_done.pk}/",
        [get(api(ok=(*OWN, SHOPPER), missing=(*FOREIGN, SHOPPER_OTHER, DH)))]),
    # Follow-up of an approved report: HQ and the store's manager.
    "ms-visit-acknowledge": Entry(
        lambda w: f"/api/v1/mystery-shopper/visits/{w.visit_done.pk}/acknowledge/",
        [post(api(ok=(HQ, SM), missing=(*FOREIGN, SHOPPER_OTHER, DH)), json=True)]),
    "ms-visit-appeal": Entry(
        lambda w: f"/api/v1/mystery-shopper/visits/{w.visit_done.pk}/appeal/",
        [post(api(ok=(HQ, SM), missing=(*FOREIGN, SHOPPER_OTHER, DH)),
              lambda w: {"reason": "有误"}, json=True)]),
    "ms-visit-approve": Entry(
        lambda w: f"/api/v1/mystery-shopper/visits/{w.visit_open.pk}/approve/",
        [post(HQ_API, json=True)]),
    "ms-visit-send-back": Entry(
        lambda w: f"/api/v1/mystery-shopper/visits/{w.visit_open.pk}/return/",
        [post(HQ_API, json=True)]),
    "ms-visit-draft": Entry(
        lambda w: f"/api/v1/mystery-shopper/visits/{w.visit_open.pk}/draft/",
        [post(SHOPPER_OWN_API, lambda w: {"notes": "下午三点"}, json=True)]),
    "ms-visit-submit": Entry(
        lambda w: f"/api/v1/mystery-shopper/visits/{w.visit_open.pk}/submit/",
        [post(SHOPPER_OWN_API, json=True)]),
    "ms-visit-evidence": Entry(
        lambda w: f"/api/v1/mystery-shopper/visits/{w.visit_open.pk}/evidence/",
        [post(SHOPPER_OWN_API, _upload, multipart=True)]),
    # --- complaints ---
    "complaints:list": Entry(lambda w: "/complaints/", [get(STAFF_PAGE)]),
    "dashboard:store_list_export": Entry(lambda w: "/dashboard/ranking/export/?format=csv", [
        get(STAFF_PAGE)]),
    "complaints:export": Entry(lambda w: "/complaints/export/?format=csv", [get(STAFF_PAGE)]),
    "complaints_setup:policies": Entry(lambda w: "/setup/complaints/", [
        get(HQ_PAGE), post(HQ_PAGE, lambda w: {"form": "B", "grade-B-resolution_hours": 0})]),
    "complaints_setup:store_hours": Entry(lambda w: "/setup/store-hours/", [
        get(HQ_PAGE), post(HQ_PAGE, lambda w: {"stores": "S0001", "opens_at": "08:00",
                                                "closes_at": "22:00"})]),
    "complaints:create": Entry(lambda w: "/complaints/new/", [
        get(page(ok=(HQ, RM, RM_OTHER, SM, SM_OTHER, CLERK))),
        # A form only offers the user's stores: a foreign store is a form error, not a save.
        post(page(ok=(HQ, RM, SM, CLERK), refused=FOREIGN),
             lambda w: {**_complaint(w), "store": w.store.pk})]),
    "complaints:figures": Entry(lambda w: "/complaints/figures/", [get(STAFF_PAGE)]),
    "complaints:poster": Entry(lambda w: "/complaints/poster/S0001/", [get(OWN_PAGE)]),
    "complaints:detail": Entry(lambda w: f"/complaints/{w.complaint.pk}/", [
        get(OWN_PAGE), post(HANDLERS_PAGE, _form("start")),
        post(HANDLERS_PAGE, lambda w: {"form": "product", "version": w.complaint.version,
                                       "medicine_name": "阿莫西林胶囊", "batch_no": "B1"}),
        post(page(ok=(HQ,), missing=FOREIGN), lambda w: {"form": "adr_reported"})]),
    "complaints:eight_d": Entry(lambda w: f"/complaints/{w.complaint.pk}/8d/", [
        get(OWN_PAGE), post(HANDLERS_PAGE, lambda w: {"version": 1})]),
    "complaints:eight_d_print": Entry(lambda w: f"/complaints/{w.complaint.pk}/8d/print/",
                                      [get(OWN_PAGE)]),
    "complaints:letter": Entry(lambda w: f"/complaints/{w.complaint.pk}/letter/", [
        # The world's complaint is open: no letter yet for those who may handle it.
        get(page(missing=(HQ, RM, SM, *FOREIGN)))]),
    "complaints:products": Entry(lambda w: "/complaints/products/", [
        get(page(ok=(HQ, RM, RM_OTHER)))]),
    "complaints:adr_export": Entry(lambda w: "/complaints/adr-export/?format=csv", [
        get(HQ_PAGE)]),
    "complaints:attachment": Entry(
        lambda w: f"/complaints/{w.complaint.pk}/attachments/{w.attachment.pk}/",
        [get(OWN_PAGE)]),
    "complaints_public:complain": Entry(lambda w: "/complain/S0001", [get(PUBLIC)]),
    "complaints_public:ticket": Entry(lambda w: "/ticket/", [get(PUBLIC)]),
    "complaint-figures": Entry(lambda w: "/api/v1/complaint-figures/", [get(STAFF_API)]),
    "complaint-list": Entry(lambda w: "/api/v1/complaints/", [
        get(STAFF_API),
        post(api(ok=(HQ, RM, SM, CLERK), refused=FOREIGN), _complaint, json=True)]),
    "complaint-detail": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/",
                              [get(OWN_API)]),
    "complaint-appeal": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/appeal/", [
        post(api(ok=(RM, SM), missing=FOREIGN), lambda w: {
            "kind": "grade", "reason": "顾客误会", "requested_grade": "C"}, json=True)]),
    "complaint-close": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/close/",
                             [post(HANDLERS_API, _version, json=True)]),
    "complaint-decide-appeal": Entry(
        lambda w: f"/api/v1/complaints/{w.complaint.pk}/decide-appeal/",
        [post(api(ok=(HQ,), missing=FOREIGN), lambda w: {"accept": False, "reason": "维持"},
              json=True)]),
    "complaint-eight-d": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/eight-d/", [
        get(OWN_API), write("put", HANDLERS_API, lambda w: {"version": 1})]),
    "complaint-product": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/product/", [
        write("put", HANDLERS_API, lambda w: {"version": w.complaint.version,
                                              "medicine_name": "阿莫西林胶囊"})]),
    "complaint-adr-reported": Entry(
        lambda w: f"/api/v1/complaints/{w.complaint.pk}/adr-reported/",
        [post(api(ok=(HQ,), missing=FOREIGN), json=True)]),
    "complaint-recurrence-check": Entry(
        lambda w: f"/api/v1/complaints/{w.complaint.pk}/recurrence-check/",
        [post(HANDLERS_API, lambda w: {"recurred": False}, json=True)]),
    "complaint-reopen": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/reopen/",
                              [post(HANDLERS_API, _version, json=True)]),
    "complaint-resolve": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/resolve/", [
        post(HANDLERS_API, lambda w: {"version": w.complaint.version, "remedy": "致歉",
                                      "customer_satisfied": True}, json=True)]),
    "complaint-resume": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/resume/",
                              [post(HANDLERS_API, _version, json=True)]),
    "complaint-start": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/start/",
                             [post(HANDLERS_API, _version, json=True)]),
    "complaint-triage": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/triage/", [
        post(api(ok=(HQ,), missing=FOREIGN), lambda w: {
            "version": w.complaint.version, "grade": "C", "substantiated": True},
            json=True)]),
    "complaint-wait": Entry(lambda w: f"/api/v1/complaints/{w.complaint.pk}/wait/",
                            [post(HANDLERS_API, _version, json=True)]),
    # --- internal customers: the stores' complaints to HQ departments and their ratings ---
    # The list: HQ, the department's head (their department's), the stores' staff and
    # regional managers (their stores'); HR and shoppers have none.
    "complaints:internal_list": Entry(lambda w: "/complaints/internal/", [
        get(page(ok=(HQ, RM, RM_OTHER, SM, SM_OTHER, CLERK, DH)))]),
    # Filed by a store's manager or staff, for their own store only.
    "complaints:internal_create": Entry(lambda w: "/complaints/internal/new/", [
        get(page(ok=(SM, SM_OTHER, CLERK))),
        post(page(ok=(SM, CLERK), refused=(SM_OTHER,)), lambda w: {
            "store": w.store.pk, "department": department("it").pk,
            "description": "收银系统卡顿"})]),
    # Seen by HQ, logistics' head and S0001's side; handled by HQ and the head only (the
    # store is its customer: 403); another store or region: 404.
    "complaints:internal_detail": Entry(lambda w: f"/complaints/internal/{w.internal.pk}/", [
        get(page(ok=(HQ, RM, SM, CLERK, DH), missing=FOREIGN)),
        post(page(ok=(HQ, DH), missing=FOREIGN), lambda w: {
            "form": "start", "version": w.internal.version, "note": ""})]),
    "complaints:internal_attachment": Entry(
        lambda w: f"/complaints/internal/{w.internal.pk}/attachments/"
                  f"{w.internal_attachment.pk}/",
        [get(page(ok=(HQ, RM, SM, CLERK, DH), missing=FOREIGN))]),
    "internal_service:rate": Entry(lambda w: "/internal/", [
        get(page(ok=(SM, SM_OTHER, CLERK)))]),
    "internal_service:rate_department": Entry(lambda w: "/internal/departments/logistics/", [
        get(page(ok=(SM, SM_OTHER, CLERK))),
        post(page(ok=(SM, SM_OTHER, CLERK)), lambda w: {
            "responsiveness": "3", "support": "3", "communication": "3", "overall": "3"})]),
    # HQ's page of its departments: HQ, and a department head (their own rows).
    "dashboard:departments": Entry(lambda w: "/dashboard/departments/", [
        get(page(ok=(HQ, DH)))]),
    # --- scoring ---
    "scoring:store_trace": Entry(lambda w: f"/scoring/stores/S0001/?quarter={w.quarter}",
                                 [get(OWN_PAGE)]),
    # The store manager's employee value: a clerk sees only their own.
    # Comparing revisions: who sees the store's inputs (a clerk sees only their own: no).
    "scoring:store_compare": Entry(
        lambda w: f"/scoring/stores/S0001/compare/?quarter={w.quarter}&old=1&new=1",
        [get(page(ok=(HQ, HR, RM, SM), missing=FOREIGN))]),
    "scoring:employee_detail": Entry(
        lambda w: f"/scoring/employees/E00001/?quarter={w.quarter}",
        [get(page(ok=(HQ, HR, RM, SM), missing=(*FOREIGN, CLERK)))]),
    # "My value": a redirect for users with an employee record, 404 for the others.
    "scoring:my_score": Entry(lambda w: "/scoring/me/", [get(page(
        ok=(SM, SM_OTHER, CLERK), missing=(HQ, HR, RM, RM_OTHER, SHOPPER, SHOPPER_OTHER,
                                           DH)))]),
    "scoring:quarters": Entry(lambda w: "/scoring/quarters/", [get(page(ok=(HQ, HR)))]),
    "scoring:quarter_rollup": Entry(lambda w: "/scoring/quarters/rollup/", [post(HQ_PAGE)]),
    "scoring:quarter_publish_confirm": Entry(
        lambda w: f"/scoring/quarters/{w.quarter}/publish/", [get(HQ_PAGE), post(HQ_PAGE)]),
    "scoring:appraisal_template": Entry(lambda w: "/scoring/hr/template/?format=csv",
                                        [get(page(ok=(HQ, HR)))]),
    "scoring:quarter_late": Entry(lambda w: f"/scoring/quarters/{w.quarter}/late/",
                                  [get(page(ok=(HQ, HR)))]),
    # The scheme page moved to /setup/schemes/; the old address redirects (301) for everyone.
    "scoring:schemes": Entry(lambda w: "/scoring/schemes/", [get(PUBLIC), post(PUBLIC)]),
    "scoring_setup:schemes": Entry(lambda w: "/setup/schemes/", [
        get(HQ_PAGE), post(HQ_PAGE, lambda w: {"preview": "1"})]),
    "scoring:hr": Entry(lambda w: "/scoring/hr/", [get(page(ok=(HQ, HR))),
                                                   post(page(ok=(HQ, HR)))]),
    # A POST downloads the sheet (it writes the export log); a GET goes back to the HR page.
    "scoring:hr_export": Entry(lambda w: f"/scoring/hr/export/?quarter={w.quarter}",
                               [get(page(ok=(HQ, HR))), post(page(ok=(HQ, HR)))]),
    "store-score-list": Entry(lambda w: f"/api/v1/scoring/store-scores/?quarter={w.quarter}",
                              [get(STAFF_API)]),
    "store-score-detail": Entry(
        lambda w: f"/api/v1/scoring/store-scores/S0001/?quarter={w.quarter}", [get(OWN_API)]),
    "store-score-trace": Entry(
        lambda w: f"/api/v1/scoring/store-scores/S0001/trace/?quarter={w.quarter}",
        [get(OWN_API)]),
    "store-score-compare": Entry(
        lambda w: f"/api/v1/scoring/store-scores/S0001/compare/?quarter={w.quarter}&old=1&new=1",
        [get(api(ok=(HQ, HR, RM, SM), missing=(*FOREIGN, CLERK)))]),
    "employee-score-list": Entry(
        lambda w: f"/api/v1/scoring/employee-scores/?quarter={w.quarter}", [get(STAFF_API)]),
    "employee-score-detail": Entry(
        lambda w: f"/api/v1/scoring/employee-scores/E00001/?quarter={w.quarter}",
        [get(api(ok=(HQ, HR, RM, SM), missing=(*FOREIGN, CLERK)))]),
    "employee-score-trace": Entry(
        lambda w: f"/api/v1/scoring/employee-scores/E00001/trace/?quarter={w.quarter}",
        [get(api(ok=(HQ, HR, RM, SM), missing=(*FOREIGN, CLERK)))]),
    "rollup-list": Entry(lambda w: "/api/v1/scoring/rollups/", [
        get(api(ok=(HQ, HR))), post(HQ_API, json=True)]),
    "rollup-publish": Entry(lambda w: "/api/v1/scoring/rollups/publish/",
                            [post(HQ_API, json=True)]),
    # --- POS ---
    "pos-transaction-list": Entry(lambda w: "/api/v1/pos/transactions/", [
        get(pos_api(ok=(KEY, KEY_OTHER))),
        post(pos_api(ok=(KEY,), refused=(KEY_OTHER,)), _receipt, json=True)]),
    "pos-transaction-batch": Entry(lambda w: "/api/v1/pos/transactions/batch/", [
        post(pos_api(ok=(KEY,), refused=(KEY_OTHER,)), lambda w: {"items": [_receipt(w)]},
             json=True)]),
    "pos-transaction-detail": Entry(lambda w: "/api/v1/pos/transactions/S0001/R0001/",
                                    [get(pos_api(ok=(KEY,), missing=(KEY_OTHER,)))]),
    "pos-store-list": Entry(lambda w: "/api/v1/pos/stores/",
                            [get(pos_api(ok=(KEY, KEY_OTHER)))]),
    "pos-store-scores": Entry(lambda w: "/api/v1/pos/stores/S0001/scores/",
                              [get(api(ok=(*OWN, KEY), missing=(*FOREIGN, KEY_OTHER)))]),
    "pos-store-metrics": Entry(lambda w: "/api/v1/pos/metrics/",
                               [get(api(ok=(*STAFF, KEY, KEY_OTHER)))]),
    "pos-complaint-create": Entry(lambda w: "/api/v1/pos/complaints/", [
        post(pos_api(ok=(KEY,), refused=(KEY_OTHER,)), _complaint, json=True)]),
    # --- the admin (one entry for its whole namespace) ---
    "admin:*": Entry(lambda w: "/admin/", [get(ADMIN)]),
}
# Representative admin pages, checked like the admin's index.
ADMIN_PAGES = ("/admin/satisfaction/store/", "/admin/pos/posapikey/",
               "/admin/surveys/indicator/", "/admin/complaints/gradepolicy/")


# --- Running it --------------------------------------------------------------------------------


def _client(world: World, persona: str) -> Client:
    client = Client()
    if persona in world.users:
        client.force_login(world.users[persona],
                           backend="django.contrib.auth.backends.ModelBackend")
    elif persona in world.secrets:
        client.defaults["HTTP_AUTHORIZATION"] = f"Api-Key {world.secrets[persona]}"
    return client


def outcome(response) -> str:  # noqa: PLR0911 - one return per outcome reads best
    """The outcome a response shows (see the module docstring)."""
    code = response.status_code
    location = response.get("Location", "")
    if code in (301, 302):
        if "/admin/login/" in location:
            return "admin_login"
        if location.startswith("/accounts/login/"):
            return "login"
        return "ok"
    if code in (401, 403):
        return "denied"
    if code == 404:
        return "404"
    if code >= 500:
        return f"server error {code}"
    if code in (400, 409):
        return "invalid"
    return "ok" if 200 <= code < 300 else str(code)


def _matches(expected: str, got: str) -> bool:
    if expected == "ok":
        return got in ("ok", "invalid")
    if expected == "refused":
        return got in ("invalid", "denied", "404")
    return got == expected


def _request(client: Client, url: str, check: Check, world: World):
    data = check.data(world) if check.data else {}
    method = getattr(client, check.method)
    with transaction.atomic():
        if check.json:
            response = method(url, data, content_type="application/json")
        else:
            response = method(url, data)
        transaction.set_rollback(True)
    return response


@pytest.mark.parametrize("name", sorted(TABLE))
def test_each_persona_gets_the_expected_outcome(name, world):
    entry = TABLE[name]
    urls = [entry.url(world), *(ADMIN_PAGES if name == "admin:*" else ())]
    wrong = []
    for url in urls:
        for check in entry.checks:
            assert set(check.expect) == set(PERSONAS), name
            for persona in PERSONAS:
                response = _request(_client(world, persona), url, check, world)
                got = outcome(response)
                if not _matches(check.expect[persona], got):
                    wrong.append(f"{check.method.upper()} {url} as {persona}: expected "
                                 f"{check.expect[persona]}, got {got} ({response.status_code})")
    assert not wrong, "\n".join(wrong)


def _url_names(patterns, namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                names.add("admin:*")
                continue
            prefix = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _url_names(pattern.url_patterns, prefix)
        elif isinstance(pattern, URLPattern):
            names.add(f"{namespace}{pattern.name}" if pattern.name else
                      f"unnamed pattern {namespace}{pattern.pattern}")
    return names


def test_every_url_has_an_entry():
    names = _url_names(get_resolver().url_patterns)
    assert sorted(names - set(TABLE)) == [], "URLs without an entry in the permission table"
    assert sorted(set(TABLE) - names) == [], "entries for URLs that no longer exist"

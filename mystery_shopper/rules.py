"""Who may do what with mystery-shopper visits (built on ``satisfaction.rules``; which stores a
user sees is ``satisfaction.scoping``'s rule, and a shopper sees only their own visits)."""

from __future__ import annotations

from django.http import HttpRequest

from mystery_shopper.models import Visit
from satisfaction import rules
from satisfaction.models import Role, User


def can_report_visits(user: User) -> bool:
    """The phone report: mystery shoppers (each only their own visits, see ``can_report``)."""
    return rules.is_shopper(user)


def can_report(user: User, visit: Visit) -> bool:
    return can_report_visits(user) and visit.shopper_id == user.pk


def can_plan_visits(user: User) -> bool:
    """Plan, reassign and cancel visits, edit scorecards: HQ."""
    return rules.is_hq(user)


def can_review_visits(user: User) -> bool:
    """Approve or send back submitted reports: HQ (reports count only once approved)."""
    return rules.is_hq(user)


def can_decide_appeals(user: User) -> bool:
    return rules.is_hq(user)


def can_see_store_visits(user: User) -> bool:
    """Approved reports of the user's stores, never naming the shopper: everyone but shoppers
    (HR reads them)."""
    return rules.sees_store_data(user)


def can_see_store_evidence(user: User) -> bool:
    """The photos and recordings of the approved visits of the stores they see (with the
    stores' appeal files): HQ, the regional manager and the store manager, who coach and
    appeal. HR and clerks read the reports without them: the files are personal data of staff
    and customers. (The shopper sees their own visit's files: ``visit_files_seen``.)"""
    return rules.is_hq(user) or rules.has_role(user, Role.REGIONAL_MANAGER, Role.STORE_MANAGER)


def visit_files_seen(user: User, visit: Visit) -> tuple[bool, bool]:
    """Which files of ``visit`` (a visit ``user`` may read) they see: (the report's photos and
    recordings, the store's appeal files). HQ, the regional manager and the store manager see
    both (``can_see_store_evidence``); the visit's own shopper sees their report's files, never
    the store's appeal files; HR and clerks see none."""
    if can_review_visits(user):
        return True, True
    if can_report_visits(user):
        return can_report(user, visit), False
    store_side = can_see_store_evidence(user)
    return store_side, store_side


def can_export_visits(user: User) -> bool:
    """Export a quarter's visit reports (``selectors.visit_export_list`` scopes the rows): HQ
    (every visit, with the shopper), and the regional and store managers and HR (the approved
    reports of the stores they see, never naming the shopper). Clerks read reports but do not
    export them: the file names the staff who served."""
    return rules.is_hq(user) or rules.is_hr(user) \
        or rules.has_role(user, Role.REGIONAL_MANAGER, Role.STORE_MANAGER)


def can_follow_up(user: User) -> bool:
    """Acknowledge a report with the coaching given, or appeal it: the store manager (of a
    store they see) and HQ."""
    return rules.is_hq(user) or rules.has_role(user, Role.STORE_MANAGER)


def sees_shopper(user: User) -> bool:
    """Who the shopper was, and where they checked in: HQ and the shopper themself."""
    return rules.is_hq(user) or rules.is_shopper(user)


def template_flags(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {"can_report_visits": can_report_visits(user),
            "can_plan_visits": can_plan_visits(user),
            "can_review_visits": can_review_visits(user),
            "can_decide_visit_appeals": can_decide_appeals(user),
            "can_see_store_visits": can_see_store_visits(user),
            "can_export_visits": can_export_visits(user)}

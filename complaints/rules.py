"""Who may do what with a complaint (built on ``satisfaction.rules``). Which stores a user sees
is ``satisfaction.scoping``'s rule; these checks come on top of it (a complaint the user cannot
see is already a 404)."""

from __future__ import annotations

from django.http import HttpRequest

from satisfaction import rules
from satisfaction.models import Role, User
from satisfaction.scoping import visible_stores

from .models import Complaint, ComplaintKind, Status


def can_see_complaints(user: User) -> bool:
    """The complaint list, a complaint's page and the figures, scoped to the user's stores:
    everyone but the mystery shopper."""
    return rules.sees_store_data(user)


def can_record(user: User) -> bool:
    """Any employee may be a complaint's first receiver (HR does not take complaints)."""
    return rules.is_hq(user) or rules.has_role(user, Role.REGIONAL_MANAGER, Role.STORE_MANAGER,
                                               Role.CLERK)


def can_backdate(user: User) -> bool:
    """Record a complaint received more than ``ComplaintPolicy.backdate_days`` ago: HQ only."""
    return rules.is_hq(user)


def can_triage(user: User) -> bool:
    """Grade, substantiate and assign: HQ customer relations."""
    return rules.is_hq(user)


def can_handle(user: User, complaint: Complaint) -> bool:
    """HQ, the handling owner, and the store-side managers who see the store. An internal
    complaint is handled by HQ and the heads of its department (``can_handle_internal``): the
    store that filed it is its customer, not its handler."""
    if complaint.kind == ComplaintKind.INTERNAL:
        return can_handle_internal(user, complaint)
    return (rules.is_hq(user) or (rules.is_active(user) and complaint.owner_id == user.pk)
            or rules.has_role(user, Role.STORE_MANAGER, Role.REGIONAL_MANAGER))


# --- Internal complaints (a store's complaint to an HQ department) --------------------------

def can_see_internal(user: User) -> bool:
    """The internal complaint list and pages, scoped by ``selectors.scope_internal``: HQ,
    department heads, and the stores' managers, staff and regional managers."""
    return (rules.is_hq(user) or rules.is_department_head(user)
            or rules.has_role(user, Role.STORE_MANAGER, Role.CLERK, Role.REGIONAL_MANAGER))


def can_file_internal(user: User) -> bool:
    """File an internal complaint to an HQ department: store managers and store staff."""
    return rules.can_rate_departments(user)


def can_handle_internal(user: User, complaint: Complaint) -> bool:
    """Start, resolve, close or reopen an internal complaint: HQ, its owner, and any head of
    its department."""
    if rules.is_hq(user) or (rules.is_active(user) and complaint.owner_id == user.pk):
        return True
    return (rules.is_department_head(user) and complaint.department_id is not None
            and user.departments.filter(pk=complaint.department_id).exists())


def can_confirm_internal(user: User, complaint: Complaint) -> bool:
    """Say whether the store is satisfied with the resolution: the filing store's manager or
    staff, once the department resolved it."""
    return (complaint.kind == ComplaintKind.INTERNAL and complaint.status == Status.RESOLVED
            and rules.can_rate_departments(user)
            and visible_stores(user).filter(pk=complaint.store_id).exists())


def can_appeal(user: User) -> bool:
    return rules.has_role(user, Role.STORE_MANAGER, Role.REGIONAL_MANAGER)


def can_decide_appeal(user: User) -> bool:
    return can_triage(user)


def sees_contact(user: User, complaint: Complaint | None = None) -> bool:
    """Full customer name and phone: HQ, the handling owner, the store's manager (who calls
    the customer back). Everyone else, and every list and export except HQ's, sees them
    masked."""
    if rules.is_hq(user):
        return True
    if complaint is None or not rules.is_active(user):
        return False
    return complaint.owner_id == user.pk or user.role == Role.STORE_MANAGER


def can_edit_policies(user: User) -> bool:
    """The complaint setup pages (the chain's complaint policy, the grade policies, store
    opening hours): HQ customer relations."""
    return rules.is_hq(user)


def can_export(user: User) -> bool:
    """Export the complaint list (scoped and filtered as the list; contacts masked unless
    ``sees_contact``): whoever sees the list."""
    return can_see_complaints(user)


def can_see_products(user: User) -> bool:
    """Product complaints grouped by batch across stores: HQ, and regional managers for their
    regions (the store scope applies)."""
    return rules.is_hq(user) or rules.has_role(user, Role.REGIONAL_MANAGER)


def can_report_adr(user: User) -> bool:
    """Record that a suspected adverse drug reaction was reported to the national monitoring
    system, and export the suspected reactions: HQ."""
    return rules.is_hq(user)


def template_flags(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {"can_see_complaints": can_see_complaints(user),
            "can_record_complaints": can_record(user),
            "can_see_internal_complaints": can_see_internal(user)}

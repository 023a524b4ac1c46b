"""Who may do what: the role predicates every app's ``rules.py`` builds on, and the core's own.

Which *stores* a user sees is ``satisfaction.scoping``'s rule; the predicates here and in each
app's ``rules.py`` say which pages and actions a role has. Views (``role_required``), API
permissions (``satisfaction.permissions.rule_permission``), services and templates (through
each app's ``template_flags`` context processor) ask these named predicates and nothing else.
Every predicate takes the user first and is false for anonymous and inactive users.
"""

from __future__ import annotations

from django.http import HttpRequest

from satisfaction.models import Role, User

#: Roles that work with store data: everyone but the mystery shopper (who sees only their
#: own visits, never a store's figures).
STORE_DATA_ROLES = frozenset({Role.HQ_ADMIN, Role.REGIONAL_MANAGER, Role.STORE_MANAGER,
                              Role.CLERK, Role.HR})
#: Roles that look at the chain or a region as a whole (rankings, figures).
CHAIN_VIEW_ROLES = frozenset({Role.HQ_ADMIN, Role.REGIONAL_MANAGER, Role.HR})


def is_active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def has_role(user: User, *roles: str) -> bool:
    return is_active(user) and user.role in roles


def is_hq(user: User) -> bool:
    """HQ customer relations (and a superuser): sees and configures everything."""
    return is_active(user) and (user.is_superuser or user.role == Role.HQ_ADMIN)


def is_hr(user: User) -> bool:
    return has_role(user, Role.HR)


def is_shopper(user: User) -> bool:
    return has_role(user, Role.MYSTERY_SHOPPER) and not user.is_superuser


def sees_store_data(user: User) -> bool:
    """Store pages, lists of a store's complaints, surveys and values: not the shopper."""
    return is_active(user) and (user.is_superuser or user.role in STORE_DATA_ROLES)


def sees_chain_figures(user: User) -> bool:
    """Rankings and figures across stores: HQ, regional managers and HR."""
    return is_active(user) and (user.is_superuser or user.role in CHAIN_VIEW_ROLES)


def is_department_head(user: User) -> bool:
    """An HQ department head: the internal complaints to their departments and their
    departments' figures; no store data, no customer complaints."""
    return has_role(user, Role.DEPARTMENT_HEAD) and not user.is_superuser


def can_rate_departments(user: User) -> bool:
    """Rate the HQ departments each quarter and file internal complaints to them: store
    managers and store staff (the stores are HQ's internal customers)."""
    return has_role(user, Role.STORE_MANAGER, Role.CLERK) and not user.is_superuser


def sees_department_figures(user: User) -> bool:
    """HQ's page of the departments' internal satisfaction and internal complaints: HQ, and a
    department head for their own departments (``scoping.headed_departments``)."""
    return is_hq(user) or is_department_head(user)


def can_import_chain(user: User) -> bool:
    return is_hq(user)


def can_use_admin(user: User) -> bool:
    return is_hq(user)


def can_manage_deliveries(user: User) -> bool:
    """See the notification outbox (pending / failed e-mails and webhooks) and resend."""
    return is_hq(user)


def can_set_up(user: User) -> bool:
    """HQ's setup area: campaigns, indicators, grades, scorecards, schemes, POS keys."""
    return is_hq(user)


def template_flags(request: HttpRequest) -> dict[str, bool]:
    """Context processor: the core's predicates for the layout's navigation."""
    user = request.user
    return {"can_see_stores": sees_store_data(user), "can_import_chain": can_import_chain(user),
            "can_use_admin": can_use_admin(user),
            "can_manage_deliveries": can_manage_deliveries(user), "can_set_up": can_set_up(user),
            "can_rate_departments": can_rate_departments(user),
            "can_see_department_figures": sees_department_figures(user)}

"""Who may do what on the dashboards (built on ``satisfaction.rules``; which stores a user sees
is ``satisfaction.scoping``'s rule)."""

from __future__ import annotations

from django.http import HttpRequest

from satisfaction import rules
from satisfaction.models import Role, Store, User
from satisfaction.scoping import visible_stores

#: Roles that plan and review improvement actions (clerks and HR read them).
ACTION_ROLES = (Role.HQ_ADMIN, Role.REGIONAL_MANAGER, Role.STORE_MANAGER)


def can_see_store_pages(user: User) -> bool:
    """A store's page and the improvement actions: everyone but the mystery shopper."""
    return rules.sees_store_data(user)


def can_see_chain_figures(user: User) -> bool:
    """The ranking and the complaint and mystery-shopper figures across stores."""
    return rules.sees_chain_figures(user)


def can_manage_actions(user: User, store: Store, *, visible: bool | None = None) -> bool:
    """The store's manager, its regional manager and HQ plan and review its actions.
    ``visible``: the caller has already checked whether the store is in the user's scope
    (a page that 404s otherwise), which saves asking again."""
    if not (rules.is_hq(user) or rules.has_role(user, *ACTION_ROLES)):
        return False
    if visible is not None:
        return visible
    return visible_stores(user).filter(pk=store.pk).exists()


#: Roles that receive and read the monthly report (HQ: role hq_admin).
REPORT_ROLES = (Role.HQ_ADMIN, Role.REGIONAL_MANAGER, Role.STORE_MANAGER)


def can_see_monthly_reports(user: User) -> bool:
    """The monthly report: HQ (the chain, any region or store), a regional manager (their
    regions and stores), a store manager (their store's one-pager)."""
    return rules.is_hq(user) or rules.has_role(user, *REPORT_ROLES)


def template_flags(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {"can_see_store_pages": can_see_store_pages(user),
            "can_see_chain_figures": can_see_chain_figures(user),
            "can_see_monthly_reports": can_see_monthly_reports(user)}

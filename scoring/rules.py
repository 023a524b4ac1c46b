"""Who may do what with satisfaction values (built on ``satisfaction.rules``; which stores a
user sees is ``satisfaction.scoping``'s rule)."""

from __future__ import annotations

from django.http import HttpRequest

from satisfaction import rules
from satisfaction.models import Role, User


def can_see_values(user: User) -> bool:
    """Store and employee values of the user's stores: everyone but the mystery shopper."""
    return rules.sees_store_data(user)


def sees_only_own_value(user: User) -> bool:
    """A clerk or pharmacist sees their own value, not their colleagues' (docs/domain.md:
    "optionally their own scores")."""
    return rules.has_role(user, Role.CLERK) and not user.is_superuser


def sees_only_own_inputs(user: User) -> bool:
    """In a trace, a clerk or pharmacist sees only the inputs that name them (their responses,
    visits, complaints), never a colleague's; store managers see their store's, regional
    managers their region's, HQ and HR all (issue 12)."""
    return sees_only_own_value(user)


def can_compare_revisions(user: User) -> bool:
    """Compare two revisions of a store's value item by item: who sees the store's inputs
    (not a clerk, who sees only their own)."""
    return can_see_values(user) and not sees_only_own_inputs(user)


def can_see_quarters(user: User) -> bool:
    """The quarters with their revisions and publish state: HQ and HR."""
    return rules.is_hq(user) or rules.is_hr(user)


def can_compute_and_publish(user: User) -> bool:
    """Run a rollup, publish and lock a quarter: HQ."""
    return rules.is_hq(user)


def can_edit_scheme(user: User) -> bool:
    return rules.is_hq(user)


def can_use_hr_tools(user: User) -> bool:
    """Import appraisal points and export the bonus sheet: HR and HQ."""
    return rules.is_hq(user) or rules.is_hr(user)


def template_flags(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {"can_see_values": can_see_values(user),
            "can_see_own_value": sees_only_own_value(user) and bool(user.employee_id),
            "can_see_quarters": can_see_quarters(user),
            "can_compute_and_publish": can_compute_and_publish(user),
            "can_edit_scheme": can_edit_scheme(user),
            "can_use_hr_tools": can_use_hr_tools(user)}

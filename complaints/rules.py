"""Who may do what with a complaint. Which stores a user sees is ``satisfaction.scoping``'s rule;
these checks come on top of it (a complaint the user cannot see is already a 404)."""

from __future__ import annotations

from satisfaction.models import Role, User

from .models import Complaint

RECORDING_ROLES = frozenset({Role.HQ_ADMIN, Role.REGIONAL_MANAGER, Role.STORE_MANAGER,
                             Role.CLERK})


def can_record(user: User) -> bool:
    """Any employee may be a complaint's first receiver."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in RECORDING_ROLES))


def can_triage(user: User) -> bool:
    return bool(user.is_authenticated and user.is_hq)


def can_handle(user: User, complaint: Complaint) -> bool:
    """HQ, the handling owner, and the store-side managers who see the store."""
    if not user.is_authenticated:
        return False
    return bool(user.is_hq or complaint.owner_id == user.pk
                or user.role in (Role.STORE_MANAGER, Role.REGIONAL_MANAGER))


def can_appeal(user: User) -> bool:
    return bool(user.is_authenticated
                and user.role in (Role.STORE_MANAGER, Role.REGIONAL_MANAGER))


def can_decide_appeal(user: User) -> bool:
    return can_triage(user)


def sees_contact(user: User, complaint: Complaint | None = None) -> bool:
    """Full customer name and phone: HQ, the handling owner, the store's manager (who calls
    the customer back). Everyone else, and every list and export except HQ's, sees them
    masked."""
    if not user.is_authenticated:
        return False
    if user.is_hq:
        return True
    if complaint is None:
        return False
    return complaint.owner_id == user.pk or user.role == Role.STORE_MANAGER

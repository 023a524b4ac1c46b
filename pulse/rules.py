"""Who may do what with the staff pulse (built on ``satisfaction.rules``; which stores a user
sees is ``satisfaction.scoping``'s rule).

- store staff (clerks, pharmacists, store managers) answer the pulse of their store;
- results are aggregates of groups of at least ``pulse.calc.MIN_GROUP`` (``pulse.selectors``):
  staff and store managers see their store's and their region's, a regional manager their
  region's and each of its stores', HQ all;
- HR sees nothing of the pulse: it is never linked to pay (``scoring`` may not import this app:
  the ``pulse-never-pays`` contract in ``pyproject.toml``);
- free-text comments are read by HQ only, per store of at least ``MIN_GROUP`` answers: the
  store's own manager and regional manager know the staff well enough to tell who wrote what.
"""

from __future__ import annotations

from satisfaction import rules
from satisfaction.models import Role, User

#: The roles that answer: the people who work in a store.
PULSE_STAFF_ROLES = (Role.CLERK, Role.STORE_MANAGER)


def can_take_pulse(user: User) -> bool:
    return rules.has_role(user, *PULSE_STAFF_ROLES)


def can_see_pulse_results(user: User) -> bool:
    """Group results (never per person): HQ, regional managers, store managers and staff."""
    return rules.is_hq(user) or rules.has_role(user, Role.REGIONAL_MANAGER, *PULSE_STAFF_ROLES)


def can_read_pulse_comments(user: User) -> bool:
    return rules.is_hq(user)


def can_compare_pulse_with_values(user: User) -> bool:
    """The page that sets each store's pulse beside its customer value: HQ and regional
    managers (for their regions)."""
    return rules.is_hq(user) or rules.has_role(user, Role.REGIONAL_MANAGER)


def flags(user: User) -> dict[str, bool]:
    """The pulse's flags for its links (``pulse/templatetags/pulse_nav.py``)."""
    return {"can_take_pulse": can_take_pulse(user),
            "can_see_pulse_results": can_see_pulse_results(user),
            "can_compare_pulse_with_values": can_compare_pulse_with_values(user)}

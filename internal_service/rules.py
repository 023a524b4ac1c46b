"""Who may do what with the internal satisfaction ratings (built on ``satisfaction.rules``)."""

from __future__ import annotations

from satisfaction import rules
from satisfaction.models import User


def can_rate(user: User) -> bool:
    """Rate the HQ departments: store managers and store staff (``rules.can_rate_departments``;
    the core's context processor gives templates the flag ``can_rate_departments``)."""
    return rules.can_rate_departments(user)

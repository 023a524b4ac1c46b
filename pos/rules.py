"""Who may do what with the POS integration (built on ``satisfaction.rules``). A POS system
itself is authenticated by its API key (``pos.auth``), not by these rules."""

from __future__ import annotations

from django.http import HttpRequest

from satisfaction import rules
from satisfaction.models import User


def can_manage_pos_keys(user: User) -> bool:
    """Create, change and revoke POS API keys (and see them): HQ."""
    return rules.is_hq(user)


def template_flags(request: HttpRequest) -> dict[str, bool]:
    return {"can_manage_pos_keys": can_manage_pos_keys(request.user)}

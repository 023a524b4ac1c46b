"""Who may do what with surveys (built on ``satisfaction.rules``; which stores a user sees is
``satisfaction.scoping``'s rule)."""

from __future__ import annotations

from django.http import HttpRequest

from satisfaction import rules
from satisfaction.models import Role, User


def can_see_surveys(user: User) -> bool:
    """Campaigns and their results, scoped to the user's stores: everyone but the shopper."""
    return rules.sees_store_data(user)


def can_manage_campaigns(user: User) -> bool:
    """Campaigns and indicators are set up by HQ customer relations."""
    return rules.is_hq(user)


def can_collect_responses(user: User) -> bool:
    """Key in paper questionnaires and hand out receipt invitations: HQ and the store's staff."""
    return rules.is_hq(user) or rules.has_role(user, Role.STORE_MANAGER, Role.CLERK)


def can_review_flags(user: User) -> bool:
    """Clear or reject answers held back as suspicious: HQ only."""
    return rules.is_hq(user)


def template_flags(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {"can_see_surveys": can_see_surveys(user),
            "can_manage_campaigns": can_manage_campaigns(user),
            "can_collect_responses": can_collect_responses(user),
            "can_review_survey_flags": can_review_flags(user)}

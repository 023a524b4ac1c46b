"""Who may do what with surveys (built on ``satisfaction.rules``; which stores a user sees is
``satisfaction.scoping``'s rule)."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db.models import Q
from django.http import HttpRequest

from satisfaction import rules
from satisfaction.models import Role, Store, User
from satisfaction.scoping import sees_all_stores, visible_stores
from surveys.models import TRADE_AREA_PERMISSION_CODENAME


def can_see_surveys(user: User) -> bool:
    """Campaigns and their results, scoped to the user's stores: everyone but the shopper."""
    return rules.sees_store_data(user)


def can_manage_campaigns(user: User) -> bool:
    """Campaigns and indicators are set up by HQ customer relations."""
    return rules.is_hq(user)


def can_set_up_surveys(user: User) -> bool:
    """The setup pages (``/setup/campaigns/``, ``/setup/indicators/``): HQ customer relations,
    who set up campaigns and indicators."""
    return can_manage_campaigns(user)


def can_enter_for_store(user: User, store: Store) -> bool:
    """Key in or upload questionnaires for ``store``: someone who collects responses
    (``can_collect_responses``) and sees the store (a store manager only their own; HQ any)."""
    return (can_collect_responses(user)
            and (rules.is_hq(user) or visible_stores(user).filter(pk=store.pk).exists()))


def is_trade_area_surveyor(user: User) -> bool:
    """A trade-area survey team (商圈调查) member: HQ, or a user who works with store data and
    holds the permission ``surveys.enter_trade_area_survey`` (given in the admin to the user or
    to one of their groups). Their questionnaires count at once, except at their own store."""
    if rules.is_hq(user):
        return True
    if not rules.sees_store_data(user):
        return False
    # The navigation asks on every page: one query (ModelBackend's has_perm takes two), kept
    # on the user object for the rest of the request.
    cached = getattr(user, "_trade_area_surveyor", None)
    if cached is None:
        cached = Permission.objects.filter(
            Q(user=user) | Q(group__user=user), codename=TRADE_AREA_PERMISSION_CODENAME,
            content_type__app_label="surveys").exists()
        user._trade_area_surveyor = cached  # noqa: SLF001 (a per-request memo, like _perm_cache)
    return cached


def can_collect_responses(user: User) -> bool:
    """Key in paper questionnaires and hand out receipt invitations: HQ, the store's staff, and
    trade-area survey teams (for the stores they see)."""
    return (rules.is_hq(user) or rules.has_role(user, Role.STORE_MANAGER, Role.CLERK)
            or is_trade_area_surveyor(user))


def is_store_staff(user: User, store: Store) -> bool:
    """The store's own staff: anyone whose stores include it, a clerk or store manager linked
    to it or employed there, or the regional manager of its region."""
    return (rules.has_role(user, Role.CLERK, Role.STORE_MANAGER, Role.REGIONAL_MANAGER)
            and visible_stores(user).filter(pk=store.pk).exists())


def entry_held_for_review(user: User, store: Store) -> bool:
    """Whether questionnaires ``user`` keys in for ``store`` wait for HQ before they count
    (seed 002: the trade-area survey must be genuine, 商圈调查真实; no one scores themselves).

    - HQ: counted at once;
    - the store's clerks and store manager: always held, even with the trade-area permission
      (they serve the customers asked, and the store's value is their pay);
    - a trade-area survey team member (``is_trade_area_surveyor``), e.g. a regional manager
      HQ put in the team: counted at once;
    - anyone else, the regional manager of the store among them: held.
    """
    if rules.is_hq(user):
        return False
    if rules.has_role(user, Role.CLERK, Role.STORE_MANAGER) and is_store_staff(user, store):
        return True
    return not is_trade_area_surveyor(user)


ALL_REGIONS, OWN_REGIONS = "all", "own"


def driver_region_choice(user: User) -> str:
    """Which regions' driver analysis (what drives satisfaction) the user may choose on a
    campaign's results: every region (``ALL_REGIONS``: they see every store), their own
    (``OWN_REGIONS``: a regional manager), or none ("": their stores are their only scope)."""
    if sees_all_stores(user):
        return ALL_REGIONS
    if rules.has_role(user, Role.REGIONAL_MANAGER):
        return OWN_REGIONS
    return ""


def can_review_flags(user: User) -> bool:
    """Clear or reject answers held back as suspicious: HQ only."""
    return rules.is_hq(user)


def template_flags(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {"can_see_surveys": can_see_surveys(user),
            "can_manage_campaigns": can_manage_campaigns(user),
            "can_set_up_surveys": can_set_up_surveys(user),
            "can_collect_responses": can_collect_responses(user),
            "can_review_survey_flags": can_review_flags(user)}

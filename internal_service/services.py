"""The only functions that write internal satisfaction ratings."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from satisfaction.errors import ApplicationError
from satisfaction.models import Department, User
from satisfaction.quarters import Quarter

from . import calc, rules, selectors
from .models import ITEM_FIELDS, DepartmentRating


@transaction.atomic
def rating_save(*, user: User, department: Department, answers: Mapping[str, int | None],
                comment: str = "") -> DepartmentRating:
    """Save ``user``'s rating of ``department`` for the current quarter: one per (quarter,
    department, rater), changed by saving again until the quarter ends (a past quarter's
    rating is closed: only the running quarter is written). Each of ``ITEM_FIELDS`` is a
    whole number from 1 to 5; the comment is optional. The store is the rater's
    (``selectors.rating_store``)."""
    if not rules.can_rate(user):
        raise ApplicationError(_("You may not rate HQ departments."), code="forbidden",
                               status=403)
    errors: dict[str, list[str]] = {}
    values: dict[str, int] = {}
    for name in ITEM_FIELDS:
        value = answers.get(name)
        if isinstance(value, bool) or not isinstance(value, int) \
                or not calc.SCALE_MIN <= value <= calc.SCALE_MAX:
            errors[name] = [_("Choose 1 to 5.")]
        else:
            values[name] = value
    comment = comment.strip()
    if len(comment) > 1000:
        errors["comment"] = [_("At most 1000 characters.")]
    if not department.is_active:
        errors["department"] = [_("This department is no longer rated.")]
    store = selectors.rating_store(user=user)
    if store is None:
        errors["store"] = [_("Your login is linked to no open store.")]
    if errors:
        raise ApplicationError(_("The rating has invalid fields."), fields=errors)
    rating, _created = DepartmentRating.objects.update_or_create(
        quarter=Quarter.current(), department=department, rater=user,
        defaults={**values, "comment": comment, "store": store})
    return rating

"""The only writer of the pulse: one answer per person per quarter, kept apart from the person.

``pulse_answer`` writes, in one transaction, the anonymous ``PulseResponse`` and the
``PulseParticipation`` (user, quarter) that only records that the person has answered. A second
answer in the same quarter is refused (``already_answered``, 409), also when two arrive at once:
the participation's unique constraint decides.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pulse import rules, selectors
from pulse.models import COMMENT_MAX, PulseParticipation, PulseResponse
from pulse.statements import CODES, SCALE_MAX, SCALE_MIN
from satisfaction.errors import ApplicationError
from satisfaction.models import Store, User
from satisfaction.quarters import Quarter


def _already_answered(quarter: Quarter) -> ApplicationError:
    return ApplicationError(
        _("You have already answered the staff pulse for %(quarter)s. It takes one answer per "
          "person per quarter; the next one opens next quarter.") % {"quarter": quarter},
        code="already_answered", status=409)


def _clean_answers(answers: Mapping[str, object]) -> dict[str, int]:
    cleaned, errors = {}, {}
    for code in CODES:
        value = answers.get(code)
        if isinstance(value, bool) or not isinstance(value, int) or not (
                SCALE_MIN <= value <= SCALE_MAX):
            errors[code] = [_("Choose a number from %(low)s to %(high)s.") % {
                "low": SCALE_MIN, "high": SCALE_MAX}]
        else:
            cleaned[code] = value
    if errors:
        raise ApplicationError(_("Answer every statement."), fields=errors)
    return cleaned


@transaction.atomic
def pulse_answer(*, user: User, store: Store, quarter: Quarter, answers: Mapping[str, object],
                 comment: str = "") -> None:
    """Record ``user``'s answers to ``quarter``'s pulse for ``store``. Returns nothing: the
    caller has no use for the response, and nothing should hold it beside the user."""
    if not rules.can_take_pulse(user):
        raise ApplicationError(_("Only store staff answer the staff pulse."),
                               code="forbidden", status=403)
    if not selectors.pulse_stores(user=user).filter(pk=store.pk).exists():
        raise ApplicationError(_("Choose the store you work in."),
                               fields={"store": [_("You do not work in this store.")]})
    cleaned = _clean_answers(answers)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ApplicationError(_("The comment is too long."), fields={"comment": [
            _("At most %(max)s characters.") % {"max": COMMENT_MAX}]})
    if selectors.has_answered(user=user, quarter=quarter):
        raise _already_answered(quarter)
    try:
        with transaction.atomic():
            PulseParticipation.objects.create(user=user, quarter=quarter)
    except IntegrityError:  # the same person's answer sent twice at once
        raise _already_answered(quarter) from None
    PulseResponse.objects.create(quarter=quarter, store=store, comment=comment, **cleaned)

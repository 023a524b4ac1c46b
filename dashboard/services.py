"""The only functions that write dashboard data: the improvement actions (PDCA)."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dashboard import calc, rules
from dashboard.models import ActionSource, ActionStatus, ImprovementAction
from satisfaction.errors import ApplicationError
from satisfaction.models import Employee, Store, User
from satisfaction.quarters import Quarter
from scoring.models import StoreScore
from scoring.selectors import rollup_for_display
from surveys.models import Indicator


def _require(user: User, store: Store) -> None:
    if not rules.can_manage_actions(user, store):
        raise ApplicationError(_("You may not plan or review actions for this store."),
                               code="forbidden", status=403)


def indicator_value(*, store: Store, quarter: Quarter, code: str) -> float | None:
    """The store's indicator (0–100) in the quarter's shown revision, None without data."""
    rollup = rollup_for_display(quarter=quarter)
    if rollup is None:
        return None
    indicators = (StoreScore.objects.filter(rollup=rollup, store=store)
                  .values_list("indicators", flat=True).first())
    return calc.indicator_means(indicators).get(code)


def _valid_indicator_codes() -> set[str]:
    return set(Indicator.objects.filter(is_active=True).values_list("code", flat=True))


@transaction.atomic
def improvement_action_create(*, user: User, store: Store, title: str, indicator_code: str,
                              owner: Employee, deadline: date,
                              source: str = ActionSource.INDICATOR, source_ref: str = "",
                              description: str = "", today: date | None = None
                              ) -> ImprovementAction:
    _require(user, store)
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("Say what will be done.")]
    if indicator_code not in _valid_indicator_codes():
        errors["indicator_code"] = [_("Choose one of the survey indicators.")]
    if owner.store_id != store.pk or not owner.is_active:
        errors["owner"] = [_("The owner must be an active employee of this store.")]
    if deadline < today:
        errors["deadline"] = [_("The deadline cannot be in the past.")]
    if source not in ActionSource.values:
        errors["source"] = [_("Choose where the action comes from.")]
    if errors:
        raise ApplicationError(_("The action could not be saved."), fields=errors)
    quarter = Quarter.containing(today)
    baseline = indicator_value(store=store, quarter=quarter, code=indicator_code)
    baseline_quarter = quarter if baseline is not None else None
    if baseline is None:
        # Early in a quarter before its first rollup: the previous quarter's value.
        baseline = indicator_value(store=store, quarter=quarter.previous(), code=indicator_code)
        baseline_quarter = quarter.previous() if baseline is not None else None
    return ImprovementAction.objects.create(
        store=store, quarter=quarter, title=title.strip(), description=description.strip(),
        source=source, source_ref=source_ref.strip(), indicator_code=indicator_code,
        owner=owner, deadline=deadline, baseline_score=baseline,
        baseline_quarter=baseline_quarter, created_by=user)


@transaction.atomic
def improvement_action_complete(*, action: ImprovementAction, user: User) -> ImprovementAction:
    _require(user, action.store)
    # Locked and read again: two "done" clicks at once record one completion.
    action = ImprovementAction.objects.select_for_update().get(pk=action.pk)
    if action.status != ActionStatus.OPEN:
        raise ApplicationError(_("Only an open action can be marked done."), code="not_open")
    action.status = ActionStatus.DONE
    action.done_at = timezone.now()
    action.save(update_fields=["status", "done_at"])
    return action


@transaction.atomic
def improvement_action_review(*, action: ImprovementAction, user: User, note: str = ""
                              ) -> ImprovementAction:
    """Check the action against its indicator's change from the planning quarter to the next."""
    _require(user, action.store)
    action = ImprovementAction.objects.select_for_update().get(pk=action.pk)
    if action.status == ActionStatus.REVIEWED:
        raise ApplicationError(_("This action has already been reviewed."),
                               code="already_reviewed")
    review_quarter = calc.action_review_quarter(action.quarter)
    after = indicator_value(store=action.store, quarter=review_quarter,
                            code=action.indicator_code)
    if after is None and Quarter.containing(timezone.localdate()) <= review_quarter:
        raise ApplicationError(
            _("The action is reviewed once %(quarter)s has values.") % {
                "quarter": review_quarter}, code="too_early")
    before = indicator_value(store=action.store, quarter=action.quarter,
                             code=action.indicator_code)
    if before is not None:
        action.baseline_score, action.baseline_quarter = before, action.quarter
    action.review_score = after
    action.review_quarter = review_quarter
    action.outcome = calc.action_outcome(baseline=action.baseline_score, after=after)
    action.review_note = note.strip()
    action.status = ActionStatus.REVIEWED
    action.reviewed_by = user
    action.reviewed_at = timezone.now()
    action.save()
    return action

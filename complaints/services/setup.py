"""HQ's complaint setup: the chain-wide complaint policy, each grade's policy and the stores'
opening hours.

When a change takes effect (the rule the setup pages state):

- a grade's policy is versioned: a change writes the grade's next version and never edits
  one. A complaint keeps the version it was graded under (``Complaint.grade_policy``, set at
  grading and by an accepted grade appeal): its resolution and first-response deadlines,
  escalation interval, 8D requirement and recurrence checks stay as that version says, also
  when its clock next changes. A change applies to complaints graded from now on;
- complaints not graded yet run on the ungraded policy (the chain policy's hours before
  grading), and get their grade's current version when graded;
- the chain-wide policy (warning share, hours before grading, pausing, business hours) and the
  stores' opening hours are read when a complaint's clock starts or changes
  (``_common._clock_fields``: at receipt, grading, first response, waiting for the customer,
  resuming, reopening): an open complaint keeps the deadline it has until then, and time
  already spent is never given back.

Nothing here rewrites complaints already received.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import time

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from complaints import rules
from complaints.models import ComplaintPolicy, Grade, GradePolicy, StoreHours
from satisfaction import history
from satisfaction.errors import ApplicationError
from satisfaction.models import Region, Store, User

MAX_HOURS = 720  # 30 days: beyond that a deadline is no deadline
MAX_ESCALATION_HOURS = 168
MAX_DAYS = 365
MAX_RECURRENCE_CHECKS = 5
DEFINITION_MAX = 1000
EXAMPLES_MAX = 2000
STORE_HOURS_FIELDS = ("opens_at", "closes_at", "open_24h")


def _forbidden() -> ApplicationError:
    return ApplicationError(_("Only HQ may change the complaint settings."), code="forbidden",
                            status=403)


def _between(errors: dict[str, list[str]], name: str, value: int | None, low: int,
             high: int) -> None:
    if value is None or not low <= value <= high:
        errors[name] = [_("Enter a whole number from %(low)s to %(high)s.") % {
            "low": low, "high": high}]


@transaction.atomic
def complaint_policy_update(*, user: User, backdate_days: int, pause_while_waiting: bool,
                            business_hours_clock: bool, warn_fraction: float,
                            ungraded_resolution_hours: int,
                            internal_resolution_hours: int | None = None) -> ComplaintPolicy:
    """Change the chain-wide complaint policy (HQ only). The warning comes at a share of the
    time strictly between 0 and 1; the hours and days are whole numbers in sensible ranges.
    Takes effect as the module says: new complaints, and open ones at their next clock change.
    (The recurrence checks are per grade: ``GradePolicy.recurrence_days``.)
    ``internal_resolution_hours`` (None: kept) is the deadline of internal complaints."""
    if not rules.can_edit_policies(user):
        raise _forbidden()
    errors: dict[str, list[str]] = {}
    _between(errors, "backdate_days", backdate_days, 0, MAX_DAYS)
    _between(errors, "ungraded_resolution_hours", ungraded_resolution_hours, 1, MAX_HOURS)
    if internal_resolution_hours is not None:
        _between(errors, "internal_resolution_hours", internal_resolution_hours, 1, MAX_HOURS)
    if warn_fraction is None or not 0 < warn_fraction < 1:
        errors["warn_fraction"] = [_("Enter a share greater than 0 and less than 1 (0.75 "
                                     "warns after three quarters of the time).")]
    if errors:
        raise ApplicationError(_("The complaint policy has invalid fields."), fields=errors)
    policy = ComplaintPolicy.objects.select_for_update().get_or_create(pk=1)[0]
    values = {"backdate_days": backdate_days, "pause_while_waiting": pause_while_waiting,
              "business_hours_clock": business_hours_clock, "warn_fraction": warn_fraction,
              "ungraded_resolution_hours": ungraded_resolution_hours}
    if internal_resolution_hours is not None:
        values["internal_resolution_hours"] = internal_resolution_hours
    if all(getattr(policy, name) == value for name, value in values.items()):
        return policy  # nothing changed: no empty row in the history
    for name, value in values.items():
        setattr(policy, name, value)
    history.attribute(policy, user=user)
    policy.save()
    return policy


def recurrence_days_errors(days: Sequence[int] | None) -> list[str]:
    """What is wrong with a grade's recurrence check days (empty when nothing): 1 to
    ``MAX_RECURRENCE_CHECKS`` distinct whole days from 1 to ``MAX_DAYS``, ascending."""
    if not isinstance(days, list | tuple) or not 1 <= len(days) <= MAX_RECURRENCE_CHECKS:
        return [_("Give 1 to %(n)s days, e.g. 30, 60, 90.") % {"n": MAX_RECURRENCE_CHECKS}]
    if any(isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= MAX_DAYS
           for day in days):
        return [_("Each day is a whole number from 1 to %(high)s.") % {"high": MAX_DAYS}]
    if len(set(days)) != len(days):
        return [_("Give each day once.")]
    if list(days) != sorted(days):
        return [_("Give the days in ascending order, e.g. 30, 60, 90.")]
    return []


def _grade_policy_errors(values: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in ("definition_zh", "definition_en"):
        if not values[name]:
            errors[name] = [_("Describe which complaints get this grade.")]
        elif len(values[name]) > DEFINITION_MAX:
            errors[name] = [_("At most %(n)s characters.") % {"n": DEFINITION_MAX}]
    for name in ("examples_zh", "examples_en"):
        if len(values[name]) > EXAMPLES_MAX:
            errors[name] = [_("At most %(n)s characters.") % {"n": EXAMPLES_MAX}]
    _between(errors, "resolution_hours", values["resolution_hours"], 1, MAX_HOURS)
    _between(errors, "escalation_interval_hours", values["escalation_interval_hours"], 1,
             MAX_ESCALATION_HOURS)
    first, resolution = values["first_response_hours"], values["resolution_hours"]
    if first is not None:
        _between(errors, "first_response_hours", first, 1, MAX_HOURS)
        if ("first_response_hours" not in errors and "resolution_hours" not in errors
                and first > resolution):
            errors["first_response_hours"] = [
                _("The first response cannot be due after the resolution deadline.")]
    days = recurrence_days_errors(values["recurrence_days"])
    if days:
        errors["recurrence_days"] = days
    return errors


@transaction.atomic
def grade_policy_update(*, user: User, grade: str, definition_zh: str, definition_en: str,
                        resolution_hours: int, first_response_hours: int | None,
                        escalation_interval_hours: int, requires_8d: bool,
                        examples_zh: str = "", examples_en: str = "",
                        recurrence_days: Sequence[int] = (30, 60, 90)) -> GradePolicy:
    """Write the grade's next policy version (HQ only; an existing version is never edited):
    its definition in both languages, optional examples, the resolution deadline, the optional
    first-response deadline (not later than the resolution one), the gap between escalation
    levels, whether closing needs an 8D report and the recurrence checks (1 to 5 distinct days
    after closing, ascending). Returns the current version, unchanged when nothing differs.

    Takes effect as the module says: complaints graded from now on; a complaint keeps the
    version it was graded under. The chain policy's row is locked while the version number is
    chosen, so two HQ users saving at once write consecutive versions; a clash with a writer
    that bypassed the lock is a conflict error, not a duplicate version."""
    if not rules.can_edit_policies(user):
        raise _forbidden()
    if grade not in Grade.values:
        raise ApplicationError(_("Choose grade A, B or C."), fields={"grade": [
            _("Choose grade A, B or C.")]})
    values = {"definition_zh": definition_zh.strip(), "definition_en": definition_en.strip(),
              "examples_zh": (examples_zh or "").strip(),
              "examples_en": (examples_en or "").strip(),
              "resolution_hours": resolution_hours, "first_response_hours": first_response_hours,
              "escalation_interval_hours": escalation_interval_hours, "requires_8d": requires_8d,
              "recurrence_days": list(recurrence_days) if isinstance(recurrence_days, list | tuple)
              else recurrence_days}
    errors = _grade_policy_errors(values)
    if errors:
        raise ApplicationError(_("The grade policy has invalid fields."), fields=errors)
    # The one lock every grade policy write takes (a grade may have no row yet to lock); the
    # current version is read after it, so it sees a version committed while this waited.
    ComplaintPolicy.objects.select_for_update().get_or_create(pk=1)
    current = (GradePolicy.objects.filter(grade=grade).order_by("-version").first())
    if current is not None and all(getattr(current, name) == value
                                   for name, value in values.items()):
        return current  # nothing changed: no new version, no row in the history
    version = GradePolicy(grade=grade, version=current.version + 1 if current else 1,
                          created_by=user, created_at=timezone.now(), **values)
    history.attribute(version, user=user)
    try:
        with transaction.atomic():
            version.save(force_insert=True)
    except IntegrityError as error:
        raise ApplicationError(
            _("Someone else saved grade %(grade)s at the same moment. Reload the page to see "
              "their version, then save again.") % {"grade": grade},
            code="conflict", status=409) from error
    return version


def _hours_errors(*, opens_at: time | None, closes_at: time | None,
                  open_24h: bool) -> dict[str, list[str]]:
    if open_24h:
        return {}
    errors: dict[str, list[str]] = {}
    if opens_at is None:
        errors["opens_at"] = [_("Enter the opening time.")]
    if closes_at is None:
        errors["closes_at"] = [_("Enter the closing time.")]
    if not errors and closes_at <= opens_at:
        errors["closes_at"] = [_("The store must close after it opens (on the same day); "
                                 "tick “open 24 hours” for a store that never closes.")]
    return errors


def _stored_hours(opens_at: time | None, closes_at: time | None,
                  open_24h: bool) -> dict[str, object]:
    # A 24-hour store keeps its last times (or the defaults) so the row stays valid.
    return {"opens_at": opens_at or time(8, 0), "closes_at": closes_at or time(22, 0),
            "open_24h": open_24h}


@transaction.atomic
def store_hours_set(*, user: User, store: Store, opens_at: time | None,
                    closes_at: time | None, open_24h: bool) -> StoreHours:
    """Set one store's daily opening hours (HQ only): it closes after it opens on the same
    day, or is open 24 hours. Used by the business-hours clock from the store's next clock
    change (the module's rule)."""
    if not rules.can_edit_policies(user):
        raise _forbidden()
    errors = _hours_errors(opens_at=opens_at, closes_at=closes_at, open_24h=open_24h)
    if errors:
        raise ApplicationError(_("The opening hours are invalid."), fields=errors)
    values = _stored_hours(opens_at, closes_at, open_24h)
    hours = StoreHours.objects.select_for_update().filter(store=store).first() or StoreHours(
        store=store)
    if hours.pk and all(getattr(hours, name) == value for name, value in values.items()):
        return hours
    for name, value in values.items():
        setattr(hours, name, value)
    history.attribute(hours, user=user)
    hours.save()
    return hours


@transaction.atomic
def store_hours_set_many(*, user: User, store_codes: Iterable[str] = (),
                         region: Region | None = None, opens_at: time | None,
                         closes_at: time | None, open_24h: bool) -> int:
    """Set the same opening hours for many stores at once (HQ only): the stores of a region,
    or a list of store codes (every code must exist; nothing is saved otherwise). Returns
    the number of stores whose hours changed; each change is in the history with ``user``."""
    if not rules.can_edit_policies(user):
        raise _forbidden()
    codes = {code.strip() for code in store_codes if code.strip()}
    errors = _hours_errors(opens_at=opens_at, closes_at=closes_at, open_24h=open_24h)
    if bool(codes) == (region is not None):
        errors["stores"] = [_("Give either store codes or a region.")]
    if errors:
        raise ApplicationError(_("The opening hours are invalid."), fields=errors)
    stores = Store.objects.filter(region=region) if region is not None else (
        Store.objects.filter(code__in=codes))
    store_ids = list(stores.values_list("pk", flat=True))
    if codes:
        missing = codes - set(Store.objects.filter(pk__in=store_ids)
                              .values_list("code", flat=True))
        if missing:
            raise ApplicationError(
                _("Unknown stores: %(codes)s") % {"codes": ", ".join(sorted(missing))},
                fields={"stores": [_("Unknown stores: %(codes)s") % {
                    "codes": ", ".join(sorted(missing))}]}, code="unknown_stores")
    values = _stored_hours(opens_at, closes_at, open_24h)
    existing = {h.store_id: h for h in StoreHours.objects.select_for_update()
                .filter(store_id__in=store_ids)}
    changed = []
    for hours in existing.values():
        if any(getattr(hours, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(hours, name, value)
            changed.append(hours)
    created = [StoreHours(store_id=store_id, **values) for store_id in store_ids
               if store_id not in existing]
    # One historical row per store either way, with the user (a region is thousands of stores).
    if changed:
        bulk_update_with_history(changed, StoreHours, list(STORE_HOURS_FIELDS),
                                 batch_size=1000, default_user=user)
    if created:
        bulk_create_with_history(created, StoreHours, batch_size=1000, default_user=user)
    return len(changed) + len(created)

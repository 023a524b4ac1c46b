"""Shared by the complaint service modules: the errors they raise, policy and the SLA clock,
and saving a complaint with an optimistic lock and an event in its log.

Private to ``complaints.services``: the sibling modules import these helpers, callers outside
the package do not.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from complaints import sla
from complaints.models import Complaint, ComplaintEvent, ComplaintPolicy, GradePolicy
from complaints.selectors import (
    DEFAULT_ESCALATION_HOURS,
    budget_seconds,
    opening_hours,
    policy_of,
    ungraded_policy,
)
from satisfaction.errors import ApplicationError
from satisfaction.models import User

# Changes to these are bookkeeping of the clock, not something a person did: not logged. The
# grade policy version follows the grade (whose change is logged); the page shows it as "A v3".
UNLOGGED_FIELDS = frozenset({"sla_spent_seconds", "clock_started_at", "warn_at",
                             "first_response_due_at", "next_alert_at", "updated_at",
                             "grade_policy_id"})


def _forbidden() -> ApplicationError:
    return ApplicationError(_("You may not do this with this complaint."), code="forbidden",
                            status=403)


def _conflict() -> ApplicationError:
    return ApplicationError(
        _("Someone else changed this complaint while you were editing it. Reload the page to "
          "see their change, then try again."), code="conflict", status=409)


# --- Policy and the clock -----------------------------------------------------------------------

# The policy reads (``grade_policies``, ``policy_of``, ``budget_seconds``) are the selectors':
# the pages show the clock with the same ones, and the service modules import them from there.
# Which grade policy version applies to a complaint is ``selectors.policy_of``'s alone.

def _escalation_interval(grade_policy: GradePolicy) -> timedelta:
    """The gap between escalation levels under ``grade_policy`` (``policy_of``)."""
    return timedelta(hours=grade_policy.escalation_interval_hours
                     or DEFAULT_ESCALATION_HOURS)


def _graded_version(grade: str, grades: dict[str, GradePolicy]) -> GradePolicy:
    """The version a complaint graded ``grade`` now is graded under: the grade's current one.
    A grade HQ never set gets its defaults written as version 1, so that the complaint keeps
    them whatever HQ sets later."""
    current = grades[grade]
    if current.pk is None:
        current, _created = GradePolicy.objects.get_or_create(
            grade=grade, version=1, defaults={
                name: getattr(current, name) for name in (
                    "resolution_hours", "first_response_hours", "escalation_interval_hours",
                    "requires_8d", "recurrence_days")})
    return current


def _opening_hours(store_id: int, policy: ComplaintPolicy) -> sla.OpeningHours | None:
    return opening_hours(store_ids=[store_id], policy=policy)[store_id]


def _clock_fields(complaint: Complaint, *, now: datetime, running: bool, grade: str,
                  policy: ComplaintPolicy, grades: dict[str, GradePolicy],
                  restart: bool = False, grade_policy: GradePolicy | None = None) -> dict:
    """The clock after a change at ``now``: time already spent is kept (unless ``restart``),
    the running segment restarts at ``now`` (or the clock pauses), deadlines recomputed.

    The hours come from the complaint's own grade policy version (``policy_of``), never the
    current one; a change of grade passes the new grade and its version (``grade_policy``)."""
    if grade_policy is not None:
        rules = grade_policy
    elif grade == complaint.grade:
        rules = policy_of(complaint, grades, policy=policy)
    else:  # a caller changing the grade without naming the version: the grade's current one
        rules = grades[grade] if grade else ungraded_policy(policy, grades)
    hours = _opening_hours(complaint.store_id, policy)
    spent = 0.0 if restart else complaint.sla_spent_seconds
    if complaint.clock_started_at is not None and not restart:
        spent += sla.work_seconds_between(complaint.clock_started_at, now, hours)
    started = now if running else None
    budget = budget_seconds(rules)
    due = sla.deadlines(spent_seconds=spent, running_since=started, budget_seconds=budget,
                        warn_fraction=policy.warn_fraction, hours=hours)
    first_response_due = None
    if rules.first_response_hours and complaint.first_response_at is None \
            and complaint.cycle == 1:
        first_response_due = sla.add_work_seconds(
            complaint.received_at, rules.first_response_hours * 3600.0, hours)
    schedule = sla.alert_schedule(
        warn_at=due.warn_at, due_at=due.due_at, first_response_due_at=first_response_due,
        responded=complaint.first_response_at is not None,
        escalation_interval=_escalation_interval(rules)) if running else []
    return {
        "sla_spent_seconds": spent, "clock_started_at": started, "due_at": due.due_at,
        "warn_at": due.warn_at, "first_response_due_at": first_response_due,
        "next_alert_at": min((a.at for a in schedule), default=None),
    }


# --- Saving with an optimistic lock ---------------------------------------------------------

def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _log(complaint: Complaint, *, actor: User | None, action: str, changes: dict | None = None,
         note: str = "") -> None:
    ComplaintEvent.objects.create(complaint=complaint, actor=actor, action=action,
                                  changes=changes or {}, note=note)


def _save(complaint: Complaint, *, version: int, actor: User | None, action: str,
          fields: dict, note: str = "") -> Complaint:
    """Write ``fields`` only if nobody saved since ``version`` was read (else a 409)."""
    if complaint.version != version:
        raise _conflict()
    old = {name: getattr(complaint, name) for name in fields}
    updated = Complaint.objects.filter(pk=complaint.pk, version=version).update(
        **fields, version=version + 1, updated_at=timezone.now())
    if updated != 1:
        raise _conflict()
    for name, value in fields.items():
        setattr(complaint, name, value)
    complaint.version = version + 1
    changes = {name.removesuffix("_id"): [_json_value(old[name]), _json_value(value)]
               for name, value in fields.items()
               if name not in UNLOGGED_FIELDS and old[name] != value}
    _log(complaint, actor=actor, action=action, changes=changes, note=note)
    return complaint

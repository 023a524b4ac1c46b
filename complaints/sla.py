"""The SLA clock and the alert schedule as plain functions: no ORM, tested without a database.

The clock counts working seconds. With no opening hours (or a 24-hour store) every second
counts; with opening hours only the seconds between opening and closing time of each local day
count. A complaint's clock is (seconds already spent, start of the running segment or None
while paused); its deadlines follow from the grade's budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import pgettext

WARN = "warn"
ESCALATE = "escalate"
FIRST_RESPONSE = "first_response"
ESCALATION_LEVELS = (1, 2, 3)  # store manager -> regional manager -> general manager (HQ)


@dataclass(frozen=True, slots=True)
class OpeningHours:
    opens: time
    closes: time
    zone: ZoneInfo

    def window(self, day: date) -> tuple[datetime, datetime]:
        return (datetime.combine(day, self.opens, tzinfo=self.zone),
                datetime.combine(day, self.closes, tzinfo=self.zone))


def work_seconds_between(start: datetime, end: datetime, hours: OpeningHours | None) -> float:
    """Working seconds in [start, end)."""
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds()
    total = 0.0
    day = start.astimezone(hours.zone).date()
    last = end.astimezone(hours.zone).date()
    while day <= last:
        opens, closes = hours.window(day)
        lo, hi = max(start, opens), min(end, closes)
        if hi > lo:
            total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def add_work_seconds(start: datetime, seconds: float, hours: OpeningHours | None) -> datetime:
    """The moment at which ``seconds`` working seconds after ``start`` have run."""
    if hours is None or seconds <= 0:
        return start + timedelta(seconds=seconds)
    remaining = seconds
    day = start.astimezone(hours.zone).date()
    while True:
        opens, closes = hours.window(day)
        lo = max(start, opens)
        if closes > lo:
            available = (closes - lo).total_seconds()
            if remaining <= available:
                return lo + timedelta(seconds=remaining)
            remaining -= available
        day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Deadlines:
    warn_at: datetime | None
    due_at: datetime | None


def deadlines(*, spent_seconds: float, running_since: datetime | None, budget_seconds: float,
              warn_fraction: float, hours: OpeningHours | None) -> Deadlines:
    """Deadlines of a running clock; none while it is paused or stopped."""
    if running_since is None:
        return Deadlines(None, None)
    due = add_work_seconds(running_since, budget_seconds - spent_seconds, hours)
    warn = add_work_seconds(running_since, budget_seconds * warn_fraction - spent_seconds, hours)
    return Deadlines(min(warn, due), due)


ON_TIME = "on_time"
WARNING = "warning"
OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class ClockState:
    """Where a clock stands at a moment: on time, warning or overdue, with the working seconds
    left (negative: overdue by that much) and whether it is paused."""

    state: str
    left_seconds: float
    paused: bool


def clock_state(*, spent_seconds: float, running_since: datetime | None,
                due_at: datetime | None, warn_at: datetime | None, budget_seconds: float,
                warn_fraction: float, hours: OpeningHours | None, now: datetime) -> ClockState:
    """The state of a clock at ``now``.

    A running clock is judged by its own deadlines (the ones ``deadlines`` gave when it last
    changed, which the SLA sweep alerts on): warning from ``warn_at``, overdue from ``due_at``,
    the time left counted in working seconds between ``now`` and ``due_at``. A paused clock
    stands still at what it has spent against the budget and the warning fraction it will run
    on when it resumes.
    """
    if running_since is not None and due_at is not None:
        if now >= due_at:
            return ClockState(OVERDUE, -work_seconds_between(due_at, now, hours), paused=False)
        state = WARNING if warn_at is not None and now >= warn_at else ON_TIME
        return ClockState(state, work_seconds_between(now, due_at, hours), paused=False)
    left = budget_seconds - spent_seconds
    if left <= 0:
        state = OVERDUE
    elif spent_seconds >= budget_seconds * warn_fraction:
        state = WARNING
    else:
        state = ON_TIME
    return ClockState(state, left, paused=True)


@dataclass(frozen=True, slots=True)
class TimeLeft:
    """A clock's time left as every page shows it: ``left`` is signed (negative: overdue by
    that much working time), ``phrase`` says it in the user's language ("还剩 5 小时" /
    "已超时 6 小时", "5 h left" / "6 h overdue")."""

    left: timedelta
    phrase: str
    overdue: bool


def time_left(state: ClockState) -> TimeLeft:
    """The one wording of a clock's time left (``clock_state``'s working seconds left), in
    whole hours and minutes: minutes alone under an hour, hours alone on the hour. Overdue by
    less than a minute reads as one minute, so that an overdue clock never says 0."""
    seconds = state.left_seconds
    overdue = state.state == OVERDUE or seconds < 0
    minutes = int(abs(seconds)) // 60
    if overdue:
        minutes = max(minutes, 1)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        span = pgettext("sla clock", "%(minutes)d min") % {"minutes": minutes}
    elif not minutes:
        span = pgettext("sla clock", "%(hours)d h") % {"hours": hours}
    else:
        span = pgettext("sla clock", "%(hours)d h %(minutes)d min") % {
            "hours": hours, "minutes": minutes}
    if overdue:
        phrase = pgettext("sla clock", "%(span)s overdue") % {"span": span}
    else:
        phrase = pgettext("sla clock", "%(span)s left") % {"span": span}
    return TimeLeft(left=timedelta(seconds=-abs(seconds) if overdue else seconds),
                    phrase=phrase, overdue=overdue)


@dataclass(frozen=True, slots=True)
class ScheduledAlert:
    kind: str
    level: int
    at: datetime


def alert_schedule(*, warn_at: datetime | None, due_at: datetime | None,
                   first_response_due_at: datetime | None, responded: bool,
                   escalation_interval: timedelta) -> list[ScheduledAlert]:
    """Every alert a running clock will raise, in time order."""
    alerts: list[ScheduledAlert] = []
    if first_response_due_at is not None and not responded:
        alerts.append(ScheduledAlert(FIRST_RESPONSE, 0, first_response_due_at))
    if warn_at is not None:
        alerts.append(ScheduledAlert(WARN, 0, warn_at))
    if due_at is not None:
        alerts.extend(ScheduledAlert(ESCALATE, level, due_at + escalation_interval * (level - 1))
                      for level in ESCALATION_LEVELS)
    return sorted(alerts, key=lambda a: (a.at, a.kind != FIRST_RESPONSE, a.level))


def split_due(schedule: list[ScheduledAlert], now: datetime
              ) -> tuple[list[ScheduledAlert], datetime | None]:
    """(alerts due at ``now``, when the next one comes due or None)."""
    due = [a for a in schedule if a.at <= now]
    later = [a.at for a in schedule if a.at > now]
    return due, (min(later) if later else None)

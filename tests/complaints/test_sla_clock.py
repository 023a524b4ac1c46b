"""The SLA clock as pure functions: no database."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from complaints import sla

SH = ZoneInfo("Asia/Shanghai")
HOURS = sla.OpeningHours(time(8), time(22), SH)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def test_wall_clock_deadline_is_received_plus_budget():
    d = sla.deadlines(spent_seconds=0, running_since=at(2, 10), budget_seconds=24 * 3600,
                      warn_fraction=0.75, hours=None)
    assert d.due_at == at(3, 10)
    assert d.warn_at == at(3, 4)  # 18 h = 75 % of 24 h


def test_time_already_spent_is_kept_when_the_clock_resumes():
    # 10 h spent before a pause; resumed at 20:00 next day: 14 h left.
    d = sla.deadlines(spent_seconds=10 * 3600, running_since=at(3, 20),
                      budget_seconds=24 * 3600, warn_fraction=0.75, hours=None)
    assert d.due_at == at(4, 10)
    assert d.warn_at == at(4, 4)  # 18 - 10 = 8 h after 20:00


def test_a_paused_clock_has_no_deadline():
    d = sla.deadlines(spent_seconds=5, running_since=None, budget_seconds=10, warn_fraction=0.75,
                      hours=None)
    assert d == sla.Deadlines(None, None)


def test_business_hours_clock_counts_only_opening_hours():
    # Received 20:00 (2 h left that day), 24 working hours = 2 h + 14 h (day 2) + 8 h (day 3).
    assert sla.add_work_seconds(at(2, 20), 24 * 3600, HOURS) == at(4, 16)
    # Received before opening: the clock starts at 08:00.
    assert sla.add_work_seconds(at(2, 6), 3600, HOURS) == at(2, 9)
    assert sla.work_seconds_between(at(2, 20), at(4, 16), HOURS) == 24 * 3600
    assert sla.work_seconds_between(at(2, 23), at(3, 7), HOURS) == 0


def test_escalation_levels_follow_the_deadline_at_the_configured_interval():
    schedule = sla.alert_schedule(warn_at=at(3, 4), due_at=at(3, 10), first_response_due_at=None,
                                  responded=False, escalation_interval=timedelta(hours=4))
    assert [(a.kind, a.level, a.at) for a in schedule] == [
        ("warn", 0, at(3, 4)), ("escalate", 1, at(3, 10)), ("escalate", 2, at(3, 14)),
        ("escalate", 3, at(3, 18))]
    due, following = sla.split_due(schedule, at(3, 12))
    assert [(a.kind, a.level) for a in due] == [("warn", 0), ("escalate", 1)]
    assert following == at(3, 14)


def test_first_response_alert_is_dropped_once_answered():
    kinds = {a.kind for a in sla.alert_schedule(
        warn_at=None, due_at=None, first_response_due_at=at(2, 12), responded=True,
        escalation_interval=timedelta(hours=1))}
    assert kinds == set()


def test_a_running_clock_is_judged_by_its_own_deadlines_in_working_time():
    # Running since day 2, 20:00 on opening hours: due day 4, 16:00; warned from day 4, 10:00.
    d = sla.deadlines(spent_seconds=0, running_since=at(2, 20), budget_seconds=24 * 3600,
                      warn_fraction=0.75, hours=HOURS)
    assert (d.warn_at, d.due_at) == (at(4, 10), at(4, 16))

    def state(now):
        return sla.clock_state(spent_seconds=0, running_since=at(2, 20), due_at=d.due_at,
                               warn_at=d.warn_at, budget_seconds=24 * 3600, warn_fraction=0.75,
                               hours=HOURS, now=now)

    # Day 3, 21:00: 2 + 13 working hours spent, 1 h that evening and 8 h on day 4 left.
    assert state(at(3, 21)) == sla.ClockState(sla.ON_TIME, 9 * 3600, paused=False)
    assert state(at(4, 10)) == sla.ClockState(sla.WARNING, 6 * 3600, paused=False)
    # Overdue by the working time since the deadline: 16:00-22:00 and 08:00-09:30.
    assert state(at(5, 9, 30)) == sla.ClockState(sla.OVERDUE, -7.5 * 3600, paused=False)


def test_a_paused_clock_stands_still_at_what_it_has_spent():
    def paused(spent_hours):
        return sla.clock_state(spent_seconds=spent_hours * 3600, running_since=None,
                               due_at=None, warn_at=None, budget_seconds=24 * 3600,
                               warn_fraction=0.75, hours=None, now=at(30, 23))

    assert paused(10) == sla.ClockState(sla.ON_TIME, 14 * 3600, paused=True)
    assert paused(18) == sla.ClockState(sla.WARNING, 6 * 3600, paused=True)
    assert paused(25) == sla.ClockState(sla.OVERDUE, -3600, paused=True)

"""Demo: a few improvement actions of the demo store manager's store (runs after scoring.demo,
so the baselines come from the rolled-up values): one overdue, one open, one done last quarter
waiting for its review. Then last month's monthly reports are sent (``monthly_reports_send``),
so the demo logins find them in their notifications and at /reports/monthly/."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from dashboard.models import ActionSource, ActionStatus, ImprovementAction
from dashboard.reports import Month
from dashboard.services import indicator_value, monthly_reports_send
from satisfaction.demo import DemoChain
from satisfaction.models import EmployeeRole
from satisfaction.quarters import Quarter

ACTIONS = [
    # title, indicator, source, days from today to the deadline, quarter offset, status
    ("价格标签每日复核，会员价与系统一致", "price", ActionSource.COMPLAINT, -5, 0,
     ActionStatus.OPEN),
    ("慢病顾客用药回访与疗程提醒", "efficacy", ActionSource.INDICATOR, 21, 0, ActionStatus.OPEN),
    ("晨会演练亲情服务礼貌用语", "warm_service", ActionSource.MYSTERY_SHOPPER, -40, -1,
     ActionStatus.DONE),
]


def seed(*, chain: DemoChain) -> str:
    store = chain.stores[0]
    staff = chain.staff_of(store)
    manager = next(e for e in staff if e.role == EmployeeRole.STORE_MANAGER)
    current = Quarter.containing(chain.today)
    rows = []
    for index, (title, code, source, days, offset, status) in enumerate(ACTIONS):
        quarter = current.previous() if offset else current
        owner = manager if index == 0 else staff[(index + 1) % len(staff)]
        baseline = indicator_value(store=store, quarter=quarter, code=code)
        rows.append(ImprovementAction(
            store=store, quarter=quarter, title=title, indicator_code=code, source=source,
            owner=owner, deadline=chain.today + timedelta(days=days), status=status,
            baseline_score=baseline, baseline_quarter=quarter if baseline is not None else None,
            created_by=chain.users["store1"]))
    ImprovementAction.objects.bulk_create(rows)
    month = Month.containing(chain.today).previous()
    sent = monthly_reports_send(month=month, now=timezone.now())
    return (f"{len(rows)} improvement actions for {store.code}; "
            f"{sent} monthly reports of {month} sent")

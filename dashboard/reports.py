"""The monthly report's calendar and its e-mail summary: plain computation, no ORM.

- ``Month``: a calendar month (``2026-11``) with its range in the chain's zone.
- ``first_working_day``: the first Monday–Friday of a month. The chain's public holidays (the
  Spring Festival, National Day …) are not modelled: a report may go out on a working day that
  is a holiday, never on a weekend.
- ``report_month_due``: which month's reports are owed on a given day. The daily beat run
  (``dashboard.tasks.send_monthly_reports``) asks it; the send itself is idempotent
  (``dashboard.services.monthly_reports_send``).
- ``summary_text``: the short e-mail / in-app text of one recipient's report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from satisfaction.quarters import REQUEST_YEARS, chain_zone

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class InvalidMonthError(ValueError):
    pass


@dataclass(frozen=True, order=True, slots=True)
class Month:
    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 12:
            raise InvalidMonthError(f"Month number must be 1-12, not {self.number}.")
        first, last = REQUEST_YEARS
        if not first <= self.year <= last:
            raise InvalidMonthError(f"Year {self.year} is out of range.")

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2026-11``; anything else (or a year outside ``REQUEST_YEARS``) raises."""
        match = _MONTH.match(str(text))
        if not match:
            raise InvalidMonthError(f"{text!r} is not a month like 2026-11.")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def of_first_day(cls, day: date) -> Month:
        """The month a stored first day (``MonthlyReportSent.month``) stands for."""
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.number, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def next(self) -> Month:
        if self.number == 12:
            return Month(self.year + 1, 1)
        return Month(self.year, self.number + 1)

    def previous(self) -> Month:
        if self.number == 1:
            return Month(self.year - 1, 12)
        return Month(self.year, self.number - 1)

    def start(self) -> datetime:
        """Midnight at the start of the first day, in the chain's zone (inclusive)."""
        return datetime.combine(self.first_day, time.min, tzinfo=chain_zone())

    def end(self) -> datetime:
        """Midnight at the start of the next month, in the chain's zone (exclusive)."""
        return self.next().start()


def first_working_day(month: Month) -> date:
    """The month's first Monday–Friday (public holidays are not modelled: see the module)."""
    day = month.first_day
    while day.weekday() >= 5:  # Saturday 5, Sunday 6
        day += timedelta(days=1)
    return day


def report_month_due(today: date) -> Month | None:
    """The month whose reports are owed on ``today``: the previous month, from this month's
    first working day to its last day; before the first working day, none.

    Every day after the first working day still names the previous month, so a beat that was
    down on the first working day (or a worker that died mid-send) catches up the next morning;
    the send records each recipient under a unique constraint, so those already served get
    nothing more."""
    month = Month.containing(today)
    if today < first_working_day(month):
        return None
    return month.previous()


# --- The summary --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryLine:
    """One scope's figures in the e-mail: a store, a region or the chain."""

    label: str
    quarter: str | None = None  # the quarter of the value shown
    provisional: bool = False
    value: float | None = None
    previous_quarter: str | None = None
    previous_value: float | None = None
    complaints: int = 0
    on_time_rate: float | None = None
    closed_loop_rate: float | None = None
    overdue_complaints: int = 0
    overdue_actions: int = 0
    actions_due: int = 0

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous_value is None:
            return None
        return round(self.value, 1) - round(self.previous_value, 1)


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _value_sentence(line: SummaryLine) -> str:
    if line.value is None or line.quarter is None:
        return _("No satisfaction value yet.")
    if line.provisional:
        text = _("Value %(quarter)s (provisional): %(value).1f") % {
            "quarter": line.quarter, "value": line.value}
    else:
        text = _("Value %(quarter)s: %(value).1f") % {"quarter": line.quarter,
                                                       "value": line.value}
    change = line.change
    if change is not None and line.previous_quarter:
        text += pgettext("monthly report", ", %(change)+.1f against %(quarter)s") % {
            "change": change, "quarter": line.previous_quarter}
    return text


def summary_lines(line: SummaryLine) -> list[str]:
    """The sentences of one scope: its value, the month's complaints, what is overdue."""
    return [
        pgettext("monthly report", "%(scope)s: %(value)s") % {
            "scope": line.label, "value": _value_sentence(line)},
        _("Complaints received: %(count)d; on time %(on_time)s; closed loop %(closed)s") % {
            "count": line.complaints, "on_time": _rate(line.on_time_rate),
            "closed": _rate(line.closed_loop_rate)},
        _("Overdue now: %(complaints)d complaints, %(actions)d improvement actions; "
          "actions due next month: %(due)d") % {
            "complaints": line.overdue_complaints, "actions": line.overdue_actions,
            "due": line.actions_due},
    ]


def summary_text(*, month: Month, title_scope: str, lines: list[SummaryLine]
                 ) -> tuple[str, str]:
    """``(title, body)`` of one recipient's report: a few lines per scope (a store manager of
    two stores gets both). The link to the full page is the notification's url."""
    title = _("Monthly report %(month)s: %(scope)s") % {"month": month, "scope": title_scope}
    body = "\n\n".join("\n".join(summary_lines(line)) for line in lines)
    return title, body


# --- The page's chart ---------------------------------------------------------------------------

_COLOURS = ("#1565c0", "#90a4ae", "#2e7d32")


def trend_chart(*, quarters: list[str], series: list[tuple[str, list[float | None]]]) -> dict:
    """An ECharts line per named series over the quarters (gaps where a quarter has no value),
    for ``{% chart %}``; the table beside it is what prints."""
    return {
        "animation": False,
        "grid": {"left": 8, "right": 16, "top": 40, "bottom": 8, "containLabel": True},
        "legend": {"data": [str(name) for name, _values in series], "top": 0, "type": "scroll"},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": list(quarters)},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [{"type": "line", "name": str(name), "connectNulls": False,
                    "data": [None if v is None else round(float(v), 1) for v in values],
                    "itemStyle": {"color": _COLOURS[index % len(_COLOURS)]}}
                   for index, (name, values) in enumerate(series)],
    }

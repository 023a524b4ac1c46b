"""The quarter as a value type: ``2026Q4`` parsed and printed, with its range in the chain's zone.

Scores, campaigns and plans are all per quarter (季度). A quarter's boundaries are calendar
dates in the chain's time zone (``settings.TIME_ZONE``, Asia/Shanghai by default), so a receipt
at 23:30 on 31 December in Shanghai belongs to Q4 even though it is already 1 January in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from satisfaction.errors import ApplicationError

_PATTERN = re.compile(r"^\s*(\d{4})\s*-?\s*[Qq]\s*([1-4])\s*$")


class InvalidQuarterError(ValueError):
    pass


@dataclass(frozen=True, order=True, slots=True)
class Quarter:
    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise InvalidQuarterError(f"Quarter number must be 1-4, not {self.number}.")
        if not 1900 <= self.year <= 9999:
            raise InvalidQuarterError(f"Year {self.year} is out of range.")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _PATTERN.match(str(text))
        if not match:
            raise InvalidQuarterError(f"{text!r} is not a quarter like 2026Q4.")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, moment: date | datetime) -> Quarter:
        """The quarter a date, or an aware datetime seen in the chain's zone, falls in."""
        if isinstance(moment, datetime):
            moment = timezone.localtime(moment, chain_zone()).date()
        return cls(moment.year, (moment.month - 1) // 3 + 1)

    @classmethod
    def current(cls) -> Quarter:
        return cls.containing(timezone.now())

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def start(self) -> datetime:
        """Midnight at the start of the first day, in the chain's zone (inclusive)."""
        return datetime.combine(self.first_day, time.min, tzinfo=chain_zone())

    def end(self) -> datetime:
        """Midnight at the start of the next quarter, in the chain's zone (exclusive)."""
        return self.next().start()

    def next(self) -> Quarter:
        if self.number == 4:
            return Quarter(self.year + 1, 1)
        return Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        if self.number == 1:
            return Quarter(self.year - 1, 4)
        return Quarter(self.year, self.number - 1)

    def last_n(self, count: int) -> list[Quarter]:
        """This quarter and the ``count - 1`` before it, oldest first."""
        quarters = [self]
        while len(quarters) < count:
            quarters.append(quarters[-1].previous())
        return quarters[::-1]

    def contains(self, moment: date | datetime) -> bool:
        return Quarter.containing(moment) == self


def chain_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


class QuarterField(models.CharField):
    """Stores a :class:`Quarter` as its text (``2026Q4``), which sorts chronologically."""

    description = "A calendar quarter such as 2026Q4"

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_length", 6)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == 6:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        return None if value is None else Quarter.parse(value)

    def to_python(self, value):
        if value is None or isinstance(value, Quarter):
            return value
        try:
            return Quarter.parse(value)
        except InvalidQuarterError as exc:
            raise ValidationError(str(exc), code="invalid_quarter") from exc

    def get_prep_value(self, value):
        if value is None:
            return None
        if isinstance(value, Quarter):
            return str(value)
        return str(Quarter.parse(value))


# The quarters a request may name (a page's or an API call's ``?quarter=``, a body's
# ``quarter``): any the chain can have data for, and away from the ends of ``Quarter``'s range,
# where a neighbour (the quarter after 9999Q4, its end) does not exist.
REQUEST_YEARS = (2000, 2100)
_REQUEST_YEAR = r"(20[0-9][0-9]|2100)"  # REQUEST_YEARS as a pattern
# The forms the API documents and accepts: ``2026Q4`` and ``2026-11-24``, ASCII digits,
# nothing around them.
QUARTER_PATTERN = rf"^{_REQUEST_YEAR}Q[1-4]$"
DATE_PATTERN = rf"^{_REQUEST_YEAR}-[0-9][0-9]-[0-9][0-9]$"
_STRICT = re.compile(QUARTER_PATTERN)


def earliest_request_moment() -> datetime:
    """The earliest time a caller may date something (a complaint's receipt, a POS
    transaction): the start of ``REQUEST_YEARS``, in the chain's zone."""
    return datetime(REQUEST_YEARS[0], 1, 1, tzinfo=chain_zone())


def parse_request_quarter(text: str, *, strict: bool = False) -> Quarter:
    """A quarter a caller typed or sent. ``strict`` (the API) takes only ``2026Q4``; otherwise
    (pages) as ``Quarter.parse``. Either way only years in ``REQUEST_YEARS``."""
    if strict and not _STRICT.match(text):
        raise InvalidQuarterError(f"{text!r} is not a quarter like 2026Q4.")
    quarter = Quarter.parse(text)
    first, last = REQUEST_YEARS
    if not first <= quarter.year <= last:
        raise InvalidQuarterError(f"{quarter} is not between {first}Q1 and {last}Q4.")
    return quarter


def quarter_param(params: Mapping[str, str], *, default: Quarter | None,
                  name: str = "quarter", strict: bool = False) -> Quarter | None:
    """The quarter a page or an API call asks for in its query (``?quarter=2026Q4``), else
    ``default``. A malformed value, or a year outside ``REQUEST_YEARS``, is the caller's
    mistake: an ``ApplicationError`` (400) that names the field, which the API and the pages
    turn into a clear message. ``strict`` (the API): only the documented form, see
    ``parse_request_quarter``; an empty value is still "not given"."""
    raw = params.get(name) or ""
    text = raw if strict else raw.strip()
    if not text:
        return default
    try:
        return parse_request_quarter(text, strict=strict)
    except InvalidQuarterError:
        # The messages the pages have always shown (translated); the range is in the docs.
        raise ApplicationError(_("Give a quarter like 2026Q4."),
                               fields={name: [_("Not a quarter such as 2026Q4.")]}) from None

"""The pulse's five statements: constants, not data.

Why constants (and not rows HQ edits, as the internal-service departments are): the pulse is
read quarter against quarter and store against store, which only holds while every quarter asks
the same five statements; each statement is a column of ``PulseResponse`` (one row per answer,
one ``GROUP BY`` for any set of stores), and the wording is translated through the app's
catalogue like any other text. Changing a statement is a change to this file and a migration,
made on purpose, never a setting flipped mid-quarter.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Statement:
    code: str  # the column of ``pulse.models.PulseResponse``
    text: Promise


STATEMENTS: tuple[Statement, ...] = (
    Statement("equipped", _("I have what I need to serve customers well.")),
    Statement("hq_support", _("HQ supports our store.")),
    Statement("recognition", _("My manager recognises good work.")),
    Statement("pride", _("I am proud of the service we give.")),
    Statement("recommend", _("I would recommend working here.")),
)
CODES: tuple[str, ...] = tuple(s.code for s in STATEMENTS)

#: The agreement scale, 1 = strongly disagree … 5 = strongly agree.
SCALE_MIN, SCALE_MAX = 1, 5
SCALE_LABELS = {1: _("Strongly disagree"), 2: _("Disagree"), 3: _("Neither"), 4: _("Agree"),
                5: _("Strongly agree")}

"""Masking of customers' personal data in lists and exports.

Phone numbers show as ``138****1234`` and names as ``王*`` / ``J***`` wherever the role does not
need the full value (who needs it is each app's decision: typically HQ customer relations and
the complaint's handling owner).
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\D")


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    digits = _DIGITS.sub("", phone)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 4:
        return f"****{digits[-4:]}"
    return "****"


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    name = name.strip()
    return name[0] + "*" * max(1, min(len(name) - 1, 3))

"""Masking of customers' personal data in lists and exports.

Phone numbers show as ``138****1234``, names as ``王*`` / ``J***`` and e-mail addresses as
``z***@example.com`` wherever the role does not need the full value (who needs it is each app's
decision: typically HQ customer relations and the complaint's handling owner); ``mask_text``
masks them inside free text (a complaint's description in the report sent to the customer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of at least 7 digits, single spaces or dashes allowed between them (138 1234 5678,
# 021-6543-2100, +86 13812345678); a date such as 2026-11-24 is left alone.
_PHONE = re.compile(r"(?<![\d+])\+?\d(?:[ -]?\d){6,}(?!\d)")
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_MIN_PHONE_DIGITS = 7


def mask_email(address: str) -> str:
    """``zhang.san@example.com`` → ``z***@example.com``."""
    local, at, domain = address.strip().partition("@")
    if not at:
        return mask_name(address)
    return f"{local[:1]}***@{domain}"


def _mask_phone_match(match: re.Match) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    if digits < _MIN_PHONE_DIGITS or _DATE.match(text):
        return text
    return mask_phone(text)


def mask_text(text: str, *, names: Iterable[str] = ()) -> str:
    """Free text with personal data masked: e-mail addresses, phone numbers (7 digits or more)
    and each of ``names`` (the customer's, the staff's) wherever it appears. A name shorter
    than two characters is not searched for (it would mask ordinary words)."""
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = _PHONE.sub(_mask_phone_match, text)
    for name in sorted({n.strip() for n in names if len(n.strip()) >= 2}, key=len,
                       reverse=True):
        text = text.replace(name, mask_name(name))
    return text

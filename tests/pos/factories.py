"""Factories for the POS integration tests."""

from __future__ import annotations

from pos.models import PosApiKey
from pos.services import pos_api_key_create


def make_key(*stores, name: str = "POS test", **kwargs) -> tuple[PosApiKey, str]:
    """A key for ``stores`` and its secret (as HQ would copy it from the admin)."""
    return pos_api_key_create(name=name, stores=list(stores), **kwargs)


def receipt(**overrides) -> dict:
    """A valid receipt as a POS posts it (store S0001 of the shared fixtures)."""
    data = {"store": "S0001", "receipt_number": "R0001",
            "occurred_at": "2026-11-20T18:05:00+08:00", "amount": "36.50", "item_count": 3,
            "member_id": "M001", "cashier": "E00002"}
    data.update(overrides)
    return data

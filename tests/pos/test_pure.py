"""Pure functions of the POS ingest: no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from pos.selectors import METRIC_COLUMNS, add_rates
from pos.services import differing_fields, is_sampled, member_hash, parse_transaction

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
VALID = {"store": "S0001", "receipt_number": "R-1", "occurred_at": "2026-11-20T18:05:00+08:00",
         "amount": "36.50", "item_count": 3}


def test_sampling_is_the_same_answer_for_the_same_receipt():
    answers = {is_sampled("S0001", "R42", 0.1) for _ in range(5)}
    assert len(answers) == 1


def test_sampling_picks_about_the_configured_share():
    picked = sum(is_sampled("S0001", f"R{n}", 0.1) for n in range(20_000))
    assert 1_800 <= picked <= 2_200


def test_sampling_share_zero_picks_none_and_one_picks_all():
    assert not any(is_sampled("S0001", f"R{n}", 0) for n in range(100))
    assert all(is_sampled("S0001", f"R{n}", 1) for n in range(100))


def test_member_hash_is_keyed_and_ignores_surrounding_spaces():
    assert member_hash(" M001 ", key="k1") == member_hash("M001", key="k1")
    assert member_hash("M001", key="k1") != member_hash("M001", key="k2")
    assert "M001" not in member_hash("M001", key="k1")
    assert len(member_hash("M001", key="k1")) == 64


def test_parse_reads_a_time_without_offset_as_chain_time():
    item, errors = parse_transaction({**VALID, "occurred_at": "2026-11-20T18:05:00"}, now=NOW,
                                     hash_key="k")
    assert errors == {}
    assert item.occurred_at == datetime(2026, 11, 20, 10, 5, tzinfo=UTC)


def test_parse_accepts_a_number_amount_and_normalises_it():
    item, _errors = parse_transaction({**VALID, "amount": 12.5}, now=NOW, hash_key="k")
    assert item.amount == Decimal("12.50")


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": "1.234"}, "amount"),
    ({"amount": "-1"}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"amount": True}, "amount"),
    ({"item_count": 0}, "item_count"),
    ({"item_count": "3"}, "item_count"),
    ({"occurred_at": "2026-11-24T19:00:00+08:00"}, "occurred_at"),  # 1 h in the future
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"receipt_number": ""}, "receipt_number"),
    ({"receipt_number": "R 1"}, "receipt_number"),
    ({"store": None}, "store"),
    ({"member_id": 123}, "member_id"),
])
def test_parse_names_the_bad_field(change, field):
    item, errors = parse_transaction({**VALID, **change}, now=NOW, hash_key="k")
    assert item is None
    assert list(errors) == [field]


def test_parse_refuses_a_non_object():
    item, errors = parse_transaction(["S0001"], now=NOW, hash_key="k")
    assert item is None
    assert "non_field_errors" in errors


def test_differing_fields_names_the_changed_fields_in_api_terms():
    item, _ = parse_transaction({**VALID, "member_id": "M1"}, now=NOW, hash_key="k")
    stored = {"occurred_at": item.occurred_at, "amount": Decimal("36.5"), "item_count": 4,
              "member_hash": "", "cashier_number": ""}
    assert differing_fields(item, stored) == ["item_count", "member_id"]


def test_rates_are_hand_computed_ratios_and_nan_without_denominator():
    frame = pd.DataFrame([
        {"store_id": 1, "transactions": 400, "amount": 1.0, "members": 3, "previous_members": 4,
         "returning_members": 2, "retained_members": 3, "complaints": 2},
        {"store_id": 2, "transactions": 0, "amount": 0.0, "members": 0, "previous_members": 0,
         "returning_members": 0, "retained_members": 0, "complaints": 1},
    ])
    rates = add_rates(frame)
    assert list(rates.columns) == METRIC_COLUMNS
    assert rates.loc[0, "loyalty"] == 0.5
    assert rates.loc[0, "retention"] == 0.75
    assert rates.loc[0, "complaints_per_1000"] == 5.0  # 2 / 400 * 1000
    assert np.isnan(rates.loc[1, "loyalty"])
    assert np.isnan(rates.loc[1, "complaints_per_1000"])

"""The complaint tables carry no index that repeats another's leading column (each is written
again when the SLA sweep moves 1,000 complaints' next alert), yet every link to another row
is still found through an index: a lookup by it, or the check when the linked row is deleted,
never reads the whole table."""

from __future__ import annotations

import pytest
from django.db import connection, models

from complaints.models import Complaint, SlaAlert
from satisfaction.models import Notification


def _indexes(model: type[models.Model]) -> list[tuple[tuple[str, ...], bool, bool]]:
    """(columns, unique, partial) of each index PostgreSQL / SQLite would have for ``model``:
    the field-level ones (primary key, unique, ``db_index``), ``Meta.indexes`` and the unique
    constraints."""
    meta = model._meta

    def columns(names) -> tuple[str, ...]:
        return tuple(meta.get_field(name.lstrip("-")).column for name in names)

    found = [((field.column,), field.unique, False) for field in meta.concrete_fields
             if field.db_index or field.unique]
    found += [(columns(index.fields), False, index.condition is not None)
              for index in meta.indexes]
    found += [(columns(constraint.fields), True, constraint.condition is not None)
              for constraint in meta.constraints
              if isinstance(constraint, models.UniqueConstraint) and constraint.fields]
    return found


def _links(model: type[models.Model]) -> list[str]:
    return [field.column for field in model._meta.concrete_fields
            if isinstance(field, models.ForeignKey)]


@pytest.mark.parametrize("model", [Complaint, SlaAlert, Notification])
def test_every_link_leads_an_index(model):
    leading = {columns[0] for columns, _unique, _partial in _indexes(model)}
    links = _links(model)
    assert links
    assert [column for column in links if column not in leading] == []


@pytest.mark.parametrize("model", [Complaint, SlaAlert, Notification])
def test_no_single_column_index_repeats_the_lead_of_another(model):
    indexes = _indexes(model)
    single = [columns[0] for columns, unique, partial in indexes
              if len(columns) == 1 and not unique and not partial]
    composite = [columns[0] for columns, _unique, partial in indexes
                 if len(columns) > 1 and not partial]
    assert [column for column in single if column in composite] == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_has_the_indexes_the_models_declare():
    """The migrations built what the models say: every link of a complaint leads an index in
    PostgreSQL itself, and the dropped duplicates are gone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s::regclass",
            [Complaint._meta.db_table])
        leading = [row[0] for row in cursor.fetchall()]
    assert [column for column in _links(Complaint) if column not in leading] == []
    assert leading.count("store_id") == 2  # (store, received_at) and the recurrence index
    assert leading.count("received_at") == 1  # the spike index


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_notification_writes_only_the_indexes_its_reads_use():
    """A burst of SLA alerts inserts 1,000 notifications at once. The bell reads them by
    (user, read_at); nothing reads them by kind, so kind carries no index (nor the LIKE index
    PostgreSQL would add beside it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(a.attname ORDER BY k.n) FROM pg_index i "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = %s::regclass GROUP BY i.indexrelid",
            [Notification._meta.db_table])
        indexes = sorted(row[0] for row in cursor.fetchall())
    assert indexes == [["id"], ["user_id", "read_at"]]

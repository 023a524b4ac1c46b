"""The complaint tables carry no index that repeats another's leading column (each is written
again when the SLA sweep moves 1,000 complaints' next alert), yet every link to another row
is still found through an index: a lookup by it, or the check when the linked row is deleted,
never reads the whole table."""

from __future__ import annotations

import pytest
from django.db import connection, models

from complaints.models import Complaint, SlaAlert
from satisfaction.models import Notification


def _leading_columns(model: type[models.Model]) -> list[str]:
    """The first column of each index PostgreSQL / SQLite would have for ``model``."""
    meta = model._meta
    columns = [meta.pk.column]
    columns += [field.column for field in meta.concrete_fields if field.db_index or field.unique]
    columns += [meta.get_field(index.fields[0].lstrip("-")).column for index in meta.indexes]
    columns += [meta.get_field(constraint.fields[0]).column for constraint in meta.constraints
                if isinstance(constraint, models.UniqueConstraint) and constraint.fields]
    return columns


@pytest.mark.parametrize("model", [Complaint, SlaAlert, Notification])
def test_every_link_leads_an_index(model):
    leading = set(_leading_columns(model))
    links = [field.column for field in model._meta.concrete_fields
             if isinstance(field, models.ForeignKey)]
    assert links
    assert [column for column in links if column not in leading] == []


@pytest.mark.parametrize("model", [Complaint, SlaAlert, Notification])
def test_no_single_column_index_repeats_the_lead_of_another(model):
    meta = model._meta
    single = [field.column for field in meta.concrete_fields
              if field.db_index and not field.unique and not field.primary_key]
    single += [meta.get_field(index.fields[0]).column for index in meta.indexes
               if len(index.fields) == 1 and index.condition is None]
    composite = [meta.get_field(index.fields[0]).column for index in meta.indexes
                 if len(index.fields) > 1 and index.condition is None]
    composite += [meta.get_field(constraint.fields[0]).column for constraint in meta.constraints
                  if isinstance(constraint, models.UniqueConstraint)
                  and len(constraint.fields) > 1]
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
    links = [field.column for field in Complaint._meta.concrete_fields
             if isinstance(field, models.ForeignKey)]
    assert [column for column in links if column not in leading] == []
    assert leading.count("store_id") == 2  # (store, received_at) and the recurrence index
    assert leading.count("received_at") == 1  # the spike index

"""Migration 0006 regroups the survey responses every existing revision froze one row each into
one row per (revision, store, employee), exactly (ids, figures, who they counted for), and
leaves the visits and complaints as they were; migrating back gives the rows back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection

BEFORE = ("scoring", "0005_snapshot_without_fk_checks")
AFTER = ("scoring", "0006_revision_responses")

pytestmark = pytest.mark.django_db(transaction=True)

# (rollup, store, kind, object_id, employee, figure, employee_figure); kind 1: a response.
# Figures a decimal rendering would not give back exactly, and responses without a score.
ROWS = [
    ("r1", "s1", 1, 11, "e1", 100.0, None),
    ("r1", "s1", 1, 13, "e1", 1 / 3, None),
    ("r1", "s1", 1, 12, None, 0.1 + 0.2, None),
    ("r1", "s1", 1, 14, None, None, None),
    ("r1", "s1", 1, 15, "e2", 67.85714285714286, None),
    ("r1", "s2", 1, 21, None, 2 / 7 * 100, None),
    ("r1", "s2", 1, 22, "e1", 50.0, None),  # the same employee at another store
    ("r2", "s1", 1, 11, "e1", 100.0, None),  # the same response in another revision
    ("r2", "s1", 1, 16, None, None, None),
    ("r1", "s1", 2, 11, "e1", 70.0, 70.0),  # a visit with the id of a response
    ("r1", "s1", 3, 31, None, 2.0, None),
]


def test_it_regroups_the_responses_of_every_revision_exactly_and_back(migrator):
    old = migrator.apply_initial_migration(BEFORE)
    model = old.apps.get_model
    region = model("satisfaction", "Region").objects.create(code="R", name="R")
    stores = {name: model("satisfaction", "Store").objects.create(
        code=name, name=name, region=region, city="上海") for name in ("s1", "s2")}
    employees = {name: model("satisfaction", "Employee").objects.create(
        number=name, name=name, store=stores["s1"], role="clerk") for name in ("e1", "e2")}
    scheme = model("scoring", "Scheme").objects.get_or_create(version=1)[0]
    moment = datetime(2026, 7, 1, tzinfo=UTC)
    rollups = {name: model("scoring", "Rollup").objects.create(
        quarter="2026Q2", revision=number, status=status, scheme=scheme,
        computed_at=moment, evidence_recorded=True)
        for number, (name, status) in enumerate((("r1", "superseded"), ("r2", "published")),
                                                start=1)}

    def ids(rollup, store, employee):
        return (rollups[rollup].pk, stores[store].pk,
                employees[employee].pk if employee else None)

    model("scoring", "RevisionInput").objects.bulk_create([
        model("scoring", "RevisionInput")(
            rollup_id=ids(r, s, e)[0], store_id=ids(r, s, e)[1], kind=kind, object_id=oid,
            employee_id=ids(r, s, e)[2], figure=figure, employee_figure=employee_figure)
        for r, s, kind, oid, e, figure, employee_figure in ROWS])

    new = migrator.apply_tested_migration(AFTER)

    groups = {(g.rollup_id, g.store_id, g.employee_key or None): (g.response_ids, g.figures)
              for g in new.apps.get_model("scoring", "RevisionResponses").objects.all()}
    assert 0 in {g.employee_key for g in new.apps.get_model(
        "scoring", "RevisionResponses").objects.all()}  # no employee: key 0
    expected: dict[tuple, tuple[list, list]] = {}
    for r, s, kind, oid, e, figure, _employee_figure in sorted(ROWS, key=lambda row: row[3]):
        if kind == 1:
            key = ids(r, s, e)
            expected.setdefault(key, ([], []))
            expected[key][0].append(oid)
            expected[key][1].append(figure)
    assert groups == expected  # ids ascending, each figure beside its id, bit for bit
    assert len(groups) == 7
    left = set(new.apps.get_model("scoring", "RevisionInput").objects.values_list(
        "rollup_id", "store_id", "kind", "object_id", "employee_id", "figure",
        "employee_figure"))
    assert left == {(*ids(r, s, e)[:2], kind, oid, ids(r, s, e)[2], figure, employee_figure)
                    for r, s, kind, oid, e, figure, employee_figure in ROWS if kind != 1}

    call_command("migrate", *BEFORE, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT rollup_id, store_id, kind, object_id, employee_id, figure, "
                       "employee_figure FROM scoring_revisioninput")
        rows = set(cursor.fetchall())
    assert rows == {(*ids(r, s, e)[:2], kind, oid, ids(r, s, e)[2], figure, employee_figure)
                    for r, s, kind, oid, e, figure, employee_figure in ROWS}
    migrator.reset()

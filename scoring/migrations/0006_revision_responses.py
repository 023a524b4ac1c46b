# Issue 16: a revision's counted survey responses, one row per (revision, store, employee)
# instead of one per response. Existing revisions' response rows are regrouped, so their
# evidence reads the same (tests/scoring/test_evidence_readers.py pins the readers' answers).

from itertools import groupby

import django.db.models.deletion
from django.db import migrations, models

import scoring.models

RESPONSE = 1  # scoring.evidence.RESPONSE, the kind of a survey response's RevisionInput row
BATCH = 5000


def regroup_responses(apps, schema_editor):
    """Each revision's per-response rows become one row per (revision, store, employee: 0 for
    none), the ids in order and their figures beside them; the per-response rows are
    deleted."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(
                "INSERT INTO scoring_revisionresponses "
                "(rollup_id, store_id, employee_key, response_ids, figures) "
                "SELECT rollup_id, store_id, COALESCE(employee_id, 0), "
                "array_agg(object_id ORDER BY object_id), array_agg(figure ORDER BY object_id) "
                "FROM scoring_revisioninput WHERE kind = %s "
                "GROUP BY rollup_id, store_id, COALESCE(employee_id, 0) "
                "ORDER BY rollup_id, store_id, COALESCE(employee_id, 0)", [RESPONSE])
            cursor.execute("DELETE FROM scoring_revisioninput WHERE kind = %s", [RESPONSE])
        return
    RevisionInput = apps.get_model("scoring", "RevisionInput")
    RevisionResponses = apps.get_model("scoring", "RevisionResponses")
    rows = (RevisionInput.objects.filter(kind=RESPONSE)
            .order_by("rollup_id", "store_id", "employee_id", "object_id")
            .values_list("rollup_id", "store_id", "employee_id", "object_id", "figure"))
    batch = []
    for (rollup_id, store_id, employee_id), group in groupby(
            rows.iterator(chunk_size=BATCH), key=lambda row: row[:3]):
        members = list(group)
        batch.append(RevisionResponses(
            rollup_id=rollup_id, store_id=store_id, employee_key=employee_id or 0,
            response_ids=[row[3] for row in members], figures=[row[4] for row in members]))
        if len(batch) >= BATCH:
            RevisionResponses.objects.bulk_create(batch)
            batch = []
    RevisionResponses.objects.bulk_create(batch)
    RevisionInput.objects.filter(kind=RESPONSE).delete()


def expand_responses(apps, schema_editor):
    """Back to one RevisionInput row per response."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO scoring_revisioninput "
                "(rollup_id, kind, object_id, store_id, employee_id, figure) "
                "SELECT g.rollup_id, %s, x.id, g.store_id, NULLIF(g.employee_key, 0), x.figure "
                "FROM scoring_revisionresponses g "
                "CROSS JOIN LATERAL unnest(g.response_ids, g.figures) AS x(id, figure)",
                [RESPONSE])
        return
    RevisionInput = apps.get_model("scoring", "RevisionInput")
    RevisionResponses = apps.get_model("scoring", "RevisionResponses")
    batch = []
    for group in RevisionResponses.objects.iterator(chunk_size=BATCH):
        batch.extend(RevisionInput(rollup_id=group.rollup_id, kind=RESPONSE, object_id=object_id,
                                   store_id=group.store_id,
                                   employee_id=group.employee_key or None,
                                   figure=figure)
                     for object_id, figure in zip(group.response_ids, group.figures,
                                                  strict=True))
        if len(batch) >= BATCH:
            RevisionInput.objects.bulk_create(batch)
            batch = []
    RevisionInput.objects.bulk_create(batch)


class Migration(migrations.Migration):

    dependencies = [
        ('satisfaction', '0010_default_departments'),
        ('scoring', '0005_snapshot_without_fk_checks'),
    ]

    operations = [
        # Columns ordered for a narrow row (8-byte columns first, the arrays last).
        migrations.CreateModel(
            name='RevisionResponses',
            fields=[
                ('pk', models.CompositePrimaryKey('rollup', 'store', 'employee_key', blank=True, editable=False, primary_key=True, serialize=False)),
                ('rollup', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='response_groups', to='scoring.rollup', verbose_name='rollup')),
                ('store', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='satisfaction.store', verbose_name='store')),
                ('employee_key', models.BigIntegerField(verbose_name='employee')),
                ('response_ids', scoring.models.NumberListField(base='bigint', verbose_name='responses')),
                ('figures', scoring.models.NumberListField(base='double precision', verbose_name='scores')),
            ],
            options={
                'verbose_name': 'counted responses',
                'verbose_name_plural': 'counted responses',
                'indexes': [models.Index(condition=models.Q(('employee_key', 0), _negated=True), fields=['rollup', 'employee_key'], name='scoring_responses_employee')],
            },
        ),
        migrations.RunPython(regroup_responses, expand_responses, elidable=False),
    ]

# The appeal windows (satisfaction.models.AppealWindow): one HQ-editable row per kind, seeded
# with 7 days each. complaints 0003 carries the complaint policy's old value over.

from django.db import migrations, models


def seed_windows(apps, schema_editor):
    AppealWindow = apps.get_model("satisfaction", "AppealWindow")
    for kind in ("complaint", "mystery_shopper"):
        AppealWindow.objects.get_or_create(kind=kind, defaults={"days": 7})


class Migration(migrations.Migration):

    dependencies = [
        ('satisfaction', '0005_delivery'),
    ]

    operations = [
        migrations.CreateModel(
            name='AppealWindow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('complaint', 'Complaint grading'), ('mystery_shopper', 'Mystery-shopper report')], max_length=20, unique=True, verbose_name='appeal against')),
                ('days', models.PositiveSmallIntegerField(default=7, verbose_name='days to appeal')),
            ],
            options={
                'verbose_name': 'appeal window',
                'verbose_name_plural': 'appeal windows',
                'ordering': ['kind'],
            },
        ),
        migrations.RunPython(seed_windows, migrations.RunPython.noop),
    ]

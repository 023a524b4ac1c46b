from django.db import migrations


def create_defaults(apps, schema_editor):
    ComplaintPolicy = apps.get_model("complaints", "ComplaintPolicy")
    GradePolicy = apps.get_model("complaints", "GradePolicy")
    ComplaintPolicy.objects.get_or_create(pk=1)
    for grade in ("A", "B", "C"):
        GradePolicy.objects.get_or_create(
            grade=grade, defaults={"resolution_hours": 24, "escalation_interval_hours": 4,
                                   "requires_8d": grade in ("A", "B")})


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]

"""The default scoring scheme (docs/domain.md "The score"): version 1, current."""

from django.db import migrations

DEFAULT_WEIGHTS = {
    "assortment": 1.0, "environment": 1.0, "recommendation": 1.0, "efficacy": 1.0,
    "warm_service": 1.0, "product_quality": 1.0, "price": 1.0,
}


def create_default_scheme(apps, schema_editor):
    Scheme = apps.get_model("scoring", "Scheme")
    if not Scheme.objects.exists():
        Scheme.objects.create(version=1, is_current=True, note="default",
                              indicator_weights=DEFAULT_WEIGHTS)


def remove_default_scheme(apps, schema_editor):
    apps.get_model("scoring", "Scheme").objects.filter(version=1, note="default").delete()


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]

    operations = [migrations.RunPython(create_default_scheme, remove_default_scheme)]

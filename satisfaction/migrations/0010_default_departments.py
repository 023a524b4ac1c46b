"""The six HQ departments that serve the stores by default (issue 18): HQ edits them later."""

from django.db import migrations

DEFAULT_DEPARTMENTS = (
    ("logistics", "物流配送 / 补货", "Logistics / replenishment"),
    ("merchandising", "商品采购", "Merchandising"),
    ("pricing", "价格管理", "Pricing"),
    ("it", "信息技术", "IT"),
    ("hr", "人力资源", "HR"),
    ("training", "培训", "Training"),
)


def create_defaults(apps, schema_editor):
    Department = apps.get_model("satisfaction", "Department")
    for order, (code, name_zh, name_en) in enumerate(DEFAULT_DEPARTMENTS, start=1):
        Department.objects.get_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en, "order": order * 10})


class Migration(migrations.Migration):
    dependencies = [("satisfaction", "0009_departments")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]

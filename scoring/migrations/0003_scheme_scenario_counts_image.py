"""Issue 12, seed 002's formulas: the scheme option to count the store-image items in the
scenario survey (神秘顾客分数 = 购药评定分 + 问病卖药流程分; the image is reported beside it).

Every scheme version saved before this migration computed the scenario % with the store-image
items in (the mean of the visits' score over all parts): those versions are marked as counting
them, so each keeps describing what it computed. Then:

- if a rollup used the current version, a new version (a copy with the option off) becomes the
  current one; the revisions already computed keep their version and their stored numbers;
- if none used it, it has computed nothing yet and is switched off in place (a new database's
  default scheme stays version 1, with the option off).
"""

from django.db import migrations, models

NOTE = ("情景调查分 = 购药评定 + 问病卖药流程，门店形象单列 / scenario = purchase evaluation "
        "+ process, store image reported beside")


def forward(apps, schema_editor):
    Scheme = apps.get_model("scoring", "Scheme")
    Rollup = apps.get_model("scoring", "Rollup")
    Scheme.objects.update(scenario_counts_image=True)
    current = Scheme.objects.filter(is_current=True).first()
    if current is None:
        return
    if not Rollup.objects.filter(scheme=current).exists():
        Scheme.objects.filter(pk=current.pk).update(scenario_counts_image=False)
        return
    version = Scheme.objects.aggregate(v=models.Max("version"))["v"] + 1
    Scheme.objects.filter(pk=current.pk).update(is_current=False)
    copied = {field.attname: getattr(current, field.attname)
              for field in Scheme._meta.concrete_fields
              if field.attname not in {"id", "created_at", "created_by_id"}}
    Scheme.objects.create(**{**copied, "version": version, "is_current": True,
                             "scenario_counts_image": False, "note": NOTE})


def backward(apps, schema_editor):
    Scheme = apps.get_model("scoring", "Scheme")
    Rollup = apps.get_model("scoring", "Rollup")
    added = Scheme.objects.filter(is_current=True, note=NOTE).first()
    if added is None or Rollup.objects.filter(scheme=added).exists():
        return
    added.delete()
    previous = Scheme.objects.order_by("-version").first()
    if previous is not None:
        Scheme.objects.filter(pk=previous.pk).update(is_current=True)


class Migration(migrations.Migration):

    dependencies = [
        ("scoring", "0002_default_scheme"),
    ]

    operations = [
        migrations.AddField(
            model_name="scheme",
            name="scenario_counts_image",
            field=models.BooleanField(
                default=False,
                help_text="The mystery-shopper score is the purchase evaluation plus the "
                          "ask-then-dispense process; the store-image items (signboard, "
                          "uniform, polite phrases) are reported beside it. Tick to count them "
                          "in.",
                verbose_name="count the store-image items in the scenario survey"),
        ),
        migrations.RunPython(forward, backward),
    ]

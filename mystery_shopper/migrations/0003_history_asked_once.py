"""Issue 12, seed 002: the default scorecard asks each history-taking point once.

The purchase evaluation's symptom awareness (对症意识: 现病史, 既往史) already asks the present
and the past history; the process section's "四步咨询：询问病史" asked for the medical history a
second time. When the current version of the ``default`` scorecard still has that item, a new
version becomes current: a copy without it, whose 5 points go to the ask-then-dispense item
(先问病、后发药, so the process part keeps its maximum), and whose remaining counselling items read
"用药咨询：…" (three steps are no longer the "four-step" counselling). Visits keep the version
they were planned with (``Visit.template``), so their scores do not move. A card HQ already
changed without that item is left alone; a new database gets the corrected card from
``mystery_shopper.defaults`` in 0002 and nothing happens here.

The constants are frozen here (not read from ``defaults``): a migration describes the change it
made, whatever the defaults become.
"""

from django.db import migrations
from django.db.models import Max

CODE = "default"
DUPLICATE = "asks_medical_history"
RECEIVER = "ask_then_dispense"
OLD_PREFIX, NEW_PREFIX = "四步咨询：", "用药咨询："


def forward(apps, schema_editor):
    Template = apps.get_model("mystery_shopper", "ScorecardTemplate")
    Section = apps.get_model("mystery_shopper", "ScorecardSection")
    Item = apps.get_model("mystery_shopper", "ScorecardItem")
    current = Template.objects.filter(code=CODE, is_current=True).first()
    if current is None:
        return
    duplicate = Item.objects.filter(section__template=current, code=DUPLICATE,
                                    part="process").first()
    if duplicate is None:
        return
    has_receiver = Item.objects.filter(section__template=current, code=RECEIVER,
                                       part="process").exists()
    version = Template.objects.filter(code=CODE).aggregate(v=Max("version"))["v"] + 1
    Template.objects.filter(pk=current.pk).update(is_current=False)
    new = Template.objects.create(
        code=CODE, version=version, name_zh=current.name_zh, name_en=current.name_en,
        red_line_score=current.red_line_score, is_current=True)
    for section in Section.objects.filter(template=current).order_by("position", "pk"):
        copy = Section.objects.create(template=new, position=section.position,
                                      title_zh=section.title_zh, title_en=section.title_en)
        items = Item.objects.filter(section=section).exclude(pk=duplicate.pk)
        for position, item in enumerate(items.order_by("position", "pk")):
            max_points = item.max_points
            if has_receiver and item.code == RECEIVER and item.part == "process":
                max_points += duplicate.max_points
            text_zh = item.text_zh
            if text_zh.startswith(OLD_PREFIX):
                text_zh = NEW_PREFIX + text_zh[len(OLD_PREFIX):]
            Item.objects.create(
                section=copy, position=position, code=item.code, text_zh=text_zh,
                text_en=item.text_en, kind=item.kind, max_points=max_points, part=item.part,
                evidence=item.evidence, is_red_line=item.is_red_line, allows_na=item.allows_na)


def backward(apps, schema_editor):
    """Drops the version this migration made if no visit uses it; the previous is current."""
    Template = apps.get_model("mystery_shopper", "ScorecardTemplate")
    Visit = apps.get_model("mystery_shopper", "Visit")
    Item = apps.get_model("mystery_shopper", "ScorecardItem")
    current = Template.objects.filter(code=CODE, is_current=True).first()
    if (current is None or current.version == 1 or Visit.objects.filter(template=current).exists()
            or Item.objects.filter(section__template=current, code=DUPLICATE).exists()):
        return
    previous = (Template.objects.filter(code=CODE, version__lt=current.version)
                .order_by("-version").first())
    if previous is None or not Item.objects.filter(section__template=previous,
                                                   code=DUPLICATE).exists():
        return
    current.delete()
    Template.objects.filter(pk=previous.pk).update(is_current=True)


class Migration(migrations.Migration):

    dependencies = [("mystery_shopper", "0002_default_scorecard")]

    operations = [migrations.RunPython(forward, backward)]

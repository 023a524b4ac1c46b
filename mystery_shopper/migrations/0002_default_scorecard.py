from decimal import Decimal

from django.db import migrations


def create_defaults(apps, schema_editor):
    from mystery_shopper.defaults import DEFAULT_SCENARIOS, DEFAULT_SCORECARD

    Template = apps.get_model("mystery_shopper", "ScorecardTemplate")
    Section = apps.get_model("mystery_shopper", "ScorecardSection")
    Item = apps.get_model("mystery_shopper", "ScorecardItem")
    Scenario = apps.get_model("mystery_shopper", "Scenario")
    data = DEFAULT_SCORECARD
    if not Template.objects.filter(code=data["code"]).exists():
        template = Template.objects.create(
            code=data["code"], version=1, name_zh=data["name_zh"], name_en=data["name_en"],
            red_line_score=Decimal(str(data["red_line_score"])), is_current=True)
        for s_index, section_data in enumerate(data["sections"]):
            section = Section.objects.create(template=template, position=s_index,
                                             title_zh=section_data["title_zh"],
                                             title_en=section_data["title_en"])
            for i_index, item in enumerate(section_data["items"]):
                red = bool(item.get("is_red_line"))
                Item.objects.create(
                    section=section, position=i_index, code=item["code"],
                    text_zh=item["text_zh"], text_en=item["text_en"], kind=item["kind"],
                    max_points=Decimal(str(item["max_points"])), part=item["part"],
                    evidence=item.get("evidence", ""), is_red_line=red, allows_na=not red)
    for scenario in DEFAULT_SCENARIOS:
        Scenario.objects.get_or_create(code=scenario["code"], defaults=scenario)


class Migration(migrations.Migration):
    dependencies = [("mystery_shopper", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]

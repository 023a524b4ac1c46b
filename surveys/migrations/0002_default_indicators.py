"""The seven perception indicators (7项感知指标) every new database starts with."""

from django.db import migrations

DEFAULTS = [
    # code, zh, en, question zh, question en, kano tag, screen group
    ("assortment", "品种齐全度感知", "Assortment",
     "这次您需要的药品和商品都能在本店一次买齐吗？",
     "Could you buy everything you needed in one visit?", "time", "goods"),
    ("environment", "购物环境感知", "Shopping environment",
     "与其他药店相比，本店的陈列、卫生和氛围让您满意吗？",
     "Compared with other pharmacies, how do you rate our display, hygiene and atmosphere?",
     "respect", "store"),
    ("recommendation", "推销商品感知", "Recommendations",
     "店员为您推荐的关联用药和疗程建议是否合适？",
     "Were the associated products and course of treatment recommended to you appropriate?",
     "care", "service"),
    ("efficacy", "疗效感知", "Efficacy",
     "您在本店购买的药品对症吗？用药效果如何？",
     "Did the medicine you bought here suit your symptoms and work?", "quality", "service"),
    ("warm_service", "亲情服务质量感知", "Warm service",
     "店员的服务是否热情、贴心，像家人一样？",
     "Was our staff warm and caring, like family?", "care", "service"),
    ("product_quality", "商品质量感知", "Product quality",
     "您对商品的产地、品牌、包装和陈列满意吗？",
     "How satisfied are you with the origin, brand, packaging and display of our products?",
     "quality", "goods"),
    ("price", "商品价格感知", "Price",
     "您觉得本店商品的价格合理吗？",
     "Do you find our prices fair?", "price", "goods"),
]


def create(apps, schema_editor):
    # No weight named here: the field's default (1) filled it while indicators had one, and
    # seed_demo --reset and the tests call this with today's models, which have none (the
    # scoring scheme weighs the codes since 0003).
    Indicator = apps.get_model("surveys", "Indicator")
    for order, (code, zh, en, qzh, qen, kano, group) in enumerate(DEFAULTS, start=1):
        Indicator.objects.get_or_create(code=code, defaults={
            "name_zh": zh, "name_en": en, "question_zh": qzh, "question_en": qen,
            "kano": kano, "group": group, "order": order * 10})


def remove(apps, schema_editor):
    apps.get_model("surveys", "Indicator").objects.filter(
        code__in=[row[0] for row in DEFAULTS], answers__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]

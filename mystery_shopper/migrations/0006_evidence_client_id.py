"""The phone's own id for a queued evidence file, so a file sent twice is stored once."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("mystery_shopper", "0005_setup"),
    ]

    operations = [
        migrations.AddField(
            model_name="evidence",
            name="client_id",
            field=models.UUIDField(blank=True, editable=False, null=True, unique=True),
        ),
    ]

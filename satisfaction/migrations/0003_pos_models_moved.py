"""The POS models now belong to the ``pos`` app (``pos.0001_initial`` renamed their tables);
the core's migration state forgets them without touching the database."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("satisfaction", "0002_posapikey_postransaction"),
        ("pos", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="PosTransaction"),
                migrations.DeleteModel(name="PosApiKey"),
            ],
        ),
    ]

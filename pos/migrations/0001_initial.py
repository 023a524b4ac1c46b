"""The POS models move from the core app (label ``satisfaction``) to their own app ``pos``.

Nothing is recreated: the three tables are renamed in place, so every stored key and receipt
stays, with its id, and the content types (admin history, permissions) follow the models.
``satisfaction.0003_pos_models_moved`` then removes the models from the core's migration state.
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

# (old table, new table) of the models and of the keys' store links.
TABLES = (
    ("satisfaction_posapikey", "pos_posapikey"),
    ("satisfaction_postransaction", "pos_postransaction"),
    ("satisfaction_posapikey_stores", "pos_posapikey_stores"),
)


def rename_tables(apps, schema_editor):
    for old, new in TABLES:
        schema_editor.alter_db_table(None, old, new)


def rename_tables_back(apps, schema_editor):
    for old, new in TABLES:
        schema_editor.alter_db_table(None, new, old)


def move_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in ("posapikey", "postransaction"):
        if not content_type.objects.filter(app_label="pos", model=model).exists():
            content_type.objects.filter(app_label="satisfaction", model=model).update(
                app_label="pos")


def move_content_types_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="pos", model__in=("posapikey", "postransaction")
                                ).update(app_label="satisfaction")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("satisfaction", "0002_posapikey_postransaction"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(rename_tables, rename_tables_back)],
            state_operations=[
                migrations.CreateModel(
                    name='PosApiKey',
                    fields=[
                        ('id', models.CharField(editable=False, max_length=150, primary_key=True, serialize=False, unique=True)),
                        ('prefix', models.CharField(editable=False, max_length=8, unique=True)),
                        ('hashed_key', models.CharField(editable=False, max_length=150)),
                        ('created', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('name', models.CharField(default=None, help_text='A free-form name for the API key. Need not be unique. 50 characters max.', max_length=50)),
                        ('revoked', models.BooleanField(blank=True, default=False, help_text='If the API key is revoked, clients cannot use it anymore. (This cannot be undone.)')),
                        ('expiry_date', models.DateTimeField(blank=True, help_text='Once API key expires, clients cannot use it anymore.', null=True, verbose_name='Expires')),
                        ('all_stores', models.BooleanField(default=False, help_text='For a head-office system (e.g. the call centre): every store of the chain.', verbose_name='all stores')),
                        ('throttle_rate', models.CharField(blank=True, help_text='Requests allowed per key, e.g. 600/min; empty uses the default.', max_length=20, validators=[django.core.validators.RegexValidator('^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$', 'A rate such as 600/min, 20/s or 50000/day.')], verbose_name='throttle rate')),
                        ('last_used_at', models.DateTimeField(blank=True, null=True, verbose_name='last used at')),
                        ('stores', models.ManyToManyField(blank=True, help_text='Stores this key may post for and read.', related_name='pos_api_keys', to='satisfaction.store', verbose_name='stores')),
                    ],
                    options={
                        'verbose_name': 'POS API key',
                        'verbose_name_plural': 'POS API keys',
                        'ordering': ('-created',),
                        'abstract': False,
                    },
                ),
                migrations.CreateModel(
                    name='PosTransaction',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('receipt_number', models.CharField(max_length=64, verbose_name='receipt number')),
                        ('occurred_at', models.DateTimeField(verbose_name='time')),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='amount')),
                        ('item_count', models.PositiveIntegerField(verbose_name='item count')),
                        ('member_hash', models.CharField(blank=True, max_length=64, verbose_name='member (keyed hash)')),
                        ('cashier_number', models.CharField(blank=True, max_length=32, verbose_name='cashier employee number')),
                        ('received_at', models.DateTimeField(verbose_name='received at')),
                        ('invitation_id', models.BigIntegerField(blank=True, null=True, verbose_name='survey invitation')),
                        ('invitation_url', models.CharField(blank=True, max_length=300, verbose_name='invitation link')),
                        ('invitation_qr', models.CharField(blank=True, max_length=300, verbose_name='invitation QR payload')),
                        ('invitation_expires_at', models.DateTimeField(blank=True, null=True, verbose_name='invitation expires at')),
                        ('api_key', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='transactions', to='pos.posapikey', verbose_name='API key')),
                        ('cashier', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='pos_transactions', to='satisfaction.employee', verbose_name='cashier')),
                        ('store', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='pos_transactions', to='satisfaction.store', verbose_name='store')),
                    ],
                    options={
                        'verbose_name': 'POS transaction',
                        'verbose_name_plural': 'POS transactions',
                        'ordering': ['-occurred_at', '-id'],
                        'indexes': [models.Index(fields=['store', 'occurred_at'], name='pos_tx_store_time_idx'), models.Index(condition=models.Q(('member_hash', ''), _negated=True), fields=['occurred_at', 'member_hash'], name='pos_tx_time_member_idx')],
                        'constraints': [models.UniqueConstraint(fields=('store', 'receipt_number'), name='pos_transaction_store_receipt_unique')],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]

# The complaint appeal window moves to the core's HQ-editable satisfaction.AppealWindow (its
# current value carried over); the policy gains how far back staff may date a complaint.

from django.db import migrations, models


def carry_over_appeal_window(apps, schema_editor):
    ComplaintPolicy = apps.get_model("complaints", "ComplaintPolicy")
    AppealWindow = apps.get_model("satisfaction", "AppealWindow")
    policy = ComplaintPolicy.objects.filter(pk=1).first()
    if policy is not None:
        AppealWindow.objects.update_or_create(kind="complaint",
                                              defaults={"days": policy.appeal_window_days})


def restore_appeal_window(apps, schema_editor):
    ComplaintPolicy = apps.get_model("complaints", "ComplaintPolicy")
    AppealWindow = apps.get_model("satisfaction", "AppealWindow")
    window = AppealWindow.objects.filter(kind="complaint").first()
    if window is not None:
        ComplaintPolicy.objects.filter(pk=1).update(appeal_window_days=window.days)


class Migration(migrations.Migration):

    dependencies = [
        ('complaints', '0002_default_policy'),
        ('satisfaction', '0006_appeal_windows'),
    ]

    operations = [
        migrations.RunPython(carry_over_appeal_window, restore_appeal_window),
        migrations.RemoveField(
            model_name='complaintpolicy',
            name='appeal_window_days',
        ),
        migrations.AddField(
            model_name='complaintpolicy',
            name='backdate_days',
            field=models.PositiveSmallIntegerField(default=7, help_text='Only HQ may record a complaint received earlier.', verbose_name='receipt time at most this many days back'),
        ),
    ]

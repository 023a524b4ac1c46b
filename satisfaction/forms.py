from django import forms
from django.utils.translation import gettext_lazy as _

from satisfaction.errors import ApplicationError


def add_application_error(form: forms.BaseForm, error: ApplicationError) -> None:
    """Show a service's ``ApplicationError`` on a form: each message at its field when the form
    has that field, otherwise at the top; the overall message when no field is named."""
    for name, messages in error.fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message)
    if not error.fields:
        form.add_error(None, error.message)


class ChainImportForm(forms.Form):
    file = forms.FileField(label=_("Stores / employees file (CSV or XLSX)"))

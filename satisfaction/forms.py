from django import forms
from django.utils.translation import gettext_lazy as _


class ChainImportForm(forms.Form):
    file = forms.FileField(label=_("Stores / employees file (CSV or XLSX)"))

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from satisfaction.errors import ApplicationError
from satisfaction.quarters import InvalidQuarterError, Quarter


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


class QuarterChoiceField(forms.ChoiceField):
    """A quarter picked from the quarters that exist, each labelled with its state: a
    ``<select>``, never free text. The cleaned value is a :class:`Quarter`; a value that is not
    offered (a crafted request) is a form error naming it.

    ``quarters`` is ``[(Quarter, label), ...]``: the page's owner of quarter states decides
    them (``scoring.selectors.quarter_options`` for scores; ``quarter_choices_around`` where a
    quarter is being planned)."""

    default_error_messages = {
        "invalid_choice": _("%(value)s is not one of the quarters offered."),
    }

    def __init__(self, *, quarters: Iterable[tuple[Quarter, str]] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.quarters = quarters

    @property
    def quarters(self) -> list[tuple[Quarter, str]]:
        return self._quarters

    @quarters.setter
    def quarters(self, value: Iterable[tuple[Quarter, str]]) -> None:
        self._quarters = list(value)
        self.choices = [(str(quarter), label) for quarter, label in self._quarters]

    def prepare_value(self, value):
        return str(value) if isinstance(value, Quarter) else value

    def to_python(self, value) -> Quarter | None:
        if isinstance(value, Quarter):
            return value
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return Quarter.parse(text)
        except InvalidQuarterError:
            raise forms.ValidationError(self.error_messages["invalid_choice"],
                                        code="invalid_choice",
                                        params={"value": text}) from None

    def validate(self, value: Quarter | None) -> None:
        forms.Field.validate(self, value)
        if value is not None and value not in {quarter for quarter, _label in self._quarters}:
            raise forms.ValidationError(self.error_messages["invalid_choice"],
                                        code="invalid_choice", params={"value": value})


def quarter_choices_around(*, before: int = 1, after: int = 4,
                           extra: Iterable[Quarter] = ()) -> list[tuple[Quarter, str]]:
    """The quarters from ``before`` quarters ago to ``after`` ahead (and any ``extra``, such as
    the quarter an existing campaign already has), newest first, the current one marked: the
    choice where a quarter is being planned rather than scored."""
    current = Quarter.current()
    quarters = {current, *extra}
    earlier = later = current
    for _step in range(before):
        earlier = earlier.previous()
        quarters.add(earlier)
    for _step in range(after):
        later = later.next()
        quarters.add(later)
    return [(quarter, gettext("%(quarter)s (current)") % {"quarter": quarter}
             if quarter == current else str(quarter))
            for quarter in sorted(quarters, reverse=True)]

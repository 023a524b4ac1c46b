"""Policy history: who changed an HQ-editable policy, when, and each field's old and new value.

Two kinds of policy keep it:

- edited rows (survey indicators, the complaint policy, grade policies and store opening
  hours, appeal windows, mystery-shopper visit frequencies) carry django-simple-history's
  ``history = HistoricalRecords()``: every save writes a historical row with the user of the
  request (``HistoryRequestMiddleware``) or the one the service names (:func:`attribute`),
  and :func:`changes` diffs each row against the one before it (``diff_against``);
- versioned policies (the scoring scheme, the mystery-shopper scorecard) are never edited: each
  version is a row with who and when, and their selectors diff consecutive versions with
  :func:`field_changes`.

Either way a page shows the same :class:`Change` rows through one template,
``templates/satisfaction/_history.html``; the admin shows simple-history's History view.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop, pgettext

from satisfaction.models import User

# The reason of the rows the ``*_history`` migrations wrote for the policies as they stood,
# so that the first change after them still shows what it changed from. Stored in English
# (the migrations' literal), shown translated.
BASELINE_REASON = gettext_noop("Values when the history began")

HISTORY_LIMIT = 20  # changes a page shows, newest first


@dataclass(frozen=True)
class FieldChange:
    """One field of one change. ``old`` is None where there was no earlier value (created)."""

    field: str
    old: str | None
    new: str


@dataclass(frozen=True)
class Change:
    at: datetime
    user: str  # the username, or "" for a change made by no one logged in (a migration)
    subject: str  # which row: "Grade A", "S0001 ... 2026Q2", "v7"
    action: str
    reason: str
    fields: tuple[FieldChange, ...]


def attribute(instance: models.Model, *, user: User | None, reason: str = "") -> None:
    """Name who makes the coming save of ``instance`` (and why) in its history: the service's
    user, also outside a request (a command, a task, a test)."""
    if user is not None:
        instance._history_user = user  # noqa: SLF001 (django-simple-history's convention)
    if reason:
        instance._change_reason = reason[:100]  # noqa: SLF001


def display(field: models.Field, value: Any) -> str:
    """A field's value as a page shows it: choices by label, yes/no, times as hh:mm, numbers
    without trailing zeros."""
    if value is None or value == "":
        text = "—"
    elif field.choices:
        text = str(dict(field.flatchoices).get(value, value))
    elif isinstance(value, bool):
        text = pgettext("history", "yes") if value else pgettext("history", "no")
    elif isinstance(value, datetime):
        text = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    elif isinstance(value, time):
        text = value.strftime("%H:%M")
    elif isinstance(value, float | Decimal):
        text = f"{value:.4f}".rstrip("0").rstrip(".")
        text = "0" if text in {"", "-0"} else text
    else:
        text = str(value)
    return text


def model_field(model: type[models.Model], name: str) -> models.Field:
    return model._meta.get_field(name)  # noqa: SLF001  (model metadata API)


def label(field: models.Field) -> str:
    return capfirst(str(field.verbose_name))


def editable_fields(model: type[models.Model], *, exclude: Iterable[str] = ()) -> list[str]:
    """The names of ``model``'s editable fields, less ``exclude`` and the key: what a
    versioned policy's versions are compared on."""
    skip = set(exclude)
    return [f.name for f in model._meta.concrete_fields  # noqa: SLF001  (model metadata API)
            if f.editable and not f.primary_key and f.name not in skip]


def field_changes(model: type[models.Model], old: models.Model | None, new: models.Model,
                  fields: Iterable[str]) -> tuple[FieldChange, ...]:
    """The fields of ``new`` that differ from ``old`` (all of them when there is no ``old``),
    in the order given; a dictionary field (the scheme's indicator weights) one key each."""
    result: list[FieldChange] = []
    for name in fields:
        field = model_field(model, name)
        before = getattr(old, field.attname) if old is not None else None
        after = getattr(new, field.attname)
        if isinstance(after, dict) or isinstance(before, dict):
            result += _dict_changes(field, before if old is not None else None, after)
        elif old is None or before != after:
            result.append(FieldChange(label(field), display(field, before) if old is not None
                                      else None, display(field, after)))
    return tuple(result)


def _dict_changes(field: models.Field, before: dict | None, after: dict | None
                  ) -> list[FieldChange]:
    before_map, after_map = before or {}, after or {}
    keys = sorted(set(before_map) | set(after_map), key=str)
    return [FieldChange(f"{label(field)} · {key}",
                        display(field, before_map.get(key)) if before is not None else None,
                        display(field, after_map.get(key)))
            for key in keys
            if before is None or before_map.get(key) != after_map.get(key)]


def _action(history_type: str, reason: str) -> str:
    if reason == BASELINE_REASON:
        return pgettext("history", "Recorded")
    return {"+": pgettext("history", "Created"),
            "-": pgettext("history", "Deleted")}.get(history_type, pgettext("history", "Changed"))


def _reason(reason: str | None) -> str:
    return gettext(BASELINE_REASON) if reason == BASELINE_REASON else (reason or "")


def _tracked(record: models.Model, *, values: bool = False) -> list[str]:
    """The fields a change shows; listing a row's values (``values``) leaves out its key and
    what it belongs to (the subject says which row)."""
    return [f.name for f in record.tracked_fields if f.editable
            and not (values and (f.primary_key or f.is_relation))]


def changes(history: QuerySet, *, limit: int = HISTORY_LIMIT,
            describe: Callable[[models.Model], str] | None = None) -> list[Change]:
    """The newest ``limit`` historical rows of ``history`` (a queryset of one model's
    ``history``, filtered as the page needs), each diffed against the row recorded before it
    for the same object. Two queries whatever the limit (select what ``describe`` reads on
    ``history`` beforehand)."""
    model = history.model
    key = model.instance_type._meta.pk.attname  # noqa: SLF001  (model metadata API)
    earlier = (model.objects.filter(**{key: OuterRef(key)}, history_id__lt=OuterRef("history_id"))
               .order_by("-history_id").values("history_id")[:1])
    records = list(history.select_related("history_user")
                   .annotate(previous_id=Subquery(earlier))
                   .order_by("-history_date", "-history_id")[:limit])
    previous = model.objects.in_bulk([r.previous_id for r in records if r.previous_id])
    result = []
    for record in records:
        before = previous.get(record.previous_id)
        if record.history_type == "~" and before is not None:
            delta = record.diff_against(before)
            by_name = {c.field: c for c in delta.changes}
            fields = tuple(
                FieldChange(label(field), display(field, change.old), display(field, change.new))
                for name in _tracked(record) if (change := by_name.get(name)) is not None
                for field in [model_field(model, name)])
        else:  # created, deleted, or changed with no earlier row: the values it recorded
            fields = field_changes(model, None, record, _tracked(record, values=True))
        user = record.history_user
        result.append(Change(
            at=record.history_date, user=user.get_username() if user else "",
            subject=describe(record) if describe else str(record.instance),
            action=_action(record.history_type, record.history_change_reason or ""),
            reason=_reason(record.history_change_reason), fields=fields))
    return result


def version_changes(versions: Sequence[models.Model], *, fields: Iterable[str],
                    extra: Callable[[models.Model | None, models.Model],
                                    tuple[FieldChange, ...]] | None = None,
                    limit: int = HISTORY_LIMIT) -> list[Change]:
    """Changes of a versioned policy from its versions, newest first (``versions`` ordered so,
    with one more than ``limit`` so the oldest shown has its predecessor). Each version's
    ``created_at``, ``created_by`` (selected) and ``note`` (if any) say when, who and why."""
    fields = list(fields)
    rows = list(versions)
    result = []
    for index, version in enumerate(rows[:limit]):
        older = rows[index + 1] if index + 1 < len(rows) else None
        found = field_changes(type(version), older, version, fields)
        if extra is not None:
            found += extra(older, version)
        user = version.created_by
        result.append(Change(
            at=version.created_at, user=user.get_username() if user else "",
            subject=str(version),
            action=(pgettext("history", "Created") if older is None
                    else pgettext("history", "New version")),
            reason=getattr(version, "note", ""), fields=found))
    return result


# What an event log key's values are: a field (choices, keys, times), a model (the values are
# names of its fields: shown by their verbose names) or None (shown as they are).
Values = models.Field | type[models.Model] | None


# The objects an event log names by key, read beforehand: (model, str(pk)) -> its name.
Names = Mapping[tuple[type[models.Model], str], str]


def event_changes(changes: Mapping[str, Any], model: type[models.Model], *,
                  related: Mapping[str, type[models.Model]] | None = None,
                  keys: Mapping[str, tuple[Any, Values]] | None = None,
                  names: Names | None = None) -> tuple[FieldChange, ...]:
    """An app's event log entry (``changes``: {field: [old, new]}, stored raw: field names,
    choice values, ids, ISO times) in the reader's language, at display time: each field by its
    ``model``'s verbose name, each value by its label (choices), its object (keys), its local
    time or yes/no. ``related`` gives the models of prefixed keys ("product.batch_no");
    ``keys`` the (lazy) label and the values of keys that are no field of ``model``; ``names``
    the objects keys name (:func:`event_names`), else each is read when shown."""
    result = []
    for key, pair in changes.items():
        old, new = _old_new(pair)
        name, values = _event_key(key, model, related or {}, keys or {})
        result.append(FieldChange(name, None if old is None else _event_value(values, old, names),
                                  _event_value(values, new, names)))
    return tuple(result)


def event_names(entries: Iterable[Mapping[str, Any]], model: type[models.Model], *,
                related: Mapping[str, type[models.Model]] | None = None,
                keys: Mapping[str, tuple[Any, Values]] | None = None) -> dict:
    """The names of the objects that event log entries refer to by key (an owner, an
    employee), one query per model for a whole history: ``event_changes``' ``names``."""
    wanted: dict[type[models.Model], set[str]] = defaultdict(set)
    for changes in entries:
        for key, pair in changes.items():
            _name, values = _event_key(key, model, related or {}, keys or {})
            if isinstance(values, models.Field) and (values.many_to_one or values.one_to_one):
                wanted[values.related_model].update(
                    str(v) for v in _scalars(_old_new(pair)) if v not in (None, ""))
    names = {}
    for related_model, pks in wanted.items():
        for obj in related_model._default_manager.filter(pk__in=pks):  # noqa: SLF001
            names[(related_model, str(obj.pk))] = str(obj)
    return names


def _old_new(pair: Any) -> tuple[Any, Any]:
    return tuple(pair) if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)


def _scalars(value: Any) -> Iterable[Any]:
    if isinstance(value, list | tuple):
        for item in value:
            yield from _scalars(item)
    else:
        yield value


def _event_key(key: str, model: type[models.Model], related: Mapping[str, type[models.Model]],
               keys: Mapping[str, tuple[Any, Values]]) -> tuple[str, Values]:
    if key in keys:
        name, values = keys[key]
        return capfirst(str(name)), values
    prefix, _, rest = key.partition(".")
    owner, name = (related[prefix], rest) if rest and prefix in related else (model, key)
    try:
        field = model_field(owner, name)
    except FieldDoesNotExist:
        return key, None
    return label(field), field


def _event_value(values: Values, value: Any, names: Names | None = None) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_event_value(values, v, names) for v in value) or "—"
    if isinstance(values, type):  # names of the model's fields
        try:
            return label(model_field(values, str(value)))
        except FieldDoesNotExist:
            return str(value)
    if values is None or value is None or value == "":
        return display(models.Field(), value)
    if values.many_to_one or values.one_to_one:
        return _object_name(values.related_model, value, names)
    if isinstance(value, str) and isinstance(values, models.DateTimeField):
        value = parse_datetime(value) or value
    elif isinstance(value, str) and isinstance(values, models.DateField):
        value = parse_date(value) or value
    return display(values, value)


def _object_name(model: type[models.Model], pk: Any, names: Names | None) -> str:
    """The name of the object a key names: from ``names`` when the history's were read
    together (:func:`event_names`), else read now."""
    if names is not None:
        return names.get((model, str(pk)), str(pk))
    found = model._default_manager.filter(pk=pk).first()  # noqa: SLF001
    return str(found) if found is not None else str(pk)


def as_html(fields: Iterable[FieldChange]) -> str:
    """Field changes as lines "field: old → new", for the admin's read-only views."""
    lines = format_html_join(
        mark_safe("<br>"), "{}: {}{}",
        ((f.field, "" if f.old is None else f"{f.old} → ", f.new) for f in fields))
    return lines or "—"


"""The complaint list as a CSV or XLSX file: the list page's complaints (``selectors.
complaint_list``: the same scope and filters), with the customer's name and phone masked unless
``rules.sees_contact`` lets the user see them in a list.

The rows are read with ``.iterator(chunk_size=2000)`` and written as they come by
``satisfaction.tabular``, so an export of 100,000 complaints runs in constant memory. Small
exports are written in the request (``views.complaint_export``), larger ones by the job
``complaints.export`` (``complaints.jobs``), both through :func:`write_export`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import BinaryIO

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from satisfaction import tabular
from satisfaction.db_router import replica_reads
from satisfaction.jobs import EXPORT_CHUNK_ROWS, EXPORT_IN_REQUEST_ROWS
from satisfaction.masking import mask_name, mask_phone
from satisfaction.models import User
from satisfaction.quarters import chain_zone

from . import rules, selectors
from .models import (
    AgeBand,
    Category,
    Channel,
    Complaint,
    Grade,
    ReactionOutcome,
    Sex,
    Source,
    Status,
)

STREAM_LIMIT = EXPORT_IN_REQUEST_ROWS  # more rows than this run as a job
CHUNK = EXPORT_CHUNK_ROWS
FORMATS = ("xlsx", "csv")
CONTENT_TYPES = {"xlsx": tabular.XLSX_CONTENT_TYPE, "csv": tabular.CSV_CONTENT_TYPE}


def columns() -> list[tabular.Column]:
    """The export's columns, headed in the active language."""
    return [
        tabular.Column(_("Ticket"), width=16), tabular.Column(_("Store code"), width=10),
        tabular.Column(_("Store"), width=18), tabular.Column(_("Region"), width=12),
        tabular.Column(_("Received at"), width=17), tabular.Column(_("Channel"), width=10),
        tabular.Column(_("Category"), width=16), tabular.Column(_("Customer name"), width=12),
        tabular.Column(_("Customer phone"), width=14), tabular.Column(_("Grade"), width=6),
        tabular.Column(_("Substantiated"), width=8), tabular.Column(_("Status"), width=12),
        tabular.Column(_("Due at"), width=17), tabular.Column(_("Resolved at"), width=17),
        tabular.Column(_("Resolved on time"), width=8),
        tabular.Column(_("Second complaint"), width=8),
        tabular.Column(_("Handling owner"), width=12),
        tabular.Column(_("Description"), width=50),
    ]


FIELDS = ("ticket_no", "store__code", "store__name", "store__region__name", "received_at",
          "channel", "category", "customer_name", "customer_phone", "grade", "substantiated",
          "status", "due_at", "resolved_at", "resolved_on_time", "is_second",
          "owner__first_name", "owner__last_name", "owner__username", "description")


def _when(value: datetime | None) -> str:
    return value.astimezone(chain_zone()).strftime("%Y-%m-%d %H:%M") if value else ""


def export_queryset(*, user: User, filters: dict) -> QuerySet[Complaint]:
    """The list's complaints as the export reads them (``filters``: ``ComplaintFilterForm.
    filters()``): the list's own selector, so the scope and the filters are the page's."""
    return selectors.complaint_list(user=user, **filters)


def rows(*, user: User, filters: dict) -> Iterator[list[object]]:
    """One list of cells per complaint, read 2,000 at a time as plain values (no model
    instances: 100,000 rows in seconds); contacts masked unless ``rules.sees_contact(user)``
    (the list's rule: HQ). Labels are translated once, not per row."""
    full = rules.sees_contact(user)
    labels = {"status": {k: str(v) for k, v in Status.choices},
              "channel": {k: str(v) for k, v in Channel.choices},
              "category": {k: str(v) for k, v in Category.choices}}
    yes_no = {True: pgettext("export", "yes"), False: pgettext("export", "no"), None: ""}
    grades = {value: value for value in Grade.values}
    values = export_queryset(user=user, filters=filters).values_list(*FIELDS)
    for (ticket, code, store, region, received, channel, category, name, phone, grade,
         substantiated, status, due, resolved, on_time, second, first, last, username,
         description) in values.iterator(chunk_size=CHUNK):
        owner = f"{first} {last}".strip() or username or ""
        yield [
            ticket, code, store, region, _when(received), labels["channel"].get(channel, ""),
            labels["category"].get(category, ""), name if full else mask_name(name),
            phone if full else mask_phone(phone), grades.get(grade, ""),
            yes_no[substantiated], labels["status"].get(status, status), _when(due),
            _when(resolved), yes_no[on_time], yes_no[second], owner, description,
        ]


def file_name(fmt: str, now: datetime | None = None) -> str:
    moment = timezone.localtime(now or timezone.now(), chain_zone())
    return f"complaints-{moment:%Y%m%d-%H%M}.{fmt}"


@replica_reads()  # in a request or a job: the page's rows may be a moment stale
def write_export(fh: BinaryIO, *, user: User, filters: dict, fmt: str,
                 wrap: Callable[[Iterator[list[object]]], Iterator[list[object]]] | None = None
                 ) -> int:
    """Write the export to ``fh`` as ``fmt`` (xlsx or csv), in the active language; returns
    the number of complaints written. ``wrap`` sees the rows on their way (a job's
    progress)."""
    cells = rows(user=user, filters=filters)
    if wrap is not None:
        cells = wrap(cells)
    if fmt == "xlsx":
        return tabular.write_xlsx(fh, columns(), cells, sheet=_("Complaints"), frozen_columns=1)
    return tabular.write_csv(fh, columns(), cells)


# --- Suspected adverse drug reactions (HQ's pharmacovigilance report) ------------------------

def adr_columns() -> list[tabular.Column]:
    """The fields a report to the national adverse drug reaction monitoring system needs:
    the patient only as an age band and sex, never a name or phone."""
    return [
        tabular.Column(_("Ticket"), width=16), tabular.Column(_("Store code"), width=10),
        tabular.Column(_("Store"), width=18), tabular.Column(_("Region"), width=12),
        tabular.Column(_("Received at"), width=17), tabular.Column(_("Patient age"), width=10),
        tabular.Column(_("Patient sex"), width=8), tabular.Column(_("Medicine name"), width=20),
        tabular.Column(_("Specification"), width=16),
        tabular.Column(_("Manufacturer"), width=20),
        tabular.Column(_("Batch / lot number"), width=14),
        tabular.Column(_("Supplier"), width=18),
        tabular.Column(_("Reaction began on"), width=12),
        tabular.Column(_("Reaction"), width=50), tabular.Column(_("Outcome"), width=14),
        tabular.Column(_("Reporter"), width=16),
        tabular.Column(_("HQ alerted at"), width=17),
        tabular.Column(_("Reported to the monitoring system at"), width=17),
    ]


def adr_rows(*, user: User, start: datetime, end: datetime) -> Iterator[list[object]]:
    """One row per suspected adverse reaction received in [start, end) in the user's stores
    (``selectors.adr_reports``). The reporter is the staff member who received the complaint,
    else its source (the customer's web form, another system)."""
    ages = {k: str(v) for k, v in AgeBand.choices}
    sexes = {k: str(v) for k, v in Sex.choices}
    outcomes = {k: str(v) for k, v in ReactionOutcome.choices}
    sources = {k: str(v) for k, v in Source.choices}
    for product in selectors.adr_reports(user=user, start=start, end=end).iterator(
            chunk_size=CHUNK):
        complaint = product.complaint
        receiver = complaint.received_by
        reporter = ((receiver.get_full_name() or receiver.username) if receiver
                    else sources.get(complaint.source, complaint.source))
        yield [
            complaint.ticket_no, complaint.store.code, complaint.store.name,
            complaint.store.region.name if complaint.store.region else "",
            _when(complaint.received_at), ages.get(product.patient_age_band, ""),
            sexes.get(product.patient_sex, ""), product.medicine_name, product.specification,
            product.manufacturer, product.batch_no, product.supplier,
            product.reaction_started_on.isoformat() if product.reaction_started_on else "",
            product.reaction_description, outcomes.get(product.reaction_outcome, ""),
            reporter, _when(product.adr_notified_at), _when(product.adr_reported_at),
        ]


def adr_file_name(fmt: str, now: datetime | None = None) -> str:
    moment = timezone.localtime(now or timezone.now(), chain_zone())
    return f"adverse-reactions-{moment:%Y%m%d-%H%M}.{fmt}"


def write_adr_export(fh: BinaryIO, *, user: User, start: datetime, end: datetime,
                     fmt: str) -> int:
    """Write the suspected adverse reactions to ``fh`` as ``fmt`` (xlsx or csv); returns the
    number of rows."""
    cells = adr_rows(user=user, start=start, end=end)
    if fmt == "xlsx":
        return tabular.write_xlsx(fh, adr_columns(), cells,
                                  sheet=_("Adverse reactions"), frozen_columns=1)
    return tabular.write_csv(fh, adr_columns(), cells)

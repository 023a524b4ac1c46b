"""A campaign's results as a CSV or XLSX file, one row per store the user sees, headed in the
user's language.

The stores are read with ``.iterator(chunk_size=2000)`` and their results computed a chunk at a
time (``selectors.campaign_results`` for those stores: three set-based statements per chunk),
then written as they come by ``satisfaction.tabular``: an export of the whole chain runs in
constant memory. Small exports are written in the request (``views.campaign_export_view``),
larger ones by the job ``surveys.results_export`` (``surveys.jobs``), both through
:func:`write_export`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import BinaryIO

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from satisfaction import tabular
from satisfaction.db_router import replica_reads
from satisfaction.jobs import EXPORT_CHUNK_ROWS, EXPORT_IN_REQUEST_ROWS
from satisfaction.models import Store, User
from surveys.models import Campaign, Indicator
from surveys.results import StoreResult, empty_aggregate, store_result
from surveys.selectors import campaign_results, campaign_stores
from surveys.weights import indicator_weights

STREAM_LIMIT = EXPORT_IN_REQUEST_ROWS  # more stores than this run as a job
CHUNK = EXPORT_CHUNK_ROWS
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {"xlsx": tabular.XLSX_CONTENT_TYPE, "csv": tabular.CSV_CONTENT_TYPE}


def store_count(*, campaign: Campaign, user: User) -> int:
    return campaign_stores(campaign=campaign, user=user).count()


def file_name(campaign: Campaign, fmt: str) -> str:
    return f"survey-results-{campaign.quarter}-{campaign.pk}.{fmt}"


def columns(indicators: list[Indicator]) -> list[tabular.Column]:
    """The export's columns, headed in the active language: the store, its answers against the
    target, the weighted score with its 95% interval, the invitations, the scheme, then the
    mean rating, 0–100 score and expectation gap of each indicator."""
    number = "0.00"
    result = [
        tabular.Column(_("Store code"), width=10), tabular.Column(_("Store"), width=18),
        tabular.Column(_("Answers"), width=8), tabular.Column(_("Target"), width=8),
        tabular.Column(_("Below target"), width=8),
        tabular.Column(_("Survey score"), number, 10),
        tabular.Column(_("95% CI low"), number, 10), tabular.Column(_("95% CI high"), number, 10),
        tabular.Column(_("Invitations"), width=10),
        tabular.Column(_("Response rate (%)"), number, 10),
        tabular.Column(_("Scheme version"), width=8),
    ]
    for indicator in indicators:
        result += [
            tabular.Column(_("%(name)s: mean rating") % {"name": indicator.name}, number, 12),
            tabular.Column(_("%(name)s: score") % {"name": indicator.name}, number, 12),
            tabular.Column(_("%(name)s: gap to expectation") % {"name": indicator.name},
                           number, 12)]
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _yes_no(value: bool) -> str:
    return pgettext("export", "yes") if value else pgettext("export", "no")


def _chunks(stores: Iterable[Store]) -> Iterator[list[Store]]:
    iterator = iter(stores)
    while chunk := list(islice(iterator, CHUNK)):
        yield chunk


def rows(*, campaign: Campaign, user: User, indicators: list[Indicator]) -> Iterator[list]:
    """One row per store of the campaign the user sees, in store code order, computed a chunk
    of stores at a time."""
    weights = indicator_weights(quarter=campaign.quarter)
    stores = campaign_stores(campaign=campaign, user=user).iterator(chunk_size=CHUNK)
    for chunk in _chunks(stores):
        results = campaign_results(campaign=campaign, weights=weights.weights,
                                   store_ids=[s.pk for s in chunk])
        for store in chunk:
            result: StoreResult = results.get(store.pk) or store_result(
                aggregate=empty_aggregate(store.pk), indicators=[],
                scale_max=campaign.scale_max, target=campaign.target_per_store)
            line = [store.code, store.name, result.n, result.target,
                    _yes_no(result.below_target), _round(result.weighted_score),
                    _round(result.ci_low), _round(result.ci_high), result.invitations,
                    _round(result.response_rate), weights.scheme_version]
            for indicator in indicators:
                item = result.indicator(indicator.code)
                line += ([_round(item.mean_rating), _round(item.score), _round(item.gap)]
                         if item else [None, None, None])
            yield line


@replica_reads()  # in a request or a job: the page's rows may be a moment stale
def write_export(fh: BinaryIO, *, campaign: Campaign, user: User, fmt: str,
                 wrap: Callable[[Iterator[list]], Iterator[list]] | None = None) -> int:
    """Write the export to ``fh``; returns the number of stores written. ``wrap`` sees the rows
    as they pass (the job reports its progress with it)."""
    indicators = list(Indicator.objects.order_by("order", "code"))
    lines = rows(campaign=campaign, user=user, indicators=indicators)
    if wrap is not None:
        lines = wrap(lines)
    if fmt == "xlsx":
        return tabular.write_xlsx(fh, columns(indicators), lines, sheet=_("Survey results"),
                                  frozen_columns=2)
    return tabular.write_csv(fh, columns(indicators), lines)

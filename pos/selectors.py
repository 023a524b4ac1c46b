"""Reads of the POS data: receipts, and the per-store loyalty, retention and complaint figures.

Definitions (per store, per quarter Q; "members" are distinct member hashes):

- loyalty = members who bought at the store in Q-1 and bought again **at the same store** in Q,
  over the store's members of Q-1 (忠诚度: share of last period's members who bought again);
- retention = the store's members of Q-1 who bought **anywhere in the chain** in Q, over the
  store's members of Q-1 (保留率: customers the chain kept; retention - loyalty is the share that
  moved to another of our stores);
- complaints per 1,000 transactions = complaints received in Q / receipts in Q × 1000.

Each figure is one set-based SQL query grouped by store (no per-store loop), NaN when the
denominator is zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Count, QuerySet, Sum

from complaints.models import ComplaintKind
from complaints.selectors import complaint_counts_by_store
from pos.models import PosApiKey, PosTransaction
from satisfaction import history
from satisfaction.models import Region, Store
from satisfaction.quarters import Quarter
from scoring import selectors as scoring_selectors
from scoring.models import StoreScore

METRIC_COLUMNS = ["store_id", "transactions", "amount", "members", "previous_members",
                  "returning_members", "retained_members", "loyalty", "retention",
                  "complaints", "complaints_per_1000"]


def _usable_key_sql() -> str:
    meta = PosApiKey._meta  # noqa: SLF001  (model metadata API)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in meta.concrete_fields)
    return (f"SELECT {columns} FROM {quote(meta.db_table)} "  # noqa: S608  (quoted names)
            f"WHERE {quote('prefix')} = %s AND NOT {quote('revoked')}")


def pos_api_key_usable(*, prefix: str) -> PosApiKey | None:
    """The key with this prefix unless it is revoked (``get_usable_keys().get(prefix=...)``),
    read on every API request: one plain SQL statement, not a queryset compiled each time. The
    caller checks the secret (``is_valid``) and the expiry."""
    for api_key in PosApiKey.objects.raw(_usable_key_sql(), [prefix]):
        return api_key
    return None


def pos_transaction_list(*, store_ids: Iterable[int] | QuerySet | None
                         ) -> QuerySet[PosTransaction]:
    """Receipts of the given stores (ids or a subquery; ``None``: every store), newest first."""
    queryset = PosTransaction.objects.select_related("store").order_by("-occurred_at", "-id")
    if store_ids is not None:
        queryset = queryset.filter(store_id__in=store_ids)
    return queryset


RECEIPT_LEVELS = {"store": "store__code", "region": "store__region__code"}


def receipt_counts(*, start: datetime, end: datetime, level: str,
                   store_ids: Iterable[int] | QuerySet | None) -> dict[str, int]:
    """Receipts in [start, end) per store code, per region code, or ``{"chain": n}``, of the
    given stores (ids or a subquery; ``None``: every store): the denominator of the complaint
    rate per 1,000 receipts."""
    receipts = PosTransaction.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    if store_ids is not None:
        receipts = receipts.filter(store_id__in=store_ids)
    if level == "chain":
        return {"chain": receipts.count()}
    column = RECEIPT_LEVELS[level]
    return dict(receipts.values(column).annotate(n=Count("pk")).order_by()
                .values_list(column, "n"))


def add_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Loyalty, retention and complaints per 1,000 from the counts (pure; NaN for 0/0)."""
    frame = frame.copy()
    previous = frame["previous_members"].astype(float).replace(0, np.nan)
    transactions = frame["transactions"].astype(float).replace(0, np.nan)
    frame["loyalty"] = frame["returning_members"] / previous
    frame["retention"] = frame["retained_members"] / previous
    frame["complaints_per_1000"] = frame["complaints"] / transactions * 1000
    return frame[METRIC_COLUMNS]


def _store_filter(store_ids: list[int] | None, column: str) -> tuple[str, list[int]]:
    if store_ids is None:
        return "", []
    if not store_ids:
        return " AND 1 = 0", []
    return f" AND {column} IN ({', '.join(['%s'] * len(store_ids))})", list(store_ids)


def _member_counts(*, quarter: Quarter, store_ids: list[int] | None) -> pd.DataFrame:
    table = connection.ops.quote_name(PosTransaction._meta.db_table)  # noqa: SLF001
    previous = quarter.previous()
    where_prev, prev_params = _store_filter(store_ids, "store_id")
    # For some stores, the chain's members of Q are looked up only among those stores' members
    # of Q-1 (a semi-join): the same counts (only they are joined below), without collecting
    # every member of the chain's quarter for one store.
    only_prev = "" if store_ids is None else " AND member_hash IN (SELECT member_hash FROM prev)"
    sql = f"""
        WITH prev AS (
            SELECT DISTINCT store_id, member_hash FROM {table}
            WHERE occurred_at >= %s AND occurred_at < %s AND member_hash <> ''{where_prev}
        ), cur_store AS (
            SELECT DISTINCT store_id, member_hash FROM {table}
            WHERE occurred_at >= %s AND occurred_at < %s AND member_hash <> ''{where_prev}
        ), cur_chain AS (
            SELECT DISTINCT member_hash FROM {table}
            WHERE occurred_at >= %s AND occurred_at < %s AND member_hash <> ''{only_prev}
        )
        SELECT p.store_id, COUNT(*) AS previous_members,
               COUNT(cs.member_hash) AS returning_members,
               COUNT(cc.member_hash) AS retained_members
        FROM prev p
        LEFT JOIN cur_store cs ON cs.store_id = p.store_id AND cs.member_hash = p.member_hash
        LEFT JOIN cur_chain cc ON cc.member_hash = p.member_hash
        GROUP BY p.store_id
    """  # noqa: S608  (only the quoted table name and placeholders are interpolated)
    adapt = connection.ops.adapt_datetimefield_value
    prev_range = [adapt(previous.start()), adapt(previous.end())]
    cur_range = [adapt(quarter.start()), adapt(quarter.end())]
    params = [*prev_range, *prev_params, *cur_range, *prev_params, *cur_range]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=["store_id", "previous_members", "returning_members",
                                       "retained_members"])


def _complaint_counts(*, quarter: Quarter, store_ids: list[int] | None) -> pd.DataFrame:
    """Customer complaints received in the quarter per store (the complaints app counts them;
    a store's internal complaint to an HQ department is no customer's)."""
    counts = complaint_counts_by_store(start=quarter.start(), end=quarter.end(),
                                       store_ids=store_ids, kind=ComplaintKind.CUSTOMER)
    return pd.DataFrame(list(counts.items()), columns=["store_id", "complaints"])


def pos_store_metrics_frame(*, quarter: Quarter,
                            store_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """One row per store with receipts, members of Q-1 or complaints in ``quarter``.

    Columns: ``METRIC_COLUMNS``; counts are ints, rates floats (NaN when undefined).
    """
    ids = None if store_ids is None else list(store_ids)
    queryset = PosTransaction.objects.filter(occurred_at__gte=quarter.start(),
                                             occurred_at__lt=quarter.end())
    if ids is not None:
        queryset = queryset.filter(store_id__in=ids)
    totals = pd.DataFrame(
        list(queryset.values("store_id").annotate(transactions=Count("pk"), amount=Sum("amount"))
             .order_by().values_list("store_id", "transactions", "amount")),
        columns=["store_id", "transactions", "amount"])
    frame = totals.merge(_member_counts(quarter=quarter, store_ids=ids), on="store_id",
                         how="outer")
    frame = frame.merge(_complaint_counts(quarter=quarter, store_ids=ids), on="store_id",
                        how="outer")
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype="float64" if name in (
            "amount", "loyalty", "retention", "complaints_per_1000") else "int64")
            for name in METRIC_COLUMNS})
    counts = ["transactions", "previous_members", "returning_members", "retained_members",
              "complaints"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    frame["amount"] = frame["amount"].fillna(0).astype(float)
    frame["store_id"] = frame["store_id"].astype("int64")
    members = (queryset.exclude(member_hash="").values("store_id")
               .annotate(members=Count("member_hash", distinct=True)).order_by())
    member_map = dict(members.values_list("store_id", "members"))
    frame["members"] = frame["store_id"].map(member_map).fillna(0).astype("int64")
    return add_rates(frame).sort_values("store_id").reset_index(drop=True)


SCORE_FIELDS = ("value", "survey_points", "scenario_points", "deductions", "survey_pct",
                "scenario_pct", "n_responses", "n_visits", "n_complaints", "ci_low", "ci_high",
                "flags", "rank_region", "rank_chain")


def pos_store_scores(*, store, quarter: Quarter | None = None) -> list[dict]:
    """A store's satisfaction values per quarter, newest first, from the scoring app: the
    published revision of each quarter, else its provisional one (``status`` says which)."""
    quarters = [quarter] if quarter is not None else scoring_selectors.quarters_with_values()
    rollups = [rollup for q in quarters
               if (rollup := scoring_selectors.rollup_for_display(quarter=q)) is not None]
    scores = {score.rollup_id: score for score in StoreScore.objects.filter(
        store=store, rollup__in=[rollup.pk for rollup in rollups])}
    result = []
    for rollup in rollups:
        score = scores.get(rollup.pk)
        if score is None:
            continue
        result.append({"quarter": str(rollup.quarter), "status": rollup.status,
                       "revision": rollup.revision,
                       **{name: getattr(score, name) for name in SCORE_FIELDS}})
    return result


# --- API keys (the setup pages) ------------------------------------------------------------

def pos_api_key_list() -> QuerySet[PosApiKey]:
    """Every key, the usable ones first and the newest first, each with ``store_count`` (one
    query, however many stores a key has)."""
    return (PosApiKey.objects.annotate(store_count=Count("stores"))
            .order_by("revoked", "-created"))


def store_codes_of_key(api_key: PosApiKey) -> list[str]:
    """The codes of a key's stores, sorted (the edit form's list)."""
    return list(api_key.stores.order_by("code").values_list("code", flat=True))


def stores_for_codes_and_regions(*, codes: Iterable[str], regions: Iterable[Region]
                                 ) -> tuple[list[Store], list[str]]:
    """The stores named by code plus every store of the regions (as they are now: a store
    opened later in the region is not added); and the codes that name no store."""
    wanted = set(codes)
    stores = Store.objects.filter(code__in=wanted) | Store.objects.filter(region__in=list(regions))
    found = list(stores.distinct().order_by("code"))
    known = {store.code for store in found}
    return found, sorted(wanted - known)


def pos_api_key_changes(*, limit: int = history.HISTORY_LIMIT) -> list[history.Change]:
    """Who created, changed or revoked which key, and when, newest first (the stores a change
    gave a key are its reason). Two queries."""
    return history.changes(PosApiKey.history.all(), limit=limit,
                           describe=lambda record: f"{record.name} ({record.prefix})")


# --- The store and region pages: which figures exist, and the medians ---------------------------
#
# A store "has POS data" in a quarter when its POS sent at least one receipt dated in it. A store
# without (no POS yet, an outage, a closed store) has no loyalty, retention or complaint rate for
# that quarter: the pages say so instead of showing 0, and the medians leave it out.

@dataclass(frozen=True)
class PosFigures:
    """One store's POS figures of one quarter (the rates as ``add_rates`` computes them; None
    where undefined: no member of the previous quarter, no receipt)."""

    transactions: int
    previous_members: int
    loyalty: float | None
    retention: float | None
    complaints: int
    complaints_per_1000: float | None

    @property
    def has_data(self) -> bool:
        return self.transactions > 0


@dataclass(frozen=True)
class PosMedians:
    """The median of each rate over a set of stores with POS data (``stores`` of them; a rate
    is the median over the stores where it is defined), None without any."""

    stores: int
    loyalty: float | None
    retention: float | None
    complaints_per_1000: float | None

    @property
    def has_data(self) -> bool:
        return self.stores > 0


@dataclass(frozen=True)
class PosQuarterMedians:
    """A quarter's medians for the chain and for each region (by region id; a region without a
    store with POS data is absent)."""

    chain: PosMedians
    regions: dict[int, PosMedians]


RATES = ("loyalty", "retention", "complaints_per_1000")


def _rate(value) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def pos_figures(frame: pd.DataFrame) -> dict[int, PosFigures]:
    """Per store id, its figures from a ``pos_store_metrics_frame`` (pure)."""
    return {int(row["store_id"]): PosFigures(
        transactions=int(row["transactions"]), previous_members=int(row["previous_members"]),
        loyalty=_rate(row["loyalty"]), retention=_rate(row["retention"]),
        complaints=int(row["complaints"]),
        complaints_per_1000=_rate(row["complaints_per_1000"]))
        for row in frame.to_dict("records")}


def pos_medians(frame: pd.DataFrame) -> PosMedians:
    """The medians of the rates over the frame's stores with POS data (pure)."""
    with_data = frame[frame["transactions"] > 0]
    return PosMedians(stores=len(with_data), **{
        name: _rate(with_data[name].median()) if with_data[name].notna().any() else None
        for name in RATES})


#: The figures of a store the quarter's POS data and complaints never mention.
NO_POS_FIGURES = PosFigures(transactions=0, previous_members=0, loyalty=None, retention=None,
                            complaints=0, complaints_per_1000=None)


def pos_store_figures(*, quarter: Quarter, store_ids: Iterable[int]) -> dict[int, PosFigures]:
    """The figures of the given stores in ``quarter`` (a store absent from the answer has no
    POS data at all). Four queries, whatever the number of stores; for a few stores they read
    only those stores' receipts and their members' (``_member_counts``)."""
    return pos_figures(pos_store_metrics_frame(quarter=quarter, store_ids=store_ids))


@dataclass(frozen=True)
class PosQuarterFigures:
    """One chain-wide pass over a quarter: every store's figures (by store id, every store of
    the chain: ``NO_POS_FIGURES`` for one the quarter's data never mention, as
    ``pos_store_figures`` would answer for it) and the medians."""

    stores: dict[int, PosFigures]
    medians: PosQuarterMedians


def pos_quarter_figures(*, quarter: Quarter) -> PosQuarterFigures:
    """Every store's figures of ``quarter`` and the chain's and each region's medians over the
    stores with POS data: ``pos_store_metrics_frame`` over the whole chain and the stores'
    regions, five set-based queries (heavy at chain scale: the dashboard caches the answer)."""
    frame = pos_store_metrics_frame(quarter=quarter)
    regions = dict(Store.objects.values_list("pk", "region_id"))
    frame = frame.assign(region_id=frame["store_id"].map(regions))
    figures = pos_figures(frame)
    return PosQuarterFigures(
        stores={store_id: figures.get(store_id, NO_POS_FIGURES) for store_id in regions},
        medians=PosQuarterMedians(
            chain=pos_medians(frame),
            regions={int(region_id): medians for region_id, rows in frame.groupby("region_id")
                     if (medians := pos_medians(rows)).has_data}))


def pos_quarter_medians(*, quarter: Quarter) -> PosQuarterMedians:
    """The chain's and each region's medians of ``quarter`` (``pos_quarter_figures``)."""
    return pos_quarter_figures(quarter=quarter).medians

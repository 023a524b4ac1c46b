"""Reads of survey data: scoped lists for pages and the API, set-based aggregates for results.

Aggregates are set-based SQL, never a per-store loop, over what the services keep as answers
arrive and change status (docs/architecture.md, "Survey tallies"): the tallies per store,
employee and indicator (means, scores, bottom ratings) and each response's weighted 0–100
score (mean and sample sd per store, for the confidence interval). Where a score was kept
under other weights the statements read the answers instead. The same statements serve the
results pages and the scoring contract (``docs/architecture.md``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from satisfaction import history
from satisfaction.models import Region, Store, User
from satisfaction.quarters import Quarter
from satisfaction.scoping import scope_to_stores, sees_all_stores, visible_stores
from surveys import drivers, rules
from surveys.models import (
    COUNTED_STATUSES,
    Campaign,
    FlagReason,
    Indicator,
    Invitation,
    Response,
    ResponseStatus,
    StoreFlag,
    StoreFlagStatus,
)
from surveys.results import (
    IndicatorSpec,
    StoreAggregate,
    StoreResult,
    empty_aggregate,
    store_result,
)
from surveys.tallies import (
    STALE_SCORE_SQL,
    answer_sums_sql,
    weighted_score_sql,
    weights_key,
)

STORE_INDICATOR_COLUMNS = ["store_id", "indicator_code", "n", "mean_score", "bottom_n",
                           "mean_expectation_score"]
EMPLOYEE_INDICATOR_COLUMNS = ["employee_id", "store_id", "indicator_code", "n", "mean_score"]


_SPAN = "CAST(c.scale_max - 1 AS DOUBLE PRECISION)"
# Only constant status names and generated placeholders go into the SQL text; every value is a
# parameter. Integer arithmetic divided by a float keeps PostgreSQL in float8 (NUMERIC is slow).
_COUNTED = ", ".join(f"'{s}'" for s in COUNTED_STATUSES)
_FROM = ("FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id "
         "JOIN surveys_campaign c ON c.id = r.campaign_id "
         f"WHERE r.status IN ({_COUNTED}) AND ")
# One campaign has one scale: no join with the campaign table, the span is a constant.
_CAMPAIGN_FROM = ("FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id "
                  f"WHERE r.status IN ({_COUNTED}) AND ")


@dataclass(frozen=True)
class _Source:
    """Which answers: the FROM/WHERE text, its parameters, and the scale span expression."""

    where: str
    params: list
    span: str = _SPAN
    from_: str = _FROM


def _fetch(sql: str, params: list) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # These statements are short and run often: compiling them costs more than it saves.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return cursor.fetchall()


# Each figure a tally query can return, by name: its SQL over the tallies ``t`` of the
# campaigns ``c`` (the 0–100 figures use each tally's own campaign's span), and its dtype in a
# frame.
_TALLY_FIGURES = {
    "mean_rating": ("CAST(SUM(t.rating_sum) AS DOUBLE PRECISION) / SUM(t.n)", "float64"),
    "mean_score": (f"SUM((t.rating_sum - t.n) * 100 / {_SPAN}) / SUM(t.n)", "float64"),
    "bottom_n": ("SUM(t.bottom_n)", "int64"),
    "mean_expectation_score": (
        (f"SUM((t.expectation_sum - t.expectation_n) * 100 / {_SPAN}) "
        "/ NULLIF(SUM(t.expectation_n), 0)"), "float64"),
}


def _tally_sql(*, where: str, by_employee: bool = False,
               figures: tuple[str, ...] = tuple(_TALLY_FIGURES)) -> str:
    """One GROUP BY (store or employee, indicator) of the counted answers: n, then the
    ``figures`` asked (``_TALLY_FIGURES``; all by default: mean rating, mean 0–100 score,
    ratings at the bottom of the scale, mean 0–100 expectation) in that order; read from the
    kept tallies (``surveys.models.IndicatorTally``), stores × employees × indicators rows
    instead of every answer. ``where`` filters the tallies ``t`` and their campaign ``c``.

    Per employee, a response the employee keyed in themselves (``self_served``) never counts
    (no one scores themselves): it counts for the store only (its tally's ``employee_key``
    is 0).

    A quarter's campaigns may use different scales: each tally's 0–100 figures use its own
    campaign's span, as each answer's do."""
    keys = "t.employee_key, t.store_id" if by_employee else "t.store_id"
    extra = " AND t.employee_key <> 0" if by_employee else ""
    columns = "".join(f", {_TALLY_FIGURES[name][0]}" for name in figures)
    return (f"SELECT {keys}, t.indicator_id, SUM(t.n){columns} "  # noqa: S608 - constants
            "FROM surveys_indicatortally t JOIN surveys_campaign c ON c.id = t.campaign_id "
            f"WHERE {where}{extra} GROUP BY {keys}, t.indicator_id HAVING SUM(t.n) > 0")


def _scores_kept(*, where: str, params: list, weights: dict[int, float]) -> bool:
    """Whether every response ``r`` matching ``where`` has its score kept under ``weights``
    (``Response.score``): then the per-response figures need no answers."""
    sql = ("SELECT 1 FROM surveys_response r "  # noqa: S608 - constants and placeholders
           "JOIN surveys_campaign c ON c.id = r.campaign_id "
           f"WHERE {where} AND {STALE_SCORE_SQL} LIMIT 1")
    return not _fetch(sql, [*params, weights_key(weights)])


def weights_by_pk(weights: Mapping[str, float], codes: Mapping[int, str] | None = None
                   ) -> dict[int, float]:
    """The scheme's weights (indicator code → weight) per indicator pk (``codes``: pk → code,
    every indicator's when not given); an indicator the scheme does not weigh weighs 0."""
    codes = _codes() if codes is None else codes
    return {pk: float(weights.get(code, 0.0)) for pk, code in codes.items()}


def _response_rows(*, source: _Source, weights: dict[int, float]) -> list[tuple]:
    """Per store: responses, and n, Σ, Σ² of each response's weighted 0–100 score
    (Σ w·score / Σ w over the indicators it rated), grouped per response inside the database."""
    score, score_params = weighted_score_sql(weights, source.span)
    sql = ("SELECT store_id, COUNT(*), COUNT(ws), SUM(ws), SUM(ws * ws) FROM ("  # noqa: S608
           f"SELECT r.store_id AS store_id, {score} AS ws {source.from_}{source.where} "
           "GROUP BY r.id, r.store_id) per_response GROUP BY store_id")
    return _fetch(sql, score_params + source.params)


def _float(value) -> float | None:
    return None if value is None else float(value)


def _codes() -> dict[int, str]:
    return dict(Indicator.objects.values_list("pk", "code"))


# --- The scoring contract -----------------------------------------------------------------


def _tally_frame(*, quarter: Quarter, by_employee: bool, columns: list[str]) -> pd.DataFrame:
    """The quarter's tallies per store (or employee) and indicator as a frame of ``columns``
    (the rows travel as one COPY on PostgreSQL: 100,000 employees × 7 indicators). Only the
    figures asked are computed and sent: the employees' frame needs two of the five, and its
    700,000 rows are the rollup's largest read."""
    keys = {"employee_id": "int64", "store_id": "int64"} if by_employee else {
        "store_id": "int64"}
    figures = tuple(name for name in _TALLY_FIGURES if name in columns)
    frame = _fetch_frame(_tally_sql(where="c.quarter = %s", by_employee=by_employee,
                                    figures=figures),
                         [str(quarter)], {**keys, "indicator_id": "int64", "n": "int64",
                                          **{name: _TALLY_FIGURES[name][1] for name in figures}})
    frame["indicator_code"] = frame["indicator_id"].map(_codes()).astype("object")
    return frame[columns]


def survey_store_indicator_frame(*, quarter: Quarter) -> pd.DataFrame:
    return _tally_frame(quarter=quarter, by_employee=False, columns=STORE_INDICATOR_COLUMNS)


def survey_employee_indicator_frame(*, quarter: Quarter) -> pd.DataFrame:
    return _tally_frame(quarter=quarter, by_employee=True, columns=EMPLOYEE_INDICATOR_COLUMNS)


RESPONSE_SCORE_COLUMNS = ["response_id", "store_id", "employee_id", "score"]
RESPONSE_STATS_COLUMNS = ["store_id", "n", "mean_score", "sd_score"]
_RESPONSE_DTYPES = {"response_id": "int64", "store_id": "int64", "employee_id": "Int64",
                    "score": "float64"}


def response_scores_sql(*, quarter: Quarter, weights: Mapping[str, float],
                        store_id: int | None = None) -> tuple[str, list]:
    """The SQL of one row per counted response of the quarter, and its parameters: columns
    ``RESPONSE_SCORE_COLUMNS`` (its id, its store, the employee it counts for, its weighted
    0–100 score: Σ w·score / Σ w over the weighted indicators it rated, NULL when it rated
    none). The scoring contract's per-response rows: ``survey_response_score_frame`` reads
    them into a frame; the rollup stages them on PostgreSQL and freezes them as a revision's
    evidence without bringing them into Python (``scoring.loader``).

    ``employee_id`` is empty when the response names no one, or names the person who keyed it
    in (``self_served``, fixed at entry: nobody scores themselves; it counts for the store,
    never for that person).
    ``store_id`` limits it to one store (a trace).
    """
    by_pk = weights_by_pk(weights)
    where = (f"r.status IN ({_COUNTED}) AND c.quarter = %s"
             + (" AND r.store_id = %s" if store_id is not None else ""))
    params = [str(quarter)] + ([store_id] if store_id is not None else [])
    # The chain's quarter (a rollup): one row per response, no answers, the scores the
    # services keep. One store's (a trace), or scores kept under other weights (a scheme's
    # preview): the answers are read as they are.
    if store_id is None and _scores_kept(where=where, params=params, weights=by_pk):
        sql = ("SELECT r.id AS response_id, r.store_id AS store_id, "  # noqa: S608
               "CASE WHEN r.self_served THEN NULL ELSE r.employee_id END AS employee_id, "
               "r.score AS score "
               "FROM surveys_response r JOIN surveys_campaign c ON c.id = r.campaign_id "
               f"WHERE {where}")
        return sql, params
    score, score_params = weighted_score_sql(by_pk, _SPAN)
    sql = ("SELECT r.id AS response_id, r.store_id AS store_id, "  # noqa: S608
           "CASE WHEN r.self_served THEN NULL ELSE r.employee_id END AS employee_id, "
           f"{score} AS score FROM surveys_response r "
           "JOIN surveys_campaign c ON c.id = r.campaign_id "
           "LEFT JOIN surveys_answer a ON a.response_id = r.id "
           f"WHERE {where} "
           "GROUP BY r.id, r.store_id, r.employee_id, r.self_served")
    return sql, [*score_params, *params]


def response_stats_sql(source: str) -> str:
    """Per store, the n, mean and sample sd of the scores of the per-response rows ``source``
    (a table, or ``(response_scores_sql) AS alias``, with the columns
    ``RESPONSE_SCORE_COLUMNS``): columns ``RESPONSE_STATS_COLUMNS``, one ``GROUP BY`` in the
    database. A response without a score is left out (as by ``scoring.evidence.
    response_stats``); one response gives no sd. PostgreSQL (``STDDEV_SAMP``): SQLite's
    statistics aggregates fail on a single value, so there the rollup groups the frame."""
    return ("SELECT store_id, COUNT(score) AS n, AVG(score) AS mean_score, "  # noqa: S608
            f"STDDEV_SAMP(score) AS sd_score FROM {source} "
            "WHERE score IS NOT NULL GROUP BY store_id")


def survey_response_score_frame(*, quarter: Quarter, weights: dict[str, float],
                                store_id: int | None = None) -> pd.DataFrame:
    """One row per counted response of the quarter (``response_scores_sql``): its store, the
    employee it counts for, and its weighted 0–100 score (NaN when it rated no weighted
    indicator). The rollup on SQLite, and a trace, freeze these as a revision's evidence and
    derive the store's response statistics (n, mean, sd: ``scoring.evidence.response_stats``)
    from them. ``store_id`` limits it to one store (a trace).
    """
    sql, params = response_scores_sql(quarter=quarter, weights=weights, store_id=store_id)
    return _fetch_frame(sql, params, _RESPONSE_DTYPES)


def response_stats_frame(source: str, params: list | None = None) -> pd.DataFrame:
    """``response_stats_sql`` of ``source`` as a frame (PostgreSQL)."""
    return _fetch_frame(response_stats_sql(source), params or [],
                        {"store_id": "int64", "n": "int64", "mean_score": "float64",
                         "sd_score": "float64"})


def survey_response_stats_frame(*, quarter: Quarter, weights: dict[str, float]
                                ) -> pd.DataFrame:
    """Per store of the quarter: n, mean and sample sd of the counted responses' weighted
    scores (the engine's ``survey_responses`` frame), grouped in the database: 15,000 rows
    instead of a million. PostgreSQL (``response_stats_sql``)."""
    sql, params = response_scores_sql(quarter=quarter, weights=weights)
    return response_stats_frame(f"({sql}) AS responses", params)


def _fetch_frame(sql: str, params: list, dtypes: dict[str, str]) -> pd.DataFrame:
    """A query's rows as a frame. On PostgreSQL through ``COPY (query) TO STDOUT`` read by
    pandas' C parser: a million rows in about half the time of fetching tuples."""
    columns = list(dtypes)
    if connection.vendor != "postgresql":
        return pd.DataFrame.from_records(_fetch(sql, params), columns=columns).astype(dtypes)
    buffer = io.BytesIO()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT", params) as copy:
            for chunk in copy:
                buffer.write(chunk)
    if not buffer.tell():
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})
    buffer.seek(0)
    return pd.read_csv(buffer, sep="\t", header=None, names=columns, dtype=dtypes,
                       na_values=["\\N"], keep_default_na=False)


def survey_trace(*, quarter: Quarter, store_id: int, employee_id: int | None = None
                 ) -> QuerySet[Response]:
    """The counted responses behind a store's value, or behind an employee's (those that name
    the employee, less the ones the employee keyed in themselves)."""
    if employee_id is None:
        responses = counted_responses()
    else:
        responses = employee_counted_responses().filter(employee_id=employee_id)
    responses = responses.filter(campaign__quarter=quarter, store_id=store_id)
    return responses.select_related("campaign", "employee").prefetch_related(
        "answers__indicator").order_by("submitted_at")


# --- Results of a campaign ----------------------------------------------------------------


def counted_responses() -> QuerySet[Response]:
    """The responses that count for their store."""
    return Response.objects.filter(status__in=COUNTED_STATUSES)


def employee_counted_responses() -> QuerySet[Response]:
    """The responses that count for the employee they name: counted, and not keyed in by that
    employee (``self_served``: no one scores themselves)."""
    return counted_responses().filter(employee__isnull=False, self_served=False)


def campaign_results(*, campaign: Campaign, weights: Mapping[str, float],
                     store_ids: list[int] | None = None) -> dict[int, StoreResult]:
    """Per-store results of one campaign, for the given stores (None: every store with data
    or invitations). Three set-based statements whatever the number of stores.

    ``weights`` (indicator code → weight) are the scoring scheme's (``surveys.weights``): the
    weighted score is the store value's survey % for the same responses. Codes without a
    weight do not count in it, as in the store value."""
    indicators = list(Indicator.objects.order_by("order", "code"))
    codes = {i.pk: i.code for i in indicators}
    where, params = "r.campaign_id = %s", [campaign.pk]
    if store_ids is not None:
        if not store_ids:
            return {}
        where += f" AND r.store_id IN ({', '.join(['%s'] * len(store_ids))})"
        params += list(store_ids)
    aggregates: dict[int, StoreAggregate] = {}
    source = _Source(where=where, params=params, from_=_CAMPAIGN_FROM,
                     span=f"CAST({int(campaign.scale_max) - 1} AS DOUBLE PRECISION)")
    tally_where = "t.campaign_id = %s" + (
        f" AND t.store_id IN ({', '.join(['%s'] * len(store_ids))})" if store_ids else "")
    for store_id, indicator_id, n, mean, _score, bottom, expectation in _fetch(
            _tally_sql(where=tally_where), params):
        agg = aggregates.setdefault(store_id, empty_aggregate(store_id))
        code = codes[indicator_id]
        agg.indicator_n[code] = n
        agg.mean_rating[code] = _float(mean)
        agg.bottom_n[code] = bottom
        agg.mean_expectation[code] = _expectation_rating(_float(expectation), campaign.scale_max)
    by_pk = weights_by_pk(weights, codes)
    # The kept scores, and how many were kept under other weights (then: from the answers).
    kept = _fetch(
        "SELECT r.store_id, COUNT(*), COUNT(r.score), SUM(r.score), "  # noqa: S608
        "SUM(r.score * r.score), "
        f"SUM(CASE WHEN {STALE_SCORE_SQL} THEN 1 ELSE 0 END) "
        f"FROM surveys_response r WHERE r.status IN ({_COUNTED}) AND {where} "
        "GROUP BY r.store_id", [weights_key(by_pk), *params])
    response_rows = ([row[:5] for row in kept] if not any(row[5] for row in kept)
                     else _response_rows(source=source, weights=by_pk))
    for store_id, responses, n, total, squares in response_rows:
        agg = aggregates.setdefault(store_id, empty_aggregate(store_id))
        agg.n, agg.weighted_n = responses, n
        agg.weighted_total, agg.weighted_sum_squares = float(total or 0), float(squares or 0)
    invitations = Invitation.objects.filter(campaign=campaign)
    if store_ids is not None:
        invitations = invitations.filter(store_id__in=store_ids)
    for row in invitations.values("store_id").annotate(
            sent=Count("pk"), answered=Count("pk", filter=Q(response__isnull=False))):
        agg = aggregates.setdefault(row["store_id"], empty_aggregate(row["store_id"]))
        agg.invitations, agg.invited_responses = row["sent"], row["answered"]
    specs = [IndicatorSpec(i.code, i.name, float(weights.get(i.code, 0.0)))
             for i in indicators
             if i.is_active or any(a.indicator_n.get(i.code) for a in aggregates.values())]
    return {store_id: store_result(aggregate=agg, indicators=specs,
                                   scale_max=campaign.scale_max,
                                   target=campaign.target_per_store)
            for store_id, agg in aggregates.items()}


def _expectation_rating(score: float | None, scale_max: int) -> float | None:
    """Back from the 0–100 expectation score to the campaign's rating scale."""
    return None if score is None else 1 + score * (scale_max - 1) / 100.0


def campaign_stores(*, campaign: Campaign, user: User) -> QuerySet[Store]:
    """The stores of a campaign the user may see."""
    stores = visible_stores(user).select_related("region")
    if not campaign.all_stores:
        stores = stores.filter(pk__in=campaign.stores.values("pk"))
    return stores.order_by("code")


def campaign_result_rows(*, campaign: Campaign, user: User, weights: Mapping[str, float],
                         stores: list[Store] | None = None) -> list[tuple[Store, StoreResult]]:
    """(store, result) for the user's stores of the campaign, stores without data included;
    ``weights`` as in :func:`campaign_results`."""
    store_list = list(stores if stores is not None else campaign_stores(campaign=campaign,
                                                                         user=user))
    ids = None if stores is None and sees_all_stores(user) else [s.pk for s in store_list]
    results = campaign_results(campaign=campaign, weights=weights, store_ids=ids)
    rows = []
    for store in store_list:
        result = results.get(store.pk) or store_result(
            aggregate=empty_aggregate(store.pk), indicators=[], scale_max=campaign.scale_max,
            target=campaign.target_per_store)
        rows.append((store, result))
    return rows


def campaign_list(*, user: User) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.all()
    if sees_all_stores(user):
        return campaigns
    return campaigns.filter(Q(all_stores=True) | Q(stores__in=visible_stores(user).values("pk"))
                            ).distinct()


def open_campaign_for_store(*, store: Store, day) -> Campaign | None:
    return (Campaign.objects.filter(opens_on__lte=day, closes_on__gte=day)
            .filter(Q(all_stores=True) | Q(stores=store))
            .order_by("-opens_on", "-pk").first())


def stores_with_running_campaign(*, store_ids: set[int] | list[int], day) -> set[int]:
    """Of ``store_ids``, the stores a campaign runs in on ``day`` (two queries, for the POS)."""
    running = Campaign.objects.filter(opens_on__lte=day, closes_on__gte=day)
    if running.filter(all_stores=True).exists():
        return set(Store.objects.filter(pk__in=store_ids, is_active=True)
                   .values_list("pk", flat=True))
    return set(Store.objects.filter(pk__in=store_ids, is_active=True,
                                    survey_campaigns__in=running).values_list("pk", flat=True))


def response_list(*, user: User, campaign: Campaign | None = None, store: Store | None = None,
                  status: str = "") -> QuerySet[Response]:
    responses = scope_to_stores(Response.objects.select_related(
        "store", "employee", "campaign", "entered_by"), user)
    if campaign is not None:
        responses = responses.filter(campaign=campaign)
    if store is not None:
        responses = responses.filter(store=store)
    if status:
        responses = responses.filter(status=status)
    return responses.order_by("-submitted_at", "-pk")


def flagged_response_list(*, user: User, reason: str = "") -> QuerySet[Response]:
    """Responses held for HQ (status flagged), optionally those flagged for one reason."""
    responses = response_list(user=user, status=ResponseStatus.FLAGGED)
    if reason in FlagReason.values:
        # A comma-separated list of reason codes, none of which contains another.
        responses = responses.filter(flag_reasons__contains=reason)
    return responses


def open_store_flags(*, user: User) -> QuerySet[StoreFlag]:
    return scope_to_stores(StoreFlag.objects.select_related("store", "campaign"), user).filter(
        status=StoreFlagStatus.OPEN)


# --- Setup (HQ) ---------------------------------------------------------------------------

RUNNING, UPCOMING, CLOSED = "running", "upcoming", "closed"


def campaign_state(campaign: Campaign, *, today=None) -> str:
    """Running (open today), upcoming (opens later) or closed."""
    today = today or timezone.localdate()
    if campaign.opens_on > today:
        return UPCOMING
    return RUNNING if campaign.closes_on >= today else CLOSED


def campaign_setup_list() -> QuerySet[Campaign]:
    """Every campaign, newest quarter first, with its number of answers (``response_count``)
    and of chosen stores (``store_count``; 0 for all stores): one query."""
    # Two correlated counts, not one join of answers × stores (millions × thousands of rows).
    answers = (Response.objects.filter(campaign=OuterRef("pk")).order_by()
               .values("campaign").annotate(n=Count("pk")).values("n"))
    through = Campaign.stores.through
    stores = (through.objects.filter(campaign=OuterRef("pk")).order_by()
              .values("campaign").annotate(n=Count("pk")).values("n"))
    return Campaign.objects.annotate(
        response_count=Coalesce(Subquery(answers), 0),
        store_count=Coalesce(Subquery(stores), 0)).order_by("-quarter", "-opens_on", "-pk")


def campaign_changes(*, campaign: Campaign | None = None,
                     limit: int = history.HISTORY_LIMIT) -> list[history.Change]:
    """Who changed which campaign (or this one) and how, newest first (two queries)."""
    records = Campaign.history.all()
    if campaign is not None:
        records = records.filter(id=campaign.pk)
    return history.changes(records, limit=limit,
                           describe=lambda record: f"{record.quarter} {record.name}")


def indicator_changes(*, indicator: Indicator | None = None,
                      limit: int = history.HISTORY_LIMIT) -> list[history.Change]:
    """Who changed which indicator (or this one) and how, newest first (two queries)."""
    records = Indicator.history.all()
    if indicator is not None:
        records = records.filter(id=indicator.pk)
    return history.changes(records, limit=limit, describe=lambda record: record.code)


def response_count(*, campaign: Campaign) -> int:
    return Response.objects.filter(campaign=campaign).count()


def tally_differences(*, campaigns: list[Campaign]) -> list[tuple]:
    """Where the kept tallies differ from their counted answers: ``(key, kept, answers)`` per
    differing (campaign, store, employee key, indicator), figures ``(n, rating_sum,
    bottom_n, expectation_n, expectation_sum)``. Empty: they are equal, as they must be."""
    if not campaigns:
        return []
    ids = [c.pk for c in campaigns]
    marks = ", ".join(["%s"] * len(ids))
    answers = {row[:4]: row[4:] for row in _fetch(answer_sums_sql(
        f"r.campaign_id IN ({marks}) AND r.status IN ({_COUNTED})"), ids)}
    kept = {row[:4]: row[4:] for row in _fetch(
        "SELECT campaign_id, store_id, employee_key, indicator_id, n, rating_sum, "  # noqa: S608
        "bottom_n, expectation_n, expectation_sum FROM surveys_indicatortally "
        f"WHERE campaign_id IN ({marks}) AND n <> 0", ids)}
    return [(key, kept.get(key), answers.get(key))
            for key in sorted(set(answers) | set(kept))
            if tuple(kept.get(key) or ()) != tuple(answers.get(key) or ())]


# --- What drives satisfaction -------------------------------------------------------------

# A multiplicative hash of the response id (Knuth's constant, modulo the largest 32-bit prime):
# the sample of a scope is the same on every request and on every database, and spread over
# the campaign's days and stores rather than its first answers. (%% is a literal %: the
# statement has parameters.)
_SAMPLE_ORDER = "(r.id * 2654435761) %% 4294967291, r.id"


def driver_regions(*, user: User) -> QuerySet[Region]:
    """The regions whose driver analysis the user may ask for: every region for a user who
    sees every store, a regional manager's own regions, none for anyone else (their stores'
    analysis is their default scope)."""
    choice = rules.driver_region_choice(user)
    if choice == rules.ALL_REGIONS:
        return Region.objects.order_by("code")
    if choice == rules.OWN_REGIONS:
        return user.regions.order_by("code")
    return Region.objects.none()


def _driver_store_ids(*, user: User, region: Region | None, store: Store | None
                      ) -> list[int] | None:
    """The stores of the scope (None: every store), or Http404 when the user may not see it."""
    if store is not None:
        if not visible_stores(user).filter(pk=store.pk).exists():
            raise Http404
        return [store.pk]
    if region is not None:
        if not driver_regions(user=user).filter(pk=region.pk).exists():
            raise Http404
        return list(Store.objects.filter(region=region).values_list("pk", flat=True))
    if sees_all_stores(user):
        return None
    return list(visible_stores(user).values_list("pk", flat=True))


def _driver_rows(*, campaign: Campaign, indicators: list[Indicator],
                 store_ids: list[int] | None) -> list[tuple]:
    """One row per counted response of the scope with an overall or would-recommend answer,
    at most ``drivers.MAX_DRIVER_SAMPLE`` chosen by a hash of the id: (overall, recommend,
    responses in the scope before the cap, one rating per indicator). One statement."""
    where, params = f"r.campaign_id = %s AND r.status IN ({_COUNTED})", [campaign.pk]
    if store_ids is not None:
        where += f" AND r.store_id IN ({', '.join(['%s'] * len(store_ids))})"
        params += list(store_ids)
    where += " AND (r.overall IS NOT NULL OR r.recommend IS NOT NULL)"
    pivot = ", ".join(["MAX(CASE WHEN a.indicator_id = %s THEN a.rating END)"] * len(indicators))
    # The count is its own (uncorrelated) subquery rather than a window over the picked rows:
    # a window would sort every response of the scope, the LIMIT alone sorts only the top
    # (PostgreSQL's top-N heapsort: at a million responses about half the time).
    sql = ("WITH picked AS (SELECT r.id, r.overall, r.recommend "  # noqa: S608 - constants
           f"FROM surveys_response r WHERE {where} ORDER BY {_SAMPLE_ORDER} LIMIT %s) "
           "SELECT p.overall, p.recommend, "
           f"(SELECT COUNT(*) FROM surveys_response r WHERE {where})"
           f"{', ' if pivot else ''}{pivot} "
           "FROM picked p LEFT JOIN surveys_answer a ON a.response_id = p.id "
           "GROUP BY p.id, p.overall, p.recommend")
    return _fetch(sql, [*params, drivers.MAX_DRIVER_SAMPLE, *params,
                        *[i.pk for i in indicators]])


def campaign_drivers(*, campaign: Campaign, user: User, region: Region | None = None,
                     store: Store | None = None) -> drivers.Drivers | None:
    """What drives satisfaction in a campaign (``surveys.drivers``), for a scope the user
    sees: one store, one region, or (neither given) every store the user sees, the whole chain
    for HQ. Another store or region is a 404. None when the campaign asks neither overall
    satisfaction nor would-recommend.

    Counted responses only. At most ``drivers.MAX_DRIVER_SAMPLE`` responses are read (the
    result's ``read`` of ``sample_of``): three queries whatever the size of the campaign.
    Below the minimum of answers (a store's few) the result says so, it shows no weights.
    """
    store_ids = _driver_store_ids(user=user, region=region, store=store)
    if not (campaign.ask_overall or campaign.ask_recommend):
        return None
    indicators = list(Indicator.objects.filter(is_active=True).order_by("order", "code"))
    rows = _driver_rows(campaign=campaign, indicators=indicators, store_ids=store_ids)
    specs = [drivers.DriverIndicator(code=i.code, name=i.name,
                                     kano_class=i.effective_kano_class) for i in indicators]
    return drivers.driver_analysis(
        indicators=specs, ratings=[row[3:] for row in rows], overall=[row[0] for row in rows],
        recommend=[row[1] for row in rows], scale_max=campaign.scale_max,
        sample_of=rows[0][2] if rows else 0)

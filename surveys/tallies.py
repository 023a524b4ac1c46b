"""The statements that keep the survey tallies and response scores (``surveys.models.
IndicatorTally``, ``Response.score``) current. Only ``surveys.services`` calls them, inside the
transaction of the write they follow; reads go through ``surveys.selectors``.

Why they exist: a quarter holds a million responses and seven million answers; the results
pages and the rollup read the tallies (stores × employees × indicators) and one score per
response instead (docs/architecture.md, "Survey tallies").

Every statement is set-based and runs on PostgreSQL and SQLite (``INSERT … ON CONFLICT DO
UPDATE``, ``UPDATE … FROM``). The increments are done by the database in one statement, so two
writers adding to the same row never lose an update.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from django.db import connection

from surveys.models import COUNTED_STATUSES

# Only constant names and generated placeholders go into the SQL text; values are parameters.
_COUNTED = ", ".join(f"'{s}'" for s in COUNTED_STATUSES)
_CHUNK = 5000

_TALLY_COLUMNS = "n, rating_sum, bottom_n, expectation_n, expectation_sum"
_EMPLOYEE_KEY = ("CASE WHEN r.employee_id IS NULL OR r.self_served THEN 0 "
                 "ELSE r.employee_id END")


#: A response ``r`` whose kept score was not computed with the weights named by the
#: parameter (``weights_key``): never scored, or scored before a reweight.
STALE_SCORE_SQL = "(r.score_key IS NULL OR r.score_key <> %s)"


def weights_key(weights: Mapping[int, float]) -> int:
    """A 63-bit name of the weights a score is computed with (indicator pk → weight; the
    weights that count, > 0): the same weights always give the same key."""
    text = ",".join(f"{pk}:{float(w)!r}" for pk, w in sorted(weights.items()) if w > 0)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = list(ids)
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def _placeholders(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def answer_sums_sql(where: str, *, signed: bool = False) -> str:
    """The tally of the answers of the responses ``r`` matching ``where``: per (campaign,
    store, employee key, indicator) the figures of ``IndicatorTally`` in its column order.
    ``signed``: each figure multiplied by a first parameter (1 adds, -1 takes away)."""
    sign = "%s * " if signed else ""
    return (
        f"SELECT r.campaign_id, r.store_id, {_EMPLOYEE_KEY}, a.indicator_id, "  # noqa: S608
        f"{sign}COUNT(*), {sign}SUM(a.rating), "
        f"{sign}SUM(CASE WHEN a.rating = 1 THEN 1 ELSE 0 END), "
        f"{sign}COUNT(a.expectation), {sign}COALESCE(SUM(a.expectation), 0) "
        "FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id "
        f"WHERE {where} "
        f"GROUP BY r.campaign_id, r.store_id, {_EMPLOYEE_KEY}, a.indicator_id")


def _add(where: str, params: list, sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) the answers of the responses ``r`` matching
    ``where`` to the tallies, whatever their status (the caller says which responses start
    or stop counting)."""
    sql = (
        f"INSERT INTO surveys_indicatortally (campaign_id, store_id, employee_key, "
        f"indicator_id, {_TALLY_COLUMNS}) {answer_sums_sql(where, signed=True)} "
        # One order for every writer: two transactions take the rows' locks in the same order
        # and cannot deadlock on them.
        "ORDER BY 1, 2, 3, 4 "
        "ON CONFLICT (campaign_id, store_id, employee_key, indicator_id) DO UPDATE SET "
        + ", ".join(f"{c} = surveys_indicatortally.{c} + excluded.{c}"
                    for c in _TALLY_COLUMNS.split(", ")))
    with connection.cursor() as cursor:
        cursor.execute(sql, [sign] * 5 + params)


def responses_counted(response_ids: Iterable[int]) -> None:
    """These responses now count (created counted, cleared after review): add them."""
    for chunk in _chunks(response_ids):
        _add(f"r.id IN ({_placeholders(chunk)})", chunk, 1)


def responses_withdrawn(response_ids: Iterable[int]) -> None:
    """These responses counted and no longer do (held back for review): take them away."""
    for chunk in _chunks(response_ids):
        _add(f"r.id IN ({_placeholders(chunk)})", chunk, -1)


def weighted_score_sql(weights: Mapping[int, float], span: str) -> tuple[str, list]:
    """The SQL of one response's weighted 0–100 score over its answers ``a`` (Σ w·score / Σ w
    over the indicators it rated with a weight > 0; NULL when none) and its parameters.
    ``weights``: indicator pk → weight; ``span``: the SQL of the scale's span (max − 1)."""
    positive = [(pk, float(w)) for pk, w in weights.items() if w > 0]
    if not positive:
        return "CAST(NULL AS DOUBLE PRECISION)", []
    case = ("CASE a.indicator_id " + " ".join("WHEN %s THEN %s" for _ in positive)
            + " ELSE 0 END")
    case_params = [v for pair in positive for v in pair]
    return (f"SUM({case} * (a.rating - 1) * 100 / {span}) / NULLIF(SUM({case}), 0)",
            case_params + case_params)


def _bulk_memory(cursor) -> None:
    """A whole quarter at once (a rebuild, a rescoring after a reweight) groups millions of
    answers: give this transaction's sorts and hashes room instead of spilling to disk
    (PostgreSQL; ``SET LOCAL`` ends with the transaction the services open)."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        cursor.execute("SET LOCAL work_mem = '256MB'")


def score(where: str, params: list, weights: Mapping[int, float], *, bulk: bool = False
          ) -> int:
    """Compute and keep the weighted score of the responses ``r`` matching ``where`` under
    ``weights`` (indicator pk → weight); returns how many were scored. ``bulk``: a whole
    quarter or campaign."""
    key = weights_key(weights)
    expression, expression_params = weighted_score_sql(
        weights, "CAST(c.scale_max - 1 AS DOUBLE PRECISION)")
    with connection.cursor() as cursor:
        if bulk:
            _bulk_memory(cursor)
        cursor.execute(
            f"UPDATE surveys_response SET score = s.ws, score_key = %s FROM ("  # noqa: S608
            f"SELECT r.id AS id, {expression} AS ws FROM surveys_response r "
            "JOIN surveys_campaign c ON c.id = r.campaign_id "
            "JOIN surveys_answer a ON a.response_id = r.id "
            f"WHERE {where} GROUP BY r.id) s WHERE surveys_response.id = s.id",
            [key, *expression_params, *params])
        scored = cursor.rowcount
        # A response without answers has no score, under any weights.
        cursor.execute(
            "UPDATE surveys_response SET score = NULL, score_key = %s "  # noqa: S608
            f"WHERE id IN (SELECT r.id FROM surveys_response r WHERE {where} "
            f"AND {STALE_SCORE_SQL})", [key, *params, key])
        return scored + cursor.rowcount


def score_responses(response_ids: Iterable[int], weights: Mapping[int, float]) -> None:
    for chunk in _chunks(response_ids):
        score(f"r.id IN ({_placeholders(chunk)})", chunk, weights)


def rebuild(campaign_ids: list[int]) -> None:
    """The campaigns' tallies again from their counted answers (the reference the kept
    tallies must equal)."""
    where = f"r.campaign_id IN ({_placeholders(campaign_ids)})"
    with connection.cursor() as cursor:
        _bulk_memory(cursor)
        cursor.execute(f"DELETE FROM surveys_indicatortally WHERE campaign_id IN "  # noqa: S608
                       f"({_placeholders(campaign_ids)})", campaign_ids)
    _add(f"{where} AND r.status IN ({_COUNTED})", campaign_ids, 1)

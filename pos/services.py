"""Writes of the POS integration: idempotent receipt ingest, survey invitations, API keys.

A receipt is identified by store code + receipt number. Posting it again with the same contents
(a POS retry) returns the stored result and creates nothing; the same receipt with different
contents is a conflict (409) that shows the stored one. A batch is validated as a whole and is
all-or-nothing: one invalid or conflicting item rejects the whole batch, with the errors listed
per item index (``items[3].amount``), and nothing of it is stored.

Ingest is set-based: one SELECT for the stores, one for the cashiers, one for the receipts that
already exist, and one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per 1,000 rows.
A single new receipt (the till's POST, the hot path) takes one statement: an ``INSERT ...
SELECT`` that finds its store, checks the key's right to it and links the cashier, committed on
its own when the receipt writes nothing else (see ``_ingest``); only when it inserts nothing (a
retry, a conflict, a store refused) does the general path run.
The unique constraint decides races between concurrent retries: a row the INSERT skipped was
stored meanwhile by another request and is compared like any existing receipt. Rows are
inserted in one fixed order (store id, receipt number), so two batches holding the same
receipts in different orders wait for each other instead of deadlocking; a deadlock or
serialization failure that happens all the same is retried (the ingest is idempotent).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework_api_key.crypto import KeyGenerator

from pos import rules
from pos.models import PosApiKey, PosTransaction, throttle_rate_validator
from satisfaction.errors import ApplicationError
from satisfaction.history import attribute
from satisfaction.models import CODE_PATTERN, Employee, Store, User
from satisfaction.quarters import chain_zone, earliest_request_moment
from surveys.selectors import stores_with_running_campaign
from surveys.services import invitation_create

logger = logging.getLogger(__name__)

RECEIPT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")
# Store codes and cashier numbers follow ``satisfaction.models.CODE_PATTERN``: the core's one
# definition, which the chain import and the models' validators check too.
MAX_AMOUNT = Decimal("9999999999.99")
MAX_ITEM_COUNT = 100_000
COMPARED_FIELDS = ("occurred_at", "amount", "item_count", "member_hash", "cashier_number")
# What each compared field is called in the API.
API_NAMES = {"occurred_at": "occurred_at", "amount": "amount", "item_count": "item_count",
             "member_hash": "member_id", "cashier_number": "cashier"}


# --- pure functions (no ORM) ----------------------------------------------------------------

def member_hash(member_id: str, *, key: str | None = None) -> str:
    """HMAC-SHA256 of a loyalty member id (trimmed): the only form in which it is stored."""
    secret = (key if key is not None else settings.POS_MEMBER_HASH_KEY).encode()
    return hmac.new(secret, member_id.strip().encode(), hashlib.sha256).hexdigest()


def is_sampled(store_code: str, receipt_number: str, share: float) -> bool:
    """Whether a receipt gets a survey invitation: deterministic per receipt, ``share`` of all.

    The first 8 bytes of SHA-256 of ``store|receipt`` as a fraction of 2**64, compared with the
    share: a retry always gets the same answer and receipt numbering patterns do not bias it.
    """
    if share <= 0:
        return False
    if share >= 1:
        return True
    digest = hashlib.sha256(f"{store_code}|{receipt_number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < share * 2**64


@dataclass(frozen=True, slots=True)
class TransactionInput:
    store_code: str
    receipt_number: str
    occurred_at: datetime
    amount: Decimal
    item_count: int
    member_hash: str
    cashier_number: str


def _text(raw: dict, name: str, errors: dict[str, list[str]], *, required: bool,
          pattern: re.Pattern[str] | None = None, max_length: int = 64) -> str:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            errors[name] = [_("This field is required.")]
        return ""
    if not isinstance(value, str):
        errors[name] = [_("Must be a string.")]
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors[name] = [_("At most %(n)d characters.") % {"n": max_length}]
    elif pattern is not None and not pattern.match(value):
        errors[name] = [_("Letters, digits and . _ - : only, starting with a letter or digit.")]
    return value


def _parse_time(value: object, errors: dict[str, list[str]], now: datetime) -> datetime | None:
    if not isinstance(value, str) or not value:
        errors["occurred_at"] = [_("An ISO 8601 date-time such as 2026-11-24T18:05:00+08:00 "
                                   "is required.")]
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        errors["occurred_at"] = [_("Not an ISO 8601 date-time such as "
                                   "2026-11-24T18:05:00+08:00.")]
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=chain_zone())  # a POS clock without offset: chain time
    if moment < earliest_request_moment():
        errors["occurred_at"] = [_("The time is before 2000.")]
    elif moment > now + timedelta(seconds=settings.POS_MAX_CLOCK_SKEW_SECONDS):
        errors["occurred_at"] = [_("The time is in the future.")]
    return moment


def _parse_amount(value: object, errors: dict[str, list[str]]) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors["amount"] = [_('A decimal amount such as "36.50" is required.')]
        return Decimal(0)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        errors["amount"] = [_('Not a decimal amount such as "36.50".')]
        return Decimal(0)
    if not amount.is_finite():
        errors["amount"] = [_('Not a decimal amount such as "36.50".')]
    elif amount < 0 or amount > MAX_AMOUNT:
        errors["amount"] = [_("The amount must be between 0 and 9999999999.99.")]
    elif amount.as_tuple().exponent < -2:  # type: ignore[operator]
        errors["amount"] = [_("At most 2 decimal places.")]
    else:
        return amount.quantize(Decimal("0.01"))
    return Decimal(0)


def parse_transaction(raw: object, *, now: datetime,
                      hash_key: str | None = None) -> tuple[TransactionInput | None,
                                                            dict[str, list[str]]]:
    """Validate one receipt as posted; returns the input or the field errors."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": [_("Each transaction must be a JSON object.")]}
    errors: dict[str, list[str]] = {}
    store_code = _text(raw, "store", errors, required=True, pattern=CODE_PATTERN, max_length=32)
    receipt = _text(raw, "receipt_number", errors, required=True, pattern=RECEIPT_PATTERN)
    occurred_at = _parse_time(raw.get("occurred_at"), errors, now)
    amount = _parse_amount(raw.get("amount"), errors)
    item_count = raw.get("item_count")
    if isinstance(item_count, bool) or not isinstance(item_count, int):
        errors["item_count"] = [_("A whole number is required.")]
    elif not 1 <= item_count <= MAX_ITEM_COUNT:
        errors["item_count"] = [_("The item count must be between 1 and 100000.")]
    member = _text(raw, "member_id", errors, required=False)
    cashier = _text(raw, "cashier", errors, required=False, pattern=CODE_PATTERN, max_length=32)
    if errors:
        return None, errors
    assert occurred_at is not None
    return TransactionInput(
        store_code=store_code, receipt_number=receipt, occurred_at=occurred_at, amount=amount,
        item_count=item_count, member_hash=member_hash(member, key=hash_key) if member else "",
        cashier_number=cashier), {}


def differing_fields(item: TransactionInput, stored: dict[str, Any]) -> list[str]:
    """API names of the fields where a re-posted receipt differs from the stored one."""
    return [API_NAMES[name] for name in COMPARED_FIELDS if getattr(item, name) != stored[name]]


# --- results --------------------------------------------------------------------------------

@dataclass(slots=True)
class IngestedTransaction:
    index: int
    created: bool
    row: dict[str, Any]  # stored values (see ``STORED_FIELDS``) plus ``store_code``


@dataclass(slots=True)
class IngestResult:
    items: list[IngestedTransaction] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for item in self.items if item.created)

    @property
    def replayed(self) -> int:
        return len(self.items) - self.created


class TransactionConflictError(ApplicationError):
    """Receipts already stored with other contents; ``conflicts`` = [(index, stored row)]."""

    def __init__(self, message: str, *, fields: dict[str, list[str]],
                 conflicts: list[tuple[int, dict[str, Any]]]) -> None:
        super().__init__(message, fields=fields, code="conflict", status=409)
        self.conflicts = conflicts


STORED_FIELDS = ("id", "store_id", "receipt_number", "occurred_at", "amount", "item_count",
                 "member_hash", "cashier_number", "received_at", "invitation_url",
                 "invitation_qr", "invitation_expires_at")


def _label(index: int, name: str, *, single: bool) -> str:
    return name if single else f"items[{index}].{name}"


# --- the service ----------------------------------------------------------------------------

def _resolve_stores(*, api_key: PosApiKey, parsed: dict[int, TransactionInput],
                    errors: dict[str, list[str]], single: bool) -> dict[str, int]:
    """Store ids by code, in one query that also says whether the key may post for each."""
    codes = sorted({item.store_code for item in parsed.values()})
    if not codes:
        return {}
    rows = _stores_and_permission(codes, api_key)
    found = {code: pk for code, pk, _allowed in rows}
    allowed = {code for code, _pk, ok in rows if ok}
    forbidden: dict[str, list[str]] = {}
    for index, item in parsed.items():
        if item.store_code not in allowed and not api_key.all_stores:
            forbidden[_label(index, "store", single=single)] = [
                _("This API key may not post for store %(code)s.") % {"code": item.store_code}]
        elif item.store_code not in found:
            errors[_label(index, "store", single=single)] = [
                _("No store has the code %(code)s.") % {"code": item.store_code}]
    if forbidden:
        raise ApplicationError(_("The API key is not allowed to post for these stores."),
                               fields=forbidden, code="forbidden_store", status=403)
    return found


def _key_may_post_sql(api_key: PosApiKey) -> tuple[str, list]:
    """The rule "this key may post for store ``s``" as SQL and its parameters: a key for all
    stores may post for any, another only for the stores linked to it. The one statement of it
    that the store check and the single-receipt insert both use."""
    if api_key.all_stores:
        return "1 = 1", []
    quote = connection.ops.quote_name
    links = PosApiKey.stores.through._meta  # noqa: SLF001  (model metadata API)
    sql = (f"EXISTS (SELECT 1 FROM {quote(links.db_table)} l "  # noqa: S608  (quoted names)
           f"WHERE l.{quote(links.get_field('posapikey').column)} = %s "
           f"AND l.{quote(links.get_field('store').column)} = s.{quote('id')})")
    return sql, [api_key.pk]


def _stores_and_permission(codes: list[str], api_key: PosApiKey) -> list[tuple[str, int, bool]]:
    """(code, id, whether the key may post for it) of the stores with these codes: one plain
    statement (this runs on every receipt POST; a queryset with ``Exists`` costs more to build
    than the query costs to run)."""
    quote = connection.ops.quote_name
    stores = quote(Store._meta.db_table)  # noqa: SLF001  (model metadata API)
    allowed, allowed_params = _key_may_post_sql(api_key)
    sql = (f"SELECT s.{quote('code')}, s.{quote('id')}, "  # noqa: S608  (quoted names)
           f"CASE WHEN {allowed} THEN 1 ELSE 0 END "
           f"FROM {stores} s WHERE s.{quote('code')} IN ({', '.join(['%s'] * len(codes))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*allowed_params, *codes])
        return [(code, pk, bool(ok)) for code, pk, ok in cursor.fetchall()]


INSERT_COLUMNS = ("store_id", "receipt_number", "occurred_at", "amount", "item_count",
                  "member_hash", "cashier_number", "api_key_id", "received_at",
                  "invitation_url", "invitation_qr")


def _adapters() -> list[Callable[[Any], Any]]:
    """Python value -> database parameter, per column (what ``get_db_prep_save`` does, without
    its per-value overhead: only datetimes and decimals need adapting)."""
    ops = connection.ops

    def same(value: Any) -> Any:
        return value

    def decimal(value: Any) -> Any:
        return ops.adapt_decimalfield_value(value, 12, 2)

    by_column = {"occurred_at": ops.adapt_datetimefield_value,
                 "received_at": ops.adapt_datetimefield_value, "amount": decimal}
    return [by_column.get(column, same) for column in INSERT_COLUMNS]


def _insert_rows(rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
    """Insert new receipts, skipping those the unique constraint already holds; returns the
    (store_id, receipt) pairs inserted and writes their new ids into ``rows``. The cashier is
    linked in the same statement through the employee number."""
    if not rows:
        return set()
    # One order for every request: concurrent batches lock the same unique-index entries in
    # the same order, so they queue instead of deadlocking (the SQL keeps it with ORDER BY).
    rows = sorted(rows, key=lambda row: (row["store_id"], row["receipt_number"]))
    if connection.vendor == "postgresql":
        returned = _insert_rows_unnest(rows)
    else:
        returned = _insert_rows_values(rows)
    by_pair = {(row["store_id"], row["receipt_number"]): row for row in rows}
    inserted: set[tuple[int, str]] = set()
    for pk, store_id, receipt in returned:
        by_pair[(store_id, receipt)]["id"] = pk
        inserted.add((store_id, receipt))
    return inserted


def _names() -> tuple[Callable[[str], str], str, str]:
    quote = connection.ops.quote_name
    return (quote, quote(PosTransaction._meta.db_table),  # noqa: SLF001  (model metadata API)
            quote(Employee._meta.db_table))  # noqa: SLF001


def _insert_rows_unnest(rows: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays) ... ON CONFLICT DO NOTHING
    RETURNING``, a short statement with one array parameter per column however many rows."""
    quote, table, employees = _names()
    columns = ", ".join(quote(c) for c in (*INSERT_COLUMNS, "cashier_id"))
    sql = (
        f"INSERT INTO {table} ({columns}) "  # noqa: S608  (quoted names and placeholders only)
        "SELECT u.store_id, u.receipt_number, u.occurred_at, u.amount, u.item_count, "
        "u.member_hash, u.cashier_number, %s, %s, '', '', e.id "
        "FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], %s::numeric[], "
        "%s::integer[], %s::varchar[], %s::varchar[]) AS u(store_id, receipt_number, "
        "occurred_at, amount, item_count, member_hash, cashier_number) "
        f"LEFT JOIN {employees} e ON u.cashier_number <> '' AND e.{quote('number')} = "
        "u.cashier_number ORDER BY u.store_id, u.receipt_number "
        f"ON CONFLICT ({quote('store_id')}, {quote('receipt_number')}) DO NOTHING "
        f"RETURNING {quote('id')}, {quote('store_id')}, {quote('receipt_number')}")
    first = rows[0]
    params = [first["api_key_id"], first["received_at"],
              *([row[c] for row in rows] for c in (
                  "store_id", "receipt_number", "occurred_at", "amount", "item_count",
                  "member_hash", "cashier_number"))]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _insert_rows_values(rows: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """Other databases (SQLite): multi-row ``INSERT ... VALUES ... ON CONFLICT DO NOTHING
    RETURNING`` in chunks, the cashier by a scalar subquery."""
    quote, table, employees = _names()
    columns = ", ".join(quote(column) for column in (*INSERT_COLUMNS, "cashier_id"))
    cashier = f"(SELECT {quote('id')} FROM {employees} WHERE {quote('number')} = %s)"  # noqa: S608
    placeholder = "(" + ", ".join(["%s"] * len(INSERT_COLUMNS)) + ", " + cashier + ")"
    adapters = _adapters()
    returned: list[tuple[int, int, str]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start:start + 500]
            params: list[Any] = []
            for row in chunk:
                params.extend(adapt(row[column])
                              for adapt, column in zip(adapters, INSERT_COLUMNS, strict=True))
                params.append(row["cashier_number"] or None)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) "  # noqa: S608  (quoted names, placeholders)
                f"VALUES {', '.join([placeholder] * len(chunk))} "
                f"ON CONFLICT ({quote('store_id')}, {quote('receipt_number')}) DO NOTHING "
                f"RETURNING {quote('id')}, {quote('store_id')}, {quote('receipt_number')}",
                params)
            returned.extend(cursor.fetchall())
    return returned


def _insert_one(item: TransactionInput, api_key: PosApiKey,
                now: datetime) -> dict[str, Any] | None:
    """The single receipt's usual case in one statement: insert it for its store if the key
    may post for that store, linking the cashier. Returns its new row, or None when nothing
    was inserted (an unknown or forbidden store, or a receipt already stored), which the
    general path then sorts out and reports as before."""
    quote, table, employees = _names()
    stores = quote(Store._meta.db_table)  # noqa: SLF001  (model metadata API)
    columns = ", ".join(quote(c) for c in (*INSERT_COLUMNS, "cashier_id"))
    allowed, allowed_params = _key_may_post_sql(api_key)
    sql = (
        f"INSERT INTO {table} ({columns}) "  # noqa: S608  (quoted names and placeholders only)
        f"SELECT s.{quote('id')}, {', '.join(['%s'] * (len(INSERT_COLUMNS) - 1))}, "
        f"(SELECT e.{quote('id')} FROM {employees} e WHERE e.{quote('number')} = %s) "
        f"FROM {stores} s WHERE s.{quote('code')} = %s AND {allowed} "
        f"ON CONFLICT ({quote('store_id')}, {quote('receipt_number')}) DO NOTHING "
        f"RETURNING {quote('id')}, {quote('store_id')}")
    row = _new_row(item, 0, api_key, now)
    adapters = _adapters()[1:]
    params = [adapt(row[column]) for adapt, column in zip(adapters, INSERT_COLUMNS[1:],
                                                          strict=True)]
    params += [row["cashier_number"] or None, item.store_code, *allowed_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchone()
    if returned is None:
        return None
    row["id"], row["store_id"] = returned
    return row


def _existing(pairs: set[tuple[int, str]]) -> dict[tuple[int, str], dict[str, Any]]:
    if not pairs:
        return {}
    rows = PosTransaction.objects.filter(
        store_id__in={store_id for store_id, _ in pairs},
        receipt_number__in={receipt for _, receipt in pairs}).values(*STORED_FIELDS)
    return {(row["store_id"], row["receipt_number"]): row for row in rows
            if (row["store_id"], row["receipt_number"]) in pairs}


def _raise_conflicts(conflicts: list[tuple[int, dict[str, Any], list[str]]], *,
                     single: bool) -> None:
    fields = {
        (_label(index, "receipt_number", single=single)): [
            _("Receipt already stored with different %(fields)s.") % {"fields": ", ".join(diff)}]
        for index, _row, diff in conflicts}
    raise TransactionConflictError(
        _("These receipts were already posted with different contents; the stored ones are "
          "shown. Use a new receipt number for a new sale."),
        fields=fields, conflicts=[(index, row) for index, row, _diff in conflicts])


def _check_size(items: Sequence[object]) -> None:
    if not isinstance(items, list | tuple) or not items:
        raise ApplicationError(_("Send at least one transaction."),
                               fields={"items": [_("A non-empty list is required.")]})
    if len(items) > settings.POS_BATCH_MAX_ITEMS:
        raise ApplicationError(
            _("A batch holds at most %(n)d transactions.") % {"n": settings.POS_BATCH_MAX_ITEMS},
            fields={"items": [_("At most %(n)d items.") % {"n": settings.POS_BATCH_MAX_ITEMS}]},
            code="batch_too_large")


def _parse_all(items: Sequence[object], *, now: datetime, single: bool
               ) -> tuple[dict[int, TransactionInput], dict[str, list[str]]]:
    hash_key = settings.POS_MEMBER_HASH_KEY
    errors: dict[str, list[str]] = {}
    parsed: dict[int, TransactionInput] = {}
    for index, raw in enumerate(items):
        item, item_errors = parse_transaction(raw, now=now, hash_key=hash_key)
        if item is None:
            for name, messages in item_errors.items():
                errors[_label(index, name, single=single)] = messages
        else:
            parsed[index] = item
    return parsed, errors


def _check_repeats(parsed: dict[int, TransactionInput], errors: dict[str, list[str]], *,
                   single: bool) -> None:
    """The same receipt twice in one batch must have the same contents."""
    first_index: dict[tuple[str, str], int] = {}
    for index, item in parsed.items():
        pair = (item.store_code, item.receipt_number)
        if pair in first_index and parsed[first_index[pair]] != item:
            errors[_label(index, "receipt_number", single=single)] = [
                _("Same receipt as item %(i)d with different contents.") % {
                    "i": first_index[pair]}]
        first_index.setdefault(pair, index)


def _new_row(item: TransactionInput, store_id: int, api_key: PosApiKey,
             now: datetime) -> dict[str, Any]:
    return {"id": None, "store_id": store_id, "store_code": item.store_code,
            "receipt_number": item.receipt_number, "occurred_at": item.occurred_at,
            "amount": item.amount, "item_count": item.item_count,
            "member_hash": item.member_hash, "cashier_number": item.cashier_number,
            "cashier_id": None, "api_key_id": api_key.pk, "received_at": now,
            "invitation_url": "", "invitation_qr": "", "invitation_expires_at": None}


def _conflicts_with(parsed: dict[int, TransactionInput], keyed: dict[int, tuple[int, str]],
                    stored_rows: dict[tuple[int, str], dict[str, Any]]
                    ) -> list[tuple[int, dict[str, Any], list[str]]]:
    conflicts = []
    for index, item in parsed.items():
        stored = stored_rows.get(keyed[index])
        if stored is not None and (diff := differing_fields(item, stored)):
            conflicts.append((index, {**stored, "store_code": item.store_code}, diff))
    return conflicts


#: How often an ingest is tried when PostgreSQL ends it with a deadlock or a serialization
#: failure, and the first pause between tries (doubled each time, with jitter).
INGEST_ATTEMPTS = 4
INGEST_RETRY_PAUSE_SECONDS = 0.05
# SQLSTATEs of a transaction the database ended so that running it again may succeed.
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def _is_retryable(exc: DatabaseError) -> bool:
    """A deadlock or serialization failure (psycopg's ``DeadlockDetected`` /
    ``SerializationFailure``, which Django surfaces as ``OperationalError``)."""
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) in _RETRYABLE_SQLSTATES or getattr(
        cause, "pgcode", None) in _RETRYABLE_SQLSTATES


def pos_transactions_ingest(*, api_key: PosApiKey, items: Sequence[object],
                            single: bool = False, invite: bool = True) -> IngestResult:
    """Store receipts idempotently (see the module docstring); all or nothing.

    ``invite``: ask for survey invitations for the new sampled receipts. The API asks for a
    single receipt (the till prints the answer's QR code) and for a batch only on request: a
    batch usually uploads receipts already printed, whose invitations no customer would see
    (and would lower the survey response rate per invitation).

    A deadlock or serialization failure rolls the whole ingest back; it is run again, up to
    ``INGEST_ATTEMPTS`` times in all, after a short jittered pause, and is a 503 ("busy",
    nothing stored) if every try fails. Running it again is safe: the receipts a concurrent
    request stored meanwhile are found and compared as replays. Inside a caller's transaction
    it is not retried (that transaction is lost as a whole).
    """
    attempt = 1
    while True:
        try:
            return _ingest(api_key=api_key, items=items, single=single, invite=invite)
        except DatabaseError as exc:
            if connection.in_atomic_block or not _is_retryable(exc):
                raise
            if attempt >= INGEST_ATTEMPTS:
                raise ApplicationError(
                    _("The database is busy with other receipts; nothing was stored. Send "
                      "them again in a moment."), code="busy", status=503, retry_after=1) from exc
            jitter = random.uniform(0.5, 1.5)  # noqa: S311 - spreads retries, not a secret
            pause = INGEST_RETRY_PAUSE_SECONDS * 2 ** (attempt - 1) * jitter
            attempt += 1
            logger.warning("POS ingest of %d receipts: %s; try %d of %d in %.0f ms",
                           len(items), type(exc.__cause__).__name__, attempt,
                           INGEST_ATTEMPTS, pause * 1000)
            time.sleep(pause)


def _ingest(*, api_key: PosApiKey, items: Sequence[object], single: bool,
            invite: bool) -> IngestResult:
    """All or nothing: one transaction, except for the till's usual receipt.

    That receipt (a single new one, not sampled for a survey, its key's last use recorded
    lately) writes one row in one statement, atomic on its own: it runs in autocommit, without
    the BEGIN and COMMIT round trips of a transaction (the hot path's four round trips become
    two). Whatever else a receipt writes (its invitation, the key's last use) runs in one
    transaction with its row; finding out why nothing was inserted, and every batch, in
    another."""
    _check_size(items)
    now = timezone.now()
    parsed, errors = _parse_all(items, now=now, single=single)
    tried_insert = single and len(items) == 1 and not errors
    if tried_insert:
        alone = not _writes_more(parsed[0], api_key, now, invite=invite)
        with nullcontext() if alone else transaction.atomic():
            row = _insert_one(parsed[0], api_key, now)
            if row is not None:  # stored now; otherwise the general path finds out why
                if invite:
                    _attach_invitations([row])
                _touch_key(api_key, now)
                return IngestResult(items=[IngestedTransaction(index=0, created=True, row=row)])
    with transaction.atomic():
        return _ingest_in_transaction(api_key=api_key, parsed=parsed, errors=errors,
                                      single=single, invite=invite, now=now,
                                      tried_insert=tried_insert)


def _writes_more(item: TransactionInput, api_key: PosApiKey, now: datetime, *,
                 invite: bool) -> bool:
    """Whether storing this new receipt writes more than its row: an invitation, if it is
    sampled for a survey, or the key's last use, when that is due."""
    return (invite and _sampled(item.store_code, item.receipt_number)) or _key_touch_due(
        api_key, now)


def _ingest_in_transaction(*, api_key: PosApiKey, parsed: dict[int, TransactionInput],
                           errors: dict[str, list[str]], single: bool, invite: bool,
                           now: datetime, tried_insert: bool) -> IngestResult:
    """The general path, in the caller's transaction. ``tried_insert``: the single receipt's
    one-statement insert ran and inserted nothing (it is stored already, or its store is
    unknown or refused)."""
    stores = _resolve_stores(api_key=api_key, parsed=parsed, errors=errors, single=single)
    _check_repeats(parsed, errors, single=single)
    if errors:
        raise ApplicationError(_("The request has invalid fields; nothing was stored."),
                               fields=errors)

    keyed = {index: (stores[item.store_code], item.receipt_number)
             for index, item in parsed.items()}
    new_rows: dict[tuple[int, str], dict[str, Any]] = {}
    for index, item in parsed.items():
        if keyed[index] not in new_rows:
            new_rows[keyed[index]] = _new_row(item, keyed[index][0], api_key, now)
    # Insert first; the rows the unique constraint skipped were stored before (a retry, or a
    # concurrent request): one SELECT fetches them to compare.
    # (A single receipt that ``_insert_one`` did not insert is already stored: no second try.)
    already = set(new_rows) - (set() if tried_insert else _insert_rows(list(new_rows.values())))
    existing = _existing(already)
    if already - set(existing):  # deleted between the INSERT and the SELECT
        raise ApplicationError(_("The receipts changed while being stored; send them again."),
                               code="conflict", status=409)
    for pair in already:
        new_rows.pop(pair)
    if conflicts := _conflicts_with(parsed, keyed, existing):
        _raise_conflicts(conflicts, single=single)

    if invite:
        _attach_invitations(list(new_rows.values()))
    result = IngestResult()
    created_pairs: set[tuple[int, str]] = set()
    for index, item in parsed.items():
        pair = keyed[index]
        if pair in new_rows:
            result.items.append(IngestedTransaction(
                index=index, created=pair not in created_pairs, row=new_rows[pair]))
            created_pairs.add(pair)
        else:
            result.items.append(IngestedTransaction(
                index=index, created=False,
                row={**existing[pair], "store_code": item.store_code}))
    _touch_key(api_key, now)
    return result


def _touch_key(api_key: PosApiKey, now: datetime) -> None:
    """Record when a key was last used, when that is due (``_key_touch_due``)."""
    if _key_touch_due(api_key, now):
        PosApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


def _key_touch_due(api_key: PosApiKey, now: datetime) -> bool:
    """A key's last use is recorded at most every 5 minutes: not a write per request."""
    return api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=5)


# --- survey invitations ---------------------------------------------------------------------

def _sampled(store_code: str, receipt_number: str) -> bool:
    """Whether a new receipt is asked an invitation for: the chain's share of receipts."""
    return is_sampled(store_code, receipt_number, settings.POS_SURVEY_SAMPLE_SHARE)


def _attach_invitations(rows: list[dict[str, Any]]) -> None:
    """Ask surveys for an invitation for each new sampled receipt of a store with a running
    campaign, and keep it on the receipt (so a retry returns the same invitation)."""
    sampled = [row for row in rows if _sampled(row["store_code"], row["receipt_number"])]
    if not sampled:
        return
    invitations = _survey_invitations(sampled)
    if not invitations:
        return
    updates = []
    for row in sampled:
        invitation = invitations.get((row["store_id"], row["receipt_number"]))
        if invitation is None:
            continue
        row.update(invitation_url=invitation.url, invitation_qr=invitation.qr_payload,
                   invitation_expires_at=invitation.expires_at)
        updates.append(PosTransaction(
            pk=row["id"], invitation_id=invitation.id, invitation_url=invitation.url,
            invitation_qr=invitation.qr_payload, invitation_expires_at=invitation.expires_at))
    PosTransaction.objects.bulk_update(
        updates, ["invitation_id", "invitation_url", "invitation_qr", "invitation_expires_at"])


@dataclass(frozen=True, slots=True)
class InvitationRef:
    id: int
    url: str
    qr_payload: str
    expires_at: datetime | None


def _survey_invitations(rows: list[dict[str, Any]]) -> dict[tuple[int, str], InvitationRef]:
    """Invitations from the surveys app for receipts of stores with a running campaign.

    The surveys app owns campaigns and invitations (``invitation_create`` is itself idempotent
    per store + receipt); this is the one place that calls it. A survey problem never fails a
    receipt: it just gets no invitation.
    """
    store_ids = stores_with_running_campaign(store_ids={row["store_id"] for row in rows},
                                             day=timezone.localdate())
    if not store_ids:
        return {}
    stores = Store.objects.in_bulk(store_ids)
    days = settings.POS_SURVEY_INVITATION_DAYS
    invitations: dict[tuple[int, str], InvitationRef] = {}
    for row in rows:
        if row["store_id"] not in store_ids:
            continue
        try:  # refuses before writing anything, so no savepoint is needed
            invitation = invitation_create(store=stores[row["store_id"]],
                                           transaction_ref=row["receipt_number"],
                                           expires_in_days=days)
        except ApplicationError:
            continue
        invitations[(row["store_id"], row["receipt_number"])] = InvitationRef(
            id=invitation.pk, url=invitation.short_url, qr_payload=invitation.qr_payload,
            expires_at=invitation.expires_at)
    return invitations


# --- API keys -------------------------------------------------------------------------------

def _require_key_manager(user: User | None) -> None:
    """``user`` None: the system itself (the demo, a management command)."""
    if user is not None and not rules.can_manage_pos_keys(user):
        raise ApplicationError(_("Only HQ customer relations may manage POS API keys."),
                               code="permission_denied", status=403)


def pos_api_key_scope_validate(*, stores: Sequence[Store], all_stores: bool) -> None:
    """A key acts for at least one store, or for all of them (a head-office system)."""
    if not stores and not all_stores:
        raise ApplicationError(_("A key needs at least one store."),
                               fields={"stores": [_("Choose the stores this key acts for.")]})


def pos_api_key_rate_validate(*, throttle_rate: str) -> str:
    """The key's own rate (empty: the default), in the form the throttle reads
    (``pos.models.throttle_rate_validator``: the one rule); returns it trimmed."""
    rate = throttle_rate.strip()
    if rate:
        try:
            throttle_rate_validator(rate)
        except ValidationError as exc:
            raise ApplicationError(_("The throttle rate is not valid."),
                                   fields={"throttle_rate": list(exc.messages)},
                                   code="invalid_rate") from None
    return rate


def _validated_fields(*, name: str, stores: Sequence[Store], all_stores: bool,
                      throttle_rate: str) -> tuple[str, str]:
    """Every field's errors at once (name, stores, rate); returns the trimmed name and rate."""
    errors: dict[str, list[str]] = {}
    longest = PosApiKey._meta.get_field("name").max_length  # noqa: SLF001 (model metadata API)
    if not name.strip():
        errors["name"] = [_("Required.")]
    elif len(name.strip()) > longest:
        errors["name"] = [_("At most %(n)d characters.") % {"n": longest}]
    for check in (lambda: pos_api_key_scope_validate(stores=stores, all_stores=all_stores),
                  lambda: pos_api_key_rate_validate(throttle_rate=throttle_rate)):
        try:
            check()
        except ApplicationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ApplicationError(_("The key was not saved: correct the fields marked."),
                               fields=errors, code="invalid_key")
    return name.strip(), throttle_rate.strip()


@transaction.atomic
def pos_api_key_create(*, name: str, stores: Sequence[Store] = (), all_stores: bool = False,
                       throttle_rate: str = "", expiry_date: datetime | None = None,
                       key: str | None = None, user: User | None = None
                       ) -> tuple[PosApiKey, str]:
    """Create a key and return it with its secret (shown once; only the hash is stored).

    HQ only (``user`` None: the system). An all-stores key has no store list; a key for
    chosen stores needs at least one. ``key`` (``prefix.secret``) fixes the secret, for the
    documented demo key only.
    """
    _require_key_manager(user)
    name, throttle_rate = _validated_fields(name=name, stores=stores, all_stores=all_stores,
                                            throttle_rate=throttle_rate)
    api_key = PosApiKey(name=name, all_stores=all_stores, throttle_rate=throttle_rate,
                        expiry_date=expiry_date)
    if key is None:
        key = PosApiKey.objects.assign_key(api_key)
    else:
        prefix, dot, secret = key.partition(".")
        if not dot or len(prefix) != 8 or len(secret) < 32:
            raise ApplicationError(_("A fixed key must look like 8chars.32chars."),
                                   fields={"key": [_("Invalid format.")]})
        api_key.prefix = prefix
        api_key.hashed_key = KeyGenerator().hash(key)
        api_key.id = f"{prefix}.{api_key.hashed_key}"
    attribute(api_key, user=user, reason=_stores_reason(stores, all_stores))
    api_key.save()
    if stores and not all_stores:
        api_key.stores.set(stores)
    return api_key, key


def _stores_reason(stores: Sequence[Store], all_stores: bool) -> str:
    """The stores a key was given, for its history (a many-to-many the history rows lack)."""
    if all_stores:
        return _("Stores: all")
    codes = sorted(store.code for store in stores)
    return _("Stores (%(n)d): %(codes)s") % {"n": len(codes), "codes": ", ".join(codes)}


@transaction.atomic
def pos_api_key_update(*, api_key: PosApiKey, name: str, stores: Sequence[Store],
                       all_stores: bool, throttle_rate: str, expiry_date: datetime | None,
                       user: User | None = None) -> PosApiKey:
    """Change a key's name, stores, rate and expiry (not its secret). HQ only; a revoked key
    is not changed any more (409). Takes effect on the key's next request: the API reads the
    key and its stores on every request (the throttle's history is kept by prefix)."""
    _require_key_manager(user)
    locked = PosApiKey.objects.select_for_update().get(pk=api_key.pk)
    if locked.revoked:
        raise ApplicationError(_("This key is revoked; it cannot be changed."),
                               code="key_revoked", status=409)
    locked.name, locked.throttle_rate = _validated_fields(
        name=name, stores=stores, all_stores=all_stores, throttle_rate=throttle_rate)
    before = set(locked.stores.values_list("pk", flat=True))
    after = set() if all_stores else {store.pk for store in stores}
    locked.all_stores = all_stores
    locked.expiry_date = expiry_date
    attribute(locked, user=user, reason=_stores_reason(stores, all_stores)
              if before != after or all_stores != api_key.all_stores else "")
    locked.save(update_fields=["name", "all_stores", "throttle_rate", "expiry_date"])
    locked.stores.set([] if all_stores else stores)
    return locked


@transaction.atomic
def pos_api_key_revoke(*, api_key: PosApiKey, user: User | None = None) -> PosApiKey:
    """Revoke a key for good (the library forbids un-revoking). HQ only. The API refuses the
    key from its next request on: authentication reads the key's row on every request."""
    _require_key_manager(user)
    locked = PosApiKey.objects.select_for_update().get(pk=api_key.pk)
    if not locked.revoked:
        locked.revoked = True
        attribute(locked, user=user)  # the history names who revoked it
        locked.save(update_fields=["revoked"])
    api_key.revoked = True
    return api_key

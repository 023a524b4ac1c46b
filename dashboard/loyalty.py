"""Loyalty, retention and complaints per 1,000 receipts on the store and region pages.

The figures are ``pos.selectors``' (the one owner of the definitions and of what counts as POS
data); this module picks the quarters a page shows and keeps the answers in Django's cache.

**The chain pass.** ``pos_quarter_figures`` computes every store's figures of a quarter and
the chain's and regions' medians in one pass (five set-based queries over the whole chain).
``chain_pass`` keeps all of it:

- each store's figures under ``dashboard:pos-store:<store id>:v1:<quarter>`` (every store of
  the chain, written in batches with ``cache.set_many``: a page reads its own six small
  entries, never the whole chain's);
- then the medians under ``dashboard:pos-medians:v1:<quarter>``, and again under
  ``…-last…`` for ``STALE_SECONDS``;

each for ``SETTLED_SECONDS`` (a week) once the quarter is settled, else ``RECENT_SECONDS``
(an hour). A quarter is "settled" ``SETTLE_DAYS`` after it ends: late POS uploads and
back-dated complaints (at most seven days back by default,
``complaints.models.ComplaintPolicy.backdate_days``) have arrived by then, and its figures no
longer change. Nothing invalidates the entries: receipts and complaints arrive all the time,
and a figure half an hour old is good enough for a quarterly rate (the page says how fresh
it is). ``KEY_VERSION`` changes with the definitions, so a deployment never reads an older
figure.

**Who runs it.** The beat task ``dashboard.tasks.refresh_loyalty_figures`` (every 30 minutes,
``refresh_figures``) runs the pass for each of the ``REFRESH_QUARTERS`` up to the running one
(the store page's default trend and the region page's, which may end a quarter earlier):
every run for a quarter not yet settled, and for a settled one when its ``…-filled…`` marker
has gone, an hour before its entries expire. So in normal operation no page request pays a
chain pass, and a store page reads its figures from the pass's entries. A page that misses
(no beat yet, an evicted entry, an older quarter asked for) falls back: the medians by the
same pass, done by one request at a time (``_LOCK_SECONDS``; the others read the last medians
computed rather than all recomputing together); a store's figures alone by
``pos_store_figures`` for that store (four queries over its own receipts and members).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from django.core.cache import cache
from django.utils import timezone

from pos.selectors import (
    NO_POS_FIGURES,
    PosFigures,
    PosMedians,
    PosQuarterMedians,
    pos_quarter_figures,
    pos_store_figures,
)
from satisfaction.models import Region, Store
from satisfaction.quarters import Quarter

LOYALTY_QUARTERS = 6
REFRESH_QUARTERS = LOYALTY_QUARTERS + 1
KEY_VERSION = 1
RECENT_SECONDS = 60 * 60
SETTLED_SECONDS = 7 * 24 * 60 * 60
STALE_SECONDS = 30 * 24 * 60 * 60
SETTLE_DAYS = 8
_LOCK_SECONDS = 10 * 60
_SET_MANY_BATCH = 1000

NO_MEDIANS = PosMedians(stores=0, loyalty=None, retention=None, complaints_per_1000=None)


def is_settled(quarter: Quarter, now: datetime) -> bool:
    return now >= quarter.end() + timedelta(days=SETTLE_DAYS)


def cache_seconds(quarter: Quarter, now: datetime) -> int:
    return SETTLED_SECONDS if is_settled(quarter, now) else RECENT_SECONDS


def cache_key(kind: str, quarter: Quarter) -> str:
    return f"dashboard:{kind}:v{KEY_VERSION}:{quarter}"


def store_key(store_id: int, quarter: Quarter) -> str:
    return cache_key(f"pos-store:{store_id}", quarter)


def medians_key(quarter: Quarter) -> str:
    return cache_key("pos-medians", quarter)


def _batches(items: dict, size: int) -> Iterator[dict]:
    iterator = iter(items.items())
    while batch := dict(islice(iterator, size)):
        yield batch


def chain_pass(quarter: Quarter, *, now: datetime | None = None) -> PosQuarterMedians:
    """Every store's figures and the medians of ``quarter``, computed in one pass and written
    to the cache (see the module's docstring); returns the medians. The stores' entries are
    written before the medians', so a page that finds the medians finds its store's too."""
    now = now or timezone.now()
    figures = pos_quarter_figures(quarter=quarter)
    seconds = cache_seconds(quarter, now)
    for batch in _batches({store_key(pk, quarter): f for pk, f in figures.stores.items()},
                          _SET_MANY_BATCH):
        cache.set_many(batch, seconds)
    cache.set(cache_key("pos-medians-last", quarter), figures.medians, STALE_SECONDS)
    cache.set(medians_key(quarter), figures.medians, seconds)
    if seconds == SETTLED_SECONDS:
        cache.set(cache_key("pos-filled", quarter), 1, SETTLED_SECONDS - RECENT_SECONDS)
    return figures.medians


def refresh_figures(*, now: datetime | None = None) -> list[Quarter]:
    """The beat task's work: the chain pass of each of the ``REFRESH_QUARTERS`` up to the
    running quarter that is not settled (its figures can still change), or is settled but
    whose entries expire within the hour (or are gone). Returns the quarters computed."""
    now = now or timezone.now()
    quarters = Quarter.containing(now).last_n(REFRESH_QUARTERS)
    filled = cache.get_many([cache_key("pos-filled", q) for q in quarters])
    due = [q for q in quarters
           if not is_settled(q, now) or cache_key("pos-filled", q) not in filled]
    for quarter in due:
        chain_pass(quarter, now=now)
    return due


def _medians_of(quarter: Quarter) -> PosQuarterMedians:
    """On a miss: the chain pass, by one request at a time; while one runs it, the others read
    the last medians computed (if any)."""
    lock_key = cache_key("pos-medians-lock", quarter)
    locked = cache.add(lock_key, 1, _LOCK_SECONDS)
    if not locked and (stale := cache.get(cache_key("pos-medians-last", quarter))) is not None:
        return stale
    try:
        return chain_pass(quarter)
    finally:
        if locked:
            cache.delete(lock_key)


def quarter_medians(quarters: list[Quarter], *, found: dict | None = None
                    ) -> dict[Quarter, PosQuarterMedians]:
    """The chain and region medians of each quarter (one cache round trip for all of them, or
    ``found``: entries the caller has read already; a quarter missing is computed, see the
    module's docstring)."""
    if found is None:
        found = cache.get_many([medians_key(q) for q in quarters])
    return {q: found[medians_key(q)] if medians_key(q) in found else _medians_of(q)
            for q in quarters}


def store_figures(store: Store, quarters: list[Quarter], *, found: dict | None = None
                  ) -> dict[Quarter, PosFigures]:
    """The store's figures of each quarter: the chain pass's entries (one cache round trip,
    or ``found``: entries the caller has read already), else computed for this store alone
    and kept as the pass would keep them."""
    if found is None:
        found = cache.get_many([store_key(store.pk, q) for q in quarters])
    now = timezone.now()
    result = {}
    for quarter in quarters:
        key = store_key(store.pk, quarter)
        if key in found:
            result[quarter] = found[key]
            continue
        result[quarter] = pos_store_figures(quarter=quarter, store_ids=[store.pk]).get(
            store.pk, NO_POS_FIGURES)
        cache.set(key, result[quarter], cache_seconds(quarter, now))
    return result


@dataclass(frozen=True)
class LoyaltyRow:
    """One quarter: the figures of the store (or the region's medians) beside the chain's."""

    quarter: Quarter
    figures: PosFigures | PosMedians
    chain: PosMedians

    @property
    def has_data(self) -> bool:
        return self.figures.has_data


@dataclass(frozen=True)
class Loyalty:
    """The loyalty section of a page: ``rows`` oldest first, the last the quarter shown."""

    rows: list[LoyaltyRow]
    running: bool  # the quarter shown is still running: its figures are not final

    @property
    def current(self) -> LoyaltyRow:
        return self.rows[-1]

    @property
    def settled(self) -> bool:
        return not self.running


def _quarters(quarter: Quarter) -> list[Quarter]:
    return quarter.last_n(LOYALTY_QUARTERS)


def store_loyalty(*, store: Store, quarter: Quarter) -> Loyalty:
    """The store's loyalty, retention and complaint rate over the ``LOYALTY_QUARTERS`` up to
    ``quarter``, each beside the chain's median of the same quarter. The caller has checked
    that the store is visible."""
    quarters = _quarters(quarter)
    # One cache round trip for the chain's medians and the store's own figures. The medians
    # first: a quarter's missing runs its chain pass, which keeps this store's figures too,
    # so those are then read again rather than computed for the store alone.
    found = cache.get_many([key for q in quarters
                            for key in (medians_key(q), store_key(store.pk, q))])
    medians = quarter_medians(quarters, found=found)
    passed = any(medians_key(q) not in found for q in quarters)
    own = store_figures(store, quarters, found=None if passed else found)
    return Loyalty(rows=[LoyaltyRow(quarter=q, figures=own[q], chain=medians[q].chain)
                         for q in quarters],
                   running=quarter == Quarter.current())


def region_loyalty(*, region: Region, quarter: Quarter) -> Loyalty:
    """The region's medians over its stores with POS data, beside the chain's, over the
    ``LOYALTY_QUARTERS`` up to ``quarter``. The caller has checked that the region is
    visible."""
    quarters = _quarters(quarter)
    medians = quarter_medians(quarters)
    return Loyalty(rows=[LoyaltyRow(quarter=q, chain=medians[q].chain,
                                    figures=medians[q].regions.get(region.pk, NO_MEDIANS))
                         for q in quarters],
                   running=quarter == Quarter.current())

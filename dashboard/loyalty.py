"""Loyalty, retention and complaints per 1,000 receipts on the store and region pages.

The figures are ``pos.selectors``' (the one owner of the definitions and of what counts as POS
data); this module picks the quarters a page shows and keeps the answers in Django's cache:

- a quarter's chain and region medians (``pos_quarter_medians``: the whole chain, five
  queries) under ``dashboard:pos-medians:v1:<quarter>``;
- a store's figures of a quarter (``pos_store_figures``: four queries) under
  ``dashboard:pos-store:<store id>:v1:<quarter>``;

each for ``SETTLED_SECONDS`` (a week) once the quarter is settled, else ``RECENT_SECONDS``
(an hour). Nothing invalidates them: receipts and complaints arrive all the time, and a
figure an hour old is good enough for a quarterly rate (the page says how fresh it is). A
quarter is "settled"
``SETTLE_DAYS`` after it ends: late POS uploads and back-dated complaints (at most seven days
back by default, ``complaints.models.ComplaintPolicy.backdate_days``) have arrived by then.
``KEY_VERSION`` changes with the definitions, so a deployment never reads an older figure.

A chain-wide recomputation is done by one request at a time (``_LOCK_SECONDS``): the others
read the last medians computed (kept ``STALE_SECONDS``) rather than all recomputing together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.core.cache import cache
from django.utils import timezone

from pos.selectors import (
    PosFigures,
    PosMedians,
    PosQuarterMedians,
    pos_quarter_medians,
    pos_store_figures,
)
from satisfaction.models import Region, Store
from satisfaction.quarters import Quarter

LOYALTY_QUARTERS = 6
KEY_VERSION = 1
RECENT_SECONDS = 60 * 60
SETTLED_SECONDS = 7 * 24 * 60 * 60
STALE_SECONDS = 30 * 24 * 60 * 60
SETTLE_DAYS = 8
_LOCK_SECONDS = 10 * 60
T = TypeVar("T")

NO_FIGURES = PosFigures(transactions=0, previous_members=0, loyalty=None, retention=None,
                        complaints=0, complaints_per_1000=None)
NO_MEDIANS = PosMedians(stores=0, loyalty=None, retention=None, complaints_per_1000=None)


def is_settled(quarter: Quarter, now: datetime) -> bool:
    return now >= quarter.end() + timedelta(days=SETTLE_DAYS)


def cache_seconds(quarter: Quarter, now: datetime) -> int:
    return SETTLED_SECONDS if is_settled(quarter, now) else RECENT_SECONDS


def _per_quarter(prefix: str, quarters: list[Quarter], compute: Callable[[Quarter], T]
                 ) -> dict[Quarter, T]:
    """``compute(q)`` for each quarter, from the cache (one round trip for all of them)."""
    keys = {q: f"dashboard:{prefix}:v{KEY_VERSION}:{q}" for q in quarters}
    found = cache.get_many(list(keys.values()))
    now = timezone.now()
    result = {}
    for quarter, key in keys.items():
        if key in found:
            result[quarter] = found[key]
            continue
        result[quarter] = compute(quarter)
        cache.set(key, result[quarter], cache_seconds(quarter, now))
    return result


def _medians_of(quarter: Quarter) -> PosQuarterMedians:
    """The chain's medians of the quarter, computed by one request at a time: while one
    computes them, the others read the last ones computed (if any)."""
    stale_key = f"dashboard:pos-medians-last:v{KEY_VERSION}:{quarter}"
    lock_key = f"dashboard:pos-medians-lock:v{KEY_VERSION}:{quarter}"
    locked = cache.add(lock_key, 1, _LOCK_SECONDS)
    if not locked and (stale := cache.get(stale_key)) is not None:
        return stale
    try:
        medians = pos_quarter_medians(quarter=quarter)
        cache.set(stale_key, medians, STALE_SECONDS)
        return medians
    finally:
        if locked:
            cache.delete(lock_key)


def quarter_medians(quarters: list[Quarter]) -> dict[Quarter, PosQuarterMedians]:
    """The chain and region medians of each quarter (cached, see the module's docstring)."""
    return _per_quarter("pos-medians", quarters, _medians_of)


def store_figures(store: Store, quarters: list[Quarter]) -> dict[Quarter, PosFigures]:
    """The store's figures of each quarter (cached per store and quarter)."""
    return _per_quarter(
        f"pos-store:{store.pk}", quarters,
        lambda q: pos_store_figures(quarter=q, store_ids=[store.pk]).get(store.pk, NO_FIGURES))


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
    own = store_figures(store, quarters)
    medians = quarter_medians(quarters)
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

"""Demo: the staff pulse of the last ended quarter and of the running one.

Most stores get answers from most of their staff; three get fewer than ``MIN_GROUP`` and stay
hidden, S0001 among them (its demo clerk and manager, ``clerk1`` and ``store1``, can still
answer the running quarter). When the wiring passes the customer values
(``customer_values``: the seeding command reads them from scoring, which this app may not
import), each store's staff lean towards how its customers rated it, with noise, so the HQ page
(``dashboard.pulse_views``) has a link to show; without them the pulse is noise around 3.6.
The demo answers stand for staff without a login: there are no participation rows.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping

from pulse.calc import MIN_GROUP
from pulse.models import PulseResponse
from pulse.statements import CODES, SCALE_MAX, SCALE_MIN
from satisfaction.demo import DemoChain
from satisfaction.quarters import Quarter

COMMENTS = ("补货有时跟不上，周末缺货比较多。", "店长经常表扬大家，氛围不错。",
            "希望总部培训能多讲一些慢病用药。", "收银系统高峰期偶尔卡顿。",
            "排班比较紧，午休时间经常被占用。", "顾客夸我们服务好的时候很有成就感。")
#: The stores kept under the threshold (their places in the demo chain): S0001, S0008, S0019.
SMALL_STORES = (0, 7, 18)
#: How each statement sits against the store's mood (HQ support lowest, pride highest).
OFFSETS = {"equipped": 0.0, "hq_support": -0.35, "recognition": 0.1, "pride": 0.3,
           "recommend": -0.1}


def _centres(values: Mapping[int, float | None], store_ids: list[int]) -> dict[int, float]:
    """Each store's mean agreement: 3.6, moved by its customer value's z-score."""
    known = [v for v in (values.get(pk) for pk in store_ids) if v is not None]
    mean = statistics.fmean(known) if len(known) > 1 else 0.0
    spread = (statistics.pstdev(known) or 1.0) if len(known) > 1 else 1.0
    return {pk: 3.6 + (0.0 if values.get(pk) is None else 0.45 * (values[pk] - mean) / spread)
            for pk in store_ids}


def seed(*, chain: DemoChain,
         customer_values: Callable[[Quarter], Mapping[int, float | None]] | None = None) -> str:
    rng = chain.rng
    current = Quarter.containing(chain.today)
    rows = []
    for quarter in (current.previous(), current):
        values = customer_values(quarter) if customer_values else {}
        centres = _centres(values, [s.pk for s in chain.stores])
        for place, store in enumerate(chain.stores):
            staff = len(chain.staff_of(store))
            if place in SMALL_STORES:
                count = MIN_GROUP - 1 if quarter < current else MIN_GROUP - 3
            else:
                count = rng.randint(MIN_GROUP, max(MIN_GROUP, staff))
            mood = centres[store.pk] + rng.gauss(0, 0.25)
            for _ in range(count):
                person = rng.gauss(0, 0.45)
                answers = {code: min(SCALE_MAX, max(SCALE_MIN, round(
                    rng.gauss(mood + person + OFFSETS[code], 0.5)))) for code in CODES}
                comment = rng.choice(COMMENTS) if rng.random() < 0.3 else ""
                rows.append(PulseResponse(quarter=quarter, store=store, comment=comment,
                                          **answers))
    PulseResponse.objects.bulk_create(rows)
    return (f"{len(rows)} staff pulse answers in {current.previous()} and {current}; "
            f"{len(SMALL_STORES)} stores under {MIN_GROUP}")

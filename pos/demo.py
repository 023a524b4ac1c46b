"""Demo POS data: the documented demo API key and six quarters of member receipts (the store
and region pages show loyalty and retention over them; the chain's last store but one sends
none in the running quarter, so its page shows "No POS data for this quarter").

The demo key is fixed so the curl lines in ``docs/pos-integration.md`` work against
``make run``. It is a DEMO secret, published in the guide: never create it in production.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from pos.models import PosTransaction
from pos.services import member_hash, pos_api_key_create
from satisfaction.demo import DemoChain
from satisfaction.quarters import Quarter, chain_zone

DEMO_KEY = "PosDemo1.DemoSecretForLocalCurlOnly-2026-abcd"
RECEIPTS_PER_STORE_PER_QUARTER = 120
MEMBERS_PER_STORE = 60
DEMO_QUARTERS = 6
CHURN_PER_QUARTER = 6  # members of a store's pool replaced by new ones each quarter


def seed(*, chain: DemoChain) -> str:
    api_key, key = pos_api_key_create(name="Demo POS (S0001-S0003)", stores=chain.stores[:3],
                                      key=DEMO_KEY)
    rng = chain.rng
    today = chain.today
    current = Quarter.containing(today)
    now = timezone.now()
    rows: list[PosTransaction] = []
    for position, store in enumerate(chain.stores):
        staff = chain.staff_of(store)
        # Members mostly shop at their home store, some at the next one (retention > loyalty).
        neighbour = chain.stores[(position + 1) % len(chain.stores)]
        for age, quarter in enumerate(reversed(current.last_n(DEMO_QUARTERS))):
            if store == chain.stores[-2] and quarter == current:
                continue  # S0029: its POS is not sending yet, no POS data this quarter
            # Each quarter some members are new: the pool slides over the store's members.
            first = CHURN_PER_QUARTER * (DEMO_QUARTERS - age)
            members = ([f"M{store.code}{n:04d}" for n in range(first, first + MEMBERS_PER_STORE)]
                       + [f"M{neighbour.code}{n:04d}"
                          for n in range(first, first + MEMBERS_PER_STORE // 4)])
            last = min(quarter.last_day, today)
            days = (last - quarter.first_day).days + 1
            for n in range(RECEIPTS_PER_STORE_PER_QUARTER):
                day = quarter.first_day + timedelta(days=rng.randrange(days))
                moment = datetime.combine(day, time(rng.randint(8, 21), rng.randrange(60)),
                                          tzinfo=chain_zone())
                if moment > now:
                    moment = now - timedelta(minutes=rng.randint(1, 600))
                member = rng.choice(members) if rng.random() < 0.6 else ""
                cashier = rng.choice(staff) if staff else None
                rows.append(PosTransaction(
                    store=store, receipt_number=f"D{quarter}-{n:05d}", occurred_at=moment,
                    amount=Decimal(rng.randint(500, 40000)) / 100,
                    item_count=rng.randint(1, 8),
                    member_hash=member_hash(member) if member else "",
                    cashier_number=cashier.number if cashier else "", cashier=cashier,
                    api_key=api_key if store in chain.stores[:3] else None, received_at=moment))
    PosTransaction.objects.bulk_create(rows, batch_size=2000)
    return (f"{len(rows)} receipts; demo API key {key} for "
            f"{', '.join(store.code for store in chain.stores[:3])}")

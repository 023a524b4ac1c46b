"""Early warning: the daily sweep that finds complaint spikes per store and region and
category, records each spike once and alerts the region's managers and HQ once per spike."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints import spikes
from complaints.models import Complaint, ComplaintSpike, SpikeScope
from satisfaction.models import Region, Store
from satisfaction.notifications import Message, notifications_send
from satisfaction.quarters import chain_zone

from .recipients import _hq_users, _region_managers

SPIKE_KIND = "complaint_spike"

SpikeKey = tuple[str, int, str]  # (scope, store or region id, category)


@dataclass
class SpikeSweepResult:
    """What one sweep saw (complaints in the window and the baseline, spikes per level) and
    did (rows started, continued, ended; spikes alerted)."""

    today: date
    window_complaints: int = 0
    baseline_complaints: int = 0
    store_spikes: int = 0
    region_spikes: int = 0
    started: int = 0
    continuing: int = 0
    ended: int = 0
    alerted: int = 0

    def as_dict(self) -> dict:
        return {**asdict(self), "today": self.today.isoformat()}


def _counts(start: datetime, end: datetime) -> dict[tuple[int, str], int]:
    """Customer complaints (an internal one is no customer's) received in [start, end) per
    (store id, category): one grouped query over the index (received_at, store, category).
    Fetched as plain tuples: the baseline is tens of thousands of groups, and model-row
    iteration would cost more than the query."""
    query = (Complaint.objects.customer().filter(received_at__gte=start, received_at__lt=end)
             .values("store_id", "category").annotate(n=Count("pk")).order_by()
             .values_list("store_id", "category", "n"))
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(store_id, category): n for store_id, category, n in cursor.fetchall()}


def _alert_messages(rows: list[ComplaintSpike]) -> list[Message]:
    """One message per spike to the region's regional managers and HQ; a region-level spike
    also goes to the group-robot webhook (a store's spike would flood the group)."""
    stores = Store.objects.in_bulk({r.store_id for r in rows if r.store_id})
    region_ids = ({r.region_id for r in rows if r.region_id}
                  | {s.region_id for s in stores.values()})
    regions = Region.objects.in_bulk(region_ids)
    managers = _region_managers(region_ids)
    hq = _hq_users()
    url = reverse("complaints:figures")
    messages = []
    for row in rows:
        if row.scope == SpikeScope.STORE:
            store = stores[row.store_id]
            place, region_id = f"{store.code} {store.name}", store.region_id
        else:
            region = regions[row.region_id]
            place, region_id = f"{region.code} {region.name}", region.pk
        context = {"place": place, "category": row.get_category_display(),
                   "count": row.count, "level": row.get_scope_display(),
                   "rate": f"{row.baseline_per_week:g}", "threshold": row.threshold,
                   "last": row.last_seen_on.isoformat()}
        title = _("Complaint spike: %(place)s, %(category)s, %(count)s in 7 days") % context
        body = _("%(level)s %(place)s: %(count)s complaints about %(category)s in the 7 days "
                 "before %(last)s; usually %(rate)s a week (alert at %(threshold)s).") % context
        users = {u.pk: u for u in [*managers.get(region_id, []), *hq]}
        messages.append(Message(users=list(users.values()), title=title, body=body, url=url,
                                kind=SPIKE_KIND, webhook=row.scope == SpikeScope.REGION))
    return messages


@transaction.atomic
def complaint_spike_sweep(*, today: date | None = None) -> SpikeSweepResult:
    """Find the complaint spikes as of ``today`` (default: the chain's today) and record them.

    The window is the 7 whole chain days before ``today`` (today's own complaints are counted
    tomorrow, so a rerun the same day sees the same numbers); the baseline the 56 days before
    the window. Two grouped queries give the counts per (store, category); the region counts
    are the sums of their stores' (no third scan), and a region's spike must stand beyond its
    stores' own spikes. ``complaints.spikes`` decides which pairs
    are spikes (the rule is in its docstring). Then, per spike:

    - new (no open row): an open ``ComplaintSpike`` row is created, and the region's regional
      managers and HQ are alerted once (in-app and outbox in this transaction; ``alerted_at``
      set);
    - continuing (an open row): its count, peak and ``last_seen_on`` are updated, no alert;
    - an open row no longer above its threshold is ended (``ended_on``); a later spike of the
      same pair is a new row and alerts again.

    Idempotent and safe against a concurrent run: the partial unique constraints allow one open
    row per pair (new rows are inserted ON CONFLICT DO NOTHING), and only open rows not yet
    alerted are alerted, under a row lock, so a second run the same day alerts nothing.
    """
    zone = chain_zone()
    today = today or timezone.localtime(timezone.now(), zone).date()
    window_start = today - timedelta(days=spikes.WINDOW_DAYS)
    baseline_start = window_start - timedelta(days=spikes.BASELINE_DAYS)

    def moment(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone)

    window = _counts(moment(window_start), moment(today))
    baseline = _counts(moment(baseline_start), moment(window_start))
    result = SpikeSweepResult(today=today, window_complaints=sum(window.values()),
                              baseline_complaints=sum(baseline.values()))
    region_of = dict(Store.objects.order_by().values_list("pk", "region_id"))
    store_spikes = spikes.detect_spikes(window, baseline)
    region_spikes = spikes.detect_spikes(
        spikes.roll_up(window, region_of), spikes.roll_up(baseline, region_of),
        explained=spikes.roll_up({(s.key, s.category): s.count for s in store_spikes},
                                 region_of))
    result.store_spikes, result.region_spikes = len(store_spikes), len(region_spikes)
    detected: dict[SpikeKey, spikes.Spike[int]] = {
        **{(SpikeScope.STORE.value, s.key, s.category): s for s in store_spikes},
        **{(SpikeScope.REGION.value, s.key, s.category): s for s in region_spikes}}

    open_rows = {(row.scope, row.store_id or row.region_id, row.category): row
                 for row in ComplaintSpike.objects.select_for_update()
                 .filter(ended_on__isnull=True, started_on__lte=today)}
    continuing, ended = [], []
    for key, row in open_rows.items():
        spike = detected.get(key)
        if spike is None:
            row.ended_on = today
            ended.append(row)
        else:
            row.count, row.peak_count = spike.count, max(row.peak_count, spike.count)
            row.last_seen_on = max(row.last_seen_on, today)
            continuing.append(row)
    ComplaintSpike.objects.bulk_update(continuing, ["count", "peak_count", "last_seen_on"])
    ComplaintSpike.objects.bulk_update(ended, ["ended_on"])
    result.continuing, result.ended = len(continuing), len(ended)

    new = [ComplaintSpike(
        scope=scope, store_id=key if scope == SpikeScope.STORE else None,
        region_id=key if scope == SpikeScope.REGION else None, category=category,
        started_on=today, last_seen_on=today, count=spike.count, peak_count=spike.count,
        baseline_per_week=spike.baseline_per_week, threshold=spike.threshold)
        for (scope, key, category), spike in detected.items()
        if (scope, key, category) not in open_rows]
    # A concurrent sweep's open row wins the unique constraint; this one then inserts nothing.
    ComplaintSpike.objects.bulk_create(new, ignore_conflicts=True)
    result.started = len(new)

    unalerted = list(ComplaintSpike.objects.select_for_update()
                     .filter(ended_on__isnull=True, alerted_at__isnull=True).order_by("pk"))
    if unalerted:
        notifications_send(messages=_alert_messages(unalerted))
        ComplaintSpike.objects.filter(pk__in=[r.pk for r in unalerted]).update(
            alerted_at=timezone.now())
    result.alerted = len(unalerted)
    return result

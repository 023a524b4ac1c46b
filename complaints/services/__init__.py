"""The only functions that write complaints, their reports, appeals and alerts.

One module per part of a complaint's life; this package re-exports their public names, so
callers import ``complaints.services`` (or ``from complaints import services``) only:

- ``intake``: ticket numbers, attachments, linking to earlier complaints, ``complaint_create``;
  a store's internal complaint to an HQ department, ``internal_complaint_create``;
- ``handling``: triage, the status transitions, the 8D report; the store's answer to the
  resolution of its internal complaint, ``internal_complaint_confirm``;
- ``appeals``: the appeal window, filing and deciding appeals;
- ``alerts``: the SLA sweep, alert messages and their delivery;
- ``recurrence``: the recurrence checks after closing, linking a recurrence, the owner's answer;
- ``recipients``: who is told (HQ, managers, owners, the escalation ladder);
- ``reports``: the handling report sent on closing, to the customer and the superior;
- ``products``: a product complaint's medicine and batch, suspected adverse reactions;
- ``spikes``: early warning, the daily sweep for complaint spikes per store and region;
- ``setup``: HQ's complaint policy, grade policies and store opening hours (and when a change
  takes effect);
- ``_common``: errors, policy and the SLA clock, the optimistic-lock save and the event log.
"""

from ._common import DEFAULT_ESCALATION_HOURS, UNLOGGED_FIELDS
from .alerts import (
    DELIVERY_BATCH,
    SWEEP_FIELDS,
    SweepResult,
    sla_alerts_deliver,
    sla_alerts_unsent,
    sla_sweep,
)
from .appeals import appeal_deadline, appeal_decide, appeal_file
from .handling import (
    ACTIONS,
    TRANSITIONS,
    allowed_actions,
    complaint_close,
    complaint_reopen,
    complaint_resolve,
    complaint_resume,
    complaint_start,
    complaint_triage,
    complaint_wait_for_customer,
    eight_d_required,
    eight_d_save,
    internal_complaint_confirm,
)
from .intake import (
    ATTACHMENT_KINDS,
    MAX_ATTACHMENTS,
    TICKET_ALPHABET,
    attachment_add,
    complaint_create,
    internal_complaint_create,
    internal_owner,
)
from .products import (
    PRODUCT_FIELDS,
    ProductInput,
    adr_mark_reported,
    complaint_product_set,
)
from .recurrence import (
    REOPENED_SECTIONS,
    recurrence_confirm,
    recurrence_days,
    recurrence_link,
)
from .reports import (
    CustomerLetter,
    complaint_report_send,
    customer_letter,
)
from .setup import (
    complaint_policy_update,
    grade_policy_update,
    store_hours_set,
    store_hours_set_many,
)
from .spikes import SPIKE_KIND, SpikeSweepResult, complaint_spike_sweep

__all__ = [
    "ACTIONS",
    "ATTACHMENT_KINDS",
    "DEFAULT_ESCALATION_HOURS",
    "DELIVERY_BATCH",
    "MAX_ATTACHMENTS",
    "PRODUCT_FIELDS",
    "REOPENED_SECTIONS",
    "SPIKE_KIND",
    "SWEEP_FIELDS",
    "TICKET_ALPHABET",
    "TRANSITIONS",
    "UNLOGGED_FIELDS",
    "CustomerLetter",
    "ProductInput",
    "SpikeSweepResult",
    "SweepResult",
    "adr_mark_reported",
    "allowed_actions",
    "appeal_deadline",
    "appeal_decide",
    "appeal_file",
    "attachment_add",
    "complaint_close",
    "complaint_create",
    "complaint_policy_update",
    "complaint_product_set",
    "complaint_reopen",
    "complaint_report_send",
    "complaint_resolve",
    "complaint_resume",
    "complaint_spike_sweep",
    "complaint_start",
    "complaint_triage",
    "complaint_wait_for_customer",
    "customer_letter",
    "eight_d_required",
    "eight_d_save",
    "grade_policy_update",
    "internal_complaint_confirm",
    "internal_complaint_create",
    "internal_owner",
    "recurrence_confirm",
    "recurrence_days",
    "recurrence_link",
    "sla_alerts_deliver",
    "sla_alerts_unsent",
    "sla_sweep",
    "store_hours_set",
    "store_hours_set_many",
]

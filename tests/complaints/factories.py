"""Factories for complaints: made through the service, so the clock is set as in real life."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from complaints.models import Category, Channel, Complaint, ComplaintPolicy
from complaints.services import complaint_create
from satisfaction.models import Role, User
from tests.factories import UserFactory


def make_complaint(store, **overrides) -> Complaint:
    """A complaint dated further back than staff may date one is recorded by HQ (an existing
    HQ user when there is one, so that no extra person is notified)."""
    values = {"channel": Channel.IN_STORE, "category": Category.SERVICE_ATTITUDE,
              "description": "店员态度冷淡，问了两次才回答。", "customer_name": "张三",
              "customer_phone": "13812341234"}
    values.update(overrides)
    received = values.get("received_at")
    if received is not None and "received_by" not in values and received < timezone.now() - \
            timedelta(days=ComplaintPolicy.current().backdate_days):
        values["received_by"] = (User.objects.filter(role=Role.HQ_ADMIN, is_active=True)
                                 .order_by("pk").first() or UserFactory(role=Role.HQ_ADMIN))
    return complaint_create(store=store, **values)

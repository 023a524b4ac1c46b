"""Factories for complaints: made through the service, so the clock is set as in real life."""

from __future__ import annotations

from complaints.models import Category, Channel, Complaint
from complaints.services import complaint_create


def make_complaint(store, **overrides) -> Complaint:
    values = {"channel": Channel.IN_STORE, "category": Category.SERVICE_ATTITUDE,
              "description": "店员态度冷淡，问了两次才回答。", "customer_name": "张三",
              "customer_phone": "13812341234"}
    values.update(overrides)
    return complaint_create(store=store, **values)

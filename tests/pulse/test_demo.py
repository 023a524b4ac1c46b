"""The demo (``make run``) shows the pulse: stores over the threshold, one under it, and a
correlation on the HQ page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from pulse import selectors
from satisfaction.management.commands.seed_demo import seed_demo
from satisfaction.models import Store, User
from satisfaction.quarters import Quarter

pytestmark = pytest.mark.django_db


def test_the_demo_has_stores_over_and_under_five_and_a_correlation_to_show(login):
    today = timezone.localdate()
    seed_demo(seed=5, password="pw-demo-12345", today=today)
    ended = Quarter.containing(today).previous()
    figures = selectors.store_pulse(quarter=ended)
    shown = [pk for pk, figure in figures.items() if figure.shown]
    assert len(shown) >= 20
    assert figures[Store.objects.get(code="S0001").pk].hidden
    page = login(User.objects.get(username="hq")).get("/dashboard/pulse/")
    assert page.status_code == 200
    assert page.context["quarter"] == ended
    corr = page.context["stores_corr"]
    assert corr["n"] == len(shown)
    assert corr["r"] is not None
    assert corr["low"] is not None

"""Statements compiled once (satisfaction/compiled.py): the stand-ins bound, the bell's count."""

from __future__ import annotations

from django.utils import timezone

from satisfaction.compiled import Stand, bind, compile_once
from satisfaction.models import Notification
from satisfaction.notifications import unread_count


def test_bind_puts_each_value_where_its_stand_in_landed_and_keeps_constants():
    template = (Stand.USER_ID, "counted", 3, True, Stand.CODE, Stand.USER_ID)
    assert bind(template, {Stand.USER_ID: 42, Stand.CODE: "S0001"}) == [
        42, "counted", 3, True, "S0001", 42]


def test_bind_never_takes_a_boolean_constant_for_a_stand_in():
    # True == 1 in Python: a boolean parameter is a constant, whatever the stand-ins are.
    assert bind((True, 1), {1: "bound"}) == [True, "bound"]


def test_compile_once_compiles_at_the_first_call_only(db):
    built = []

    def build():
        built.append(1)
        return Notification.objects.filter(user_id=Stand.USER_ID)

    statements: dict = {}
    first = compile_once(statements, "k", "default", build)
    assert compile_once(statements, "k", "default", build) == first
    assert len(built) == 1
    assert Stand.USER_ID in first[1]


def test_compile_once_gives_none_for_a_queryset_that_matches_nothing(db):
    assert compile_once({}, "k", "default", Notification.objects.none) is None


def test_the_unread_count_counts_only_this_users_unread_notifications(store_manager, clerk):
    for title in ("one", "two", "three"):
        Notification.objects.create(user=store_manager, title=title)
    Notification.objects.create(user=store_manager, title="read", read_at=timezone.now())
    Notification.objects.create(user=clerk, title="someone else's")
    assert unread_count(user=store_manager) == 3
    assert unread_count(user=clerk) == 1
    Notification.objects.filter(user=store_manager).update(read_at=timezone.now())
    assert unread_count(user=store_manager) == 0

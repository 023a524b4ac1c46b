"""Reads made on every request, their SQL written by the ORM once per process.

Building a queryset's SQL costs a few hundred microseconds of Python each time (the filters
resolved, the joins set up, the statement written), more than PostgreSQL takes to answer
an indexed lookup. For the few reads every logged-in page makes (its store through the
visibility rule, the bell's unread count) that was about a fifth of a store page reload's CPU
in one process, and a third of the workers' under load (docs/scaling.md, "What a reload
costs").

The rule stays in the queryset: ``compile_once`` builds it once per database alias and shape
with stand-in values (``Stand``: ids no row has, a text no column holds), compiles it, and
keeps the statement; ``bind`` puts the real values where the stand-ins landed among its
parameters. The shape key must hold everything the queryset's construction branches on other
than the stand-in values.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet

Statement = tuple[str, tuple[Any, ...]]


class Stand:
    """Stand-in values for the parameters of a compiled statement."""

    # Ids no row has (negative, far from any sequence) and a text no store code holds.
    USER_ID = -7_301_000_000_000_001
    EMPLOYEE_ID = -7_301_000_000_000_002
    CODE = "\x1fstand-in code\x1f"


def compile_once(statements: dict[Hashable, Statement | None], key: Hashable, alias: str,
                 build: Callable[[], QuerySet]) -> Statement | None:
    """The SQL and parameter template of ``build()`` on database ``alias``, compiled at the
    first call for ``(alias, key)`` and kept in ``statements``; None when the queryset can
    match no row (``.none()``)."""
    if (alias, key) not in statements:
        try:
            sql, params = build().query.get_compiler(using=alias).as_sql()
        except EmptyResultSet:
            statements[(alias, key)] = None
        else:
            statements[(alias, key)] = (sql, tuple(params))
    return statements[(alias, key)]


def bind(template: tuple[Any, ...], values: Mapping[Any, Any]) -> list[Any]:
    """The statement's parameters: each stand-in replaced by its value, constants kept."""
    return [values[p] if isinstance(p, int | str) and not isinstance(p, bool) and p in values
            else p for p in template]

"""Reads that may be stale go to the read replica; everything else goes to ``default``.

Code says where a read may be stale, not which models live where: a dashboard page or an export
runs inside :func:`replica_reads` (a context manager and a decorator), and only the reads made
directly inside such a block may go to the replica (``settings.DATABASE_REPLICA_ALIAS``). A read
goes to ``default`` when

- no replica is configured (``DATABASE_REPLICA_URL`` unset: one database, nothing changes);
- it is outside every ``replica_reads`` block (services, forms, logins, sessions, the rollup);
- it is inside a transaction opened within the block (a service called from the page: it reads
  before it writes and must never decide on a stale row);
- the block already wrote (the request's own change is on ``default`` only, for now);
- the replica was behind the primary when the block first read, and did not catch up within
  ``DATABASE_REPLICA_MAX_WAIT_MS``: a block reads everything committed before it began
  (read-your-writes across a redirect, a job started right after a change, a cache refilled
  after an invalidation), or reads ``default``.

Writes always go to ``default``. See ``docs/scaling.md``, "Read replica".
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

#: Seconds between two looks at a standby that is behind.
_POLL_SECONDS = 0.005


@dataclass
class _Block:
    """One ``replica_reads`` block: how deep ``default``'s transactions were when it began,
    whether it wrote, and whether the replica had caught up (``None``: not asked yet)."""

    depth: int
    wrote: bool = False
    current: bool | None = None


_BLOCK: contextvars.ContextVar[_Block | None] = contextvars.ContextVar("replica_block",
                                                                      default=None)


def replica_alias() -> str | None:
    """The replica's alias, or ``None`` when none is configured."""
    alias = getattr(settings, "DATABASE_REPLICA_ALIAS", None)
    return alias if alias and alias != DEFAULT_DB_ALIAS and alias in settings.DATABASES else None


def _depth() -> int:
    return len(connections[DEFAULT_DB_ALIAS].atomic_blocks)


@contextlib.contextmanager
def replica_reads() -> Iterator[None]:
    """Reads directly inside this block may come from the read replica: they may be a moment
    stale (never older than the block's start when the replica is a PostgreSQL standby). Used by
    the dashboard's pages and the export jobs; never by a service. Also a decorator."""
    token = _BLOCK.set(_Block(depth=_depth()))
    try:
        yield
    finally:
        _BLOCK.reset(token)


def read_alias() -> str:
    """Where a read made now goes (the router's answer)."""
    block = _BLOCK.get()
    alias = replica_alias()
    if block is None or alias is None or block.wrote or _depth() > block.depth:
        return DEFAULT_DB_ALIAS
    if block.current is None:
        block.current = replica_is_current(alias)
    return alias if block.current else DEFAULT_DB_ALIAS


# --- Replication lag ---------------------------------------------------------------------------

def _lsn(text: str | None) -> int | None:
    """A PostgreSQL WAL position (``16/B374D848``) as a number."""
    if not text:
        return None
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def standby_replay_lsn(alias: str) -> tuple[bool, int | None]:
    """(is the replica a PostgreSQL standby, the WAL position it has replayed)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return False, None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
        standby, replayed = cursor.fetchone()
    return bool(standby), _lsn(replayed)


def primary_lsn() -> int | None:
    """The primary's WAL position now: every commit made before is at or before it."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return _lsn(cursor.fetchone()[0])


def replica_is_current(alias: str) -> bool:
    """Whether the replica has replayed everything committed on the primary before now, waiting
    up to ``DATABASE_REPLICA_MAX_WAIT_MS`` for it. A replica that is not a standby (SQLite, or
    an alias on the primary's own server as in the tests) is current; one that cannot be asked
    (down, refusing) is not: the block reads ``default``."""
    try:
        return _caught_up(alias)
    except DatabaseError:
        logger.warning("Read replica %s cannot be reached; reading default.", alias,
                       exc_info=True)
        return False


def _caught_up(alias: str) -> bool:
    standby, replayed = standby_replay_lsn(alias)
    if not standby:
        return True
    target = primary_lsn()
    deadline = time.monotonic() + getattr(settings, "DATABASE_REPLICA_MAX_WAIT_MS", 0) / 1000
    while replayed is None or target is None or replayed < target:
        if time.monotonic() >= deadline:
            logger.info("Read replica %s is behind the primary; reading default.", alias)
            return False
        time.sleep(_POLL_SECONDS)
        standby, replayed = standby_replay_lsn(alias)
        if not standby:  # promoted meanwhile: it has everything
            return True
    return True


# --- The router -----------------------------------------------------------------------------------

class ReplicaRouter:
    """``settings.DATABASE_ROUTERS``: reads as :func:`read_alias` says, writes to ``default``."""

    def db_for_read(self, model, **hints) -> str:
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        block = _BLOCK.get()
        if block is not None:
            block.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # The replica holds the same rows as default.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name=None, **hints) -> bool | None:
        # The replica is migrated by replication, never directly (nor is the ``replica`` alias
        # that points at default when no replica is configured).
        return None if db == DEFAULT_DB_ALIAS else False

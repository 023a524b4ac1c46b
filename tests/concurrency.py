"""One thread harness for the tests that race real transactions against PostgreSQL.

``run_concurrently`` starts each call in its own thread, holds them at a barrier until all are
connected, and collects what each returned or raised. Nothing a thread raises is lost: an
exception the test did not declare in ``expect`` is raised again in the test, and a call that
has not finished within ``timeout`` (a deadlock, a lock never released) fails the test.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

#: After a timeout, how long the stuck threads get to notice their sessions were terminated.
_GRACE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one call returned (``result``) or raised (``error``, only a type in ``expect``)."""

    result: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def get(self) -> Any:
        """The call's return value; raises again what the call raised."""
        if self.error is not None:
            raise self.error
        return self.result


def run_concurrently(
    *calls: Callable[[], Any],
    times: int | None = None,
    expect: type[BaseException] | tuple[type[BaseException], ...] = (),
    timeout: float = 30.0,
) -> list[Outcome]:
    """Run ``calls`` at the same moment, each in its own thread with its own DB connection.

    ``run_concurrently(f, g)`` runs ``f()`` and ``g()``; ``run_concurrently(f, times=3)`` runs
    ``f()`` three times. Each thread opens its database connection first, then all wait at a
    ``threading.Barrier`` so the calls really overlap; each thread closes its connection when
    done (Django keeps one connection per thread).

    Returns one ``Outcome`` per call, in the order given. A call may raise only the exception
    types in ``expect`` (none by default); those come back as ``Outcome.error`` for the test to
    inspect. Anything else a call raises, and any failure to connect or to meet at the barrier,
    is raised here as an ``ExceptionGroup`` holding every such exception.

    If the calls have not all finished within ``timeout`` seconds this raises ``TimeoutError``
    with the stack of each stuck thread; on PostgreSQL their database sessions are terminated
    first, so the locks they hold cannot hang the test's teardown as well.
    """
    if times is not None:
        if len(calls) != 1:
            msg = "times= repeats exactly one callable"
            raise TypeError(msg)
        calls = calls * times
    if not calls:
        msg = "run_concurrently needs at least one call"
        raise ValueError(msg)
    run = _Run(calls, timeout)
    run.start_and_wait()
    return run.outcomes_or_raise(expect)


class _Run:
    """The threads of one ``run_concurrently`` call and what each of them left behind."""

    def __init__(self, calls: tuple[Callable[[], Any], ...], timeout: float) -> None:
        count = len(calls)
        self.calls = calls
        self.timeout = timeout
        self.barrier = threading.Barrier(count, timeout=timeout)
        self.outcomes: list[Outcome | None] = [None] * count
        self.failures: list[BaseException | None] = [None] * count  # the harness's own
        self.backend_pids: list[int | None] = [None] * count
        self.threads = [threading.Thread(target=self._worker, args=(index,), daemon=True,
                                         name=f"run_concurrently-{index}")
                        for index in range(count)]

    def _worker(self, index: int) -> None:
        try:
            try:
                connection.ensure_connection()
                if connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_backend_pid()")
                        self.backend_pids[index] = cursor.fetchone()[0]
            except BaseException:
                self.barrier.abort()  # the others must not wait for a thread that never comes
                raise
            self.barrier.wait()
            try:
                result = self.calls[index]()
            except BaseException as exc:  # noqa: BLE001 - checked against expect afterwards
                self.outcomes[index] = Outcome(error=exc)
            else:
                self.outcomes[index] = Outcome(result=result)
        except BaseException as exc:  # noqa: BLE001 - raised again by outcomes_or_raise
            self.failures[index] = exc
        finally:
            try:
                connection.close()
            except BaseException as exc:  # noqa: BLE001 - raised again by outcomes_or_raise
                self.failures[index] = self.failures[index] or exc

    def start_and_wait(self) -> None:
        deadline = time.monotonic() + self.timeout
        for thread in self.threads:
            thread.start()
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [index for index, thread in enumerate(self.threads) if thread.is_alive()]
        if stuck:
            self._fail_stuck(stuck)

    def _fail_stuck(self, stuck: list[int]) -> None:
        frames = sys._current_frames()  # the only way to see where a thread hangs
        report = []
        for index in stuck:
            frame = frames.get(self.threads[index].ident)
            stack = "".join(traceback.format_stack(frame)) if frame else "(no frame)\n"
            report.append(f"call {index} ({self.calls[index]!r}) is still running at:\n{stack}")
        pids = [self.backend_pids[index] for index in stuck
                if self.backend_pids[index] is not None]
        if pids:
            # From the test's own connection: end the stuck sessions so their row locks go.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid",
                               [pids])
            grace = time.monotonic() + _GRACE_SECONDS
            for index in stuck:
                self.threads[index].join(max(0.0, grace - time.monotonic()))
        msg = (f"{len(stuck)} of {len(self.threads)} concurrent calls did not finish within "
               f"{self.timeout} s (deadlock?)\n\n" + "\n".join(report))
        raise TimeoutError(msg)

    def outcomes_or_raise(
            self, expect: type[BaseException] | tuple[type[BaseException], ...],
    ) -> list[Outcome]:
        count = len(self.calls)
        unexpected = [failure for failure in self.failures if failure is not None]
        unexpected += [outcome.error for outcome in self.outcomes
                       if outcome is not None and outcome.error is not None
                       and not isinstance(outcome.error, expect)]
        if unexpected:
            msg = f"{len(unexpected)} of {count} concurrent calls raised"
            raise BaseExceptionGroup(msg, unexpected)
        finished = [outcome for outcome in self.outcomes if outcome is not None]
        if len(finished) != count:  # impossible without a failure above; never return a hole
            msg = f"only {len(finished)} of {count} concurrent calls left an outcome"
            raise AssertionError(msg)
        return finished

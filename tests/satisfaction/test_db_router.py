"""The read replica (``satisfaction.db_router``): reads inside ``replica_reads()`` go to the
``replica`` alias when one is configured; writes, services and everything else go to default.

The tests' ``replica`` alias is a mirror of default's test database (``TEST["MIRROR"]``, the
settings' wiring): a second connection to the same database, so a query's alias is visible.
The tests that read through it commit their rows (``transaction=True``), as a replica only ever
shows committed rows."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Self

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, router, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints.jobs import EXPORT_KIND, export_params
from complaints.models import Responsibility
from complaints.services import complaint_triage
from dashboard.models import ImprovementAction
from satisfaction import db_router
from satisfaction.db_router import replica_reads
from satisfaction.jobs import job_run
from satisfaction.models import Job, JobState, Store
from satisfaction.quarters import Quarter
from scoring.models import ExportLog, RollupStatus
from scoring.services import hr_export
from tests.complaints.factories import make_complaint
from tests.dashboard.factories import make_employee_score, make_rollup, make_store_score

REPLICA = "replica"
NOW = Quarter.current()
LAST = NOW.previous()
ROOT = Path(__file__).resolve().parents[2]
WRITES = ("INSERT", "UPDATE", "DELETE")
on_replica = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def replica(settings):
    """A replica is configured (as ``DATABASE_REPLICA_URL`` would configure it)."""
    settings.DATABASE_REPLICA_ALIAS = REPLICA
    settings.DATABASE_REPLICA_MAX_WAIT_MS = 0
    return REPLICA


@pytest.fixture
def same_server_replica(monkeypatch, replica):
    """The replica is no standby (as the tests' alias on default's server), asked without a
    query: SQLite's test transactions (``BEGIN IMMEDIATE``) on two aliases of one database
    would lock each other out."""
    monkeypatch.setattr(db_router, "standby_replay_lsn", lambda alias: (False, None))
    return replica


class Queries:
    """The SQL each alias ran inside the ``with`` block."""

    def __enter__(self) -> Self:
        self._contexts = {alias: CaptureQueriesContext(connections[alias])
                          for alias in (DEFAULT_DB_ALIAS, REPLICA)}
        for context in self._contexts.values():
            context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        for context in self._contexts.values():
            context.__exit__(*exc)

    def sql(self, alias: str) -> list[str]:
        return [query["sql"] for query in self._contexts[alias].captured_queries]

    def reading(self, alias: str, table: str) -> bool:
        # DECLARE: PostgreSQL's server-side cursor of ``.iterator()``.
        return any(table in sql and sql.lstrip().upper().startswith(("SELECT", "DECLARE"))
                   for sql in self.sql(alias))

    def writes(self, alias: str) -> list[str]:
        return [sql for sql in self.sql(alias) if sql.lstrip().upper().startswith(WRITES)]


# --- The settings -------------------------------------------------------------------------------

def _settings(extra_env: dict[str, str]) -> list[str]:
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASE_REPLICA_ALIAS, s.DATABASES['replica']['NAME'] == "
            "s.DATABASES['default']['NAME'], s.DATABASES['replica']['TEST']['MIRROR'], "
            "s.DATABASE_ROUTERS[0])")
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "DATABASE_REPLICA_URL", "DEBUG"}}
    result = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False, env={**env, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "satisfaction.settings",
                          **extra_env})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_without_the_variable_the_replica_alias_is_default_s_database_and_unused():
    assert _settings({}) == ["None", "True", "default", "satisfaction.db_router.ReplicaRouter"]


def test_the_variable_configures_the_replica_alias_mirrored_onto_default_in_tests():
    assert _settings({"DATABASE_URL": "postgres://app@primary:5432/chain",
                      "DATABASE_REPLICA_URL": "postgres://app@standby:5432/chain"}) == [
        "replica", "True", "default", "satisfaction.db_router.ReplicaRouter"]


# --- Where the router sends a read --------------------------------------------------------------

def test_without_a_replica_configured_even_a_replica_block_reads_default(settings):
    settings.DATABASE_REPLICA_ALIAS = None
    with replica_reads():
        assert router.db_for_read(Store) == DEFAULT_DB_ALIAS
        assert router.db_for_write(Store) == DEFAULT_DB_ALIAS


@pytest.mark.django_db
def test_only_reads_inside_a_replica_block_go_to_the_replica(same_server_replica):
    assert router.db_for_read(Store) == DEFAULT_DB_ALIAS
    with replica_reads():
        assert router.db_for_read(Store) == REPLICA
        assert router.db_for_write(Store) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Store) == DEFAULT_DB_ALIAS


@pytest.mark.django_db
def test_after_a_write_the_rest_of_the_block_reads_default(same_server_replica):
    with replica_reads():
        assert router.db_for_read(Store) == REPLICA
        router.db_for_write(Store)
        assert router.db_for_read(Store) == DEFAULT_DB_ALIAS
    with replica_reads():  # the next request or job starts afresh
        assert router.db_for_read(Store) == REPLICA


@pytest.mark.django_db
def test_a_transaction_opened_inside_the_block_reads_default_as_a_service_does(same_server_replica):
    with replica_reads():
        with transaction.atomic():
            assert router.db_for_read(Store) == DEFAULT_DB_ALIAS
            with replica_reads():  # code inside the transaction that says it may be stale
                assert router.db_for_read(Store) == REPLICA
        assert router.db_for_read(Store) == REPLICA


def test_the_replica_is_never_migrated():
    assert router.allow_migrate(REPLICA, "satisfaction") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "satisfaction") is True


# --- Replication lag ----------------------------------------------------------------------------

@pytest.fixture
def standby(monkeypatch, replica):
    """A PostgreSQL standby whose replayed WAL positions are given in turn, and a primary at
    WAL position 100."""
    positions: list[int] = []
    asked = {"primary": 0, "standby": 0}

    def replayed(alias):
        asked["standby"] += 1
        return True, positions.pop(0) if len(positions) > 1 else positions[0]

    def primary():
        asked["primary"] += 1
        return 100

    monkeypatch.setattr(db_router, "standby_replay_lsn", replayed)
    monkeypatch.setattr(db_router, "primary_lsn", primary)
    monkeypatch.setattr(db_router, "_POLL_SECONDS", 0)
    return positions, asked


@pytest.mark.django_db
def test_a_standby_that_has_replayed_the_primary_s_position_is_read(standby):
    positions, asked = standby
    positions.append(100)
    with replica_reads():
        assert router.db_for_read(Store) == REPLICA
        assert router.db_for_read(Store) == REPLICA
    assert asked == {"primary": 1, "standby": 1}  # asked once per block


@pytest.mark.django_db
def test_a_lagging_standby_is_waited_for_up_to_the_limit(standby, settings):
    positions, _asked = standby
    positions.extend([90, 95, 100])
    settings.DATABASE_REPLICA_MAX_WAIT_MS = 10_000
    with replica_reads():
        assert router.db_for_read(Store) == REPLICA
    assert positions == [100]


@pytest.mark.django_db
def test_a_standby_still_behind_after_the_limit_leaves_the_block_on_default(standby):
    positions, _asked = standby
    positions.append(99)
    with replica_reads():
        assert router.db_for_read(Store) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Store) == DEFAULT_DB_ALIAS


def test_a_wal_position_reads_as_its_number():
    assert db_router._lsn("16/B374D848") == 0x16_B374D848
    assert db_router._lsn(None) is None


@pytest.mark.postgres
@pytest.mark.django_db(databases="__all__")
def test_the_primary_reports_its_wal_position_and_an_alias_on_its_server_is_no_standby():
    assert db_router.standby_replay_lsn(REPLICA) == (False, None)
    assert db_router.primary_lsn() > 0


@pytest.mark.django_db
def test_an_unreachable_replica_leaves_the_block_on_default(monkeypatch, replica):
    def down(alias):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(db_router, "standby_replay_lsn", down)
    with replica_reads():
        assert router.db_for_read(Store) == DEFAULT_DB_ALIAS


# --- The dashboard reads through the replica; its writes and services never do ------------------

@pytest.fixture
def store_values(store, sibling_store, store_manager_employee):
    published = make_rollup(LAST, RollupStatus.PUBLISHED)
    provisional = make_rollup(NOW, RollupStatus.PROVISIONAL)
    make_store_score(published, store, 66.5, rank_chain=2, rank_region=1)
    make_store_score(provisional, store, 71.25, rank_chain=1, rank_region=1,
                     indicators={"price": (10, 50.0)})
    make_store_score(provisional, sibling_store, 60.0, rank_chain=2, rank_region=2)
    return provisional


@on_replica
def test_the_store_page_reads_its_figures_through_the_replica(replica, login, store_manager,
                                                              store_values, store):
    client = login(store_manager)
    with Queries() as queries:
        response = client.get(reverse("dashboard:store", args=[store.code]))
    assert response.status_code == 200
    assert response.context["page"].provisional.value == 71.25
    assert queries.reading(REPLICA, "scoring_storescore")
    assert not queries.reading(DEFAULT_DB_ALIAS, "scoring_storescore")
    assert queries.writes(REPLICA) == []


@on_replica
def test_the_ranking_and_the_chain_figures_read_through_the_replica(replica, login, hq,
                                                                    store_values):
    client = login(hq)
    for name in ("dashboard:store_list", "dashboard:complaint_figures",
                 "dashboard:mystery_figures"):
        with Queries() as queries:
            assert client.get(reverse(name)).status_code == 200
        assert queries.sql(REPLICA), name
        assert queries.writes(REPLICA) == []


@on_replica
def test_a_manager_s_change_is_written_to_default_and_read_from_default_in_that_request(
        replica, login, store_manager, store_values, store, store_manager_employee):
    client = login(store_manager)
    with Queries() as queries:
        response = client.post(reverse("dashboard:action_create", args=[store.code]), {
            "title": "价格标签核对", "indicator_code": "price", "source": "indicator",
            "owner": store_manager_employee.pk,
            "deadline": (timezone.localdate() + timedelta(days=30)).isoformat()})
    assert response.status_code == 302, response.content.decode()[:500]
    assert queries.sql(REPLICA) == []
    assert any("dashboard_improvementaction" in sql for sql in queries.writes(DEFAULT_DB_ALIAS))
    # The page it returns to shows the action (a standby would first have to reach the
    # primary's position as of this request).
    page = client.get(reverse("dashboard:store", args=[store.code]))
    assert "价格标签核对" in page.content.decode()
    assert ImprovementAction.objects.count() == 1


@on_replica
def test_a_service_called_inside_a_replica_block_reads_and_writes_default_only(replica, hq,
                                                                              store):
    """Services are atomic: their transaction, opened inside the block, reads default, so the
    check a service makes before it writes never sees a stale row."""
    complaint = make_complaint(store)
    with Queries() as queries, replica_reads():
        complaint_triage(complaint=complaint, user=hq, version=complaint.version, grade="B",
                         substantiated=True, responsibility=Responsibility.OWN_STORE,
                         owner=None)
        # and once the service has written, the rest of the block reads default too
        assert router.db_for_read(Store) == DEFAULT_DB_ALIAS
    assert queries.sql(REPLICA) == []
    assert any("complaints_complaint" in sql for sql in queries.writes(DEFAULT_DB_ALIAS))


@on_replica
def test_without_a_replica_configured_the_store_page_never_touches_the_alias(
        settings, login, store_manager, store_values, store):
    settings.DATABASE_REPLICA_ALIAS = None
    with Queries() as queries:
        response = login(store_manager).get(reverse("dashboard:store", args=[store.code]))
    assert response.status_code == 200
    assert response.context["page"].provisional.value == 71.25
    assert queries.sql(REPLICA) == []
    assert queries.reading(DEFAULT_DB_ALIAS, "scoring_storescore")


# --- Exports --------------------------------------------------------------------------------------

@on_replica
def test_the_complaint_export_job_reads_the_complaints_through_the_replica(
        replica, hq, store):
    make_complaint(store)
    make_complaint(store)
    job = Job.objects.create(kind=EXPORT_KIND, key="router16", created_by=hq,
                             params=export_params(filters={
                                 "status": "", "grade": "", "category": "", "store_code": "",
                                 "query": "", "overdue": False, "mine": False, "batch": ""},
                                 fmt="csv"))
    with Queries() as queries:
        job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == JobState.DONE, job.error
    assert job.result["summary"][0][1] == 2
    assert queries.reading(REPLICA, "complaints_complaint")
    assert not queries.reading(DEFAULT_DB_ALIAS, "complaints_complaint")
    assert queries.writes(REPLICA) == []
    assert any("satisfaction_job" in sql for sql in queries.writes(DEFAULT_DB_ALIAS))


@on_replica
def test_the_hr_export_checks_and_logs_on_default_and_reads_the_rows_through_the_replica(
        replica, hr, store_manager_employee):
    published = make_rollup(LAST, RollupStatus.PUBLISHED)
    make_store_score(published, store_manager_employee.store, 70.0)
    make_employee_score(published, store_manager_employee, 68.0)
    with Queries() as queries:
        _name, content, _type = hr_export(user=hr, quarter=LAST, file_format="csv",
                                          language="en")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [store_manager_employee.number]
    assert ExportLog.objects.count() == 1
    # The service decides on default (is the quarter published?) and writes its log there...
    assert queries.reading(DEFAULT_DB_ALIAS, "scoring_rollup")
    assert any("scoring_exportlog" in sql for sql in queries.writes(DEFAULT_DB_ALIAS))
    # ...and the published revision's rows (with their appraisal points), which no one
    # changes, come from the replica.
    assert queries.reading(REPLICA, "scoring_appraisalpoints")
    assert not queries.reading(DEFAULT_DB_ALIAS, "scoring_appraisalpoints")
    assert queries.writes(REPLICA) == []

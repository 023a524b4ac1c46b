"""A POS vendor's path, end to end: generate a Python client from the OpenAPI schema with
openapi-python-client, import it, and use it against a live server (``docs/pos-integration.md``,
"A generated Python client"): post a receipt (201), post it again (200, replayed) and read a
store's scores.

The schema once offered every JSON body as form-urlencoded and multipart too, and the generated
client did not even import (``NameError: Unset``); this keeps it importable, every module of it.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from satisfaction.quarters import Quarter
from scoring.models import RollupStatus
from tests.dashboard.factories import make_rollup, make_store_score
from tests.pos.factories import make_key

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "satisfaction_api_client"


@pytest.fixture
def client_package(live_server, tmp_path, monkeypatch):
    """The client generated from the live server's schema, imported (every module)."""
    with urllib.request.urlopen(f"{live_server.url}/api/schema/?format=json") as answer:  # noqa: S310 - the test's own server
        schema = json.load(answer)
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    # The generator formats its output with ruff when it finds it: the project's own.
    env_path = f"{Path(sys.executable).parent}"
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [str(GENERATOR), "generate", "--path", str(schema_file), "--meta", "none",
         "--output-path", str(tmp_path / PACKAGE)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
        env={"PATH": env_path, "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    package = importlib.import_module(PACKAGE)
    for module in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        importlib.import_module(module.name)
    yield package
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


def test_a_generated_client_posts_a_receipt_replays_it_and_reads_scores(
        client_package, live_server, store, settings):
    settings.POS_THROTTLE_RATE = "1000/min"
    _, key = make_key(store)
    quarter = Quarter.current().previous()
    make_store_score(make_rollup(quarter, RollupStatus.PUBLISHED), store, 81.5, survey=45,
                     scenario=38, deductions=1.5)
    api = importlib.import_module(f"{PACKAGE}.api.pos")
    models = importlib.import_module(f"{PACKAGE}.models")
    client = client_package.AuthenticatedClient(base_url=live_server.url, token=key,
                                                prefix="Api-Key")
    receipt = models.TransactionInRequest(
        store="S0001", receipt_number="R20261124-000123",
        occurred_at=Quarter.current().start(), amount="36.50", item_count=3,
        member_id="M88001234", cashier="E00002")

    created = importlib.import_module(f"{api.__name__}.pos_transaction_create").sync_detailed(
        client=client, body=receipt)
    assert created.status_code == 201, created.content
    assert created.headers["Idempotent-Replayed"] == "false"
    assert created.parsed.store == "S0001"
    assert created.parsed.amount == "36.50"

    replayed = importlib.import_module(f"{api.__name__}.pos_transaction_create").sync_detailed(
        client=client, body=receipt)
    assert replayed.status_code == 200, replayed.content
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.parsed.id == created.parsed.id

    scores = importlib.import_module(f"{api.__name__}.pos_store_scores").sync(
        client=client, store="S0001")
    assert scores.store == "S0001"
    assert [(s.quarter, s.status, s.value) for s in scores.scores] == [
        (str(quarter), "published", 81.5)]

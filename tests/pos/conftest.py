from __future__ import annotations

import pytest
from django.test import Client

from tests.pos.factories import make_key


@pytest.fixture
def store_key(store):
    """A key for ``store`` only; ``(key, secret)``."""
    return make_key(store)


@pytest.fixture
def pos_client(store_key):
    """A test client sending ``store_key``'s secret on every request."""
    return Client(HTTP_AUTHORIZATION=f"Api-Key {store_key[1]}")


import pytest

from dashboard import page_cache


@pytest.fixture
def uncached_store_body(monkeypatch):
    """The store page without its whole-body cache (``dashboard.page_cache``): each request
    renders the body, with the per-revision figures and fragments still cached; what tests
    of the rendering path measure."""
    monkeypatch.setattr(page_cache, "STORE_BODY_SECONDS", 0)

"""The shared cache's backend (satisfaction/cache.py): Django's Redis cache, one client kept."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.cache import caches

from satisfaction.cache import RedisCache, ReusedRedisCacheClient


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "satisfaction.cache.RedisCache",
                                   "LOCATION": settings.REDIS_URL or "redis://127.0.0.1:6379/0",
                                   "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}
    cache = caches["default"]
    yield cache
    if settings.REDIS_URL:
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(f"{cache.key_prefix}*"):
            client.delete(key)


def test_it_builds_one_redis_client_per_pool_not_one_per_call(redis_cache):
    backend = redis_cache._cache
    assert isinstance(redis_cache, RedisCache)
    assert isinstance(backend, ReusedRedisCacheClient)
    first = backend.get_client(write=True)
    assert backend.get_client() is first  # one server: reads and writes share the pool
    assert first.connection_pool is backend._get_connection_pool(write=True)


def test_a_second_server_reads_through_its_own_client(settings):
    settings.CACHES = {"default": {"BACKEND": "satisfaction.cache.RedisCache",
                                   "LOCATION": ["redis://127.0.0.1:6379/0",
                                                "redis://127.0.0.1:6379/1"]}}
    backend = caches["default"]._cache
    writer, reader = backend.get_client(write=True), backend.get_client()
    assert writer is not reader
    assert writer.connection_pool.connection_kwargs["db"] == 0
    assert reader.connection_pool.connection_kwargs["db"] == 1
    assert backend.get_client() is reader


@pytest.mark.redis
def test_on_redis_every_cache_call_works_through_the_kept_client(redis_cache):
    assert redis_cache.add("a", {"x": 1}, 60)
    assert not redis_cache.add("a", {"x": 2}, 60)
    redis_cache.set_many({"b": [1, 2], "c": "三"}, 60)
    assert redis_cache.get_many(["a", "b", "c", "d"]) == {"a": {"x": 1}, "b": [1, 2],
                                                          "c": "三"}
    redis_cache.set("n", 1, 60)
    assert redis_cache.incr("n", 4) == 5
    redis_cache.delete("a")
    assert redis_cache.get("a") is None


@pytest.mark.redis
def test_on_redis_threads_share_the_client_without_mixing_replies(redis_cache):
    redis_cache.set_many({f"k{i}": i for i in range(16)}, 60)
    wrong = []
    start = threading.Barrier(16)

    def read(i: int) -> None:
        start.wait()
        wrong.extend(i for _ in range(50) if redis_cache.get(f"k{i}") != i)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []

"""The shared cache's backend: Django's own Redis cache, keeping one redis-py client.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache call, on
the pooled connections. Building one costs about 0.2 ms of CPU (redis-py fills a table of
about 170 reply callbacks each time), and a store page reload makes half a dozen cache calls
(the session, the menus, the loyalty figures, the page body): about a fifth of the page's CPU
(``bench/morning.py``; docs/scaling.md, "What a reload costs"). The client is thread-safe
(every command takes a connection from the pool), so one per pool is kept and reused. Keys,
values and every other behaviour are Django's.
"""

from __future__ import annotations

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedRedisCacheClient(RedisCacheClient):
    """Django's client, with one ``redis.Redis`` per connection pool instead of per call."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key=None, *, write=False) -> redis.Redis:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            # Two threads racing here each build one; either is fine, both use the same pool.
            pool = self._get_connection_pool(write)
            client = self._clients[index] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with ``ReusedRedisCacheClient``."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient

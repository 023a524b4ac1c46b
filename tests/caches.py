"""A shared cache that is down, for the tests of what degrades when Redis is unreachable."""

from __future__ import annotations

import redis
from django.core.cache.backends.base import BaseCache

UNREACHABLE = {"default": {"BACKEND": "tests.caches.UnreachableRedisCache"}}


class UnreachableRedisCache(BaseCache):
    """The cache as Django's Redis backend behaves with Redis down: every call raises."""

    def __init__(self, location, params) -> None:
        super().__init__(params)

    def _down(self, *args, **kwargs):
        raise redis.exceptions.ConnectionError(
            "Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    add = get = set = touch = delete = has_key = incr = decr = _down
    get_many = set_many = delete_many = clear = _down

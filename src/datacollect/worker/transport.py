"""Kombu's Redis transport with one guard for a broker that goes away.

When Redis drops while the worker's consumer closes its channel (to reconnect), kombu may try
to give back the unacknowledged messages through a connection that is already cleared; it then
raises an ``AttributeError`` that is not a connection error, the consumer's recovery does not
expect it, and the whole worker stops instead of reconnecting (seen in
tests/distributed/test_faults.py, a Redis restart under load). Here that case is the connection
error it is, so Celery reconnects as it does for any other; the messages come back through the
visibility timeout as they would after any lost connection.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise RedisConnectionError("the connection to the broker is already closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel

"""Per-endpoint limits shared by every worker process through Redis.

The concurrency cap is a lease-based semaphore: a sorted set per endpoint
whose members are lease tokens scored by their expiry time. A worker that is
killed never releases its leases, but they expire after `ttl_s`, so the cap
recovers without an operator. Expiry is scored by the Redis server's clock,
never a worker's, so workers on hosts whose clocks disagree share one cap.
A process tracks the age of its own leases on its monotonic clock. Requests
and tokens per minute are counted in fixed one-minute windows.

Within one process, a single coroutine at a time requests a lease from Redis
and the others queue behind it, and a finished request hands its lease straight
to the next local waiter instead of returning it to Redis. A batch of any size
therefore uses a handful of Redis connections, and a busy process spends no
Redis round trips on leases it already holds.

Without REDIS_URL (the embedded default, one process) the same interface is
served by in-process counters.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid

import redis.asyncio as aioredis

logger = logging.getLogger(__name__)

# The server's clock in seconds, as Lua.
_NOW = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"

# KEYS[1] = lease set; ARGV = ttl in seconds, limit, token. Returns 1 if leased.
_ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 60)
  return 1
end
return 0
"""
)

# KEYS[1] = lease set; ARGV = ttl in seconds, token. Returns 1 if the lease was still held.
_REFRESH = (
    _NOW
    + """
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[2])
if expiry and tonumber(expiry) > now then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])) + 60)
  return 1
end
return 0
"""
)

# KEYS[1] = lease set. Returns the number of unexpired leases.
_IN_USE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""
)

_POLL_S = (0.002, 0.010)

# Seconds after which a lease handed from one request to the next is extended.
_REFRESH_AFTER_S = 10.0

# Redis connections one limiter may open. Commands beyond it wait for a free
# connection; the default pool of redis-py raises MaxConnectionsError instead,
# which failed every batch larger than 100 responses.
_MAX_REDIS_CONNECTIONS = 16


class EndpointLimiter:
    """Concurrency, request-rate and token-rate limits of one endpoint."""

    def __init__(
        self,
        *,
        endpoint_id: int,
        max_concurrency: int,
        ttl_s: float,
        redis_url: str | None,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
    ) -> None:
        self.endpoint_id = endpoint_id
        self.max_concurrency = max_concurrency
        self.ttl_s = ttl_s
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self._prefix = f"medexam:endpoint:{endpoint_id}"
        self._redis = (
            aioredis.Redis(
                connection_pool=aioredis.BlockingConnectionPool.from_url(
                    redis_url, max_connections=_MAX_REDIS_CONNECTIONS, timeout=None
                )
            )
            if redis_url
            else None
        )
        self._acquire = self._redis.register_script(_ACQUIRE) if self._redis else None
        self._refresh = self._redis.register_script(_REFRESH) if self._redis else None
        self._in_use = self._redis.register_script(_IN_USE) if self._redis else None
        self._local = asyncio.Semaphore(max_concurrency) if not self._redis else None
        self._local_windows: dict[str, int] = {}
        # Leases this process holds and no request uses, by token -> expiry;
        # expiries are on this process's monotonic clock, a little before Redis's.
        self._spare: dict[str, float] = {}
        self._expiry: dict[str, float] = {}
        self._queue = asyncio.Lock()
        self._handed_over = asyncio.Event()

    async def close(self) -> None:
        if self._redis is not None:
            await self.release_spare()
            await self._redis.aclose()

    async def acquire(self) -> str:
        """Wait for a free slot and a request within the rate limits; return the lease token."""
        if self._local is not None:
            await self._local.acquire()
            token = uuid.uuid4().hex
        else:
            # One coroutine per process waits on Redis; the rest queue here.
            async with self._queue:
                token = await self._lease()
        await self._wait_for_rate()
        return token

    async def _lease(self) -> str:
        key = f"{self._prefix}:leases"
        # redis-py's asyncio client can swallow a cancellation that lands inside a
        # command (redis/redis-py#2028 describes the race; redis-py 8.2 still shows
        # it here). The task still counts the request, so check it on every turn.
        task = asyncio.current_task()
        cancelling = task.cancelling() if task else 0
        while True:
            if task is not None and task.cancelling() > cancelling:
                raise asyncio.CancelledError
            # Cleared before looking, so a hand-over during the Redis call wakes us.
            self._handed_over.clear()
            token = await self._take_spare()
            if token:
                return token
            token = uuid.uuid4().hex
            expiry = time.monotonic() + self.ttl_s
            if await self._acquire(keys=[key], args=[self.ttl_s, self.max_concurrency, token]):
                self._expiry[token] = expiry
                return token
            # asyncio.wait cancels nothing when its timeout passes, so it cannot
            # mistake this request's cancellation for its own timeout.
            handed_over = asyncio.ensure_future(self._handed_over.wait())
            try:
                await asyncio.wait({handed_over}, timeout=random.uniform(*_POLL_S))
            finally:
                handed_over.cancel()

    async def _take_spare(self) -> str:
        """Return a spare lease of this process, extended if it is old, or ""."""
        # A lease must outlive the request that takes it (ttl_s is the request
        # timeout plus a margin), so a handed-over lease older than a small part
        # of ttl_s is extended in Redis first.
        refresh_after_s = min(_REFRESH_AFTER_S, self.ttl_s / 3)
        while self._spare:
            token, expiry = self._spare.popitem()
            now = time.monotonic()
            if expiry - now >= self.ttl_s - refresh_after_s:
                return token
            # An old lease is extended, unless it expired and Redis dropped it.
            expiry = now + self.ttl_s
            if await self._refresh(keys=[f"{self._prefix}:leases"], args=[self.ttl_s, token]):
                self._expiry[token] = expiry
                return token
            self._expiry.pop(token, None)
        return ""

    async def release(self, token: str) -> None:
        if self._local is not None:
            self._local.release()
            return
        if self._queue.locked() and token in self._expiry:
            # Another request of this process is waiting: hand the lease over.
            self._spare[token] = self._expiry[token]
            self._handed_over.set()
            return
        self._expiry.pop(token, None)
        await self._redis.zrem(f"{self._prefix}:leases", token)

    async def release_spare(self) -> None:
        """Return the leases this process holds but does not use to Redis.

        Call it when a batch is done, so that other processes get the slots.
        """
        if self._redis is None or not self._spare:
            return
        tokens = list(self._spare)
        self._spare.clear()
        for token in tokens:
            self._expiry.pop(token, None)
        await self._redis.zrem(f"{self._prefix}:leases", *tokens)

    async def record_tokens(self, tokens: int) -> None:
        """Count tokens used in this minute against tokens_per_minute."""
        if not self.tokens_per_minute or not tokens:
            return
        await self._incr(f"tpm:{int(time.time() // 60)}", tokens)

    async def _wait_for_rate(self) -> None:
        while True:
            window = int(time.time() // 60)
            wait = False
            if self.tokens_per_minute:
                used = await self._get(f"tpm:{window}")
                wait = used >= self.tokens_per_minute
            if not wait and self.requests_per_minute:
                count = await self._incr(f"rpm:{window}", 1)
                wait = count > self.requests_per_minute
            if not wait:
                return
            sleep_s = 60 * (window + 1) - time.time() + random.uniform(0, 0.5)
            logger.info(
                "endpoint %s reached its per-minute limit; waiting %.1f s",
                self.endpoint_id,
                sleep_s,
            )
            await asyncio.sleep(max(0.0, sleep_s))

    async def _incr(self, name: str, amount: int) -> int:
        if self._redis is None:
            self._local_windows[name] = self._local_windows.get(name, 0) + amount
            return self._local_windows[name]
        key = f"{self._prefix}:{name}"
        pipe = self._redis.pipeline()
        pipe.incrby(key, amount)
        pipe.expire(key, 120)
        count, _ = await pipe.execute()
        return int(count)

    async def _get(self, name: str) -> int:
        if self._redis is None:
            return self._local_windows.get(name, 0)
        value = await self._redis.get(f"{self._prefix}:{name}")
        return int(value or 0)

    async def leases_in_use(self) -> int:
        """Return the number of unexpired leases (for tests and metrics)."""
        if self._redis is None:
            return self.max_concurrency - self._local._value  # type: ignore[union-attr]
        return int(await self._in_use(keys=[f"{self._prefix}:leases"]))

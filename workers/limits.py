"""Per-endpoint limits shared by every worker process through Redis.

The concurrency cap is a lease-based semaphore: a sorted set per endpoint
whose members are lease tokens scored by their expiry time. A worker that is
killed never releases its leases, but they expire after `ttl_s`, so the cap
recovers without an operator. Expiry is read from the Redis server's clock,
never a worker's, so workers on hosts whose clocks disagree share one cap.
Requests and tokens per minute are counted in fixed one-minute windows.

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

# KEYS[1] = lease set. Returns the number of unexpired leases.
_IN_USE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""
)

_POLL_S = (0.005, 0.025)


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
        self._redis = aioredis.from_url(redis_url) if redis_url else None
        self._acquire = self._redis.register_script(_ACQUIRE) if self._redis else None
        self._in_use = self._redis.register_script(_IN_USE) if self._redis else None
        self._local = asyncio.Semaphore(max_concurrency) if not self._redis else None
        self._local_windows: dict[str, int] = {}

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def acquire(self) -> str:
        """Wait for a free slot and a request within the rate limits; return the lease token."""
        token = uuid.uuid4().hex
        if self._local is not None:
            await self._local.acquire()
        else:
            key = f"{self._prefix}:leases"
            while True:
                leased = await self._acquire(
                    keys=[key], args=[self.ttl_s, self.max_concurrency, token]
                )
                if leased:
                    break
                await asyncio.sleep(random.uniform(*_POLL_S))
        await self._wait_for_rate()
        return token

    async def release(self, token: str) -> None:
        if self._local is not None:
            self._local.release()
            return
        await self._redis.zrem(f"{self._prefix}:leases", token)

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

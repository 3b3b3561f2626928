"""EndpointLimiter against the real Redis in REDIS_URL."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from django.conf import settings

from workers.limits import EndpointLimiter

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="REDIS_URL is not set")


def _limiter(**fields) -> EndpointLimiter:
    # A random endpoint id keeps each test's keys apart from other runs.
    values = {
        "endpoint_id": uuid.uuid4().int % 10**9 + 10**9,
        "max_concurrency": 2,
        "ttl_s": 30.0,
        "redis_url": settings.REDIS_URL,
    }
    values.update(fields)
    return EndpointLimiter(**values)


def test_cap_blocks_third_lease():
    async def scenario():
        # A long lease: a stalled test process must not see its leases expire.
        limiter = _limiter(ttl_s=600.0)
        await limiter.acquire()
        await limiter.acquire()
        try:
            await asyncio.wait_for(limiter.acquire(), timeout=0.3)
            blocked = False
        except TimeoutError:
            blocked = True
        key = f"medexam:endpoint:{limiter.endpoint_id}:leases"
        leases = await limiter._redis.zrange(key, 0, -1, withscores=True)
        server_now = await limiter._redis.time()
        await limiter.close()
        return blocked, leases, server_now

    blocked, leases, server_now = asyncio.run(scenario())
    assert blocked is True, f"third lease granted; leases {leases}, server time {server_now}"
    assert len(leases) == 2


def test_released_lease_frees_slot():
    async def scenario():
        limiter = _limiter(max_concurrency=1)
        token = await limiter.acquire()
        await limiter.release(token)
        await asyncio.wait_for(limiter.acquire(), timeout=1)
        in_use = await limiter.leases_in_use()
        await limiter.close()
        return in_use

    assert asyncio.run(scenario()) == 1


def test_lease_of_dead_holder_expires():
    endpoint_id = uuid.uuid4().int % 10**9 + 10**9

    async def hold_and_vanish():
        # A worker that takes a lease and is killed never releases it.
        limiter = _limiter(endpoint_id=endpoint_id, max_concurrency=1, ttl_s=0.3)
        await limiter.acquire()
        await limiter.close()

    async def acquire_after():
        limiter = _limiter(endpoint_id=endpoint_id, max_concurrency=1, ttl_s=0.3)
        start = time.monotonic()
        await asyncio.wait_for(limiter.acquire(), timeout=3)
        await limiter.close()
        return time.monotonic() - start

    asyncio.run(hold_and_vanish())
    waited = asyncio.run(acquire_after())

    assert 0.1 <= waited < 3


def test_requests_per_minute_counted():
    async def scenario():
        limiter = _limiter(max_concurrency=10, requests_per_minute=1000)
        window = int(time.time() // 60)
        for _ in range(3):
            await limiter.release(await limiter.acquire())
        # The three requests may straddle a minute boundary.
        count = await limiter._get(f"rpm:{window}") + await limiter._get(f"rpm:{window + 1}")
        await limiter.close()
        return count

    assert asyncio.run(scenario()) == 3

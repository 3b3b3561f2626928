"""EndpointLimiter against the real Redis in REDIS_URL."""

from __future__ import annotations

import asyncio
import random
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


def test_many_waiters_share_few_connections():
    # 150 requests queue on a cap of 4: far more waiters than the Redis pool
    # holds connections, which once raised MaxConnectionsError.
    async def scenario():
        limiter = _limiter(max_concurrency=4)
        in_flight = peak = 0

        async def one():
            nonlocal in_flight, peak
            token = await limiter.acquire()
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.002)
            in_flight -= 1
            await limiter.release(token)

        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(150))), timeout=30)
        await limiter.release_spare()
        left = await limiter.leases_in_use()
        await limiter.close()
        return peak, left

    peak, left = asyncio.run(scenario())

    assert peak == 4
    assert left == 0


def test_handed_over_lease_keeps_cap_across_processes():
    endpoint_id = uuid.uuid4().int % 10**9 + 10**9

    async def scenario():
        first = _limiter(endpoint_id=endpoint_id, max_concurrency=2)
        second = _limiter(endpoint_id=endpoint_id, max_concurrency=2)
        held = [await first.acquire(), await first.acquire()]
        waiting = asyncio.ensure_future(first.acquire())
        await asyncio.sleep(0.05)
        # The first limiter's own waiter gets the lease; the other limiter does not.
        await first.release(held.pop())
        held.append(await asyncio.wait_for(waiting, timeout=1))
        try:
            await asyncio.wait_for(second.acquire(), timeout=0.3)
            blocked = False
        except TimeoutError:
            blocked = True
        in_use = await first.leases_in_use()
        for token in held:
            await first.release(token)
        await first.close()
        await second.close()
        return blocked, in_use

    blocked, in_use = asyncio.run(scenario())

    assert blocked is True
    assert in_use == 2


def test_handed_over_lease_extended_when_old():
    async def scenario():
        limiter = _limiter(max_concurrency=1, ttl_s=1.2)
        token = await limiter.acquire()
        waiting = asyncio.ensure_future(limiter.acquire())
        # Older than ttl_s / 3, so the hand-over must extend the lease in Redis.
        await asyncio.sleep(0.5)
        await limiter.release(token)
        handed = await asyncio.wait_for(waiting, timeout=1)
        await asyncio.sleep(0.9)
        # Without the extension the lease would have expired 1.2 s after it was taken.
        in_use = await limiter.leases_in_use()
        await limiter.release(handed)
        await limiter.close()
        return handed == token, in_use

    same_token, in_use = asyncio.run(scenario())

    assert same_token is True
    assert in_use == 1


def test_cancelled_waiter_always_stops():
    # A run that is cancelled, or a batch whose task group fails, cancels
    # requests that wait for a lease. The cancellation must never be lost,
    # whenever it lands in the waiter's poll.
    async def scenario():
        limiter = _limiter(max_concurrency=1)
        await limiter.acquire()
        stuck = 0
        for _attempt in range(300):
            waiter = asyncio.ensure_future(limiter.acquire())
            await asyncio.sleep(random.uniform(0, 0.012))
            waiter.cancel()
            done, _pending = await asyncio.wait({waiter}, timeout=1)
            if not done:
                stuck += 1
                break
        await limiter.close()
        return stuck

    assert asyncio.run(scenario()) == 0

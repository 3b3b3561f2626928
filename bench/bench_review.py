"""Benchmark review claims and submissions through the real web stack on PostgreSQL.

Fills its own database with reviews (COPY) and starts gunicorn on a
loopback port. Simulated reviewers then log in over HTTP and claim, open,
give a first verdict and submit. The script prints p50/p95/p99 per round
trip and the number of slots handed to two reviewers, which must be 0.

    /work/venv/bin/python bench/bench_review.py --reviews 1000000 --responses 300000

The database named by --database is dropped and created again unless
--reuse is given; nothing else on the server is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
# Throwaway accounts in a scratch database that the script drops and recreates.
PASSWORD = "bench-password-1"  # noqa: S105
SECRET_KEY = secrets.token_urlsafe(48)
logger = logging.getLogger("bench.review")
# django.setup() replaces the logging configuration with one whose root level
# is WARNING; the progress lines are INFO.
logger.setLevel(logging.INFO)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL without a database name")
    parser.add_argument("--database", default="medexam_bench_review",
                        help="database to create and fill (dropped first unless --reuse)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an already filled database and skip the fill")
    parser.add_argument("--responses", type=int, default=300_000,
                        help="model responses to create")
    parser.add_argument("--reviews", type=int, default=1_000_000,
                        help="submitted reviews to create before the load test")
    parser.add_argument("--questions", type=int, default=20_000, help="questions to create")
    parser.add_argument("--reviewers", type=int, default=50,
                        help="simulated reviewers driving the web stack at once")
    parser.add_argument("--items", type=int, default=20,
                        help="items each simulated reviewer claims and submits")
    parser.add_argument("--think-ms", type=int, default=300,
                        help="pause between a reviewer's requests, in milliseconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    return parser.parse_args()


def recreate_database(server: str, name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"database name {name!r} is invalid; use lower-case letters and _")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def base_env(database_url: str, static_root: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_STATIC_ROOT=static_root,
        # Plain HTTP on loopback: no TLS in front of gunicorn here.
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SESSION_COOKIE_SECURE="0",
        DJANGO_CSRF_COOKIE_SECURE="0",
        DJANGO_LOG_LEVEL="WARNING",
    )
    env.pop("CELERY_BROKER_URL", None)
    return env


def run_manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def fill(args: argparse.Namespace, database_url: str) -> None:
    """Create questions, runs, responses, slots and reviews with COPY; set up reviewer accounts."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SECRET_KEY", SECRET_KEY)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medexam.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone

    from medexam.models import Endpoint, EvaluationRun, LanguageModel, PromptTemplate, Specialty
    from review.models import Reviewer

    started = time.perf_counter()
    now = timezone.now()
    specialties = list(Specialty.objects.values_list("id", flat=True))
    if not specialties:
        raise SystemExit("no specialties: the migrations should have seeded them")

    runs_needed = -(-args.responses // args.questions)
    template = PromptTemplate.objects.create(name="bench", user_template="{stem}\n{options}")
    runs = []
    for number in range(runs_needed):
        model = LanguageModel.objects.create(name=f"bench-model-{number}")
        endpoint = Endpoint.objects.create(
            model=model, name=f"bench-endpoint-{number}", kind="baseline", baseline="chance"
        )
        runs.append(EvaluationRun.objects.create(
            name=f"bench run {number}", model=model, endpoint=endpoint,
            prompt_template=template, reviews_per_response=4, status="completed",
        ))

    # Filler reviewers hold the historical reviews; the simulated reviewers
    # start with none, so every open slot is theirs to claim.
    reviewer_group, _created = Group.objects.get_or_create(name="reviewer")
    password_hash = make_password(PASSWORD)
    users = User.objects.bulk_create(
        [User(username=f"filler{n:03d}", password=password_hash) for n in range(200)]
        + [User(username=f"bench{n:03d}", password=password_hash) for n in range(args.reviewers)]
    )
    reviewer_group.user_set.add(*users)
    reviewers = Reviewer.objects.bulk_create(
        [Reviewer(user=user, pseudonym=f"R-B{index:06d}") for index, user in enumerate(users)]
    )
    through = Reviewer.specialties.through
    through.objects.bulk_create(
        [through(reviewer_id=reviewer.pk, specialty_id=specialty)
         for reviewer in reviewers for specialty in specialties]
    )
    fillers = [reviewer.pk for reviewer in reviewers[:200]]
    logger.info("accounts ready in %.1f s", time.perf_counter() - started)

    connection.ensure_connection()
    raw = connection.connection
    rng = random.Random(20261204)
    options = '{"A": "选项一", "B": "选项二", "C": "选项三", "D": "选项四", "E": "选项五"}'
    with raw.cursor() as cursor:
        with cursor.copy(
            "COPY medexam_question (id, stem, options, answer_key, question_type, explanation,"
            " specialty_id, source, source_id, status, validity, validity_reasons,"
            " content_hash, created_at, updated_at) FROM STDIN"
        ) as copy:
            for qid in range(1, args.questions + 1):
                copy.write_row((
                    qid, f"基准测试题干 {qid}", options, "ABCDE"[qid % 5], "single", "",
                    specialties[qid % len(specialties)], "bench", str(qid), "active",
                    "not_reviewed", "[]", f"{qid:064x}", now, now,
                ))
        logger.info("questions copied at %.1f s", time.perf_counter() - started)

        with cursor.copy(
            "COPY medexam_modelresponse (id, run_id, question_id, sample_index, option_order,"
            " state, raw_text, reasoning_text, finish_reason, attempts, error, served_model,"
            " prompt_hash, decoding, extracted_letters, extraction_status, extraction_rule,"
            " extraction_version, is_correct, partial_score) FROM STDIN"
        ) as copy:
            for rid in range(1, args.responses + 1):
                letter = "ABCDE"[rid % 5]
                copy.write_row((
                    rid, runs[(rid - 1) // args.questions].pk, (rid - 1) % args.questions + 1, 0,
                    "", "done", f"分析……答案是 **{letter}**", "", "stop", 1, "", "bench", "",
                    "{}", letter, "ok", "answer_cue", "0.1", rid % 3 == 0, 1.0,
                ))
        logger.info("responses copied at %.1f s", time.perf_counter() - started)

        verdicts = ("correct", "incorrect", "unsure")
        review_rows = 0
        assignment_id = 0
        with cursor.copy(
            "COPY review_assignment (id, response_id, slot, reviewer_id, status, is_gold,"
            " specialty_id, first_verdict, shuffle_key, claimed_at, lease_expires_at,"
            " created_at) FROM STDIN"
        ) as assignments_copy:
            for slot in range(4):
                for rid in range(1, args.responses + 1):
                    assignment_id += 1
                    specialty = specialties[((rid - 1) % args.questions + 1) % len(specialties)]
                    submitted = review_rows < args.reviews
                    review_rows += submitted
                    reviewer = fillers[(rid * 4 + slot) % len(fillers)] if submitted else None
                    assignments_copy.write_row((
                        assignment_id, rid, slot, reviewer,
                        "submitted" if submitted else "open", False, specialty,
                        verdicts[rid % 3] if submitted else "", rng.randint(0, 2**31 - 1),
                        now - timedelta(days=1) if submitted else None, None, now,
                    ))
        logger.info("%d slots copied at %.1f s", assignment_id, time.perf_counter() - started)

        with cursor.copy(
            "COPY review_review (assignment_id, response_id, reviewer_id, verdict,"
            " verdict_after_key, rating_factual, rating_reasoning, rating_safety, flags,"
            " comment, time_on_task_ms, submitted_at) FROM STDIN"
        ) as copy:
            written = 0
            for slot in range(4):
                for rid in range(1, args.responses + 1):
                    if written == args.reviews:
                        break
                    written += 1
                    copy.write_row((
                        slot * args.responses + rid, rid,
                        fillers[(rid * 4 + slot) % len(fillers)],
                        verdicts[(rid + slot) % 3], "", 1 + rid % 5, 1 + slot, 3, "[]", "",
                        30000 + rid % 60000, now - timedelta(days=1, seconds=rid % 86400),
                    ))
        logger.info("%d reviews copied at %.1f s", written, time.perf_counter() - started)

        for table in ("medexam_question", "medexam_modelresponse", "review_assignment",
                      "review_review"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                f" (SELECT max(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")
    raw.commit()
    logger.info("fill finished in %.1f s", time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(env: dict[str, str], port: int, args: argparse.Namespace) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "medexam.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.threads),
         "--worker-class", "gthread", "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=1.0)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn did not respond on 127.0.0.1:{port} within 20 s")


class Timings:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.claims: dict[int, set[str]] = defaultdict(set)
        self.errors: list[str] = []
        self.logins_done = 0
        # Start of the measured phase: when the last log-in finished.
        self.started = 0.0
        self.finished = 0.0

    async def timed(self, name: str, request) -> httpx.Response:
        started = time.perf_counter()
        response = await request
        self.samples[name].append((time.perf_counter() - started) * 1000)
        return response


async def log_in(client: httpx.AsyncClient, username: str, gate: asyncio.Semaphore) -> bool:
    # Password hashing (PBKDF2) costs far more CPU than a review request, so
    # log-ins run a few at a time and are not part of the measured round trips.
    async with gate:
        await client.get("/accounts/login/")
        login = await client.post("/accounts/login/", data={
            "username": username, "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"], "next": "/review/",
        })
    return login.status_code == 302


async def simulate(
    base: str, username: str, args, timings: Timings, gate: asyncio.Semaphore,
    start: asyncio.Event,
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as client:
        logged_in = await log_in(client, username, gate)
        # Every reviewer starts once all log-ins are done, failed ones included.
        timings.logins_done += 1
        if timings.logins_done == args.reviewers:
            start.set()
        if timings.logins_done == args.reviewers:
            timings.started = time.perf_counter()
        if not logged_in:
            timings.errors.append(f"{username}: log-in failed")
            return
        await start.wait()
        try:
            await review_items(client, username, args, timings)
        except httpx.HTTPError as error:
            timings.errors.append(f"{username}: {type(error).__name__} {error}")


async def review_items(client: httpx.AsyncClient, username: str, args, timings: Timings) -> None:
    for _item in range(args.items):
        claim = await timings.timed("claim", client.get("/review/"))
        if claim.status_code != 302:
            break
        location = claim.headers["location"]
        assignment_id = int(location.rstrip("/").rsplit("/", 1)[1])
        timings.claims[assignment_id].add(username)
        await asyncio.sleep(args.think_ms / 1000)

        page = await timings.timed("open item", client.get(location))
        if page.status_code != 200:
            timings.errors.append(f"{username}: item {assignment_id} gave {page.status_code}")
            continue
        token = client.cookies["csrftoken"]
        await asyncio.sleep(args.think_ms / 1000)
        first = await timings.timed("first verdict", client.post(location, data={
            "csrfmiddlewaretoken": token, "action": "first_verdict", "verdict": "correct",
        }))
        await asyncio.sleep(args.think_ms / 1000)
        submit = await timings.timed("submit", client.post(location, data={
            "csrfmiddlewaretoken": token, "action": "submit", "verdict": "correct",
            "rating_factual": "4", "rating_reasoning": "4", "rating_safety": "5",
        }))
        if first.status_code != 302 or submit.status_code != 302:
            timings.errors.append(
                f"{username}: item {assignment_id} gave {first.status_code}/"
                f"{submit.status_code}"
            )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def drive(base: str, args) -> Timings:
    timings = Timings()
    gate = asyncio.Semaphore(args.workers)
    start = asyncio.Event()
    timings.started = time.perf_counter()
    await asyncio.gather(*(
        simulate(base, f"bench{n:03d}", args, timings, gate, start)
        for n in range(args.reviewers)
    ))
    timings.finished = time.perf_counter()
    return timings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # httpx logs every request at INFO, which would cost the client CPU it needs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = parse_args()
    database_url = f"{args.server}/{args.database}"
    static_root = tempfile.mkdtemp(prefix="bench-review-static-")
    env = base_env(database_url, static_root)

    if not args.reuse:
        recreate_database(args.server, args.database)
        run_manage(env, "migrate", "--verbosity", "0")
        fill(args, database_url)
    run_manage(env, "collectstatic", "--noinput", "--verbosity", "0")

    port = free_port()
    server = start_gunicorn(env, port, args)
    try:
        timings = asyncio.run(drive(f"http://127.0.0.1:{port}", args))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            logger.warning("gunicorn did not stop within 30 s after SIGTERM; killing it")
            server.kill()

    elapsed = timings.finished - timings.started
    doubles = sum(1 for users in timings.claims.values() if len(users) > 1)
    total = sum(len(values) for values in timings.samples.values())
    print(f"\n{args.reviewers} reviewers x {args.items} items, think {args.think_ms} ms, "
          f"gunicorn {args.workers}x{args.threads} threads; {total} requests in {elapsed:.1f} s")
    print(f"{'round trip':<15}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, values in timings.samples.items():
        print(f"{name:<15}{len(values):>7}{percentile(values, 0.50):>9.1f}"
              f"{percentile(values, 0.95):>9.1f}{percentile(values, 0.99):>9.1f}"
              f"{statistics.fmean(values):>9.1f}")
    print(f"slots handed to two reviewers: {doubles}")
    print(f"errors: {len(timings.errors)}")
    for error in timings.errors[:10]:
        print(f"  {error}")


if __name__ == "__main__":
    main()

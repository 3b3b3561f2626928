"""Benchmark review claims and submissions through the real web stack on PostgreSQL.

Fills its own database with reviews (COPY) and starts gunicorn with the
deployment's settings (deploy/gunicorn.conf.py) on a loopback port.
Simulated reviewers then log in over HTTP and work as a browser does: claim
the next item (GET /review/), open it, give a first verdict, open it again
with the answer key, and submit the review. Three phases run in turn:

1. one reviewer alone, with no pause: the unloaded latency of each request;
2. all reviewers with a physician's think time between requests
   (--think-s per item, 30 s by default);
3. all reviewers with no think time: the saturation throughput and latency.

During phases 2 and 3 a probe requests /healthz ten times a second. Its
latency is the baseline of that phase: the time any request waits for the
server and for CPU. The script prints p50/p95/p99 per round trip, the ratios
to the probe, the CPU time gunicorn spent per item, and the number of slots
handed to two reviewers, which must be 0.

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
    parser.add_argument("--items", type=int, default=4,
                        help="items each reviewer reviews with think time (phase 2)")
    parser.add_argument("--think-s", type=float, default=30.0,
                        help="mean seconds a reviewer spends on one item in phase 2: two thirds "
                             "before the first verdict, one third before submitting; each pause "
                             "is drawn from 0.5 to 1.5 times its mean")
    parser.add_argument("--saturation-items", type=int, default=10,
                        help="items each reviewer reviews with no think time (phase 3); "
                             "0 skips the phase")
    parser.add_argument("--solo-items", type=int, default=20,
                        help="items one reviewer reviews alone first (phase 1); 0 skips it")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn worker processes (default: deploy/gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per gunicorn worker (default: deploy/gunicorn.conf.py's)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""),
                        help="Redis for the server's cache and sessions, as in a deployment "
                             "(default: $REDIS_URL; empty runs without Redis)")
    parser.add_argument("--server-log", default=None,
                        help="file for gunicorn's access and error log (default: a temporary file)")
    return parser.parse_args()


def recreate_database(server: str, name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"database name {name!r} is invalid; use lower-case letters and _")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


# Celery's default queue, a Redis list of that name in the broker's database.
CELERY_QUEUE = "celery"


def base_env(database_url: str, static_root: str, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
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
    if redis_url:
        # As in production, the web process queues work (the validity refresh
        # after each review) for a Celery worker instead of running it inline.
        # No worker runs here; main() counts and removes what was queued.
        env["CELERY_BROKER_URL"] = redis_url
    return env


def drop_queued_tasks(redis_url: str) -> int:
    """Remove the tasks the web process queued during the run; return how many there were."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        queued = client.llen(CELERY_QUEUE)
        client.delete(CELERY_QUEUE)
    finally:
        client.close()
    return int(queued)


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
            " content_hash, stem_signature, created_at, updated_at) FROM STDIN"
        ) as copy:
            for qid in range(1, args.questions + 1):
                # An empty signature, as for any question not yet grouped.
                copy.write_row((
                    qid, f"基准测试题干 {qid}", options, "ABCDE"[qid % 5], "single", "",
                    specialties[qid % len(specialties)], "bench", str(qid), "active",
                    "not_reviewed", "[]", f"{qid:064x}", b"", now, now,
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


def start_gunicorn(
    env: dict[str, str], port: int, args: argparse.Namespace, log: Path
) -> subprocess.Popen:
    """Start gunicorn with deploy/gunicorn.conf.py; --workers and --threads override it."""
    env = dict(env, GUNICORN_BIND=f"127.0.0.1:{port}")
    if args.workers:
        env["GUNICORN_WORKERS"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "medexam.wsgi"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
    for _ in range(150):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn did not respond on 127.0.0.1:{port} within 30 s; see {log}")


def worker_cpu_seconds(master_pid: int) -> float:
    """Sum the user and system CPU time of gunicorn's workers, restarted ones included.

    Live workers are read from /proc/PID/stat (utime, stime). Workers that
    exited, for example after max_requests, count through the master's
    cutime and cstime. Linux only; returns NaN elsewhere.
    """
    ticks = os.sysconf("SC_CLK_TCK")

    def stat_fields(pid: str) -> list[str]:
        # Fields after the command name, so index 11 is utime (field 14).
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    try:
        master = stat_fields(str(master_pid))
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return float("nan")
    total = int(master[13]) + int(master[14])
    for pid in children:
        try:
            fields = stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


class Timings:
    """Round-trip times, finished items, worker CPU time and errors of one phase."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.items = 0
        self.elapsed = 0.0
        self.cpu_seconds = 0.0

    async def timed(self, name: str, request) -> httpx.Response:
        started = time.perf_counter()
        response = await request
        self.samples[name].append((time.perf_counter() - started) * 1000)
        return response


class SimulatedReviewer:
    """One simulated physician with a logged-in HTTP client."""

    def __init__(self, base: str, username: str) -> None:
        self.username = username
        self.client = httpx.AsyncClient(base_url=base, timeout=120.0)

    async def log_in(self, gate: asyncio.Semaphore) -> None:
        # Password hashing (PBKDF2) costs far more CPU than a review request, so
        # log-ins run a few at a time and are not part of the measured round trips.
        async with gate:
            await self.client.get("/accounts/login/")
            login = await self.client.post("/accounts/login/", data={
                "username": self.username, "password": PASSWORD,
                "csrfmiddlewaretoken": self.client.cookies["csrftoken"], "next": "/review/",
            })
        if login.status_code != 302:
            raise SystemExit(f"log-in of {self.username} failed with {login.status_code}")

    async def review(
        self, items: int, think_s: float, timings: Timings, claims: dict[int, set[str]],
        rng: random.Random,
    ) -> None:
        """Review items one after another as a browser does, pausing to think between steps."""

        async def think(share: float) -> None:
            if think_s > 0:
                await asyncio.sleep(think_s * share * rng.uniform(0.5, 1.5))

        client = self.client
        for _item in range(items):
            claim = await timings.timed("claim", client.get("/review/"))
            if claim.status_code != 302:
                timings.errors.append(f"{self.username}: claim gave {claim.status_code}")
                return
            location = claim.headers["location"]
            assignment_id = int(location.rstrip("/").rsplit("/", 1)[1])
            claims[assignment_id].add(self.username)
            page = await timings.timed("open item", client.get(location))
            if page.status_code != 200:
                timings.errors.append(
                    f"{self.username}: item {assignment_id} gave {page.status_code}"
                )
                return
            token = client.cookies["csrftoken"]
            await think(2 / 3)

            first = await timings.timed("first verdict", client.post(location, data={
                "csrfmiddlewaretoken": token, "action": "first_verdict", "verdict": "correct",
            }))
            reopened = await timings.timed("open with key", client.get(location))
            await think(1 / 3)

            submit = await timings.timed("submit", client.post(location, data={
                "csrfmiddlewaretoken": token, "action": "submit", "verdict": "correct",
                "rating_factual": "4", "rating_reasoning": "4", "rating_safety": "5",
            }))
            statuses = (first.status_code, reopened.status_code, submit.status_code)
            if statuses != (302, 200, 302):
                timings.errors.append(f"{self.username}: item {assignment_id} gave {statuses}")
                return
            timings.items += 1


async def probe(base: str, timings: Timings, stop: asyncio.Event) -> None:
    """Request /healthz every 100 ms until stop is set: the phase's baseline round trip."""
    async with httpx.AsyncClient(base_url=base, timeout=120.0) as client:
        while not stop.is_set():
            response = await timings.timed("healthz", client.get("/healthz"))
            if response.status_code != 200:
                timings.errors.append(f"healthz gave {response.status_code}")
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.1)
            except TimeoutError:
                pass


async def run_phase(
    name: str, base: str, reviewers: list[SimulatedReviewer], items: int, think_s: float,
    claims: dict[int, set[str]], master_pid: int, with_probe: bool,
) -> Timings:
    timings = Timings(name)
    stop = asyncio.Event()
    probe_task = asyncio.create_task(probe(base, timings, stop)) if with_probe else None
    rng = random.Random(len(claims))

    async def one(reviewer: SimulatedReviewer) -> None:
        # With think time, reviewers start spread over one item's time, as
        # physicians do; without it they all start at once.
        if think_s > 0:
            await asyncio.sleep(rng.uniform(0, think_s))
        try:
            await reviewer.review(items, think_s, timings, claims, random.Random(rng.random()))
        except httpx.HTTPError as error:
            timings.errors.append(f"{reviewer.username}: {type(error).__name__} {error}")

    cpu_before = worker_cpu_seconds(master_pid)
    started = time.perf_counter()
    await asyncio.gather(*(one(reviewer) for reviewer in reviewers))
    timings.elapsed = time.perf_counter() - started
    timings.cpu_seconds = worker_cpu_seconds(master_pid) - cpu_before
    stop.set()
    if probe_task is not None:
        await probe_task
    return timings


async def drive(base: str, args: argparse.Namespace, master_pid: int) -> list[Timings]:
    reviewers = [SimulatedReviewer(base, f"bench{n:03d}") for n in range(args.reviewers)]
    gate = asyncio.Semaphore(2)
    await asyncio.gather(*(reviewer.log_in(gate) for reviewer in reviewers))
    claims: dict[int, set[str]] = defaultdict(set)
    phases = []
    try:
        if args.solo_items:
            phases.append(await run_phase(
                "1. one reviewer alone, no think time", base, reviewers[:1], args.solo_items,
                0, claims, master_pid, with_probe=False,
            ))
        if args.items:
            phases.append(await run_phase(
                f"2. {args.reviewers} reviewers, think time {args.think_s:g} s per item", base,
                reviewers, args.items, args.think_s, claims, master_pid, with_probe=True,
            ))
        if args.saturation_items:
            phases.append(await run_phase(
                f"3. {args.reviewers} reviewers, no think time (saturation)", base, reviewers,
                args.saturation_items, 0, claims, master_pid, with_probe=True,
            ))
    finally:
        for reviewer in reviewers:
            await reviewer.client.aclose()
    doubles = sum(1 for users in claims.values() if len(users) > 1)
    print(f"\nslots handed to two reviewers: {doubles} (of {len(claims)} claimed)")
    return phases


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(phase: Timings) -> None:
    total = sum(len(values) for name, values in phase.samples.items() if name != "healthz")
    print(f"\n{phase.name}: {phase.items} items, {total} requests in {phase.elapsed:.1f} s "
          f"({total / phase.elapsed:.1f} requests/s); gunicorn CPU "
          f"{phase.cpu_seconds * 1000 / max(phase.items, 1):.1f} ms per item")
    baseline = phase.samples.get("healthz")
    base_p95 = percentile(baseline, 0.95) if baseline else None
    header = f"{'round trip':<15}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
    print(header + (f"{'p95/healthz':>13}" if base_p95 else ""))
    for name, values in phase.samples.items():
        line = (f"{name:<15}{len(values):>6}{percentile(values, 0.50):>9.1f}"
                f"{percentile(values, 0.95):>9.1f}{percentile(values, 0.99):>9.1f}"
                f"{statistics.fmean(values):>9.1f}")
        if base_p95:
            line += f"{percentile(values, 0.95) / base_p95:>13.1f}"
        print(line)
    print(f"errors: {len(phase.errors)}")
    for error in phase.errors[:10]:
        print(f"  {error}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    # httpx logs every request at INFO, which would cost the client CPU it needs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = parse_args()
    database_url = f"{args.server}/{args.database}"
    static_root = tempfile.mkdtemp(prefix="bench-review-static-")
    env = base_env(database_url, static_root, args.redis_url)

    if not args.reuse:
        recreate_database(args.server, args.database)
        run_manage(env, "migrate", "--verbosity", "0")
        fill(args, database_url)
    else:
        run_manage(env, "migrate", "--verbosity", "0")
    run_manage(env, "collectstatic", "--noinput", "--verbosity", "0")

    port = free_port()
    log = Path(
        args.server_log or tempfile.mkstemp(prefix="bench-review-gunicorn-", suffix=".log")[1]
    )
    server = start_gunicorn(env, port, args, log)
    try:
        phases = asyncio.run(drive(f"http://127.0.0.1:{port}", args, server.pid))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            logger.warning("gunicorn did not stop within 30 s after SIGTERM; killing it")
            server.kill()

    queued = drop_queued_tasks(args.redis_url) if args.redis_url else 0
    workers = args.workers or "default"
    threads = args.threads or "default"
    print(f"\ngunicorn -c deploy/gunicorn.conf.py, workers {workers}, threads {threads}, "
          f"Redis {'on' if args.redis_url else 'off'}; log in {log}")
    if args.redis_url:
        print(f"Celery tasks queued by the web process (validity refreshes, removed): {queued}")
    else:
        print("No broker: Celery tasks, the validity refresh included, ran inside requests.")
    for phase in phases:
        report(phase)


if __name__ == "__main__":
    main()

"""Generation throughput: a bare asyncio client against the platform end to end.

Starts the loopback OpenAI-compatible server (tests.openai_server) in its own
process, then answers the same N questions two ways:

(a) one asyncio loop over the openai client with `--slots` requests in flight;
(b) the platform: an EvaluationRun answered by `--workers` real Celery worker
    processes over Redis, responses stored, extracted and scored in PostgreSQL.

Prints both rates, their ratio and the server's ceiling (slots / latency).

Needs DATABASE_URL (PostgreSQL; migrated here), CELERY_BROKER_URL and
REDIS_URL (Redis). The questions it creates are tagged with source
"bench-<random>" and deleted at the end with their run.

    python bench/bench_generation.py --n 5000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medexam.settings")


def start_server(latency_ms: float, slots: int) -> tuple[subprocess.Popen, str]:
    """Start tests.openai_server on a free port; return the process and its base URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.openai_server",
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
            "--slots",
            str(slots),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
    if not match:
        process.kill()
        raise RuntimeError(f"the loopback server did not start; it printed {line!r}")
    return process, match.group(1)


async def bare_client(base_url: str, prompts: list[str], in_flight: int) -> float:
    """Answer prompts with one AsyncOpenAI client, in_flight at a time; return requests/s."""
    from openai import AsyncOpenAI, DefaultAioHttpClient

    # The same aiohttp transport the workers use (workers.generation).
    client = AsyncOpenAI(
        base_url=base_url, api_key="bench", max_retries=0, http_client=DefaultAioHttpClient()
    )
    gate = asyncio.Semaphore(in_flight)

    async def ask(prompt: str) -> None:
        async with gate:
            await client.chat.completions.create(
                model="mock-medexam-1",
                messages=[{"role": "user", "content": prompt}],
                max_tokens=64,
                temperature=0.0,
            )

    start = time.perf_counter()
    cpu_start = time.process_time()
    await asyncio.gather(*(ask(prompt) for prompt in prompts))
    elapsed = time.perf_counter() - start
    cpu_ms = 1000 * (time.process_time() - cpu_start) / len(prompts)
    await client.close()
    print(f"(a) client CPU: {cpu_ms:.1f} ms per request")
    return len(prompts) / elapsed


def make_questions(count: int, source: str):
    from medexam.models import Question
    from medexam.models.questions import compute_content_hash

    options = {"A": "高血压", "B": "糖尿病", "C": "冠心病", "D": "心力衰竭", "E": "房颤"}
    rows = []
    for index in range(count):
        stem = f"{source} 第{index}题：患者最可能的诊断是？"
        rows.append(
            Question(
                stem=stem,
                options=options,
                answer_key="ABCDE"[index % 5],
                source=source,
                source_id=str(index),
                content_hash=compute_content_hash(stem, options),
            )
        )
    Question.objects.bulk_create(rows, batch_size=1000)


def start_workers(count: int, batch_size: int) -> list[subprocess.Popen]:
    env = dict(os.environ, MEDEXAM_MODEL_BATCH_SIZE=str(batch_size), DJANGO_LOG_LEVEL="WARNING")
    workers = []
    for index in range(count):
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "medexam",
                    "worker",
                    "-c",
                    "1",
                    "-n",
                    f"bench{index}@%h",
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                    "-l",
                    "WARNING",
                ],
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
        )
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def platform(base_url: str, count: int, slots: int, workers: int, batch_size: int) -> dict:
    """Answer count questions through an EvaluationRun; return rate and outcome counts."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count

    from medexam.models import Endpoint, EvaluationRun, LanguageModel, Question
    from medexam.services.runs import prompt_template_get_default, run_create, run_start

    call_command("migrate", verbosity=0)
    source = f"bench-{uuid.uuid4().hex[:8]}"
    make_questions(count, source)
    model = LanguageModel.objects.create(name=source, family="mock")
    endpoint = Endpoint.objects.create(
        model=model,
        name=source,
        base_url=base_url,
        served_model_id="mock-medexam-1",
        max_concurrency=slots,
        timeout_s=60,
        decoding={"temperature": 0.0, "max_tokens": 64},
    )
    run = run_create(
        model=model,
        endpoint=endpoint,
        prompt_template=prompt_template_get_default(),
        question_filter={"source": source},
    )

    processes = start_workers(workers, batch_size)
    try:
        time.sleep(5)  # let the workers connect before the clock starts
        start = time.perf_counter()
        run_start(run_id=run.pk)
        while True:
            run.refresh_from_db()
            if run.status in EvaluationRun.FINISHED:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
    finally:
        stop_workers(processes)

    states = dict(run.responses.values_list("state").annotate(n=Count("id")))
    correct = run.responses.filter(is_correct=True).count()
    db_elapsed = (run.finished_at - run.started_at).total_seconds()
    run.delete()
    endpoint.delete()
    model.delete()
    Question.objects.filter(source=source).delete()
    return {
        "rate": count / elapsed,
        "db_rate": count / db_elapsed,
        "states": states,
        "correct": correct,
        "status": run.status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="questions answered by each way")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="server delay per request")
    parser.add_argument("--slots", type=int, default=64, help="server slots = requests in flight")
    parser.add_argument("--workers", type=int, default=4, help="Celery worker processes")
    parser.add_argument("--batch-size", type=int, default=32, help="responses per batch task")
    args = parser.parse_args()

    server, base_url = start_server(args.latency_ms, args.slots)
    try:
        ceiling = args.slots / (args.latency_ms / 1000)
        prompts = [f"bench 第{index}题\nA. 甲\nB. 乙\nC. 丙" for index in range(args.n)]
        bare = asyncio.run(bare_client(base_url, prompts, args.slots))
        print(f"server limit (slots / latency): {ceiling:.0f} requests/s")
        print(f"(a) bare asyncio openai client: {bare:.0f} requests/s over {args.n} requests")
        result = platform(base_url, args.n, args.slots, args.workers, args.batch_size)
        print(
            f"(b) platform end to end ({args.workers} worker processes, batches of "
            f"{args.batch_size}): {result['rate']:.0f} responses/s "
            f"(run started_at to finished_at: {result['db_rate']:.0f}/s); "
            f"states {result['states']}, run {result['status']}"
        )
        print(f"ratio (b)/(a): {result['rate'] / bare:.2f}")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

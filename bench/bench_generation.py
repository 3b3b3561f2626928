"""Generation throughput: a bare asyncio client against the platform end to end.

Starts the loopback OpenAI-compatible server (tests.openai_server) in its own
process, then answers the same N questions two ways:

(a) one asyncio loop over the openai client with `--slots` requests in flight;
(b) the platform: an EvaluationRun answered by `--workers` real Celery worker
    processes over Redis, responses stored, extracted and scored in PostgreSQL.

The bare loop runs before and after the platform, because other jobs on a
shared machine change the CPU left over from one minute to the next. The
ratio is taken against the mean of the two bare rates. Prints the rates, the ratio,
the server's ceiling (slots / latency) and where the CPU went during each
phase: the server, the bare client or the worker processes, Redis,
PostgreSQL (the whole server, other databases included) and the rest of the
machine.

Needs DATABASE_URL (PostgreSQL; migrated here), CELERY_BROKER_URL and
REDIS_URL (Redis). The questions it creates are tagged with source
"bench-<random>" and deleted at the end with their run.

    python bench/bench_generation.py --n 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medexam.settings")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    # The command name may contain spaces; the fields after it do not.
    return text[text.rindex(")") + 2 :].split()


def process_cpu_s(pids: list[int], *, waited_children: bool = False) -> float:
    """CPU seconds (user + system) used so far by pids; vanished pids count 0.

    With waited_children, the CPU of children the process has already reaped
    is included (PostgreSQL's postmaster reaps its finished backends).
    """
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])
        if waited_children:
            total += int(fields[13]) + int(fields[14])
    return total / CLOCK_TICKS


def _all_processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process."""
    rows = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        parent = int(text[text.rindex(")") + 2 :].split()[1])
        rows.append((int(entry), parent, name))
    return rows


def with_descendants(roots: list[int]) -> list[int]:
    processes = _all_processes()
    found = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent, _name in processes:
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return sorted(found)


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait)."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


class CpuMeter:
    """CPU used by the parts of the benchmark between start() and stop().

    parts maps a name to root process ids; a part counts its roots, their
    descendants and the children they reaped. own_name, if given, names the
    benchmark's own process (its children are counted in their parts).
    Processes are looked up again at each sample, so a PostgreSQL backend
    that starts or ends during a phase is counted for the time it ran within
    the phase (the postmaster reaps backends).
    """

    def __init__(self, parts: dict[str, list[int]], own_name: str = "") -> None:
        self.parts = parts
        self.own_name = own_name

    def _sample(self) -> dict[str, float]:
        processes = _all_processes()
        values = {
            name: process_cpu_s(with_descendants(roots), waited_children=True)
            for name, roots in self.parts.items()
        }
        if self.own_name:
            values[self.own_name] = process_cpu_s([os.getpid()])
        redis = [pid for pid, _parent, name in processes if name == "redis-server"]
        postgres = [pid for pid, _parent, name in processes if name == "postgres"]
        values["Redis"] = process_cpu_s(redis)
        values["PostgreSQL (all databases)"] = process_cpu_s(postgres, waited_children=True)
        values["machine"] = machine_busy_s()
        return values

    def start(self) -> None:
        self.before = self._sample()
        self.started = time.perf_counter()

    def stop(self) -> str:
        after = self._sample()
        elapsed = time.perf_counter() - self.started
        used = {name: after[name] - self.before[name] for name in after}
        machine = used.pop("machine")
        used["everything else on the machine"] = max(0.0, machine - sum(used.values()))
        cores = ", ".join(f"{name} {seconds / elapsed:.2f}" for name, seconds in used.items())
        return f"CPU in cores over {elapsed:.1f} s: {cores}; machine total {machine / elapsed:.2f}"


class SlotSampler:
    """Mean number of requests the server held at once, read from its /stats every 0.1 s."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url.removesuffix("/v1") + "/stats"

    def _run(self) -> None:
        while not self.stopped.wait(0.1):
            with urllib.request.urlopen(self.url, timeout=5) as reply:  # noqa: S310 - loopback
                self.samples.append(json.load(reply)["in_flight"])

    def start(self) -> None:
        self.samples: list[int] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> str:
        self.stopped.set()
        self.thread.join()
        mean = sum(self.samples) / max(1, len(self.samples))
        return f"server slots busy on average: {mean:.1f}"


def start_server(latency_ms: float, slots: int, port: int) -> tuple[subprocess.Popen, str]:
    """Start tests.openai_server on port (0: a free one); return the process and its base URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.openai_server",
            "--port",
            str(port),
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


async def bare_client(base_url: str, prompts: list[str], in_flight: int, meter: CpuMeter) -> float:
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

    slots = SlotSampler(base_url)
    meter.start()
    slots.start()
    start = time.perf_counter()
    cpu_start = time.process_time()
    await asyncio.gather(*(ask(prompt) for prompt in prompts))
    elapsed = time.perf_counter() - start
    cpu_ms = 1000 * (time.process_time() - cpu_start) / len(prompts)
    print(f"    {meter.stop()}; {slots.stop()}")
    await client.close()
    print(f"    client CPU: {cpu_ms:.1f} ms per request")
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
    # SIGTERM to the main process is Celery's warm shutdown: a task that is
    # still finishing (the last batch creating review slots) ends first.
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def platform(
    base_url: str, count: int, slots: int, workers: int, batch_size: int, server_pid: int
) -> dict:
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
        meter = CpuMeter(
            {
                "server": [server_pid],
                "workers": with_descendants([process.pid for process in processes]),
            },
            own_name="bench process (starts the run, polls it)",
        )
        slots = SlotSampler(base_url)
        meter.start()
        slots.start()
        start = time.perf_counter()
        run_start(run_id=run.pk)
        while True:
            run.refresh_from_db()
            if run.status in EvaluationRun.FINISHED:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        cpu = f"{meter.stop()}; {slots.stop()}"
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
        "cpu": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="questions answered by each way")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="server delay per request")
    parser.add_argument("--slots", type=int, default=64, help="server slots = requests in flight")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--batch-size", type=int, default=128, help="responses per batch task")
    parser.add_argument("--port", type=int, default=0, help="loopback port of the server")
    args = parser.parse_args()

    server, base_url = start_server(args.latency_ms, args.slots, args.port)
    try:
        ceiling = args.slots / (args.latency_ms / 1000)
        prompts = [f"bench 第{index}题\nA. 甲\nB. 乙\nC. 丙" for index in range(args.n)]
        print(f"server limit (slots / latency): {ceiling:.0f} requests/s")

        parts = {"server": [server.pid]}
        meter = CpuMeter(parts, own_name="bare client")
        bare_before = asyncio.run(bare_client(base_url, prompts, args.slots, meter))
        print(
            f"(a1) bare asyncio openai client: {bare_before:.0f} requests/s "
            f"over {args.n} requests ({bare_before / ceiling:.2f} of the server limit)"
        )

        result = platform(base_url, args.n, args.slots, args.workers, args.batch_size, server.pid)
        print(f"    {result['cpu']}")
        print(
            f"(b) platform end to end ({args.workers} worker processes, batches of "
            f"{args.batch_size}): {result['rate']:.0f} responses/s "
            f"(run started_at to finished_at: {result['db_rate']:.0f}/s); "
            f"states {result['states']}, run {result['status']}"
        )

        bare_after = asyncio.run(bare_client(base_url, prompts, args.slots, meter))
        print(
            f"(a2) bare asyncio openai client: {bare_after:.0f} requests/s "
            f"over {args.n} requests ({bare_after / ceiling:.2f} of the server limit)"
        )
        bare = (bare_before + bare_after) / 2
        print(
            f"ratio (b)/(a): {result['rate'] / bare:.2f} against the mean of (a1) and (a2); "
            f"{result['rate'] / bare_before:.2f} and {result['rate'] / bare_after:.2f} "
            f"against each"
        )
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

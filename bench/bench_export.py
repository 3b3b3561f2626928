"""Measure dataset export speed and memory at two sizes.

Creates N synthetic questions in its own PostgreSQL database, freezes them as
a dataset version, then exports that version in every format, each export in
a fresh child process so its peak RSS is its own. Run from the repository root:

    /work/venv/bin/python bench/bench_export.py --sizes 10000 100000

Each size gets its own database (default medexam_bench_export_<size> on
127.0.0.1:5432, user postgres), dropped and created again at each run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

from common import DEFAULT_SERVER, recreate_database, setup_django

FORMATS = ("jsonl", "csv", "parquet", "datasheet")


def _populate(size: int) -> int:
    """Create size questions, freeze them as version bench-<size> and return its id."""
    from django.core.management import call_command

    from medexam.models import Level, Question, Specialty, ValidityRuleSet
    from medexam.models.questions import compute_content_hash
    from medexam.services.datasets import dataset_version_create

    call_command("migrate", verbosity=0)
    specialties = list(Specialty.objects.all())
    levels = list(Level.objects.all())
    batch = []
    for index in range(size):
        stem = f"患者，男，{40 + index % 50}岁，反复胸痛{index}天。最可能的诊断是？"
        options = {
            "A": "急性心肌梗死",
            "B": "不稳定型心绞痛",
            "C": "主动脉夹层",
            "D": "肺栓塞",
            "E": f"=胃食管反流病 {index}",
        }
        batch.append(
            Question(
                stem=stem,
                options=options,
                answer_key="ABCDE"[index % 5],
                specialty=specialties[index % len(specialties)],
                level=levels[index % len(levels)],
                explanation="心电图 ST 段抬高提示透壁性心肌缺血。",
                source="bench",
                source_id=str(index),
                content_hash=compute_content_hash(stem, options),
            )
        )
        if len(batch) == 5000:
            Question.objects.bulk_create(batch)
            batch = []
    if batch:
        Question.objects.bulk_create(batch)

    rule_set, _ = ValidityRuleSet.objects.get_or_create(name="bench")
    version = dataset_version_create(
        name=f"bench-{size}", rule_set_id=rule_set.id, validated_only=False, bootstrap_samples=0
    )
    return version.id


def _child(version_id: int, fmt: str, trace: bool) -> None:
    """Export one version in one format and print rows/s and peak memory as JSON.

    With trace, tracemalloc also records the peak of Python allocations. It
    slows the export several times, so timed runs go without it.
    """
    from medexam.exports import export_write
    from medexam.models import DatasetVersion

    version = DatasetVersion.objects.get(pk=version_id)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile(suffix=f".{fmt}") as handle:
        export_write(fmt, handle.name, version)
        size_bytes = os.path.getsize(handle.name)
    seconds = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else 0
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "format": fmt,
                "rows": version.item_count,
                "seconds": round(seconds, 2),
                "rows_per_second": round(version.item_count / seconds) if seconds else None,
                "file_mb": round(size_bytes / 1e6, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "rss_before_export_mb": round(rss_before / 1024, 1),
                "tracemalloc_peak_mb": round(traced_peak / 1e6, 1) if trace else None,
            }
        )
    )


def _run_child(command: list[str]) -> dict:
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL.")
    parser.add_argument(
        "--database", default="medexam_bench_export", help="Database name prefix; _<size> is added."
    )
    parser.add_argument("--populate", type=int, metavar="SIZE", help=argparse.SUPPRESS)
    parser.add_argument(
        "--child", nargs=2, metavar=("VERSION_ID", "FORMAT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    database_url = f"{args.server}/{args.database}"

    if args.populate:
        setup_django(database_url)
        print(_populate(args.populate))
        return
    if args.child:
        setup_django(database_url)
        _child(int(args.child[0]), args.child[1], args.trace)
        return

    for size in args.sizes:
        # Each size gets its own database, so the larger set does not contain the smaller.
        database = f"{args.database}_{size}"
        recreate_database(args.server, database)
        base = [sys.executable, __file__, "--server", args.server, "--database", database]
        started = time.perf_counter()
        populate = subprocess.run(
            [*base, "--populate", str(size)], check=True, capture_output=True, text=True
        )
        version_id = int(populate.stdout.strip().splitlines()[-1])
        created = time.perf_counter() - started
        print(f"\n{size} items: created questions and version in {created:.1f} s")
        print(
            f"{'format':<10}{'rows/s':>10}{'seconds':>9}{'file MB':>9}{'peak RSS MB':>13}"
            f"{'RSS before':>12}{'traced MB':>11}"
        )
        for fmt in FORMATS:
            command = [*base, "--child", str(version_id), fmt]
            result = _run_child(command)
            result["tracemalloc_peak_mb"] = _run_child([*command, "--trace"])["tracemalloc_peak_mb"]
            print(
                f"{fmt:<10}{result['rows_per_second'] or 0:>10}{result['seconds']:>9}"
                f"{result['file_mb']:>9}{result['peak_rss_mb']:>13}"
                f"{result['rss_before_export_mb']:>12}{result['tracemalloc_peak_mb']:>11}",
                flush=True,
            )


if __name__ == "__main__":
    main()

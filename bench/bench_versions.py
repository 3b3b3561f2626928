"""Time a dataset version request against its build, and the two agreement bootstraps.

Part 1 creates N synthetic questions in its own PostgreSQL database (default
medexam_bench_versions on 127.0.0.1:5432, user postgres, dropped and created
again at each run). It times dataset_version_request, which is all the
datasets page does in the request, and then dataset_version_build, which a
Celery worker runs, in the same process. Part 2 times Krippendorff's alpha
with 1,000 bootstrap resamples over units and over pairs of values, on a
synthetic 3-reviewer table. Run from the repository root:

    /work/venv/bin/python bench/bench_versions.py --size 10000
"""

from __future__ import annotations

import argparse
import time

from common import DEFAULT_SERVER, recreate_database, setup_django


def _populate(size: int) -> None:
    from django.core.management import call_command

    from medexam.models import Level, Question, Specialty
    from medexam.models.questions import compute_content_hash

    call_command("migrate", verbosity=0)
    specialties = list(Specialty.objects.all())
    levels = list(Level.objects.all())
    batch = []
    for index in range(size):
        stem = f"患者，女，{30 + index % 40}岁，乏力{index}天。首选的检查是？"
        options = {"A": "血常规", "B": "甲状腺功能", "C": "肝功能", "D": f"肾功能 {index}"}
        batch.append(
            Question(
                stem=stem,
                options=options,
                answer_key="ABCD"[index % 4],
                specialty=specialties[index % len(specialties)],
                level=levels[index % len(levels)],
                source="bench",
                source_id=str(index),
                content_hash=compute_content_hash(stem, options),
            )
        )
    Question.objects.bulk_create(batch, batch_size=5000)


def time_version(size: int) -> None:
    from django.db import transaction

    from medexam.models import ValidityRuleSet
    from medexam.services.datasets import dataset_version_build, dataset_version_request

    _populate(size)
    rule_set, _ = ValidityRuleSet.objects.get_or_create(name="bench")

    started = time.perf_counter()
    with transaction.atomic():
        version = dataset_version_request(
            name="bench", rule_set_id=rule_set.id, validated_only=False, enqueue=False
        )
    request_seconds = time.perf_counter() - started

    started = time.perf_counter()
    version = dataset_version_build(version_id=version.pk)
    build_seconds = time.perf_counter() - started
    print(
        f"version of {version.item_count} items ({version.status}): "
        f"request {request_seconds * 1000:.1f} ms, build {build_seconds:.1f} s, "
        f"build / request {build_seconds / request_seconds:.0f}"
    )


def time_bootstraps(units: int) -> None:
    import numpy as np

    from review import agreement

    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, size=units)
    noise = rng.integers(0, 3, size=(3, units))
    matrix = np.where(rng.random((3, units)) < 0.8, truth, noise).astype(float)
    matrix[rng.random((3, units)) < 0.1] = np.nan
    for level in ("nominal", "ordinal"):
        seconds = {}
        for resampling in agreement.RESAMPLINGS:
            started = time.perf_counter()
            result = agreement.krippendorff_alpha(
                matrix, level, bootstrap_samples=1000, resampling=resampling
            )
            seconds[resampling] = time.perf_counter() - started
            print(f"{level} alpha over {units} units, resampling {resampling}: {result.as_dict()}")
        print(
            f"{level}: units {seconds['units']:.3f} s, pairs {seconds['pairs']:.3f} s, "
            f"units / pairs {seconds['units'] / seconds['pairs']:.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000, help="Questions in the version.")
    parser.add_argument("--units", type=int, default=2000, help="Units in the bootstrap table.")
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL server URL.")
    parser.add_argument("--database", default="medexam_bench_versions", help="Database name.")
    args = parser.parse_args()

    recreate_database(args.server, args.database)
    setup_django(f"{args.server}/{args.database}")
    time_version(args.size)
    time_bootstraps(args.units)


if __name__ == "__main__":
    main()

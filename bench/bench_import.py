"""Import throughput on PostgreSQL: 100,000 generated questions, against a bare bulk_create.

Usage (from the repository root; PostgreSQL on 127.0.0.1:5432, user postgres):

    python bench/bench_import.py [--rows 100000] [--database medexam_bench_import]

The database is created if missing, migrated, and emptied of questions before
each phase. The question text is generated here from a fixed seed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SYMPTOMS = ["胸痛", "心悸", "乏力", "多饮多尿", "皮疹", "腹痛", "黑便", "头痛", "水肿", "咳嗽"]
FINDINGS = ["血压升高", "心电图ST段抬高", "血糖升高", "尿蛋白阳性", "肝功能异常", "白细胞升高"]
ACTIONS = ["首选检查", "首选治疗", "最可能的诊断", "下一步处理", "最常见的并发症"]
OPTION_WORDS = [
    "阿司匹林",
    "胰岛素",
    "利尿剂",
    "糖皮质激素",
    "胃镜",
    "头颅CT",
    "透析",
    "化疗",
    "观察随访",
    "手术治疗",
    "抗生素",
    "β受体阻滞剂",
]


def generate_rows(count: int, seed: int = 20261204) -> list[dict[str, object]]:
    """Make count distinct questions in the project's JSONL schema."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        options = dict(zip("ABCDE", rng.sample(OPTION_WORDS, 5), strict=True))
        multiple = index % 10 == 0
        answer = "".join(sorted(rng.sample("ABCDE", 2))) if multiple else rng.choice("ABCDE")
        stem = (
            f"【合成题 {index}】患者{rng.randint(18, 90)}岁，{rng.choice(SYMPTOMS)}"
            f"{rng.randint(1, 30)}天，查体{rng.choice(FINDINGS)}。{rng.choice(ACTIONS)}是"
        )
        rows.append(
            {
                "stem": stem,
                "options": options,
                "answer": answer,
                "type": "multiple" if multiple else "single",
                "source": "bench",
                "source_id": str(index),
            }
        )
    return rows


def ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres") as conn:
        conn.autocommit = True
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="Questions to generate.")
    parser.add_argument("--database", default="medexam_bench_import", help="PostgreSQL database.")
    parser.add_argument(
        "--server-side-binding",
        action="store_true",
        help="Send query parameters separately (psycopg 3 server-side binding) instead of "
        "quoting them into the SQL text.",
    )
    args = parser.parse_args()

    ensure_database(args.database)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medexam.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if args.server_side_binding:
        from django.conf import settings

        # Set before the first query opens a connection; the URL cannot carry a boolean.
        settings.DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
    from django.core.management import call_command
    from django.db import connection

    from medexam.models import Question
    from medexam.models.questions import compute_content_hash
    from medexam.services.imports import import_job_create, import_job_execute

    call_command("migrate", verbosity=0)

    def empty_questions() -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE medexam_question, medexam_questionchange CASCADE")

    rows = generate_rows(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.jsonl"
        path.write_text(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
        )

        # Baseline: the same rows, hashed, inserted with bulk_create and no checks at all.
        empty_questions()
        started = time.perf_counter()
        Question.objects.bulk_create(
            [
                Question(
                    stem=row["stem"],
                    options=row["options"],
                    answer_key=row["answer"],
                    question_type=row["type"],
                    source=row["source"],
                    source_id=row["source_id"],
                    content_hash=compute_content_hash(row["stem"], row["options"]),
                )
                for row in rows
            ],
            batch_size=2000,
        )
        baseline_s = time.perf_counter() - started

        empty_questions()
        started = time.perf_counter()
        first = import_job_execute(job_id=import_job_create(path=path, file_format="jsonl").pk)
        import_s = time.perf_counter() - started

        started = time.perf_counter()
        again = import_job_execute(job_id=import_job_create(path=path, file_format="jsonl").pk)
        reimport_s = time.perf_counter() - started

    assert first.created == args.rows, first.rejected[:5]
    assert again.created == 0
    assert again.unchanged == args.rows
    options = connection.settings_dict["OPTIONS"]
    binding = "server-side" if options.get("server_side_binding") is True else "client-side"
    print(f"rows: {args.rows}, database: {args.database} ({connection.vendor}, {binding} binding)")
    print(f"{'phase':<40}{'seconds':>10}{'questions/s':>14}")
    for label, seconds in [
        ("baseline: bare bulk_create", baseline_s),
        ("import_questions service (validated)", import_s),
        ("re-import of the same file (no-op)", reimport_s),
    ]:
        print(f"{label:<40}{seconds:>10.2f}{args.rows / seconds:>14,.0f}")


if __name__ == "__main__":
    main()

"""Time responses_reextract on stored responses, then roll everything back.

Creates one model, 2,000 questions and N responses (default 20,000, ten
samples each) with stale extraction fields inside a transaction, re-extracts
them all, prints rows per second and rolls back. Needs a migrated database:

    DATABASE_URL=postgres://... DJANGO_SECRET_KEY=dev \
        /work/venv/bin/python -m bench.reextract_speed 20000
"""

from __future__ import annotations

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medexam.settings")
django.setup()

from django.db import transaction  # noqa: E402

from medexam.models import ModelResponse  # noqa: E402
from medexam.services.responses import responses_reextract  # noqa: E402
from tests.run_rows import make_model, make_question, make_run  # noqa: E402

REPLIES = [
    "<think>A看似对，但需排除。</think>综合分析，故选{key}。",
    "答案：{key}",
    "The answer is ({key}).",
    "我认为是 **{key}**",
    "这道题需要综合判断。",
]


class Rollback(Exception):
    pass


def main(count: int) -> None:
    try:
        with transaction.atomic():
            run = make_run(make_model("bench-model"))
            questions = [make_question(900000 + n, answer_key="ABCDE"[n % 5]) for n in range(2000)]
            rows = [
                ModelResponse(
                    run=run,
                    question=questions[n % len(questions)],
                    sample_index=n // len(questions),
                    state="done",
                    raw_text=REPLIES[n % len(REPLIES)].format(key="ABCDE"[n % 5]),
                    extraction_version="0",
                )
                for n in range(count)
            ]
            ModelResponse.objects.bulk_create(rows, batch_size=2000)

            started = time.perf_counter()
            result = responses_reextract(run_id=run.pk)
            elapsed = time.perf_counter() - started
            print(
                f"responses: {result.total}, changed: {result.changed}, "
                f"seconds: {elapsed:.2f}, rows/s: {result.total / elapsed:.0f}"
            )
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)

"""A background import delivered through Redis to a real Celery worker process."""

import json
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from medexam.models import ImportJob, Question
from medexam.services.imports import import_job_create

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL or connection.vendor != "postgresql",
    reason="needs CELERY_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL)",
)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_background_import_stores_questions(tmp_path, celery_worker_process):
    from medexam.tasks import import_questions_task

    path = tmp_path / "bank.jsonl"
    records = [
        {"stem": f"后台导入第{i}题", "options": {"A": "甲", "B": "乙"}, "answer": "A"}
        for i in range(50)
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    job = import_job_create(path=path, file_format="jsonl")
    import_questions_task.delay(job.pk)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED):
            break
        time.sleep(0.5)
    assert job.status == ImportJob.Status.SUCCEEDED
    assert Question.objects.count() == 50


@pytest.mark.django_db
def test_task_skips_finished_job(tmp_path):
    from medexam.services.imports import import_job_execute

    path = tmp_path / "bank.jsonl"
    path.write_text('{"stem": "题", "options": {"A": "x", "B": "y"}, "answer": "A"}', "utf-8")
    job = import_job_create(path=path, file_format="jsonl")
    import_job_execute(job_id=job.pk)
    again = import_job_execute(job_id=job.pk)
    assert again.created == 0
    assert Question.objects.count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_stores_chinese_reasons(tmp_path, celery_worker_process):
    from medexam.tasks import import_questions_task

    path = tmp_path / "bank.jsonl"
    record = {"stem": "心衰首选", "options": {"A": "利尿剂", "B": "手术"}, "answer": "A"}
    lines = [record, dict(record, stem="", answer="A")]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in lines), encoding="utf-8")
    job = import_job_create(path=path, file_format="jsonl")
    import_questions_task.delay(job.pk)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in (ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED):
            break
        time.sleep(0.5)
    assert job.status == ImportJob.Status.FAILED
    assert job.errors == [{"line": 2, "field": "stem", "reason": "题干为空；请填写题目文本"}]
    assert job.error_message == "1 行被拒绝，未存储任何题目。请修正后重新导入。"

"""Near-duplicate groups stored on questions, in imports, and in the admin."""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from medexam.importers import ReaderOptions
from medexam.models import Question
from medexam.services.imports import import_job_create, import_job_execute
from medexam.services.near_duplicates import near_duplicates_refresh
from medexam.services.questions import question_save
from tests.api_personas import make_question, plain_static_storage  # noqa: F401

pytestmark = pytest.mark.django_db

STEM = "患者男，62岁，突发胸骨后压榨样疼痛2小时，伴大汗，心电图示V1-V4导联ST段抬高，最可能的诊断是"
EDITED = (
    "患者男性，62岁，突发胸骨后压榨性疼痛2小时，伴大汗。心电图示V1～V4导联ST段抬高，最可能的诊断为"
)
OTHER = "女，35岁，面部蝶形红斑伴关节痛半年，抗核抗体阳性，首选的治疗药物是"


def test_refresh_groups_edited_stems_and_backfills():
    first, other, second = make_question(STEM), make_question(OTHER), make_question(EDITED)
    assert near_duplicates_refresh() == 1
    for question in (first, other, second):
        question.refresh_from_db()
        assert question.stem_signature
    assert first.near_duplicate_group == first.pk
    assert second.near_duplicate_group == first.pk
    assert 0.7 <= second.near_duplicate_similarity < 1.0
    assert other.near_duplicate_group is None


def test_refresh_clears_group_after_edit():
    first, second = make_question(STEM), make_question(EDITED)
    near_duplicates_refresh()
    second.stem = OTHER
    question_save(question=second, user_id=None, reason="")
    near_duplicates_refresh()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.near_duplicate_group is None
    assert second.near_duplicate_group is None


def test_import_lists_edited_stem_of_stored_question(
    tmp_path, eager, django_capture_on_commit_callbacks
):
    stored = make_question(STEM)
    path = tmp_path / "bank.jsonl"
    path.write_text(
        json.dumps({"stem": EDITED, "options": {"A": "甲", "B": "乙"}, "answer": "A"}) + "\n",
        encoding="utf-8",
    )
    job = import_job_create(path=path, file_format="jsonl", reader_options=ReaderOptions())
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = import_job_execute(job_id=job.pk)
    # The whole bank is regrouped by a task queued once the import commits.
    assert len(callbacks) == 1
    [group] = report.near_duplicates
    assert group["kind"] == "stored"
    assert group["lines"] == [1]
    assert group["question_ids"] == [stored.pk]
    assert group["similarity"] >= 0.7

    # A real import stores the new question's signature and marks its group.
    new = Question.objects.get(stem=EDITED)
    stored.refresh_from_db()
    assert new.stem_signature
    assert new.near_duplicate_group == stored.pk == stored.near_duplicate_group


def test_reimport_of_same_question_not_listed(tmp_path):
    path = tmp_path / "bank.jsonl"
    path.write_text(
        json.dumps({"stem": STEM, "options": {"A": "甲", "B": "乙"}, "answer": "A"}) + "\n",
        encoding="utf-8",
    )
    for _attempt in range(2):
        job = import_job_create(path=path, file_format="jsonl", reader_options=ReaderOptions())
        report = import_job_execute(job_id=job.pk)
    assert report.unchanged == 1
    assert report.near_duplicates == []


def test_command_reports_groups(capsys):
    make_question(STEM)
    make_question(EDITED)
    call_command("find_near_duplicates", "--threshold", "0.7")
    assert "1" in capsys.readouterr().out
    assert Question.objects.filter(near_duplicate_group__isnull=False).count() == 2


@pytest.mark.usefixtures("plain_static_storage")
def test_admin_filter_link_and_members(make_user):
    first, second = make_question(STEM), make_question(EDITED)
    make_question(OTHER)
    near_duplicates_refresh()
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.force_login(make_user("admin", is_superuser=True, is_staff=True))

    page = client.get("/admin/medexam/question/", {"near_duplicates": "yes"}).content.decode()
    assert "面部蝶形红斑" not in page
    assert f"near_duplicate_group__exact={first.pk}" in page
    assert f"第 {first.pk} 组" in page

    group = client.get("/admin/medexam/question/", {"near_duplicate_group__exact": first.pk})
    assert group.status_code == 200
    assert "面部蝶形红斑" not in group.content.decode()

    change = client.get(f"/admin/medexam/question/{second.pk}/change/").content.decode()
    assert f"/admin/medexam/question/{first.pk}/change/" in change


@pytest.mark.usefixtures("plain_static_storage")
def test_import_job_page_lists_groups(make_user, tmp_path):
    stored = make_question(STEM)
    path = tmp_path / "bank.jsonl"
    path.write_text(
        json.dumps({"stem": EDITED, "options": {"A": "甲", "B": "乙"}, "answer": "A"}) + "\n",
        encoding="utf-8",
    )
    job = import_job_create(
        path=path, file_format="jsonl", dry_run=True, reader_options=ReaderOptions()
    )
    import_job_execute(job_id=job.pk)
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.force_login(make_user("admin", is_superuser=True, is_staff=True))

    listing = client.get("/admin/medexam/importjob/").content.decode()
    assert "近似重复组数" in listing
    page = client.get(f"/admin/medexam/importjob/{job.pk}/change/").content.decode()
    assert "与已存题目：第 1 行，相似度" in page
    assert f"/admin/medexam/question/{stored.pk}/change/" in page

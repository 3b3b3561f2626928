"""The coordinator's datasets page and its downloads."""

from __future__ import annotations

import io
import re

import pyarrow.parquet as pq
import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from medexam import roles
from medexam.models import Attempt, DatasetVersion, ModelResponse, Question, ValidityRuleSet
from tests.review_data import make_question, make_response, make_review, make_reviewers, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_http(settings):
    # The test client speaks plain HTTP; production settings redirect it to HTTPS.
    settings.SECURE_SSL_REDIRECT = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def coordinator(client, make_user):
    user = make_user("coordinator")
    user.groups.add(Group.objects.get(name=roles.COORDINATOR))
    client.force_login(user)
    return user


@pytest.fixture
def bank():
    reviewers = make_reviewers(3)
    run = make_run("model-a")
    for index in range(2):
        question = make_question(stem=f"<script>alert({index})</script> 题干")
        response = make_response(run, question, "A")
        for reviewer in reviewers:
            make_review(response, reviewer, "correct")
    return ValidityRuleSet.objects.create(name="default")


def test_page_rejects_reviewer(client, make_user):
    user = make_user("physician")
    user.groups.add(Group.objects.get(name=roles.REVIEWER))
    client.force_login(user)
    assert client.get("/datasets/").status_code == 403


def test_page_requires_login(client):
    response = client.get("/datasets/")
    assert response.status_code == 302


def test_page_shows_impact(client, coordinator, bank):
    response = client.get("/datasets/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b"model-a" in response.content


def test_page_leaves_configuration_failures_unranked(client, coordinator, bank):
    wrong_id = make_run("mock-wrongid")
    for question in Question.objects.all():
        failed = make_response(wrong_id, question, None)
        ModelResponse.objects.filter(pk=failed.pk).update(attempts=1)
        Attempt.objects.create(
            response=failed,
            number=1,
            outcome=Attempt.Outcome.CLIENT_ERROR,
            http_status=404,
            started_at=timezone.now(),
        )

    page = client.get("/datasets/").content.decode()

    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>", page)
    assert "model-a" in rows
    assert "mock-wrongid" not in rows
    assert "以下模型没有可计入的回答，未参与排名：" in page
    assert "mock-wrongid." in page


def _create_version(client, bank, django_capture_on_commit_callbacks, **extra):
    """POST the form and run the build the request enqueues (tasks are eager here)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/datasets/", {"name": "cmb", "rule_set": bank.id, "resampling": "units", **extra}
        )
    return response


def test_page_request_returns_pending_version(client, coordinator, bank):
    # Without a worker the build never starts: the request only reserves the version.
    response = client.post(
        "/datasets/", {"name": "cmb", "rule_set": bank.id, "resampling": "units"}
    )
    version = DatasetVersion.objects.get(name="cmb")
    assert response.status_code == 302
    assert version.status == DatasetVersion.Status.PENDING
    assert version.created_by == coordinator
    assert not version.items.exists()


def test_page_creates_version(client, coordinator, bank, eager, django_capture_on_commit_callbacks):
    response = _create_version(client, bank, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    version = DatasetVersion.objects.get(name="cmb")
    assert version.status == DatasetVersion.Status.PUBLISHED
    assert version.item_count == 2
    assert version.created_by == coordinator
    assert Question.objects.filter(validity="validated").count() == 2


def test_page_shows_pending_progress(client, coordinator, bank):
    client.post("/datasets/", {"name": "cmb", "rule_set": bank.id, "resampling": "pairs"})
    version = DatasetVersion.objects.get(name="cmb")
    DatasetVersion.objects.filter(pk=version.pk).update(
        status="building", item_count=1, items_total=2
    )
    page = client.get("/datasets/").content.decode("utf-8")
    assert "正在生成" in page
    assert '<progress max="2" value="1">' in page
    assert f"/datasets/{version.pk}/download/csv/" not in page


def test_progress_json(client, coordinator, bank):
    client.post("/datasets/", {"name": "cmb", "rule_set": bank.id, "resampling": "units"})
    version = DatasetVersion.objects.get(name="cmb")
    data = client.get(f"/datasets/{version.pk}/progress/").json()
    assert data["status"] == "pending"
    assert data["finished"] is False
    assert data["items_done"] == 0


def test_page_shows_failure_reason(client, coordinator, bank):
    client.post("/datasets/", {"name": "cmb", "rule_set": bank.id, "resampling": "units"})
    DatasetVersion.objects.filter(name="cmb").update(
        status="failed", error_message="The validity rule set was deleted"
    )
    page = client.get("/datasets/").content.decode("utf-8")
    assert "失败" in page
    assert "The validity rule set was deleted" in page


def test_download_unpublished_404(client, coordinator, bank):
    client.post("/datasets/", {"name": "cmb", "rule_set": bank.id, "resampling": "units"})
    version = DatasetVersion.objects.get(name="cmb")
    assert client.get(f"/datasets/{version.pk}/download/jsonl/").status_code == 404


def test_page_rejects_invalid_name(client, coordinator, bank):
    response = client.post("/datasets/", {"name": "有 空格", "rule_set": bank.id})
    assert response.status_code == 200
    assert not DatasetVersion.objects.exists()


def test_download_csv_attachment(
    client, coordinator, bank, eager, django_capture_on_commit_callbacks
):
    _create_version(client, bank, django_capture_on_commit_callbacks)
    version = DatasetVersion.objects.get(name="cmb")
    response = client.get(f"/datasets/{version.pk}/download/csv/")
    body = b"".join(response.streaming_content)
    assert response["Content-Type"].startswith("text/csv")
    assert body.startswith(b"\xef\xbb\xbf")
    assert 'filename="cmb-v1.csv"' in response["Content-Disposition"]


def test_download_parquet(client, coordinator, bank, eager, django_capture_on_commit_callbacks):
    _create_version(client, bank, django_capture_on_commit_callbacks)
    version = DatasetVersion.objects.get(name="cmb")
    response = client.get(f"/datasets/{version.pk}/download/parquet/")
    table = pq.read_table(io.BytesIO(b"".join(response.streaming_content)))
    assert table.num_rows == 2


def test_download_unknown_format_404(client, coordinator, bank):
    assert client.get("/datasets/current/download/xlsx/").status_code == 404


def test_current_datasheet_download(client, coordinator, bank):
    response = client.get("/datasets/current/download/datasheet/")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert "## Reviewer agreement / 审核一致性" in text


def test_page_chinese_by_default(client, coordinator, bank):
    response = client.get("/datasets/")
    assert "数据集版本" in response.content.decode("utf-8")


def test_page_shows_specialty_names_in_chinese(client, coordinator, bank):
    page = client.get("/datasets/").content.decode("utf-8")
    removed = page[page.index("各专科") :]
    assert "心血管内科" in removed
    assert "cardiovascular" not in removed


def _visible_text(page: bytes) -> str:
    return re.sub(r"<[^>]+>", " ", page.decode("utf-8"))


def test_page_labels_in_chinese(
    client, coordinator, bank, eager, django_capture_on_commit_callbacks
):
    _create_version(client, bank, django_capture_on_commit_callbacks)
    text = _visible_text(client.get("/datasets/").content)
    for label in ("已发布", "数据说明", "自助法重抽样", "状态"):
        assert label in text
    for english in ("Items removed", "Downloads", "datasheet", "published", "cardiovascular"):
        assert english not in text


def test_page_specialty_names_in_english(client, coordinator, bank, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    text = _visible_text(client.get("/datasets/").content)
    assert "Cardiovascular medicine" in text
    assert "心血管内科" not in text


def test_page_labels_seeded_rule_set(client, coordinator):
    standard = ValidityRuleSet.objects.get(name="standard")

    page = client.get("/datasets/").content.decode()

    assert f'<option value="{standard.pk}">标准规则（standard）</option>' in page
    assert "数据集名称：" in page


def test_page_impact_units(client, coordinator, settings):
    from medexam.models import LanguageModel

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    baseline_run = make_run("always-A")
    LanguageModel.objects.filter(name="always-A").update(architecture="baseline")
    model_run = make_run("model-b")
    questions = [make_question() for _ in range(8)]
    for index, question in enumerate(questions):
        make_response(baseline_run, question, "A" if index < 3 else "B")
        make_response(model_run, question, "A" if index < 5 else "B")
    # Validated items: 2 of the baseline's 3 right answers and 3 of its 5 wrong ones.
    validated = [questions[i].pk for i in (0, 1, 3, 4, 5)]
    Question.objects.filter(pk__in=validated).update(validity="validated")

    text = _visible_text(client.get("/datasets/").content)

    # 3/8 = 37.5% before, 2/5 = 40.0% after: +2.5 points, not a fraction.
    assert "37.5% (3/8)" in text
    assert "40.0% (2/5)" in text
    assert "+2.5" in text
    assert "0.025" not in text
    assert "Change in accuracy (percentage points)" in text
    assert re.search(r"baseline\s+always-A", text)


def test_page_validity_term_matches_leaderboard(client, coordinator, bank):
    datasets = _visible_text(client.get("/datasets/").content)
    leaderboard = _visible_text(client.get("/leaderboard/?validated=1").content)

    assert "已确认有效" in datasets
    assert "已确认有效" in leaderboard
    assert "已验证" not in leaderboard

"""The coordinator's datasets page and its downloads."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest
from django.contrib.auth.models import Group

from medexam import roles
from medexam.models import DatasetVersion, Question, ValidityRuleSet
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


def test_page_creates_version(client, coordinator, bank):
    response = client.post("/datasets/", {"name": "cmb", "rule_set": bank.id})
    assert response.status_code == 302
    version = DatasetVersion.objects.get(name="cmb")
    assert version.item_count == 2
    assert version.created_by == coordinator
    assert Question.objects.filter(validity="validated").count() == 2


def test_page_rejects_invalid_name(client, coordinator, bank):
    response = client.post("/datasets/", {"name": "有 空格", "rule_set": bank.id})
    assert response.status_code == 200
    assert not DatasetVersion.objects.exists()


def test_download_csv_attachment(client, coordinator, bank):
    client.post("/datasets/", {"name": "cmb", "rule_set": bank.id})
    version = DatasetVersion.objects.get(name="cmb")
    response = client.get(f"/datasets/{version.pk}/download/csv/")
    body = b"".join(response.streaming_content)
    assert response["Content-Type"].startswith("text/csv")
    assert body.startswith(b"\xef\xbb\xbf")
    assert 'filename="cmb-v1.csv"' in response["Content-Disposition"]


def test_download_parquet(client, coordinator, bank):
    client.post("/datasets/", {"name": "cmb", "rule_set": bank.id})
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


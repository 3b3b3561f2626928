"""The datasets API: list, detail, export, impact."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from medexam import roles
from medexam.models import ValidityRuleSet
from medexam.services.datasets import dataset_version_create, dataset_version_request
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
def api(make_user):
    user = make_user("coordinator")
    user.groups.add(Group.objects.get(name=roles.COORDINATOR))
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def version():
    reviewers = make_reviewers(3)
    run = make_run("model-a")
    question = make_question()
    response = make_response(run, question, "A")
    for reviewer in reviewers:
        make_review(response, reviewer, "correct")
    rule_set = ValidityRuleSet.objects.create(name="default")
    return dataset_version_create(name="cmb", rule_set_id=rule_set.id, bootstrap_samples=0)


def test_list_versions(api, version):
    body = api.get("/api/datasets/").json()
    assert body["count"] == 1
    assert body["results"][0]["content_hash"] == version.content_hash


def test_detail_has_no_nan(api, version):
    response = api.get(f"/api/datasets/{version.pk}/")
    assert response.status_code == 200
    assert "NaN" not in response.content.decode("utf-8")


def test_export_jsonl(api, version):
    response = api.get(f"/api/datasets/{version.pk}/export/jsonl/")
    lines = b"".join(response.streaming_content).decode("utf-8").splitlines()
    assert json.loads(lines[0])["validity"] == "validated"


def test_export_unknown_format(api, version):
    assert api.get(f"/api/datasets/{version.pk}/export/xml/").status_code == 404


def test_list_rejects_reviewer(make_user):
    user = make_user("physician")
    user.groups.add(Group.objects.get(name=roles.REVIEWER))
    client = APIClient()
    client.force_authenticate(user)
    assert client.get("/api/datasets/").status_code == 403


def test_impact_endpoint(api, version):
    body = api.get("/api/datasets/impact/").json()
    assert body["models"][0]["after"]["accuracy"] == 1.0


def test_detail_states_status(api, version):
    body = api.get(f"/api/datasets/{version.pk}/").json()
    assert body["status"] == "published"
    assert body["items_total"] == body["item_count"] == 1
    assert body["error_message"] == ""
    assert body["resampling"] == "units"


def test_export_of_pending_version_conflicts(api, version):
    pending = dataset_version_request(
        name="cmb", rule_set_id=ValidityRuleSet.objects.get(name="default").id, enqueue=False
    )
    response = api.get(f"/api/datasets/{pending.pk}/export/jsonl/")
    assert response.status_code == 409
    assert "pending" in response.json()["detail"]
    listed = {row["version"]: row["status"] for row in api.get("/api/datasets/").json()["results"]}
    assert listed == {1: "published", 2: "pending"}

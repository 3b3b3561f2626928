"""Dataset versions in the admin: visible, never edited, published ones never deleted."""

import pytest

from medexam.models import DatasetVersion, ValidityRuleSet
from medexam.services.datasets import dataset_version_create, dataset_version_request
from tests.review_data import make_question, make_response, make_review, make_reviewers, make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("admin", is_superuser=True, is_staff=True))
    return client


@pytest.fixture
def rule_set():
    reviewers = make_reviewers(3)
    run = make_run("model-a")
    response = make_response(run, make_question(), "A")
    for reviewer in reviewers:
        make_review(response, reviewer, "correct")
    return ValidityRuleSet.objects.create(name="admin rules")


@pytest.fixture
def published(rule_set):
    return dataset_version_create(name="cmb", rule_set_id=rule_set.id, bootstrap_samples=0)


def test_change_page_is_read_only(admin_client, published):
    page = admin_client.get(f"/admin/medexam/datasetversion/{published.pk}/change/")
    text = page.content.decode("utf-8")
    assert page.status_code == 200
    assert 'name="_save"' not in text
    assert 'name="name"' not in text
    assert published.content_hash in text


def test_change_post_changes_nothing(admin_client, published):
    response = admin_client.post(
        f"/admin/medexam/datasetversion/{published.pk}/change/",
        {"name": "renamed", "version": "9", "status": "pending"},
    )
    stored = DatasetVersion.objects.get(pk=published.pk)
    assert response.status_code == 403
    assert (stored.name, stored.version, stored.status) == ("cmb", 1, "published")


def test_published_delete_forbidden(admin_client, published):
    url = f"/admin/medexam/datasetversion/{published.pk}/delete/"
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert DatasetVersion.objects.filter(pk=published.pk).exists()


def test_no_bulk_delete_action(admin_client, published):
    page = admin_client.get("/admin/medexam/datasetversion/").content.decode("utf-8")
    assert "delete_selected" not in page
    response = admin_client.post(
        "/admin/medexam/datasetversion/",
        {"action": "delete_selected", "_selected_action": [published.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert DatasetVersion.objects.filter(pk=published.pk).exists()


def test_add_forbidden(admin_client):
    assert admin_client.get("/admin/medexam/datasetversion/add/").status_code == 403


def test_failed_version_deletable(admin_client, rule_set):
    version = dataset_version_request(name="cmb", rule_set_id=rule_set.id, enqueue=False)
    DatasetVersion.objects.filter(pk=version.pk).update(status="failed", error_message="x")
    url = f"/admin/medexam/datasetversion/{version.pk}/delete/"
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not DatasetVersion.objects.filter(pk=version.pk).exists()

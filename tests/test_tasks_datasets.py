"""Dataset version builds delivered through Redis to a real Celery worker process."""

import importlib
import time

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection

from medexam import roles
from medexam.models import DatasetItem, DatasetVersion, ValidityRuleSet
from medexam.services.datasets import ALL_BUILDS_KEY, BUILD_LOCK_CLASS, dataset_version_request
from tests.review_data import make_question, make_response, make_review, make_reviewers, make_run

pytestmark = [
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL or connection.vendor != "postgresql",
        reason="needs CELERY_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL)",
    ),
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

FINISHED = (DatasetVersion.Status.PUBLISHED, DatasetVersion.Status.FAILED)


@pytest.fixture(autouse=True)
def _seed_rows():
    # A transactional test empties every table afterwards, including the rows
    # that data migrations seeded, so seed specialties, levels and role groups again.
    seeds = importlib.import_module("medexam.migrations.0002_seed_specialties_levels")
    groups = importlib.import_module("medexam.migrations.0003_create_role_groups")
    seeds.seed(django_apps, None)
    groups.create_groups(django_apps, None)


def _bank(count: int = 6) -> ValidityRuleSet:
    reviewers = make_reviewers(3)
    run = make_run("model-a")
    for index in range(count):
        response = make_response(run, make_question(stem=f"后台生成第{index}题"), "A")
        for reviewer in reviewers:
            make_review(response, reviewer, "correct")
    return ValidityRuleSet.objects.create(name="worker rules")


def _wait_finished(version_id: int, timeout: float = 90) -> DatasetVersion:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        version = DatasetVersion.objects.get(pk=version_id)
        if version.status in FINISHED:
            return version
        time.sleep(0.3)
    raise AssertionError(f"dataset version {version_id} still {version.status} after {timeout} s")


def test_page_request_built_by_worker(client, make_user, celery_worker_process):
    rule_set = _bank()
    user = make_user("coordinator")
    user.groups.add(Group.objects.get(name=roles.COORDINATOR))
    client.force_login(user)

    response = client.post(
        "/datasets/", {"name": "cmb", "rule_set": rule_set.id, "resampling": "pairs"}
    )
    assert response.status_code == 302
    version = _wait_finished(DatasetVersion.objects.get(name="cmb").pk)

    assert version.status == DatasetVersion.Status.PUBLISHED
    assert version.item_count == 6
    assert version.items_total == 6
    assert len(version.content_hash) == 64
    verdict = version.summary["agreement"]["dimensions"]["verdict"]
    assert verdict["bootstrap"]["resampling"] == "pairs"
    progress = client.get(f"/datasets/{version.pk}/progress/").json()
    assert progress["finished"] is True
    assert progress["items_done"] == 6


def test_redelivered_task_adds_nothing(celery_worker_process):
    from medexam.tasks import build_dataset_version_task

    rule_set = _bank()
    first = dataset_version_request(name="cmb", rule_set_id=rule_set.id, bootstrap_samples=0)
    first = _wait_finished(first.pk)
    build_dataset_version_task.delay(first.pk)
    build_dataset_version_task.delay(first.pk)
    # The solo worker runs tasks in order, so once a later version is built the
    # two redelivered tasks have been handled.
    second = dataset_version_request(name="cmb", rule_set_id=rule_set.id, bootstrap_samples=0)
    second = _wait_finished(second.pk)

    again = DatasetVersion.objects.get(pk=first.pk)
    assert DatasetVersion.objects.count() == 2
    assert second.version == 2
    assert again.status == DatasetVersion.Status.PUBLISHED
    assert again.finished_at == first.finished_at
    assert DatasetItem.objects.filter(dataset=first).count() == 6


def test_worker_records_failure_reason(celery_worker_process):
    from medexam.tasks import build_dataset_version_task

    rule_set = _bank(2)
    version = dataset_version_request(name="cmb", rule_set_id=rule_set.id, enqueue=False)
    ValidityRuleSet.objects.filter(pk=rule_set.pk).update(flag_actions={"ambiguous": "drop"})
    build_dataset_version_task.delay(version.pk)
    version = _wait_finished(version.pk)

    assert version.status == DatasetVersion.Status.FAILED
    assert "invalid action 'drop'" in version.error_message
    assert not DatasetItem.objects.filter(dataset=version).exists()


def test_worker_waits_for_running_build(celery_worker_process):
    rule_set = _bank(2)
    # Another session stands in for a worker that is building some other version.
    other = connection.copy()
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [BUILD_LOCK_CLASS, ALL_BUILDS_KEY])
    try:
        version = dataset_version_request(name="cmb", rule_set_id=rule_set.id, bootstrap_samples=0)
        time.sleep(3)
        assert DatasetVersion.objects.get(pk=version.pk).status == DatasetVersion.Status.PENDING
    finally:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [BUILD_LOCK_CLASS, ALL_BUILDS_KEY])
        other.close()
    assert _wait_finished(version.pk).status == DatasetVersion.Status.PUBLISHED

"""The datasets page in headless Chromium: a version requested, built by a worker, published."""

from __future__ import annotations

import importlib
import shutil

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection

from medexam import roles
from medexam.models import DatasetVersion, ValidityRuleSet
from medexam.services.datasets import ALL_BUILDS_KEY, BUILD_LOCK_CLASS
from tests.review_data import make_question, make_response, make_review, make_reviewers, make_run
from tests.test_review_browser import (  # noqa: F401
    CHROMIUM,
    browser_page,
    review_live_server,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is not installed"),
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL or connection.vendor != "postgresql",
        reason="needs CELERY_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL)",
    ),
]


def _seed_rows() -> None:
    # Earlier transactional tests empty every table, including migration-seeded rows.
    importlib.import_module("medexam.migrations.0002_seed_specialties_levels").seed(
        django_apps, None
    )
    importlib.import_module("medexam.migrations.0003_create_role_groups").create_groups(
        django_apps, None
    )


@pytest.mark.django_db(transaction=True)
def test_page_shows_build_progress_then_published(
    review_live_server,  # noqa: F811
    browser_page,  # noqa: F811
    make_user,
    celery_worker_process,
):
    _seed_rows()
    reviewers = make_reviewers(3)
    run = make_run("model-a")
    for index in range(3):
        response = make_response(run, make_question(stem=f"浏览器第{index}题"), "A")
        for reviewer in reviewers:
            make_review(response, reviewer, "correct")
    ValidityRuleSet.objects.get_or_create(name="browser rules")
    user = make_user("coordinator")
    user.groups.add(Group.objects.get(name=roles.COORDINATOR))
    page = browser_page

    page.goto(f"{review_live_server.url}/accounts/login/?next=/datasets/")
    page.fill("#id_username", "coordinator")
    page.fill("#id_password", "pw-for-tests")
    with page.expect_navigation():
        page.press("#id_password", "Enter")

    # Another session stands in for a build already running, so this one waits.
    other = connection.copy()
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [BUILD_LOCK_CLASS, ALL_BUILDS_KEY])
    try:
        page.fill("#id_name", "browser")
        page.select_option("#id_rule_set", label="browser rules")
        page.select_option("#id_resampling", "pairs")
        with page.expect_navigation():
            page.click("button.primary")
        row = page.locator("tr.dataset-version").first
        assert "等待后台处理" in row.inner_text()
        assert row.locator("progress").count() == 1
        assert row.locator("a").count() == 0
    finally:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [BUILD_LOCK_CLASS, ALL_BUILDS_KEY])
        other.close()

    # The page polls the progress URL and reloads itself once the version is published.
    page.wait_for_selector('tr.dataset-version[data-status="published"]', timeout=60000)
    row = page.locator("tr.dataset-version").first
    assert "已发布" in row.inner_text()
    assert row.locator("a", has_text="JSONL").count() == 1
    version = DatasetVersion.objects.get(name="browser")
    assert version.status == DatasetVersion.Status.PUBLISHED
    assert version.item_count == 3

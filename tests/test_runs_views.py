"""/runs/ pages: who may see them, progress JSON, pause/resume/cancel buttons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group

from medexam import roles
from medexam.models import EvaluationRun
from medexam.services.runs import run_start
from tests.generation_helpers import make_endpoint, make_questions, make_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plain_http")]


@pytest.fixture
def curator(make_user, client):
    user = make_user("curator")
    user.groups.add(Group.objects.get_or_create(name=roles.CURATOR)[0])
    client.force_login(user)
    return user


@pytest.fixture
def running_run():
    run = make_run(make_endpoint("http://127.0.0.1:9/v1"), make_questions(3))
    run_start(run_id=run.pk)
    return run


def test_list_shows_run(curator, client, running_run):
    page = client.get("/runs/")

    assert page.status_code == 200
    assert running_run.model.name in page.content.decode()


def test_list_names_time_zone_of_times(curator, client, running_run, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    EvaluationRun.objects.filter(pk=running_run.pk).update(
        created_at=datetime(2026, 12, 5, 1, 30, tzinfo=UTC)
    )
    page = client.get("/runs/").content.decode()

    assert "(UTC+08:00)" in page
    expected = '<time datetime="2026-12-05T09:30+08:00" title="UTC+08:00">2026-12-05 09:30</time>'
    assert expected in page


def test_reviewer_cannot_see_runs(make_user, client, running_run):
    reviewer = make_user("reviewer")
    reviewer.groups.add(Group.objects.get_or_create(name=roles.REVIEWER)[0])
    client.force_login(reviewer)

    assert client.get("/runs/").status_code == 403
    assert client.get(f"/runs/{running_run.pk}/progress.json").status_code == 403


def test_anonymous_redirected_to_login(client):
    assert client.get("/runs/").status_code == 302


def test_progress_json_counts(curator, client, running_run):
    data = client.get(f"/runs/{running_run.pk}/progress.json").json()

    assert data["total"] == 3
    assert data["pending"] == 3
    assert data["finished"] is False


def test_detail_escapes_failure_reason(curator, client, running_run):
    running_run.responses.filter(pk=running_run.responses.first().pk).update(
        state="failed", error="<script>alert(1)</script>"
    )

    body = client.get(f"/runs/{running_run.pk}/").content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_pause_button_pauses(curator, client, running_run):
    client.post(f"/runs/{running_run.pk}/pause/")
    running_run.refresh_from_db()

    assert running_run.status == EvaluationRun.Status.PAUSED


def test_cancel_button_cancels(curator, client, running_run):
    client.post(f"/runs/{running_run.pk}/cancel/")
    running_run.refresh_from_db()

    assert running_run.status == EvaluationRun.Status.CANCELLED


def test_action_needs_post(curator, client, running_run):
    assert client.get(f"/runs/{running_run.pk}/pause/").status_code == 405


def test_unknown_action_not_found(curator, client, running_run):
    assert client.post(f"/runs/{running_run.pk}/explode/").status_code == 404


def test_detail_labels_in_chinese(curator, client, running_run):
    body = client.get(f"/runs/{running_run.pk}/").content.decode()

    assert "服务端点" in body
    assert "Endpoint" not in body
    assert "运行中" in body


def test_detail_failure_reason_in_language(curator, client, running_run, settings):
    running_run.responses.filter(pk=running_run.responses.first().pk).update(
        state="failed", error="request timed out"
    )

    chinese = client.get(f"/runs/{running_run.pk}/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(f"/runs/{running_run.pk}/").content.decode()

    assert "请求超时" in chinese
    assert "request timed out" in english
    assert "Endpoint" in english


def test_detail_uses_chinese_colon(curator, client, running_run):
    page = client.get(f"/runs/{running_run.pk}/").content.decode()

    assert "状态：" in page
    assert "模型：" in page
    assert "状态:" not in page
    assert "模型:" not in page

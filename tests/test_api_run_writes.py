"""Writes to /api/runs/: create, pause, resume and cancel, for curators only."""

import pytest
from django.conf import settings

from medexam.models import Endpoint, EvaluationRun, LanguageModel, ModelResponse
from medexam.roles import ADJUDICATOR, COORDINATOR, CURATOR, REVIEWER
from tests.api_personas import client_for, https_client, make_question

pytestmark = pytest.mark.django_db


@pytest.fixture
def model():
    model = LanguageModel.objects.create(name="qwen-test")
    Endpoint.objects.create(
        model=model,
        name="qwen-test-ep",
        base_url="http://127.0.0.1:9/v1",
        served_model_id="qwen-test",
    )
    return model


@pytest.fixture
def curator(make_user):
    client = client_for(make_user, "cur", CURATOR)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def create_run(client, model, **extra):
    return client.post("/api/runs/", {"model": model.pk, "start": False, **extra}, format="json")


@pytest.mark.parametrize("role", [REVIEWER, ADJUDICATOR, COORDINATOR])
def test_create_forbidden_for_other_roles(make_user, model, role):
    client = client_for(make_user, f"user-{role}", role)
    assert create_run(client, model).status_code == 403
    assert not EvaluationRun.objects.exists()


def test_create_rejects_anonymous(model):
    assert create_run(https_client(), model).status_code == 401


def test_curator_creates_pending_run(curator, model):
    reply = create_run(curator, model, question_filter={"specialty": "oncology", "limit": 5})
    assert reply.status_code == 201, reply.json()
    run = EvaluationRun.objects.get()
    assert run.status == EvaluationRun.Status.PENDING
    assert run.endpoint.name == "qwen-test-ep"
    assert run.question_filter == {"specialty": "oncology", "limit": 5}
    assert run.created_by == curator.user
    assert reply.json()["id"] == run.pk


def test_create_and_start_makes_responses(curator, model):
    make_question("高血压首选")
    make_question("心衰首选")
    reply = curator.post("/api/runs/", {"model": model.pk}, format="json")
    assert reply.status_code == 201, reply.json()
    run = EvaluationRun.objects.get()
    assert run.status == EvaluationRun.Status.RUNNING
    assert ModelResponse.objects.filter(run=run).count() == 2


def test_create_rejects_unknown_filter_key(curator, model):
    reply = create_run(curator, model, question_filter={"speciality": "oncology"})
    assert reply.status_code == 400
    assert "speciality" in str(reply.json()["question_filter"])


def test_create_rejects_endpoint_of_other_model(curator, model):
    other = LanguageModel.objects.create(name="other")
    endpoint = Endpoint.objects.create(
        model=other, name="other-ep", base_url="http://127.0.0.1:9/v1", served_model_id="o"
    )
    reply = create_run(curator, model, endpoint=endpoint.pk)
    assert reply.status_code == 400
    assert "serves another model" in reply.json()["endpoint"][0]


def test_create_rejects_model_without_active_endpoint(curator):
    bare = LanguageModel.objects.create(name="bare")
    reply = create_run(curator, bare)
    assert reply.status_code == 400
    assert "no active endpoint" in reply.json()["model"][0]


def test_pause_resume_cancel(curator, model):
    make_question()
    run_id = curator.post("/api/runs/", {"model": model.pk}, format="json").json()["id"]

    paused = curator.post(f"/api/runs/{run_id}/pause/")
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"

    resumed = curator.post(f"/api/runs/{run_id}/resume/")
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "running"

    cancelled = curator.post(f"/api/runs/{run_id}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert ModelResponse.objects.get(run_id=run_id).state == ModelResponse.State.FAILED


def test_pause_of_pending_run_conflicts(curator, model):
    run_id = create_run(curator, model).json()["id"]
    reply = curator.post(f"/api/runs/{run_id}/pause/")
    assert reply.status_code == 409
    assert "Only a running run can be paused" in reply.json()["detail"]


@pytest.mark.parametrize("role", [REVIEWER, ADJUDICATOR, COORDINATOR])
def test_run_actions_forbidden_for_other_roles(make_user, curator, model, role):
    run_id = create_run(curator, model).json()["id"]
    client = client_for(make_user, f"user-{role}", role)
    for action in ("pause", "resume", "cancel"):
        assert client.post(f"/api/runs/{run_id}/{action}/").status_code == 403
    assert EvaluationRun.objects.get(pk=run_id).status == EvaluationRun.Status.PENDING


def test_reviewer_cannot_read_runs(make_user, curator, model):
    create_run(curator, model)
    client = client_for(make_user, "rev", REVIEWER)
    assert client.get("/api/runs/").status_code == 403


def test_coordinator_reads_runs(make_user, curator, model):
    create_run(curator, model)
    client = client_for(make_user, "coord", COORDINATOR)
    assert client.get("/api/runs/").json()["count"] == 1

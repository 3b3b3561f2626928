import pytest

from medexam.models import LanguageModel
from medexam.roles import COORDINATOR, CURATOR, REVIEWER
from tests.api_personas import client_for, make_question, make_response

pytestmark = pytest.mark.django_db


def test_curator_sees_key_variable_name(make_user):
    make_response(make_question())
    client = client_for(make_user, "cur", CURATOR)
    endpoint = client.get("/api/endpoints/").json()["results"][0]
    assert endpoint["api_key_env"] == "MEDEXAM_TEST_KEY"


def test_coordinator_does_not_see_key_variable(make_user):
    make_response(make_question())
    client = client_for(make_user, "coord", COORDINATOR)
    endpoint = client.get("/api/endpoints/").json()["results"][0]
    assert "api_key_env" not in endpoint


def test_key_value_never_returned(make_user, monkeypatch):
    monkeypatch.setenv("MEDEXAM_TEST_KEY", "sk-live-do-not-show")
    make_response(make_question())
    client = client_for(make_user, "cur", CURATOR)
    assert "sk-live-do-not-show" not in client.get("/api/endpoints/").content.decode()


def test_reviewer_cannot_list_endpoints(make_user):
    client = client_for(make_user, "rev", REVIEWER)
    assert client.get("/api/endpoints/").status_code == 403


def test_openai_endpoint_needs_url(make_user):
    model = LanguageModel.objects.create(name="m")
    client = client_for(make_user, "cur", CURATOR)
    reply = client.post(
        "/api/endpoints/", {"model": model.pk, "name": "e", "kind": "openai"}, format="json"
    )
    assert reply.status_code == 400
    assert "base_url" in reply.json()


def test_coordinator_cannot_create_model(make_user):
    client = client_for(make_user, "coord", COORDINATOR)
    assert client.post("/api/models/", {"name": "x"}, format="json").status_code == 403


def test_curator_creates_model(make_user):
    client = client_for(make_user, "cur", CURATOR)
    reply = client.post(
        "/api/models/", {"name": "Qwen2.5-72B", "total_params_b": 72.7}, format="json"
    )
    assert reply.status_code == 201


def test_nul_in_decoding_rejected(make_user):
    model = LanguageModel.objects.create(name="m")
    client = client_for(make_user, "cur", CURATOR)
    reply = client.post(
        "/api/endpoints/",
        {
            "model": model.pk,
            "name": "b",
            "kind": "baseline",
            "baseline": "chance",
            "decoding": {"stop": "\u0000"},
        },
        format="json",
    )
    assert reply.status_code == 400

"""The OpenAPI schema, its documentation page, and generated requests against a live server."""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

from tests.api_personas import (  # noqa: F401
    https_client,
    make_question,
    make_response,
    plain_static_storage,
)

# Bounded so the whole suite stays short on a small machine.
MAX_EXAMPLES = 150


@pytest.mark.django_db
def test_schema_lists_questions(make_user):
    client = https_client()
    client.force_authenticate(make_user("admin", is_superuser=True))
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/questions/" in schema["paths"]


@pytest.mark.django_db
@pytest.mark.usefixtures("plain_static_storage")
def test_docs_served_without_cdn(make_user):
    client = https_client()
    client.force_authenticate(make_user("admin", is_superuser=True))
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn." not in page
    assert "unpkg" not in page


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_generated_requests_get_no_server_error(live_server, make_user):
    admin = make_user("admin", is_superuser=True)
    token = Token.objects.create(user=admin)
    make_response(make_question())
    # The live server speaks plain HTTP; the proxy header marks requests as HTTPS.
    headers = {"Authorization": f"Token {token.key}", "X-Forwarded-Proto": "https"}

    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/schema/?format=json", headers=headers, timeout=30
    )
    server_errors: list[str] = []
    session = requests.Session()

    @given(case=schema.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def check(case):
        reply = case.call(base_url=live_server.url, session=session, headers=headers)
        if reply.status_code >= 500:
            server_errors.append(f"{case.method} {case.formatted_path} -> {reply.status_code}")

    check()
    assert server_errors == []

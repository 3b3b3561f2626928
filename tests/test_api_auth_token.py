import pytest
from django.core.cache import cache

from tests.api_personas import https_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_token_for_valid_password(make_user):
    make_user("cur", password="right-horse-battery")
    reply = https_client().post(
        "/api/auth/token/", {"username": "cur", "password": "right-horse-battery"}
    )
    assert reply.status_code == 200
    assert len(reply.json()["token"]) == 40


def test_token_authenticates_request(make_user):
    make_user("admin", password="right-horse-battery", is_superuser=True)
    client = https_client()
    token = client.post(
        "/api/auth/token/", {"username": "admin", "password": "right-horse-battery"}
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/questions/").status_code == 200


def test_token_requests_throttled(make_user):
    make_user("cur")
    client = https_client()
    codes = [
        client.post("/api/auth/token/", {"username": "cur", "password": "wrong"}).status_code
        for _ in range(12)
    ]
    assert codes[0] == 400
    assert codes[-1] == 429
